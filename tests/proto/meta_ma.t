# ma: meta arithmetic (protocol.txt, Meta Arithmetic;
# docs/COMPAT.md#meta-arithmetic-ma)
> ma mma_a
< NF
> ma mma_a q
< NF
> ma mma_a k O3 v
< NF kmma_a O3
> ma mma_a O3 k q
< NF O3 kmma_a
# N on a miss creates the item holding J (default 0); the delta is not applied
> ma mma_a N0
< HD
> mg mma_a v
< VA 1
< 0
# default: increment by 1
> ma mma_a v
< VA 1
< 1
> ma mma_a v D10
< VA 2
< 11
# decrement clamps at 0; the shorter result is space-padded in place
> ma mma_a v M- D500
< VA 1
< 0
> mg mma_a v
< VA 2
< 0\x20
# modes: I + increment, D - decrement; lowercase is invalid in 1.6.18
> ma mma_a v MI D6
< VA 1
< 6
> ma mma_a v M+
< VA 1
< 7
> ma mma_a v MD
< VA 1
< 6
> ma mma_a v M- D2
< VA 1
< 4
> ma mma_a v Mi
< CLIENT_ERROR invalid mode for ma M token
> ma mma_a v Md
< CLIENT_ERROR invalid mode for ma M token
# output flags in request order
> ma mma_a v M+ D1 t c k O9
<~ VA 1 t-1 c[1-9][0-9]* kmma_a O9
< 5
> ma mma_a O9 k c t v
<~ VA 1 O9 kmma_a c[1-9][0-9]* t-1
< 6
# without v: HD and the flags
> ma mma_a k
< HD kmma_a
# q hides the reply of an update
> ma mma_a q
> ma mma_a q v
> ma mma_a q v k O1
> mn
< MN
> mg mma_a v
< VA 2
< 10
# N on an existing item: a normal update, J ignored
> ma mma_a N0 J100 v
< VA 2
< 11
# creation with a TTL and an initial value; not hidden by q
> ma mma_b N100 J42 v t
<~ VA 2 t(99|100)
< 42
> ma mma_c N0 J7 q v
< VA 1
< 7
> ma mma_d N0 J7 q
< HD
> ma mma_d N0 J7 q
> mn
< MN
> mg mma_d v
< VA 1
< 8
# decrement mode with N creates with J as well
> ma mma_dd N0 J9 MD v
< VA 1
< 9
# T, N, t in request order: t before T reports the TTL before it
> ma mma_e N0 t T50
< HD t-1
> mg mma_e t
<~ HD t(49|50)
> ma mma_e T70 t
<~ HD t(69|70)
> ma mma_e t T0
<~ HD t(6[89]|70)
> mg mma_e t
< HD t-1
> ma mma_e t T60 t
< CLIENT_ERROR invalid or duplicate flag
# wrap at 2^64, clamp at 0
> ms mma_big 20
> 18446744073709551615
< HD
> ma mma_big v
< VA 1
< 0
> ma mma_big v
< VA 1
< 1
> ma mma_big v MD D5
< VA 1
< 0
> ma mma_big v D18446744073709551615
< VA 20
< 18446744073709551615
> ma mma_big v D0
< VA 20
< 18446744073709551615
> ma mma_big v D+2
< VA 1
< 1
> ma mma_j N0 J18446744073709551615 v
< VA 20
< 18446744073709551615
# growing past the old length makes a new item; flags and TTL are kept
> ms mma_g 1 T100 F7
> 9
< HD
> ma mma_g v
< VA 2
< 10
> mg mma_g v f t
<~ VA 2 f7 t(99|100)
< 10
> ma mma_g MD D5 v
< VA 1
< 5
> mg mma_g v s
< VA 2 s2
< 5\x20
# numbers with trailing spaces are fine
> ms mma_sp 3
> 10\x20
< HD
> ma mma_sp v
< VA 2
< 11
# non-numeric values
> ms mma_n 3
> abc
< HD
> ma mma_n
< CLIENT_ERROR cannot increment or decrement non-numeric value
> ma mma_n MD q
< CLIENT_ERROR cannot increment or decrement non-numeric value
> ms mma_n 0
>
< HD
> ma mma_n
< CLIENT_ERROR cannot increment or decrement non-numeric value
> ms mma_n 21
> 184467440737095516150
< HD
> ma mma_n
< CLIENT_ERROR cannot increment or decrement non-numeric value
> ms mma_n 20
> 18446744073709551616
< HD
> ma mma_n
< CLIENT_ERROR cannot increment or decrement non-numeric value
> ms mma_n 2
> -1
< HD
> ma mma_n
< CLIENT_ERROR cannot increment or decrement non-numeric value
> ma mma_n N0 J5
< CLIENT_ERROR cannot increment or decrement non-numeric value
# C: only with the current CAS (C0 means no compare); EX is never hidden
> ms mma_cas 1
> 5
< HD
> ma mma_cas C18446744073709551615 v
< EX
> ma mma_cas C18446744073709551615 v k O1 q
< EX kmma_cas O1
> ma mma_cas C0 v
< VA 1
< 6
> ma mma_nope C5
< NF
