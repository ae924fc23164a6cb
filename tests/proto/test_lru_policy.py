"""The segmented LRU's surface (protocol.txt, LRU Tuning and the stats
items fields) and what the eviction policy promises: field presence and
order in segmented, flat, temporary and maintainer-less modes, `lru`
command effects on `stats settings`, and that an item read again
outlives items never read (docs/ENGINE.md#eviction)."""

import pytest

import wire

SEG_FIELDS = [
    "number", "number_hot", "number_warm", "number_cold", "age_hot",
    "age_warm", "age", "mem_requested", "evicted", "evicted_nonzero",
    "evicted_time", "outofmemory", "tailrepairs", "reclaimed",
    "expired_unfetched", "evicted_unfetched", "evicted_active",
    "crawler_reclaimed", "crawler_items_checked", "lrutail_reflocked",
    "moves_to_cold", "moves_to_warm", "moves_within_lru", "direct_reclaims",
    "hits_to_hot", "hits_to_warm", "hits_to_cold", "hits_to_temp",
]
FLAT_FIELDS = [
    "number", "age", "mem_requested", "evicted", "evicted_nonzero",
    "evicted_time", "outofmemory", "tailrepairs", "reclaimed",
    "expired_unfetched", "evicted_unfetched", "crawler_reclaimed",
    "crawler_items_checked", "lrutail_reflocked",
]
TEMP_FIELDS = SEG_FIELDS[:4] + ["number_temp"] + SEG_FIELDS[4:]
GENERAL_SEG = ["lru_maintainer_juggles", "evicted_active", "moves_to_cold",
               "moves_to_warm", "moves_within_lru", "direct_reclaims"]


def lines(c, cmd):
    c.cmd(cmd)
    out = []
    while True:
        line = c.readline().decode()
        if line == "END":
            return out
        out.append(line)


def class1_fields(c):
    """Field names of class 1 in `stats items`, in order, and values."""
    names, values = [], {}
    for line in lines(c, "stats items"):
        _, key, value = line.split(" ", 2)
        _, cls, name = key.split(":")
        if cls == "1":
            names.append(name)
            values[name] = int(value)
    return names, values


def settings(c):
    return c.stats("settings")


