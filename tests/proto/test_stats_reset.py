"""`stats reset` (protocol.txt, Statistics; docs/COMPAT.md#stats-sub-commands)."""




def test_stats_reset(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.set("r1", "1")
        c.set("r2", "22")
        c.get("r1")
        c.get("nope")
        before = c.stats()
        assert c.call("stats reset") == "RESET"
        after = c.stats()
    for k in ("cmd_get", "cmd_set", "get_hits", "get_misses", "total_items",
              "total_connections", "evictions", "delete_hits", "incr_hits"):
        assert after[k] == "0", (k, after[k])
    for k in ("curr_items", "bytes", "limit_maxbytes", "curr_connections", "threads"):
        assert after[k] == before[k], k
    assert after["curr_items"] == "2"
