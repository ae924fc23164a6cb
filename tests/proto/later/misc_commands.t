# extstore (the refresh_certs, watch and debug lines run now, in
# misc_commands.t)
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
