# flush_all, immediate form (protocol.txt, Other commands;
# docs/COMPAT.md#flushing)
> set fl_a 0 0 1
> a
< STORED
> set fl_b 0 100 1
> b
< STORED
> flush_all
< OK
> get fl_a fl_b
< END
# items stored afterwards, even in the same second, live
> set fl_c 0 0 1
> c
< STORED
> get fl_c
< VALUE fl_c 0 1
< c
< END
> flush_all 0
< OK
> get fl_c
< END
> set fl_d 0 0 1
> d
< STORED
> flush_all noreply
> get fl_d
< END
> set fl_e 0 0 1
> e
< STORED
> flush_all 0 noreply
> get fl_e
< END
# a negative delay is immediate
> set fl_f 0 0 1
> f
< STORED
> flush_all -1
< OK
> get fl_f
< END
# flushed items behave as missing
> set fl_g 0 0 1
> 1
< STORED
> flush_all
< OK
> incr fl_g 1
< NOT_FOUND
> replace fl_g 0 0 1
> 2
< NOT_STORED
> add fl_g 0 0 1
> 3
< STORED
> get fl_g
< VALUE fl_g 0 1
< 3
< END
# errors
> flush_all abc
< CLIENT_ERROR invalid exptime argument
> flush_all abc noreply
> flush_all 1 2 3
< ERROR
> flush_all 0 noreply extra
< ERROR
# nothing was flushed by the errors
> get fl_g
< VALUE fl_g 0 1
< 3
< END
