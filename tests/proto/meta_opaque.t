# Opaque tokens (docs/COMPAT.md#meta-dispatch-and-flags): O<opaque> is
# echoed verbatim, the whole token may be at most 32 bytes. The length is
# checked while the reply is built: mg and ma have already done their work
# by then (touch, vivify, fetch mark, increment), ms and md have not.
> ms mop_a 1
> 1
< HD
> mg mop_a O
< HD O
> mg mop_a Oabc\x7f!
< HD Oabc\x7f!
> mg mop_nope O1234567890123456789012345678901 k
< EN O1234567890123456789012345678901 kmop_nope
# the error replaces the whole reply, wherever the O is
> mg mop_a k v s O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_a v O12345678901234567890123456789012 k
< CLIENT_ERROR opaque token too long
> mg mop_nope k O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_nope q O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
# other flag errors come first
> mg mop_a O12345678901234567890123456789012 z
< CLIENT_ERROR invalid flag
> ma mop_a z O12345678901234567890123456789012
< CLIENT_ERROR invalid or duplicate flag
> ma mop_a O12345678901234567890123456789012 MX
< CLIENT_ERROR invalid mode for ma M token
> mg mop_a v
< VA 1
< 1
# ma: the increment is done anyway
> ma mop_a O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> ma mop_a v k O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_a v
< VA 1
< 3
# ma N: the item is created anyway
> ma mop_viv N0 J7 O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_viv v
< VA 1
< 7
# mg T: the touch is done anyway
> mg mop_a T300 O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_a t
<~ HD t(299|300)
# mg N: the item is created anyway (no W went out, so no Z later)
> mg mop_new N300 O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_new s t
<~ HD s0 t(299|300)
# mg hit: the item is marked fetched anyway (u: not)
> ms mop_h 1
> 1
< HD
> mg mop_h u O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_h h
< HD h0
> mg mop_h O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_h h
< HD h1
# md: nothing is deleted or invalidated
> md mop_a O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> md mop_a I O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mop_a v
< VA 1
< 3
# ms: nothing is stored, the data block is swallowed
> ms mop_a 1 O12345678901234567890123456789012
> 5
< CLIENT_ERROR opaque token too long
> mg mop_a v
< VA 1
< 3
