# add / replace (protocol.txt, Storage commands)
> add ar_a 1 0 3
> one
< STORED
> add ar_a 2 0 3
> two
< NOT_STORED
> get ar_a
< VALUE ar_a 1 3
< one
< END
> add ar_a 2 0 3 noreply
> two
> get ar_a
< VALUE ar_a 1 3
< one
< END
# replace only works on an existing item
> replace ar_b 0 0 1
> x
< NOT_STORED
> get ar_b
< END
> replace ar_a 5 0 5
> three
< STORED
> get ar_a
< VALUE ar_a 5 5
< three
< END
> replace ar_a 6 0 4 noreply
> four
> get ar_a
< VALUE ar_a 6 4
< four
< END
# after delete, add works again and replace does not
> delete ar_a
< DELETED
> replace ar_a 0 0 1
> x
< NOT_STORED
> add ar_a 0 0 1
> y
< STORED
> get ar_a
< VALUE ar_a 0 1
< y
< END
# a 6th token that is not noreply is ignored
> add ar_c 0 0 1 whatever
> c
< STORED
> replace ar_c 0 0 1 whatever
> d
< STORED
> get ar_c
< VALUE ar_c 0 1
< d
< END
