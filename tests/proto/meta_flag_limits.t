# Flag-count limits (docs/COMPAT.md#meta-dispatch-and-flags): at most 17
# flags for mg/md/ma, 16 for ms; the ms error is raised before the datalen
# is read, so the data block is not swallowed
> ms mlim_a 1
> 1
< HD
# mg: 17 flags work, 18 do not
> mg mlim_a k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1
<~ VA 1 kmlim_a c[1-9][0-9]* f0 s1 t-1 h0 l[0-9]+ O1
< 1
> mg mlim_a k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1 I
< CLIENT_ERROR options flags are too long
# the limit counts tokens, invalid flags past the limit do not matter
> mg mlim_a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18
< CLIENT_ERROR options flags are too long
> mg mlim_a 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17
< CLIENT_ERROR invalid flag
# ms: 16 flags work (C1 never matches here), 17 do not; no swallowing
> ms mlim_a 1 k v c f s t h l O1 q u P1 L1 C1 D1 J1
> x
< EX kmlim_a c0 O1
> ms mlim_a 1 k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1
> x
< CLIENT_ERROR options flags too long
< ERROR
# md: 17 and 18
> md mlim_nope k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1
< NF kmlim_nope O1
> md mlim_nope k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1 I
< CLIENT_ERROR options flags too long
# ma: 17 and 18 (M1 is a bad ma mode: that error proves 17 flags were parsed)
> ma mlim_a k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1
< CLIENT_ERROR invalid mode for ma M token
> ma mlim_a k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1 I
< CLIENT_ERROR options flags too long
> mg mlim_a v
< VA 1
< 1
