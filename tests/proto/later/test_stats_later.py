"""`stats reset` and `stats settings` (protocol.txt, Statistics and
Settings statistics): stats sub-commands come with a later issue; see
../README.md."""




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


def test_stats_settings_reflect_flags(start_server):
    srv = start_server("-m", "48", "-c", "500", "-t", "2", "-R", "7", "-C",
                       "-M", "-I", "2m", "-f", "1.5", "-n", "64")
    s = srv.stats("settings")
    assert s["maxbytes"] == str(48 * 1024 * 1024)
    assert s["maxconns"] == "500"
    assert s["tcpport"] == str(srv.port)
    assert s["udpport"] == "0"
    assert s["num_threads"] == "2"
    assert s["reqs_per_event"] == "7"
    assert s["cas_enabled"] == "no"
    assert s["evictions"] == "off"
    assert s["item_size_max"] == str(2 * 1024 * 1024)
    assert s["growth_factor"] == "1.50"
    assert s["chunk_size"] == "64"
    assert s["binding_protocol"] == "auto-negotiate"


def test_stats_settings_defaults(server):
    s = server.stats("settings")
    expect = {
        "maxbytes": "67108864", "maxconns": "1024", "udpport": "0",
        "inter": "127.0.0.1", "evictions": "on", "domain_socket": "NULL",
        "growth_factor": "1.25", "chunk_size": "48", "num_threads": "4",
        "reqs_per_event": "20", "cas_enabled": "yes",
        "item_size_max": "1048576", "slab_chunk_max": "524288",
        "flush_enabled": "yes", "hash_algorithm": "murmur3",
        "lru_segmented": "yes", "idle_timeout": "0",
    }
    for k, v in expect.items():
        assert s.get(k) == v, (k, s.get(k))
