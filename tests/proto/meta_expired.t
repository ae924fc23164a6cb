# meta commands on expired items (negative TTL: already expired;
# docs/COMPAT.md#expiry-and-the-clock): every command sees a miss
> ms mex_a 1 T-1
> a
< HD
> mg mex_a v k
< EN kmex_a
> me mex_a
< EN
> md mex_a
< NF
> md mex_a I
< NF
> ma mex_a
< NF
> ms mex_a 1 MA
> x
< NS
> ms mex_a 1 MR
> x
< NS
> ms mex_a 1 C1
> x
< NF
# add, vivify and ma N create a fresh item
> ms mex_a 1 ME
> e
< HD
> mg mex_a v
< VA 1
< e
> ms mex_b 1 T-1
> b
< HD
> mg mex_b N30 v t
<~ VA 0 t(29|30) W
<
> ms mex_c 1 T-1
> c
< HD
> ma mex_c N0 J4 v
< VA 1
< 4
# an absolute time in the past expires too
> ms mex_d 1 T1000000000
> d
< HD
> mg mex_d
< EN
# so does a TTL that truncates to a negative 32-bit value
> ms mex_d 1 T2147483648
> d
< HD
> mg mex_d
< EN
