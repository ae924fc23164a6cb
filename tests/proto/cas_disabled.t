!flags -C
# -C: no CAS uniques (docs/COMPAT.md#cas-uniques): gets shows 0, cas
# never matches
> set cd_a 0 0 1
> a
< STORED
> gets cd_a
< VALUE cd_a 0 1 0
< a
< END
> cas cd_a 0 0 1 0
> b
< EXISTS
> cas cd_a 0 0 1 1
> b
< EXISTS
> cas cd_nope 0 0 1 0
> b
< NOT_FOUND
> incr cd_a 1
< CLIENT_ERROR cannot increment or decrement non-numeric value
> set cd_n 0 0 1
> 5
< STORED
> incr cd_n 1
< 6
> gets cd_n cd_a
< VALUE cd_n 0 1 0
< 6
< VALUE cd_a 0 1 0
< a
< END
> gats 0 cd_n
< VALUE cd_n 0 1 0
< 6
< END
