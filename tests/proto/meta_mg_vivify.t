# mg N (vivify) and R (recache), W/Z flags (protocol.txt, Meta Get;
# docs/COMPAT.md#meta-get-mg)
# a miss with N creates an empty item; this client wins (W)
> mg mvv_a N30 v t
<~ VA 0 t(29|30) W
<
# the token was sent: later readers see Z and no W
> mg mvv_a N30 v t s f
<~ VA 0 t(2[89]|30) s0 f0 Z
<
> mg mvv_a t
<~ HD t(2[89]|30) Z
# a new store resets the state
> ms mvv_a 3
> new
< HD
> mg mvv_a N30 v t
< VA 3 t-1
< new
# t before N reports -1: the TTL is applied afterwards
> mg mvv_b t N30 s v
< VA 0 t-1 s0 W
<
> mg mvv_b t
<~ HD t(29|30) Z
# N0: no expiry
> mg mvv_c N0 t
< HD t-1 W
> mg mvv_c t
< HD t-1 Z
# q does not hide a vivified hit
> mg mvv_d N30 q
< HD W
> mg mvv_d N30 q v
< VA 0 Z
<
> mg mvv_e N30 q v k O1
< VA 0 kmvv_e O1 W
<
# N with T on a miss: the T applies to the new item
> mg mvv_f N30 T50 t
<~ HD t(49|50) W
# N on an existing plain item: nothing happens
> ms mvv_g 1
> g
< HD
> mg mvv_g N30 t
< HD t-1
# N and R in the same request on a miss: W from N, once
> mg mvv_h N30 R60 t
<~ HD t(29|30) W
> mg mvv_h N30 R60 t
<~ HD t(2[89]|30) Z
# R: win when the remaining TTL is below the threshold
> ms mvv_r 3 T10
> abc
< HD
> mg mvv_r R30 v t
<~ VA 3 t(9|10) W
< abc
> mg mvv_r R30 v t
<~ VA 3 t([89]|10) Z
< abc
# not below the threshold: nothing
> ms mvv_r 3 T100
> abc
< HD
> mg mvv_r R30 t
<~ HD t(99|100)
> mg mvv_r R500 t
<~ HD t(99|100) W
> mg mvv_r R500 t
<~ HD t(9[89]|100) Z
# no expiry: R never wins
> ms mvv_s 3
> abc
< HD
> mg mvv_s R30 t
< HD t-1
> mg mvv_s R99999 t
< HD t-1
# a vivified item's data can be replaced by the winner
> mg mvv_w N30 v c
<~ VA 0 c[1-9][0-9]* W
<
> ms mvv_w 5
> value
< HD
> mg mvv_w v
< VA 5
< value
