!private
# lru_crawler (protocol.txt, LRU_Crawler)
> lru_crawler enable
< ERROR failed to start lru crawler thread
> lru_crawler sleep 2000000
< CLIENT_ERROR sleep must be one second or less
> lru_crawler sleep abc
< CLIENT_ERROR bad command line format
> lru_crawler sleep 100
< OK
> lru_crawler sleep 100 noreply
< ERROR
> lru_crawler tocrawl 10
< OK
> lru_crawler tocrawl abc
< CLIENT_ERROR bad command line format
> lru_crawler tocrawl 0
< OK
> lru_crawler crawl 0
< BADCLASS invalid class id
> lru_crawler crawl 99
< BADCLASS invalid class id
> lru_crawler crawl abc
< BADCLASS invalid class id
> lru_crawler crawl hash
< ERROR an unknown error happened
> lru_crawler metadump 0
< BADCLASS invalid class id
# (metadump output is checked by test_admin.py)
> lru_crawler foo
< ERROR
> lru_crawler
< ERROR
> lru_crawler disable
< OK
> lru_crawler disable
< OK
> lru_crawler crawl all
< CLIENT_ERROR lru crawler disabled
> lru_crawler metadump all
< CLIENT_ERROR lru crawler disabled
> lru_crawler enable
< OK
# last: a crawl still running when the crawler is disabled makes
# memcached answer a later crawl with "ERROR an unknown error happened"
> lru_crawler crawl all
<~ OK|BUSY currently processing crawler request
