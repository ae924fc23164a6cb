# Storage command errors (docs/COMPAT.md#storage-commands)
# wrong token count: ERROR, and the data block is NOT swallowed: it is read
# as the next command line
> set se_a 0 0
< ERROR
> set
< ERROR
> set se_a 0 0 1 noreply extra
> x
< ERROR
< ERROR
> add se_a 0 0
< ERROR
> replace se_a
< ERROR
> append se_a 0 0 1 2 3
> x
< ERROR
< ERROR
> prepend se_a 0
< ERROR
# key longer than 250 bytes: format error, data block not swallowed
> set kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 0 0 1
> x
< CLIENT_ERROR bad command line format
< ERROR
# noreply hides the CLIENT_ERROR, but not the ERROR of the data line
> set kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk 0 0 1 noreply
> x
< ERROR
# bad numbers: format error, data block not swallowed
> set se_a abc 0 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a -1 0 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 0 abc 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 0 1.5 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 0 0 abc
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 0 0 1a
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 0 0 -1
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 0 0 2147483646
> x
< CLIENT_ERROR bad command line format
< ERROR
> set se_a 18446744073709551616 0 1
> x
< CLIENT_ERROR bad command line format
< ERROR
# 4294967295 is -1 as a signed 32-bit byte count
> set se_a 0 0 4294967295
> x
< CLIENT_ERROR bad command line format
< ERROR
> add se_a abc 0 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> replace se_a 0 x 1
> x
< CLIENT_ERROR bad command line format
< ERROR
> append se_a 0 0 y
> x
< CLIENT_ERROR bad command line format
< ERROR
> prepend se_a 0 0 -5
> x
< CLIENT_ERROR bad command line format
< ERROR
# the error is suppressed with noreply, the data line still gives ERROR
> set se_a abc 0 1 noreply
> x
< ERROR
# nothing was stored by any of that
> get se_a
< END
# 32-bit fields are parsed as 64 bit and truncated: 4294967297 bytes is 1
> set se_b 0 0 4294967297
> x
< STORED
> get se_b
< VALUE se_b 0 1
< x
< END
# "-0" is not negative
> set se_b -0 -0 1
> y
< STORED
> get se_b
< VALUE se_b 0 1
< y
< END
# noreply is only recognised as the last token, exactly
> set se_c 0 0 1 NOREPLY
> x
< STORED
> set se_c 0 0 1 noreply\x20
> y
> get se_c
< VALUE se_c 0 1
< y
< END
