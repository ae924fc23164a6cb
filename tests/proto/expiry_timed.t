!mark slow
# Relative expiry over real time (protocol.txt, Expiration times;
# docs/COMPAT.md#expiry-and-the-clock). The clock ticks once per second, so
# a TTL of 1 may expire anywhere within 0-2 s: everything checks only after
# one shared sleep of 2.5 s, and what must survive has a TTL of 100 or none.
> set et_ttl1 0 1 1
> a
< STORED
> set et_ttl100 0 100 1
> b
< STORED
> set et_wrap 0 4294967297 1
> c
< STORED
# touch, gat and gats replace the expiry
> set et_touch_short 0 0 1
> d
< STORED
> touch et_touch_short 1
< TOUCHED
> set et_touch_long 0 1 1
> e
< STORED
> touch et_touch_long 100
< TOUCHED
> set et_gat_short 0 0 1
> f
< STORED
> gat 1 et_gat_short
< VALUE et_gat_short 0 1
< f
< END
> set et_gats_long 0 1 1
> g
< STORED
> gats 100 et_gats_long
<~ VALUE et_gats_long 0 1 \d+
< g
< END
> set et_touch_zero 0 1 1
> h
< STORED
> touch et_touch_zero 0
< TOUCHED
# append/prepend keep the old expiry; incr/decr never change it
> set et_app_short 0 1 1
> i
< STORED
> append et_app_short 0 0 1
> j
< STORED
> set et_app_long 0 0 1
> k
< STORED
> prepend et_app_long 0 1 1
> l
< STORED
> set et_incr_short 0 1 1
> 9
< STORED
> incr et_incr_short 1
< 10
> set et_incr_long 0 100 1
> 9
< STORED
> incr et_incr_long 1
< 10
# set replaces the expiry too
> set et_reset 0 1 1
> m
< STORED
> set et_reset 0 0 1
> n
< STORED
!sleep 2.5
> get et_ttl1 et_wrap et_touch_short et_gat_short et_app_short et_incr_short
< END
> get et_ttl100 et_touch_long et_gats_long et_touch_zero et_app_long et_incr_long et_reset
< VALUE et_ttl100 0 1
< b
< VALUE et_touch_long 0 1
< e
< VALUE et_gats_long 0 1
< g
< VALUE et_touch_zero 0 1
< h
< VALUE et_app_long 0 2
< lk
< VALUE et_incr_long 0 2
< 10
< VALUE et_reset 0 1
< n
< END
# expired items are gone for every command
> touch et_ttl1 0
< NOT_FOUND
> incr et_incr_short 1
< NOT_FOUND
> add et_ttl1 0 0 1
> z
< STORED
> get et_ttl1
< VALUE et_ttl1 0 1
< z
< END
