"""The hash table options: -o hashpower, no_hashexpand, hash_algorithm
(docs/OPTIONS.md; docs/COMPAT.md#hash-table)."""

import time

import pytest

DEADLINE = 20.0


def fill(c, n):
    for i in range(0, n, 2000):
        c.send(b"".join(b"set h%d 0 0 1 noreply\r\nx\r\n" % j
                        for j in range(i, min(n, i + 2000))))
        assert c.call("version").startswith("VERSION ")


def level(c):
    return int(c.stats()["hash_power_level"])


@pytest.mark.parametrize("name", ["jenkins", "murmur3", "xxh3"])
def test_hash_algorithm_is_shown_as_asked(start_server, name):
    srv = start_server("-o", "hash_algorithm=" + name)
    with srv.connect() as c:
        assert c.stats("settings")["hash_algorithm"] == name
        assert c.set("k", "v") == "STORED"
        assert c.get("k") == b"v"


def test_hashpower_sets_the_first_table(start_server):
    srv = start_server("-o", "hashpower=20")
    with srv.connect() as c:
        st = c.stats()
        assert (st["hash_power_level"], st["hash_bytes"]) == \
            ("20", str(8 << 20))
        assert c.stats("settings")["hashpower_init"] == "20"


def test_table_grows_unless_no_hashexpand(start_server):
    # 40000 items are over both servers' thresholds for 2^14 buckets
    # (memcached grows at 1.5 items per bucket, memoria at 2)
    grows = start_server("-o", "hashpower=14")
    fixed = start_server("-o", "hashpower=14,no_hashexpand")
    with grows.connect() as g, fixed.connect() as f:
        fill(g, 40000)
        fill(f, 40000)
        deadline = time.monotonic() + DEADLINE
        while level(g) == 14 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert level(g) > 14
        assert level(f) == 14
        assert f.stats()["hash_is_expanding"] == "0"
        assert f.get("h39999") == b"x"