def test_items_fields_segmented(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("a", "1") == "STORED"
        assert c.set("b", "2", exptime=100) == "STORED"
        assert c.get("a") is not None
        names, v = class1_fields(c)
        assert names == SEG_FIELDS
        assert v["number"] == 2
        assert v["number_hot"] + v["number_warm"] + v["number_cold"] == 2
        assert v["hits_to_hot"] + v["hits_to_warm"] + v["hits_to_cold"] + \
            v["hits_to_temp"] == 1
        general = c.stats()
        for name in GENERAL_SEG:
            assert name in general


def test_items_fields_stay_after_lru_mode_flat(start_server):
    """memcached prints the segment fields while its maintainer runs,
    whatever `lru mode` says; `stats settings` shows the mode."""
    srv = start_server()
    with srv.connect() as c:
        assert c.set("a", "1") == "STORED"
        assert settings(c)["lru_segmented"] == "yes"
        c.cmd("lru mode flat")
        c.expect_line("OK")
        assert class1_fields(c)[0] == SEG_FIELDS
        assert settings(c)["lru_segmented"] == "no"
        c.cmd("lru mode segmented")
        c.expect_line("OK")
        assert settings(c)["lru_segmented"] == "yes"


def test_items_fields_without_maintainer(start_server):
    srv = start_server("-o", "no_lru_maintainer")
    with srv.connect() as c:
        assert c.set("a", "1") == "STORED"
        assert c.get("a") is not None
        assert class1_fields(c)[0] == FLAT_FIELDS
        general = c.stats()
        for name in GENERAL_SEG:
            assert name not in general
        s = settings(c)
        assert s["lru_maintainer_thread"] == "no"
        assert s["lru_segmented"] == "no"


def test_no_modern_is_flat(start_server):
    srv = start_server("-o", "no_modern")
    with srv.connect() as c:
        assert c.set("a", "1") == "STORED"
        assert class1_fields(c)[0] == FLAT_FIELDS
        assert settings(c)["lru_segmented"] == "no"


def test_temporary_ttl_items(start_server):
    srv = start_server("-o", "temporary_ttl=100")
    with srv.connect() as c:
        assert c.set("short", "1", exptime=50) == "STORED"
        assert c.set("long", "2", exptime=1000) == "STORED"
        assert c.set("never", "3") == "STORED"
        names, v = class1_fields(c)
        assert names == TEMP_FIELDS
        assert v["number_temp"] == 1
        assert v["number"] == 3
        assert c.get("short") is not None
        assert class1_fields(c)[1]["hits_to_temp"] == 1
        s = settings(c)
        assert s["temp_lru"] == "yes" and s["temporary_ttl"] == "100"


def test_lru_temp_ttl_switches_number_temp(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("a", "1") == "STORED"
        assert "number_temp" not in class1_fields(c)[0]
        c.cmd("lru temp_ttl 30")
        c.expect_line("OK")
        assert class1_fields(c)[0] == TEMP_FIELDS
        s = settings(c)
        assert (s["temp_lru"], s["temporary_ttl"]) == ("yes", "30")
        # a negative TTL turns TEMP off and keeps the TTL
        c.cmd("lru temp_ttl -1")
        c.expect_line("OK")
        assert "number_temp" not in class1_fields(c)[0]
        s = settings(c)
        assert (s["temp_lru"], s["temporary_ttl"]) == ("no", "30")
        # parsed as a long, kept in 32 signed bits: this one is negative
        c.cmd("lru temp_ttl 4294967295")
        c.expect_line("OK")
        assert settings(c)["temp_lru"] == "no"
        c.cmd("lru temp_ttl 99999999999")
        c.expect_line("OK")
        s = settings(c)
        assert (s["temp_lru"], s["temporary_ttl"]) == ("yes", "1215752191")


def test_lru_tune_shows_in_settings(start_server):
    srv = start_server()
    with srv.connect() as c:
        s = settings(c)
        assert [s[k] for k in ("hot_lru_pct", "warm_lru_pct",
                               "hot_max_factor", "warm_max_factor")] == \
            ["20", "40", "0.20", "2.00"]
        c.cmd("lru tune 10 30 0.5 3")
        c.expect_line("OK")
        s = settings(c)
        assert [s[k] for k in ("hot_lru_pct", "warm_lru_pct",
                               "hot_max_factor", "warm_max_factor")] == \
            ["10", "30", "0.50", "3.00"]
        # refused values change nothing
        c.cmd("lru tune 50 40 0.1 2")
        c.expect_line("ERROR hot and warm pcts must not exceed 80")
        c.cmd("lru tune 10 10 0 2")
        c.expect_line("ERROR hot/warm age factors must be greater than 0")
        c.cmd("lru tune -5 10 0.1 2")
        c.expect_line("ERROR")
        assert settings(c)["hot_lru_pct"] == "10"
        # pcts are read as 32-bit unsigned numbers
        c.cmd("lru tune 4294967297 0 1e1 2")
        c.expect_line("OK")
        s = settings(c)
        assert (s["hot_lru_pct"], s["hot_max_factor"]) == ("1", "10.00")
        # noreply: nothing, even for an error; only a last token counts
        c.cmd("lru tune 70 10 0.2 2 noreply")
        c.cmd("lru mode foo noreply")
        c.cmd("lru tune 20 40 0.2 2 noreply x")
        c.expect_line("OK")
        assert settings(c)["hot_lru_pct"] == "20"


def test_lru_command_options_apply(start_server):
    srv = start_server("-o", "hot_lru_pct=10,warm_lru_pct=30,"
                       "hot_max_factor=0.5,warm_max_factor=3")
    with srv.connect() as c:
        s = settings(c)
        assert [s[k] for k in ("hot_lru_pct", "warm_lru_pct",
                               "hot_max_factor", "warm_max_factor")] == \
            ["10", "30", "0.50", "3.00"]


def test_lru_segmented_is_not_an_option():
    rc, _, err = wire.run_binary(wire.user_args() + ["-o", "lru_segmented"])
    assert rc != 0
    assert 'Illegal suboption "lru_segmented"' in err


def fill(c, prefix, n, size=100):
    value = b"x" * size
    batch = []
    for i in range(n):
        batch.append(b"set %s%d 0 0 %d noreply\r\n%s\r\n" %
                     (prefix.encode(), i, size, value))
        if len(batch) == 500:
            c.send(b"".join(batch))
            batch = []
    c.send(b"".join(batch))
    c.cmd("version")
    c.readline()


def present(c, prefix, n):
    found = 0
    for i in range(n):
        if c.get("%s%d" % (prefix, i)) is not None:
            found += 1
    return found


@pytest.mark.memoria_only
def test_read_items_outlive_a_flood_of_one_hit_items(start_server):
    """Items read again after their store survive a flood of items never
    read (three times what fits) better than items never read: probation
    evicts the flood and keeps the read ones (docs/ENGINE.md#eviction).
    memcached's maintainer moves items in its own time, so the counts it
    keeps depend on timing: memoria only."""
    srv = start_server("-m", "4")
    with srv.connect() as c:
        fill(c, "hot", 200)
        fill(c, "cold", 200)
        for _ in range(2):
            assert present(c, "hot", 200) == 200
        fill(c, "flood", 3 * 4 * 1048576 // 150)
        hot = present(c, "hot", 200)
        cold = present(c, "cold", 200)
        assert cold == 0
        assert hot == 200
        general = c.stats()
        assert int(general["moves_to_warm"]) > 0
        assert int(general["evictions"]) > 0
        assert int(general["lru_maintainer_juggles"]) > 0


@pytest.mark.threaded
def test_segments_stay_consistent_under_concurrent_evictions(start_server):
    """Readers and writers on several connections while the policy
    evicts: the segment gauges still partition every class's items."""
    import threading

    srv = start_server("-m", "2", "-t", "4")
    errors = []

    def writer(n):
        try:
            with srv.connect() as c:
                for r in range(3):
                    fill(c, "w%d_%d_" % (n, r), 3000)
        except Exception as e:  # reported below
            errors.append(e)

    def reader(n):
        try:
            with srv.connect() as c:
                for r in range(3):
                    for i in range(0, 3000, 7):
                        c.get("w%d_%d_%d" % (n, r, i))
        except Exception as e:
            errors.append(e)

    threads = [threading.Thread(target=f, args=(n,))
               for n in range(3) for f in (writer, reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with srv.connect() as c:
        per = {}
        for line in lines(c, "stats items"):
            _, key, value = line.split(" ", 2)
            _, cls, name = key.split(":")
            per.setdefault(cls, {})[name] = int(value)
        assert per
        for v in per.values():
            assert v["number_hot"] + v["number_warm"] + v["number_cold"] == \
                v["number"]
        assert int(c.stats()["evictions"]) > 0


def test_lru_tune_takes_nan_and_inf_factors(start_server):
    """memcached refuses factors <= 0 only: NaN and infinity pass, and
    stores then evict as usual."""
    srv = start_server("-m", "2")
    with srv.connect() as c:
        c.cmd("lru tune 10 10 nan inf")
        c.expect_line("OK")
        s = settings(c)
        assert (s["hot_max_factor"], s["warm_max_factor"]) == ("nan", "inf")
        fill(c, "n", 3 * 2 * 1048576 // 150)
        c.cmd("lru tune 10 10 inf nan")
        c.expect_line("OK")
        fill(c, "m", 3 * 2 * 1048576 // 150)
        assert int(c.stats()["evictions"]) > 0
