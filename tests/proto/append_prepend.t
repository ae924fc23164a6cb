# append / prepend (protocol.txt, Storage commands): supplied flags and
# exptime are ignored, the old item's are kept
> append ap_a 0 0 1
> x
< NOT_STORED
> prepend ap_a 0 0 1
> x
< NOT_STORED
> get ap_a
< END
> set ap_a 9 0 3
> mid
< STORED
> append ap_a 1 0 4
> _end
< STORED
> prepend ap_a 2 -1 6
> start_
< STORED
> get ap_a
< VALUE ap_a 9 13
< start_mid_end
< END
# empty fragments
> append ap_a 0 0 0
>
< STORED
> prepend ap_a 0 0 0
>
< STORED
> get ap_a
< VALUE ap_a 9 13
< start_mid_end
< END
# binary fragments
> append ap_a 0 0 3
>> \0\r\n\r\n
< STORED
> get ap_a
< VALUE ap_a 9 16
< start_mid_end\0\r\n
< END
# noreply
> set ap_b 0 0 1
> b
< STORED
> append ap_b 0 0 1 noreply
> c
> prepend ap_b 0 0 1 noreply
> a
> append ap_nope 0 0 1 noreply
> z
> get ap_b ap_nope
< VALUE ap_b 0 3
< abc
< END
# an empty item grows
> set ap_c 0 0 0
>
< STORED
> append ap_c 0 0 2
> yz
< STORED
> prepend ap_c 0 0 2
> wx
< STORED
> get ap_c
< VALUE ap_c 0 4
< wxyz
< END
