!flags -o no_lru_maintainer
# lru mode and temp_ttl need the LRU maintainer (protocol.txt, LRU Tuning)
> lru mode flat
< ERROR
> lru temp_ttl 5
< ERROR
> lru tune 10 10 0.1 2
< OK
