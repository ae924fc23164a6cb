# base64 keys (b) and the sticky binary-key marking
# (docs/COMPAT.md#base64-keys)
# bWJfZm9v = "mb_foo"
> ms bWJfZm9v 3 b k c O1
> baz
<~ HD kbWJfZm9v b c[1-9][0-9]* O1
# the decoded bytes are the key: plain commands see it
> get mb_foo
< VALUE mb_foo 0 3
< baz
< END
# an item stored through ms b echoes its key in base64 followed by " b",
# whichever way it is fetched
> mg mb_foo k v
< VA 3 kbWJfZm9v b
< baz
> mg bWJfZm9v b k v s
< VA 3 kbWJfZm9v b s3
< baz
> mg mb_foo s O2 k
< HD s3 O2 kbWJfZm9v b
> me mb_foo
<~ ME bWJfZm9v exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=1 size=68
> me bWJfZm9v b
<~ ME bWJfZm9v exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=1 size=68
# a touch or an invalidation keeps the marking
> mg mb_foo T0 k
< HD kbWJfZm9v b
> md mb_foo I
< HD
> mg mb_foo k
< HD kbWJfZm9v b X W
# md and ma echo the request's binary-ness
> md mb_foo k
< HD kmb_foo
> md bWJfZm9v b k O1
< NF kbWJfZm9v b O1
# misses echo the request's key; a base64 key is re-encoded from the
# decoded bytes: bytes outside the alphabet are skipped, padding bits dropped
> mg bWJfZm9v b k v
< EN kbWJfZm9v b
> mg bWJf!Zm9v b k
< EN kbWJfZm9v b
> mg bWJfeB== b k
< EN kbWJfeA== b
> mg bWJfZm9v k O1
< EN kbWJfZm9v O1
# a plain store replaces the item: no marking any more
> ms bWJfZm9v 3 b
> baz
< HD
> ms mb_foo 3
> new
< HD
> mg mb_foo k v
< VA 3 kmb_foo
< new
> me mb_foo
<~ ME mb_foo exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=1 size=68
# mg b on an item that is not marked: plain key echoed
> mg bWJfZm9v b k
< HD kmb_foo
# ms b overwrites the plain item and marks it
> ms bWJfZm9v 1 b ME
> x
< NS
> ms bWJfZm9v 1 b MR
> x
< HD
> mg mb_foo k v
< VA 1 kbWJfZm9v b
< x
# raw bytes in keys: NUL, 0xff, space, CR LF
> ms bWJfYmluAP8= 2 b F3
> hi
< HD
> mg bWJfYmluAP8= b k v f
< VA 2 kbWJfYmluAP8= b f3
< hi
> me bWJfYmluAP8= b
<~ ME bWJfYmluAP8= exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=1 size=73
> ms bWIgDQo= 1 b k
> x
< HD kbWIgDQo= b
> me bWIgDQo= b
<~ ME bWIgDQo= exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=no cls=1 size=65
> md bWIgDQo= b q
> mg bWIgDQo= b
< EN
# append and prepend results are never marked, even when sent with b
# (bWJfYXBw = "mb_app", bWJfcHJl = "mb_pre")
> ms bWJfYXBw 3 b
> baz
< HD
> ms bWJfYXBw 1 MA b
> x
< HD
> mg mb_app k v
< VA 4 kmb_app
< bazx
> ms bWJfcHJl 3 b
> baz
< HD
> ms mb_pre 1 MP
> x
< HD
> mg mb_pre k v
< VA 4 kmb_pre
< xbaz
# ma: in place keeps the marking, growing makes a new unmarked item
# (bWJfZ3Jv = "mb_gro")
> ms bWJfZ3Jv 1 b
> 5
< HD
> ma mb_gro k v
< VA 1 kmb_gro
< 6
> mg mb_gro k
< HD kbWJfZ3Jv b
> ma bWJfZ3Jv b v k D4
< VA 2 kbWJfZ3Jv b
< 10
> mg mb_gro k v
< VA 2 kmb_gro
< 10
# vivified items are not marked (bWJfdml2 = "mb_viv", bWJfbWF2 = "mb_mav")
> mg bWJfdml2 b N30 k s
< HD kmb_viv s0 W
> mg bWJfdml2 b k
< HD kmb_viv Z
> ma bWJfbWF2 b N0 J1 v k
< VA 1 kbWJfbWF2 b
< 1
> mg mb_mav k
< HD kmb_mav
> ma bWJfbWF2 b v k
< VA 1 kbWJfbWF2 b
< 2
> ma bWJfbWF2 b MX
< CLIENT_ERROR invalid mode for ma M token
# decoding errors: not a multiple of 4 (unpadded), empty, bad padding
> mg bWJfeA b k
< CLIENT_ERROR error decoding key
> mg bWJfZm9 b
< CLIENT_ERROR error decoding key
> mg ==== b
< CLIENT_ERROR error decoding key
> mg bWJfZm9v= b
< CLIENT_ERROR error decoding key
> mg !!!! b
< CLIENT_ERROR error decoding key
> mg bWJfeA b q
< CLIENT_ERROR error decoding key
> ms bWJfeA 1 b
> x
< CLIENT_ERROR error decoding key
> md bWJfeA b
< CLIENT_ERROR invalid or duplicate flag
> ma bWJfeA b
< CLIENT_ERROR invalid or duplicate flag
> me bWJfeA b
< CLIENT_ERROR bad command line format
# me: b must be the token right after the key, exactly; others are ignored
> me bWJfYmluAP8= B
< EN
> me bWJfYmluAP8= xb
< EN
> me bWJfYmluAP8= b extra tokens
<~ ME bWJfYmluAP8= exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=1 size=73
# the key limit applies to the token as sent: 252 base64 bytes (189 decoded)
# are too long, 248 (186 decoded) are fine
> mg a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr b k
< CLIENT_ERROR bad command line format
> ms a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr 1 b
> x
< CLIENT_ERROR bad command line format
< ERROR
> ms a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr 1 b
> x
< HD
> mg a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr b s k
< HD s1 ka2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr b
> me a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr b
<~ ME a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2tr exp=-1 la=[0-9]+ cas=[1-9][0-9]* fetch=yes cls=6 size=246
