"""Eviction order of chunked items (docs/ENGINE.md#chunked-items).

memcached evicts chunked items by recency like any other; memoria's CLOCK
hand judges a chunked item at each of its segments it meets, so a value
just stored can be evicted before older ones. Waits here for the
eviction policy of issue 9 to judge a chunked item once per pass."""

import pytest


@pytest.mark.parametrize("n_mib", [3, 12])
def test_recently_set_chunked_items_survive(start_server, n_mib):
    srv = start_server("-m", "64", "-I", "16m")
    n = n_mib * 1024 * 1024
    keep = 32 // n_mib          # what half the cache holds, never evicted
    with srv.connect() as c:
        for i in range(40):
            assert c.set("ev_%d" % i, bytes([i]) * n) == "STORED"
            for j in range(max(0, i - keep + 1), i + 1):
                c.cmd("mg ev_%d s" % j)
                assert c.readline() == b"HD s%d" % n, (i, j)
        assert int(c.stats()["evictions"]) > 0
