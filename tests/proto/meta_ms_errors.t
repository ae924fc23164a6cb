# ms validation: which errors swallow the data block
# (docs/COMPAT.md#meta-set-ms)
> ms mse_a 3
> old
< HD
# not swallowed: key too long, bad datalen, too many flags
> ms kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> ms mse_a x
> x
< CLIENT_ERROR bad command line format
< ERROR
> ms mse_a -1
> x
< CLIENT_ERROR bad command line format
< ERROR
> ms mse_a 1x
> x
< CLIENT_ERROR bad command line format
< ERROR
> ms mse_a 2147483646
> x
< CLIENT_ERROR bad command line format
< ERROR
> ms mse_a 1 k v c f s t h l O1 q u P1 L1 C1 D1 J1 M1
> x
< CLIENT_ERROR options flags too long
< ERROR
# with q as well: errors are never hidden
> ms mse_a x q
> x
< CLIENT_ERROR bad command line format
< ERROR
# the data line is parsed as a command: here a real one
> ms mse_a y
> mg mse_a v
< CLIENT_ERROR bad command line format
< VA 3
< old
# swallowed: flag errors, bad mode, long opaque, bad base64
# (exactly datalen+2 bytes: here a whole command line)
> ms mse_a 10 k k
> mg mse_a v
< CLIENT_ERROR duplicate flag
# (and only those: the rest of a longer line is parsed)
> ms mse_a 1 k k
> x\r\nmg mse_a v
< CLIENT_ERROR duplicate flag
< VA 3
< old
> ms mse_a 1 z
> x
< CLIENT_ERROR invalid flag
> ms mse_a 1 E
> x
< CLIENT_ERROR invalid flag
> ms mse_a 1 \xff
> x
< CLIENT_ERROR duplicate flag
> ms mse_a 1 Tx
> x
< CLIENT_ERROR bad token in command line format
> ms mse_a 1 T
> x
< CLIENT_ERROR bad token in command line format
> ms mse_a 1 Cx
> x
< CLIENT_ERROR bad token in command line format
> ms mse_a 1 C18446744073709551616
> x
< CLIENT_ERROR bad token in command line format
> ms mse_a 1 Fx
> x
< CLIENT_ERROR bad command line format
> ms mse_a 1 F-1
> x
< CLIENT_ERROR bad command line format
> ms mse_a 1 MX
> x
< CLIENT_ERROR invalid mode for ms M token
> ms mse_a 1 M
> x
< CLIENT_ERROR incorrect length for M token
> ms mse_a 1 O12345678901234567890123456789012
> x
< CLIENT_ERROR opaque token too long
> ms YQ 1 b
> x
< CLIENT_ERROR error decoding key
> ms mse_a 1 q z
> x
< CLIENT_ERROR invalid flag
# a multi-line data block is swallowed whole
> ms mse_a 10 k k
> 12\r\n456\r\n9
< CLIENT_ERROR duplicate flag
> mg mse_a v
< VA 3
< old
# bad data chunk: datalen+2 bytes consumed, nothing stored, old item kept
> ms mse_a 2
> abcd
< CLIENT_ERROR bad data chunk
< ERROR
> ms mse_a 2 q
> abcd
< CLIENT_ERROR bad data chunk
< ERROR
> ms mse_a 2 MA
> abcd
< CLIENT_ERROR bad data chunk
< ERROR
>> ms mse_a 1\r\nx\n\n
< CLIENT_ERROR bad data chunk
>> ms mse_a 1\r\nxy\nmg mse_a v\r\n
< CLIENT_ERROR bad data chunk
< VA 3
< old
> mg mse_a v
< VA 3
< old
> ms mse_new 2
> abcd
< CLIENT_ERROR bad data chunk
< ERROR
> mg mse_new
< EN
