!private
# cache_memlimit (protocol.txt, Other commands); private: it changes the limit
> cache_memlimit 7
< MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m
> cache_memlimit 1000000001
< MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes
> cache_memlimit abc
< ERROR
> cache_memlimit -1
< ERROR
> cache_memlimit
< ERROR
> cache_memlimit 1 2 3
< ERROR
> cache_memlimit 7 noreply
> cache_memlimit 100 noreply
> cache_memlimit 8
< OK
> cache_memlimit 1000000000
< OK
> cache_memlimit 64
< OK
