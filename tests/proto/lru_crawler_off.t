!flags -o no_lru_crawler
# crawler thread not started (protocol.txt, LRU_Crawler)
> lru_crawler crawl all
< CLIENT_ERROR lru crawler disabled
> lru_crawler metadump all
< CLIENT_ERROR lru crawler disabled
