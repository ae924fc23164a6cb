# watch and lru_crawler metadump refuse to start while earlier replies are
# still queued; the connection stays usable
> version
> watch
< VERSION 1.6.18
< ERROR cannot pipeline other commands before watch
> version
> lru_crawler metadump all
< VERSION 1.6.18
< ERROR cannot pipeline other commands before metadump
