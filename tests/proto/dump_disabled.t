!flags -X
# -X: no dumping (memcached -h)
> stats cachedump 1 0
< CLIENT_ERROR stats cachedump not allowed
> lru_crawler metadump all
< ERROR metadump not allowed
