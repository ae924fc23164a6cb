!private
# meta and classic commands on one connection, on the same items
# (protocol.txt, Meta Commands; docs/COMPAT.md#cas-uniques)
> set mx_a 9 100 3
> abc
< STORED
> mg mx_a v f t s
<~ VA 3 f9 t(99|100) s3
< abc
> ms mx_b 2 F4 T0
> 12
< HD
> get mx_b
< VALUE mx_b 4 2
< 12
< END
# classic arithmetic on a meta item and back
> incr mx_b 5
< 17
> ma mx_b v
< VA 2
< 18
> decr mx_b 20
< 0
> mg mx_b v
< VA 2
< 0\x20
# classic append to a meta item, meta prepend to a classic one
> append mx_b 0 0 1
> x
< STORED
> ms mx_a 1 MP
> <
< HD
> get mx_a mx_b
< VALUE mx_a 9 4
< <abc
< VALUE mx_b 4 3
< 0 x
< END
# touch / gat and t
> touch mx_b 200
< TOUCHED
> mg mx_b t
<~ HD t(199|200)
> mg mx_b T0
< HD
> gat 300 mx_b
< VALUE mx_b 4 3
< 0 x
< END
> mg mx_b t
<~ HD t(299|300)
# deletes across
> delete mx_b
< DELETED
> md mx_b
< NF
> md mx_a
< HD
> get mx_a
< END
# add/replace vs ms modes
> ms mx_c 1 ME
> c
< HD
> add mx_c 0 0 1
> d
< NOT_STORED
> replace mx_c 0 0 1
> e
< STORED
> ms mx_c 1 MR
> f
< HD
> get mx_c
< VALUE mx_c 0 1
< f
< END
# a vivified item is an empty value for get
> mg mx_v N30
< HD W
> get mx_v
< VALUE mx_v 0 0
<
< END
# a key invalidated by md I is still served by get (no stale marker there)
> md mx_c I
< HD
> get mx_c
< VALUE mx_c 0 1
< f
< END
> mg mx_c
< HD X W
# pipelined mix: replies in order
> set mx_d 0 0 1
> 1
> mg mx_d v
> incr mx_d 1
> ma mx_d v q
> ma mx_d v
> get mx_d
> md mx_d q
> delete mx_d
> mn
< STORED
< VA 1
< 1
< 2
< VA 1
< 4
< VALUE mx_d 0 1
< 4
< END
< NOT_FOUND
< MN
# flush_all hides meta items too
> ms mx_e 1
> e
< HD
> flush_all
< OK
> mg mx_e v k
< EN kmx_e
> me mx_e
< EN
> ma mx_e
< NF
