# Items that are already expired (protocol.txt, Expiration times;
# docs/COMPAT.md#expiry-and-the-clock) are invisible to
# every command. A negative exptime, an absolute time in the past and
# 4000000000 (a negative signed 32-bit number) all expire at once.
> set ex_a 0 -1 1
> a
< STORED
> get ex_a
< END
> set ex_b 0 2592001 1
> b
< STORED
> get ex_b
< END
> set ex_c 0 4000000000 1
> c
< STORED
> get ex_c
< END
# ... 99999999999 truncates to 1215752191: an absolute time in 2008
> set ex_c 0 99999999999 1
> c
< STORED
> get ex_c
< END
# 2592000 (30 days) is still relative
> set ex_d 0 2592000 1
> d
< STORED
> get ex_d
< VALUE ex_d 0 1
< d
< END
# 4294967296 truncates to 0: never expires
> set ex_e 0 4294967296 1
> e
< STORED
> get ex_e
< VALUE ex_e 0 1
< e
< END
# an expired item behaves as missing
> set ex_f 0 -1 1
> 5
< STORED
> gets ex_f
< END
> gat 0 ex_f
< END
> touch ex_f 0
< NOT_FOUND
> incr ex_f 1
< NOT_FOUND
> decr ex_f 1
< NOT_FOUND
> cas ex_f 0 0 1 1
> x
< NOT_FOUND
> replace ex_f 0 0 1
> x
< NOT_STORED
> append ex_f 0 0 1
> x
< NOT_STORED
> prepend ex_f 0 0 1
> x
< NOT_STORED
> delete ex_f
< NOT_FOUND
> set ex_f 0 -1 1
> 5
< STORED
> add ex_f 0 0 1
> y
< STORED
> get ex_f
< VALUE ex_f 0 1
< y
< END
# replacing an item with an expired one removes it
> set ex_g 0 0 1
> g
< STORED
> set ex_g 0 -1 1
> g
< STORED
> get ex_g
< END
