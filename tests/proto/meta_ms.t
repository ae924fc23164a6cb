# ms: meta set, modes without CAS, replies (protocol.txt, Meta Set;
# docs/COMPAT.md#meta-set-ms)
> ms mms_a 3
> abc
< HD
> mg mms_a v f t
< VA 3 f0 t-1
< abc
# S (set, default)
> ms mms_a 3 MS F4
> def
< HD
> mg mms_a v f
< VA 3 f4
< def
# E (add)
> ms mms_a 3 ME
> new
< NS
> ms mms_e 3 ME F2
> new
< HD
> mg mms_e v f
< VA 3 f2
< new
# R (replace)
> ms mms_r 3 MR
> rep
< NS
> ms mms_a 3 MR F7 T100
> rep
< HD
> mg mms_a v f t
<~ VA 3 f7 t(99|100)
< rep
# A (append), P (prepend): old flags and TTL kept; missing -> NS
> ms mms_a 1 MA F5 T0
> X
< HD
> mg mms_a v f t
<~ VA 4 f7 t(9[89]|100)
< repX
> ms mms_a 1 MP
> Y
< HD
> mg mms_a v
< VA 5
< YrepX
> ms mms_m 1 MA
> Y
< NS
> ms mms_m 1 MP
> Y
< NS
> mg mms_m
< EN
# lowercase and other modes are invalid (1.6.18); the data is swallowed
> ms mms_a 1 Ma
> x
< CLIENT_ERROR invalid mode for ms M token
> ms mms_a 1 Ms
> x
< CLIENT_ERROR invalid mode for ms M token
> ms mms_a 1 M+
> x
< CLIENT_ERROR invalid mode for ms M token
> ms mms_a 1 MX
> x
< CLIENT_ERROR invalid mode for ms M token
> ms mms_a 1 Mset
> x
< CLIENT_ERROR incorrect length for M token
> mg mms_a v
< VA 5
< YrepX
# replies: only O, k, c produce output, in request order
> ms mms_o 3 k c O1
> abc
<~ HD kmms_o c[1-9][0-9]* O1
> ms mms_o 3 O1 k
> abc
< HD O1 kmms_o
> ms mms_zz 3 c k O5 MR
> bar
< NS c0 kmms_zz O5
> ms mms_o 3 c k O5 ME
> bar
< NS c0 kmms_o O5
# other commands' flags are accepted and ignored
> ms mms_o 3 v s t f h l u N30 R30 D1 J1 P1 L1 I
> xyz
< HD
> mg mms_o v t
< VA 3 t-1
< xyz
# q hides HD only
> ms mms_q 1 q
> 1
> ms mms_q 1 q k O1 c
> 2
> ms mms_q 1 q ME k O1
> 3
> ms mms_zz 1 q MR
> 4
> ms mms_zz 1 q MA
> 4
> mn
< NS kmms_q O1
< NS
< NS
< MN
> mg mms_q v
< VA 1
< 2
# a length flag S is not supported: datalen is positional
> ms mms_s S3
> xyz
< CLIENT_ERROR bad command line format
< ERROR
> ms mms_s 1 S3
> x
< CLIENT_ERROR invalid flag
> mg mms_s
< EN
