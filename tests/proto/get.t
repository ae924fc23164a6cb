# Retrieval: get, gets, bget (protocol.txt, Retrieval command;
# docs/COMPAT.md#retrieval-commands)
> set g_a 1 0 1
> A
< STORED
> set g_b 4294967295 0 2
> BB
< STORED
> set g_c 0 0 0
>
< STORED
# multi-key, missing keys skipped, duplicates repeated, request order kept
> get g_b nope g_a g_b g_c
< VALUE g_b 4294967295 2
< BB
< VALUE g_a 1 1
< A
< VALUE g_b 4294967295 2
< BB
< VALUE g_c 0 0
<
< END
> get nope1 nope2
< END
> bget g_a g_b
< VALUE g_a 1 1
< A
< VALUE g_b 4294967295 2
< BB
< END
> gets g_a nope g_a
<~ VALUE g_a 1 1 ([1-9][0-9]*)
< A
<~ VALUE g_a 1 1 ([1-9][0-9]*)
< A
< END
# no key at all
> get
< ERROR
> gets
< ERROR
> bget
< ERROR
> get\x20
< ERROR
# spaces collapse; noreply is just a key here
>   get    g_a     g_b\x20\x20
< VALUE g_a 1 1
< A
< VALUE g_b 4294967295 2
< BB
< END
> get g_a noreply
< VALUE g_a 1 1
< A
< END
# a key over 250 bytes anywhere: only CLIENT_ERROR, no values, no END
> get kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
> get g_a kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
> get g_a g_b kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk g_c
< CLIENT_ERROR bad command line format
> gets g_a kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
> bget g_a kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
# more than 24 tokens: get keeps going
> set g_m29 0 0 3
> m29
< STORED
> get g_m0 g_m1 g_m2 g_m3 g_m4 g_m5 g_m6 g_m7 g_m8 g_m9 g_m10 g_m11 g_m12 g_m13 g_m14 g_m15 g_m16 g_m17 g_m18 g_m19 g_m20 g_m21 g_m22 g_m23 g_m24 g_m25 g_m26 g_m27 g_m28 g_m29
< VALUE g_m29 0 3
< m29
< END
> get g_m0 g_m1 g_m2 g_m3 g_m4 g_m5 g_m6 g_m7 g_m8 g_m9 g_m10 g_m11 g_m12 g_m13 g_m14 g_m15 g_m16 g_m17 g_m18 g_m19 g_m20 g_m21 g_m22 g_m23 g_m24 g_m25 g_m26 g_m27 g_m28 g_m29 g_a kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk
< CLIENT_ERROR bad command line format
# a line ending in a bare \n
>> get g_a\n
< VALUE g_a 1 1
< A
< END
