!flags -B binary
# -B binary (memcached -h): text is taken as a bad binary header;
# the connection is closed once 24 bytes are buffered
>> version\r\n
>> get aaaaaaaaaaaaaaaaaaaa\r\n
<closed
