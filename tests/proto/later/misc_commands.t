# extstore, refresh_certs, watch errors, debug-only commands
# (PROTOCOL-TEXT.md 5.13, 5.15, 5.16, 5.18)
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
