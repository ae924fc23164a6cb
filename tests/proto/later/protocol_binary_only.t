!flags -B binary
# -B binary (PROTOCOL-TEXT.md 1.1): text is taken as a bad binary header;
# the connection is closed once 24 bytes are buffered
>> version\r\n
>> get aaaaaaaaaaaaaaaaaaaa\r\n
<closed
