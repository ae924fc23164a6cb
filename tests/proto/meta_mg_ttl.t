# mg t / T: remaining TTL and touch, processed left to right
# (protocol.txt, Meta Get; docs/COMPAT.md#meta-get-mg)
> ms mtt_a 3
> abc
< HD
> mg mtt_a t
< HD t-1
# T before t reports the new TTL, t before T the old one
> mg mtt_a T40 t
<~ HD t(39|40)
> mg mtt_a t T500
<~ HD t(39|40)
> mg mtt_a t
<~ HD t(499|500)
# T0: no expiry again
> mg mtt_a T0 t
< HD t-1
# T with v returns the value
> mg mtt_a T100 v t
<~ VA 3 t(99|100)
< abc
# 32-bit TTLs are parsed as 64 bits and truncated: 4294967396 is 100
> mg mtt_a T4294967396 t
<~ HD t(99|100)
# a negative TTL expires the item
> mg mtt_a T-1
< HD
> mg mtt_a t
< EN
# a miss with T is a plain miss; nothing is created
> mg mtt_a T30 t k
< EN kmtt_a
> mg mtt_a v
< EN
# ms T sets the TTL, no T means none; 4294967396 is 100 there too
> ms mtt_b 3 T100
> abc
< HD
> mg mtt_b t
<~ HD t(99|100)
> ms mtt_b 3
> abc
< HD
> mg mtt_b t
< HD t-1
> ms mtt_b 3 T4294967396
> abc
< HD
> mg mtt_b t
<~ HD t(99|100)
> ms mtt_b 3 T-1
> abc
< HD
> mg mtt_b v
< EN
# append/prepend keep the old TTL and flags
> ms mtt_c 3 T100 F3
> abc
< HD
> ms mtt_c 1 MA T0 F9
> d
< HD
> mg mtt_c t f v
<~ VA 4 t(9[89]|100) f3
< abcd
> ms mtt_c 1 MP T5 F1
> e
< HD
> mg mtt_c t f v
<~ VA 5 t(9[789]|100) f3
< eabcd
