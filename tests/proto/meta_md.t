# md: meta delete (protocol.txt, Meta Delete; docs/COMPAT.md#meta-delete-md)
> ms mmd_a 3
> abc
< HD
> md mmd_a
< HD
> mg mmd_a v
< EN
> md mmd_a
< NF
# O and k are echoed on every reply, in request order
> md mmd_a k O1
< NF kmmd_a O1
> md mmd_a O1 k
< NF O1 kmmd_a
> ms mmd_a 3
> abc
< HD
> md mmd_a O2 k
< HD O2 kmmd_a
# q hides HD only
> ms mmd_a 3
> abc
< HD
> md mmd_a q
> md mmd_a q
> md mmd_a k O1 q
> mn
< NF
< NF kmmd_a O1
< MN
# flags of other commands are accepted and ignored (c, v, s ... produce nothing)
> ms mmd_a 3
> abc
< HD
> md mmd_a c v s t f h l u N30 R30 J1 D1 M1 F1 P1 L1
< HD
> mg mmd_a
< EN
# C: only an equal CAS deletes; C0 never matches an item
> ms mmd_c 3
> abc
< HD
> md mmd_c C0
< EX
> md mmd_c C18446744073709551615 k O2
< EX kmmd_c O2
> md mmd_c C18446744073709551615 q
< EX
> mg mmd_c v
< VA 3
< abc
> md mmd_nope C5
< NF
# T without I is ignored: the item is simply deleted
> ms mmd_t 3 T100
> abc
< HD
> md mmd_t T30
< HD
> mg mmd_t
< EN
# I: invalidate: the item stays, stale (X), new CAS; first reader wins (W)
> ms mmd_i 3
> abc
< HD
> md mmd_i I
< HD
> mg mmd_i v t
< VA 3 t-1 X W
< abc
> mg mmd_i v t
< VA 3 t-1 Z X
< abc
# I again clears token-sent: the next reader wins again
> md mmd_i I T30
< HD
> mg mmd_i t
<~ HD t(29|30) X W
> mg mmd_i t
<~ HD t(2[89]|30) Z X
# I without T keeps the TTL; T0 removes it
> md mmd_i I
< HD
> mg mmd_i t
<~ HD t(2[789]|30) X W
> md mmd_i I T0
< HD
> mg mmd_i t
< HD t-1 X W
# the stale item can still be deleted
> md mmd_i
< HD
> mg mmd_i
< EN
# I on a miss, and with q
> md mmd_nope I
< NF
> md mmd_nope I q
< NF
> ms mmd_q 1
> q
< HD
> md mmd_q I T30 k c O7 q
> mn
< MN
> mg mmd_q t
<~ HD t(29|30) X W
# I with a wrong CAS: EX, nothing changes
> md mmd_q I C18446744073709551615
< EX
> mg mmd_q t
<~ HD t(2[89]|30) Z X
# a plain store clears the stale state
> ms mmd_q 1
> r
< HD
> mg mmd_q t v
< VA 1 t-1
< r
