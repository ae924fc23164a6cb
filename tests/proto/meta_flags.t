# Flag syntax and validation (docs/COMPAT.md#meta-dispatch-and-flags)
> ms mfl_a 1
> 1
< HD
# flags of other meta commands are accepted and ignored by mg
> mg mfl_a k C5 M5 J1 D1 I P1 L1 F3
< HD kmfl_a
# the shared flag set: anything else is invalid, E included (1.6.18)
> mg mfl_a E
< CLIENT_ERROR invalid flag
> mg mfl_a S3
< CLIENT_ERROR invalid flag
> mg mfl_a W
< CLIENT_ERROR invalid flag
> mg mfl_a X
< CLIENT_ERROR invalid flag
> mg mfl_a Z
< CLIENT_ERROR invalid flag
> mg mfl_a z
< CLIENT_ERROR invalid flag
> mg mfl_a 1
< CLIENT_ERROR invalid flag
> mg mfl_a =
< CLIENT_ERROR invalid flag
# duplicates; bytes >= 127 report "duplicate flag"
> mg mfl_a v v
< CLIENT_ERROR duplicate flag
> mg mfl_a k s k
< CLIENT_ERROR duplicate flag
> mg mfl_a T1 T2
< CLIENT_ERROR duplicate flag
> mg mfl_a \x7f
< CLIENT_ERROR duplicate flag
> mg mfl_a \x80
< CLIENT_ERROR duplicate flag
> mg mfl_a \xff
< CLIENT_ERROR duplicate flag
# argument errors
> mg mfl_a T
< CLIENT_ERROR bad token in command line format
> mg mfl_a Tabc
< CLIENT_ERROR bad token in command line format
> mg mfl_a T1.5
< CLIENT_ERROR bad token in command line format
> mg mfl_a N
< CLIENT_ERROR bad token in command line format
> mg mfl_a Nx
< CLIENT_ERROR bad token in command line format
> mg mfl_a R-
< CLIENT_ERROR bad token in command line format
> mg mfl_a Cabc
< CLIENT_ERROR bad token in command line format
> mg mfl_a C18446744073709551616
< CLIENT_ERROR bad token in command line format
> mg mfl_a Fx
< CLIENT_ERROR bad command line format
> mg mfl_a F-1
< CLIENT_ERROR bad command line format
> mg mfl_a M
< CLIENT_ERROR incorrect length for M token
> mg mfl_a MSS
< CLIENT_ERROR incorrect length for M token
> mg mfl_a Jx
< CLIENT_ERROR invalid numeric initial value
> mg mfl_a Dx
< CLIENT_ERROR invalid numeric delta value
> mg mfl_a D-1
< CLIENT_ERROR invalid numeric delta value
# opaque: at most 32 bytes including the O
> mg mfl_a O1234567890123456789012345678901
< HD O1234567890123456789012345678901
> mg mfl_a O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> mg mfl_a O
< HD O
> mg mfl_nope O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
# errors are never hidden by q, even on a miss
> mg mfl_nope q Tx
< CLIENT_ERROR bad token in command line format
> mg mfl_nope q z
< CLIENT_ERROR invalid flag
# md and ma: every flag parse error has one text, except the opaque length
> md mfl_a k k
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a z
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a E
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a Tx
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a Cx
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a Fx
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a Mxx
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a Jx
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a \xff
< CLIENT_ERROR invalid or duplicate flag
> md YQ b
< CLIENT_ERROR invalid or duplicate flag
> md mfl_a O12345678901234567890123456789012
< CLIENT_ERROR opaque token too long
> md mfl_a q Tx
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a k k
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a z
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a Tx
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a Nx
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a Cx
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a Jx
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a J18446744073709551616
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a Dx
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a D-1
< CLIENT_ERROR invalid or duplicate flag
> ma mfl_a Mxx
< CLIENT_ERROR invalid or duplicate flag
> ma YQ b
< CLIENT_ERROR invalid or duplicate flag
# a valid-length but unknown mode has its own text
> ma mfl_a MX
< CLIENT_ERROR invalid mode for ma M token
> ma mfl_a Mi
< CLIENT_ERROR invalid mode for ma M token
# the key was not touched by any of that
> mg mfl_a v
< VA 1
< 1
