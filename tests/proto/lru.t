!private
# lru (protocol.txt, LRU Tuning)
> lru tune 10 10 0.1 2
< OK
> lru tune 50 40 0.1 2
< ERROR hot and warm pcts must not exceed 80
> lru tune 10 10 0 2
< ERROR hot/warm age factors must be greater than 0
> lru tune 10 10 0.1
< ERROR
> lru tune a b c d
< ERROR
> lru tune 50 40 0.1 2 noreply
> lru tune 20 40 0.2 2.0
< OK
> lru mode flat
< OK
> lru mode segmented
< OK
> lru mode foo
< ERROR
> lru mode flat noreply
> lru mode segmented noreply
> lru temp_ttl 10
< OK
> lru temp_ttl -1
< OK
> lru temp_ttl abc
< ERROR
> lru foo
< ERROR
> lru
< ERROR
