# incr / decr (protocol.txt, Increment/Decrement;
# docs/COMPAT.md#delete-incr-decr-touch)
> incr id_x 1
< NOT_FOUND
> decr id_x 1
< NOT_FOUND
> set id_a 5 0 1
> 1
< STORED
> incr id_a 1
< 2
> incr id_a 0
< 2
> decr id_a 1
< 1
# growth to a longer number keeps the flags
> incr id_a 99999
< 100000
> get id_a
< VALUE id_a 5 6
< 100000
< END
# shrinking pads with spaces on the right, length unchanged
> decr id_a 99901
< 99
> get id_a
< VALUE id_a 5 6
< 99\x20\x20\x20\x20
< END
> set id_b 0 0 3
> 100
< STORED
> decr id_b 1
< 99
> get id_b
< VALUE id_b 0 3
< 99\x20
< END
# incr on a padded value works and can grow again
> incr id_b 1
< 100
> incr id_b 900
< 1000
> get id_b
< VALUE id_b 0 4
< 1000
< END
# decr floors at 0
> decr id_b 5000
< 0
> get id_b
< VALUE id_b 0 4
< 0\x20\x20\x20
< END
# incr wraps at 2^64
> set id_c 0 0 20
> 18446744073709551615
< STORED
> incr id_c 2
< 1
> get id_c
< VALUE id_c 0 20
< 1\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20\x20
< END
> set id_c 0 0 1
> 0
< STORED
> incr id_c 18446744073709551615
< 18446744073709551615
> decr id_c 18446744073709551615
< 0
# value parsing: leading space/+/zeros fine, stops at whitespace
> set id_d 0 0 4
>  007
< STORED
> incr id_d 1
< 8
> get id_d
< VALUE id_d 0 4
< 8\x20\x20\x20
< END
> set id_d 0 0 3
> +12
< STORED
> incr id_d 1
< 13
> set id_d 0 0 6
> 12 abc
< STORED
> incr id_d 1
< 13
> get id_d
< VALUE id_d 0 6
< 13\x20\x20\x20\x20
< END
> set id_d 0 0 4
> 12\r\n
< STORED
> decr id_d 2
< 10
> get id_d
< VALUE id_d 0 4
< 10\x20\x20
< END
# non-numeric values
> set id_e 0 0 3
> abc
< STORED
> incr id_e 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> decr id_e 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> set id_e 0 0 0
>
< STORED
> incr id_e 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> set id_e 0 0 3
> 12a
< STORED
> incr id_e 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> set id_e 0 0 2
> -1
< STORED
> incr id_e 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> set id_e 0 0 20
> 18446744073709551616
< STORED
> incr id_e 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> get id_e
< VALUE id_e 0 20
< 18446744073709551616
< END
# invalid deltas
> incr id_a abc
< CLIENT_ERROR invalid numeric delta argument
> incr id_a -1
< CLIENT_ERROR invalid numeric delta argument
> decr id_a 1x
< CLIENT_ERROR invalid numeric delta argument
> incr id_a 18446744073709551616
< CLIENT_ERROR invalid numeric delta argument
> incr id_x abc
< CLIENT_ERROR invalid numeric delta argument
> incr id_a +3
< 102
# noreply
> incr id_a 1 noreply
> decr id_a 3 noreply
> incr id_x 1 noreply
> incr id_a abc noreply
> incr id_e 1 noreply
> get id_a
< VALUE id_a 5 6
< 100\x20\x20\x20
< END
# wrong token counts
> incr id_a
< ERROR
> decr
< ERROR
> incr id_a 1 2 3
< ERROR
> incr kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 1
< CLIENT_ERROR bad command line format
