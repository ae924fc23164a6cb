!flags -F
# -F: flush_all is refused, even with noreply (memcached -h;
# docs/COMPAT.md#flushing)
> set fdis_a 0 0 1
> a
< STORED
> flush_all
< CLIENT_ERROR flush_all not allowed
> flush_all 0
< CLIENT_ERROR flush_all not allowed
> flush_all abc
< CLIENT_ERROR flush_all not allowed
> flush_all 1 2 3
< ERROR
> get fdis_a
< VALUE fdis_a 0 1
< a
< END
