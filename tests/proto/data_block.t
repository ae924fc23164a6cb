# Data blocks (docs/COMPAT.md#storage-commands): exactly <bytes>+2 bytes
# are read and the last two must be \r\n; else "bad data chunk", nothing
# stored, and parsing resumes right after those bytes.
> set db_a 0 0 3
> abcde
< CLIENT_ERROR bad data chunk
< ERROR
> get db_a
< END
# the worked transcript: with noreply the chunk error is hidden, the
# leftover "\r\n" is an empty line -> ERROR
> set db_a 0 0 3 noreply
> abcde
< ERROR
# LF-only terminator
>> set db_lf 0 0 1\r\nx\n\n
< CLIENT_ERROR bad data chunk
> get db_lf
< END
# too short: the next command line's bytes are eaten as data
>> set db_a 0 0 1\r\nxy\nget db_a\r\n
< CLIENT_ERROR bad data chunk
< END
>> set db_a 0 0 1\r\nx\rget db_a\r\n
< CLIENT_ERROR bad data chunk
< ERROR
>> set db_a 0 0 1\r\nx\r\rget db_a\r\n
< CLIENT_ERROR bad data chunk
< END
>> set db_a 0 0 1\r\nx\n\r\n
< CLIENT_ERROR bad data chunk
< ERROR
# every storage command checks the chunk
> add db_b 0 0 3
> abcde
< CLIENT_ERROR bad data chunk
< ERROR
> set db_b 1 0 1
> x
< STORED
> append db_b 0 0 1
> xxx
< CLIENT_ERROR bad data chunk
< ERROR
> prepend db_b 0 0 1
> xxx
< CLIENT_ERROR bad data chunk
< ERROR
> replace db_b 0 0 1
> xxx
< CLIENT_ERROR bad data chunk
< ERROR
> cas db_b 0 0 1 1
> xxx
< CLIENT_ERROR bad data chunk
< ERROR
> get db_b
< VALUE db_b 1 1
< x
< END
# a command line may end in a bare \n; the data block may not
>> set db_c 0 0 1\nx\r\nget db_c\n
< STORED
< VALUE db_c 0 1
< x
< END
# data arriving in pieces
>> set db_d 0 0 3\r\na
!sleep 0.1
>> b
!sleep 0.1
>> c\r
!sleep 0.1
>> \n
< STORED
>> get db_d\r
!sleep 0.1
>> \n
< VALUE db_d 0 3
< abc
< END
