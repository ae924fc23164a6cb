!flags -o no_lru_crawler
# crawler thread not started (PROTOCOL-TEXT.md 5.11)
> lru_crawler crawl all
< CLIENT_ERROR lru crawler disabled
> lru_crawler metadump all
< CLIENT_ERROR lru crawler disabled
