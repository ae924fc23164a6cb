# mg: flags, output order, misses, q (protocol.txt, Meta Get;
# docs/COMPAT.md#meta-get-mg)
> mg mmg_a
< EN
> mg mmg_a v
< EN
> ms mmg_a 3 F5
> baz
< HD
# hit without v: HD; with v: VA <size> + data
> mg mmg_a
< HD
> mg mmg_a v
< VA 3
< baz
# every returning flag, output in request order
> mg mmg_a s v f k
< VA 3 s3 f5 kmmg_a
< baz
> mg mmg_a k f s
< HD kmmg_a f5 s3
> mg mmg_a O77 t s
< HD O77 t-1 s3
> mg mmg_a c k
<~ HD c[1-9][0-9]* kmmg_a
# flags that produce no output
> mg mmg_a u q P1 L1
< HD
# q hides only the miss; hits are returned
> mg mmg_a q
< HD
> mg mmg_a q v k
< VA 3 kmmg_a
< baz
> mg mmg_nope q
> mg mmg_nope q v k O1
> mn
< MN
# a miss echoes O and k in request order
> mg mmg_nope k O5 v
< EN kmmg_nope O5
> mg mmg_nope O5 s t k c f
< EN O5 kmmg_nope
# the worked example shape
> mg mmg_a k v c f s t h l O999 q
<~ VA 3 kmmg_a c[1-9][0-9]* f5 s3 t-1 h1 l[0-9]+ O999
< baz
# zero-length value
> ms mmg_e 0
> \x20
< CLIENT_ERROR bad data chunk
< ERROR
> ms mmg_e 0
>
< HD
> mg mmg_e v s
< VA 0 s0
<
# client flags: full u32 range; F is parsed as 64 bits and truncated
> ms mmg_f 1 F4294967295
> x
< HD
> mg mmg_f f
< HD f4294967295
> ms mmg_f 1 F4294967296
> x
< HD
> mg mmg_f f
< HD f0
> ms mmg_f 1 F+7
> x
< HD
> mg mmg_f f
< HD f7
# binary values survive
>> ms mmg_b 5\r\na\r\n\0b\r\n
< HD
> mg mmg_b v s
< VA 5 s5
<< a\r\n\0b\r\n
