# extstore, refresh_certs, watch errors, debug-only commands
# (protocol.txt, Watchers and Security restrictions; memcached -h)
> extstore item_size 1024
< OK
> extstore max_frag 0.5
< OK
> extstore drop_unread 0
< OK
> extstore free_memchunks 1 2
< OK
> extstore item_size 512 noreply
> extstore bogus 1
< ERROR
> extstore item_size
< ERROR
> extstore item_size abc
< ERROR
> refresh_certs
< Error TLS not enabled
> refresh_certs noreply
< Error TLS not enabled
> watch bogus
< ERROR
> misbehave
< ERROR
> debugtime
< ERROR
