!private
# cas (protocol.txt, Storage commands; docs/COMPAT.md#cas-uniques). A fresh
# server: the CAS counter starts at 0 and every store takes the next value,
# so the first stored item gets unique 1.
> cas cas_a 0 0 1 1
> x
< NOT_FOUND
> set cas_a 0 0 1
> a
< STORED
> gets cas_a
< VALUE cas_a 0 1 1
< a
< END
# wrong unique
> cas cas_a 0 0 1 2
> b
< EXISTS
# 0 never matches
> cas cas_a 0 0 1 0
> b
< EXISTS
> cas cas_a 0 0 1 18446744073709551615
> b
< EXISTS
> get cas_a
< VALUE cas_a 0 1
< a
< END
# right unique: stored, new unique
> cas cas_a 5 0 2 1
> bb
< STORED
> gets cas_a
< VALUE cas_a 5 2 2
< bb
< END
# the old unique no longer matches
> cas cas_a 0 0 1 1
> c
< EXISTS
# noreply
> cas cas_a 0 0 2 2 noreply
> cc
> cas cas_a 0 0 2 2 noreply
> dd
> gets cas_a
< VALUE cas_a 0 2 3
< cc
< END
# every store, incr/decr takes a new unique; touch and get do not
> set cas_b 0 0 1
> 1
< STORED
> append cas_b 0 0 1
> 0
< STORED
> prepend cas_b 0 0 1
> 1
< STORED
> replace cas_b 0 0 2
> 10
< STORED
> incr cas_b 5
< 15
> decr cas_b 1
< 14
> touch cas_b 0
< TOUCHED
> get cas_b
< VALUE cas_b 0 2
< 14
< END
> gets cas_b cas_a
< VALUE cas_b 0 2 9
< 14
< VALUE cas_a 0 2 3
< cc
< END
> gats 0 cas_b
< VALUE cas_b 0 2 9
< 14
< END
# failed stores do not use up uniques
> add cas_b 0 0 1
> x
< NOT_STORED
> cas cas_b 0 0 1 99
> x
< EXISTS
> set cas_c 0 0 1
> c
< STORED
> gets cas_c
< VALUE cas_c 0 1 10
< c
< END
# a 7th token that is not noreply is ignored
> cas cas_c 0 0 1 10 garbage
> d
< STORED
# wrong token counts: ERROR, data block not swallowed
> cas cas_c 0 0 1
> x
< ERROR
< ERROR
> cas cas_c 0 0 1 11 noreply extra
> x
< ERROR
< ERROR
# a bad unique is a format error (data block not swallowed)
> cas cas_c 0 0 1 abc
> x
< CLIENT_ERROR bad command line format
< ERROR
> cas cas_c 0 0 1 -1
> x
< CLIENT_ERROR bad command line format
< ERROR
> cas cas_c 0 0 1 18446744073709551616
> x
< CLIENT_ERROR bad command line format
< ERROR
> gets cas_c
< VALUE cas_c 0 1 11
< d
< END
