"""The stats sub-commands (protocol.txt, Statistics; docs/COMPAT.md#stats):
every field name and order as memcached 1.6.18 prints them, the invariants
that tie the families together, stats reset, cachedump and sizes."""

import re
import time

import pytest

# The general `stats` of 1.6.18 with default options, in order.
GENERAL = """pid uptime time version libevent pointer_size rusage_user
rusage_system max_connections curr_connections total_connections
rejected_connections connection_structures response_obj_oom
response_obj_count response_obj_bytes read_buf_count read_buf_bytes
read_buf_bytes_free read_buf_oom reserved_fds cmd_get cmd_set cmd_flush
cmd_touch cmd_meta get_hits get_misses get_expired get_flushed delete_misses
delete_hits incr_misses incr_hits decr_misses decr_hits cas_misses cas_hits
cas_badval touch_hits touch_misses store_too_large store_no_memory auth_cmds
auth_errors bytes_read bytes_written limit_maxbytes accepting_conns
listen_disabled_num time_in_listen_disabled_us threads conn_yields
hash_power_level hash_bytes hash_is_expanding slab_reassign_rescues
slab_reassign_chunk_rescues slab_reassign_evictions_nomem
slab_reassign_inline_reclaim slab_reassign_busy_items
slab_reassign_busy_deletes slab_reassign_running slabs_moved
lru_crawler_running lru_crawler_starts lru_maintainer_juggles malloc_fails
log_worker_dropped log_worker_written log_watcher_skipped log_watcher_sent
log_watchers unexpected_napi_ids round_robin_fallback bytes curr_items
total_items slab_global_page_pool expired_unfetched evicted_unfetched
evicted_active evictions reclaimed crawler_reclaimed crawler_items_checked
lrutail_reflocked moves_to_cold moves_to_warm moves_within_lru
direct_reclaims lru_bumps_dropped""".split()

MOVER = """slab_reassign_rescues slab_reassign_chunk_rescues
slab_reassign_evictions_nomem slab_reassign_inline_reclaim
slab_reassign_busy_items slab_reassign_busy_deletes slab_reassign_running
slabs_moved""".split()
CRAWLER = ["lru_crawler_running", "lru_crawler_starts"]
MAINTAINER = """lru_maintainer_juggles evicted_active moves_to_cold
moves_to_warm moves_within_lru direct_reclaims lru_bumps_dropped""".split()

ITEMS = """number number_hot number_warm number_cold age_hot age_warm age
mem_requested evicted evicted_nonzero evicted_time outofmemory tailrepairs
reclaimed expired_unfetched evicted_unfetched evicted_active
crawler_reclaimed crawler_items_checked lrutail_reflocked moves_to_cold
moves_to_warm moves_within_lru direct_reclaims hits_to_hot hits_to_warm
hits_to_cold hits_to_temp""".split()
ITEMS_FLAT = """number age mem_requested evicted evicted_nonzero evicted_time
outofmemory tailrepairs reclaimed expired_unfetched evicted_unfetched
crawler_reclaimed crawler_items_checked lrutail_reflocked""".split()

SLABS = """chunk_size chunks_per_page total_pages total_chunks used_chunks
free_chunks free_chunks_end get_hits cmd_set delete_hits incr_hits
decr_hits cas_hits cas_badval touch_hits""".split()

LINE = re.compile(rb"STAT (\S+) (\S+)")


def lines(c, sub=""):
    """The STAT (name, value) pairs of one stats form, in order; checks
    that each line is exactly three tokens and that END closes it."""
    c.cmd(("stats " + sub).strip())
    out = []
    while True:
        line = c.readline()
        if line == b"END":
            return out
        m = LINE.fullmatch(line)
        assert m, "not a three-token STAT line: %r" % line
        out.append((m.group(1).decode(), m.group(2).decode()))


def workload(c):
    """Items in three classes: 4 (value 100), 19 (value 5000, flags) and 1."""
    for i in range(5):
        c.set("k%d" % i, "x" * 100)
    c.set("big", "y" * 5000, flags=5)
    c.set("s", "1")
    assert c.get("k1") == b"x" * 100
    assert c.get("nope") is None
    c.cmd("touch s 100")
    c.expect_line(b"TOUCHED")
    c.cmd("delete k4")
    c.expect_line(b"DELETED")


def names_of(pairs):
    return [n for n, _ in pairs]


def test_general_names_in_order(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert names_of(lines(c)) == GENERAL


@pytest.mark.parametrize("opt,gone", [
    ("no_lru_maintainer", MAINTAINER),
    ("no_lru_crawler", CRAWLER),
    ("no_slab_reassign", MOVER),
])
def test_general_families_follow_options(start_server, opt, gone):
    srv = start_server("-o", opt)
    with srv.connect() as c:
        assert names_of(lines(c)) == [n for n in GENERAL if n not in gone]


def test_idle_kicks_only_with_idle_timeout(start_server):
    srv = start_server("-o", "idle_timeout=100")
    with srv.connect() as c:
        got = names_of(lines(c))
    i = GENERAL.index("bytes_read")
    assert got == GENERAL[:i] + ["idle_kicks"] + GENERAL[i:]


def test_items_and_slabs_by_memcached_class(start_server):
    srv = start_server()
    with srv.connect() as c:
        workload(c)
        items = lines(c, "items")
        slabs = lines(c, "slabs")
    ids = sorted({int(n.split(":")[1]) for n, _ in items})
    assert ids == [1, 4, 19]
    for i in ids:
        got = [n.split(":")[2] for n, _ in items if n.split(":")[1] == str(i)]
        assert got == ITEMS, i
    it = {n: int(v) for n, v in items}
    assert it["items:4:number"] == 4
    assert it["items:19:number"] == 1
    assert it["items:1:number"] == 1
    # memcached's item size: 48 + key + 1 + value + 2 + 8 (+ 4 with flags)
    assert it["items:4:mem_requested"] == 4 * (48 + 2 + 1 + 100 + 2 + 8)
    assert it["items:19:mem_requested"] == 48 + 3 + 1 + 5000 + 2 + 8 + 4
    assert it["items:1:mem_requested"] == 48 + 1 + 1 + 1 + 2 + 8
    # which queue holds an item is timing (memcached's maintainer): sum them
    assert sum(it["items:4:number_%s" % q]
               for q in ("hot", "warm", "cold")) == 4
    # a hit counts against the queue the item was in (timing): sum them
    assert sum(it["items:4:hits_to_%s" % q]
               for q in ("hot", "warm", "cold", "temp")) == 1

    sl = {n: int(v) for n, v in slabs[:-2]}
    assert [n for n, _ in slabs[-2:]] == ["active_slabs", "total_malloced"]
    sids = sorted({int(n.split(":")[0]) for n, _ in slabs[:-2]})
    assert sids == [1, 4, 19]
    for i in sids:
        got = [n.split(":")[1] for n, _ in slabs[:-2]
               if n.split(":")[0] == str(i)]
        assert got == SLABS, i
    assert sl["4:chunk_size"] == 192
    assert sl["19:chunk_size"] == 5680
    assert sl["1:chunk_size"] == 96
    assert sl["4:cmd_set"] == 5
    assert sl["4:get_hits"] == 1
    assert sl["4:delete_hits"] == 1
    assert sl["1:touch_hits"] == 1
    assert sl["19:cmd_set"] == 1
    assert sl["4:used_chunks"] == 4
    assert sl["4:free_chunks_end"] == 0
    for i in sids:
        assert sl["%d:total_pages" % i] >= 1
        assert (sl["%d:used_chunks" % i] + sl["%d:free_chunks" % i]
                == sl["%d:total_chunks" % i])
    assert dict(slabs[-2:])["active_slabs"] == "3"


def test_items_without_maintainer(start_server):
    srv = start_server("-o", "no_lru_maintainer")
    with srv.connect() as c:
        c.set("a", "1")
        items = lines(c, "items")
    assert [n.split(":")[2] for n, _ in items] == ITEMS_FLAT


def test_items_with_temporary_ttl(start_server):
    srv = start_server("-o", "temporary_ttl=10")
    with srv.connect() as c:
        c.set("a", "1")
        got = [n.split(":")[2] for n, _ in lines(c, "items")]
    assert got == ITEMS[:4] + ["number_temp"] + ITEMS[4:]


def test_fresh_server_items_and_slabs(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert lines(c, "items") == []
        slabs = lines(c, "slabs")
    assert slabs == [("active_slabs", "0"), ("total_malloced", "0")]


def test_invariants_across_families(start_server):
    srv = start_server("-m", "8")
    with srv.connect() as c:
        for size in (10, 300, 2000, 30000, 200000, 700000):
            for i in range(3):
                c.set("i%d_%d" % (size, i), "z" * size, flags=i)
        for i in range(50):
            c.get("i10_%d" % (i % 5))
        general = dict(lines(c))
        items = {n: int(v) for n, v in lines(c, "items")}
        slabs = dict(lines(c, "slabs"))
    number = sum(v for n, v in items.items() if n.endswith(":number"))
    memreq = sum(v for n, v in items.items() if n.endswith(":mem_requested"))
    assert int(general["curr_items"]) == number
    assert int(general["bytes"]) == memreq
    assert (int(general["get_hits"]) + int(general["get_misses"])
            == int(general["cmd_get"]))
    hits = sum(int(v) for n, v in slabs.items() if n.endswith(":get_hits"))
    assert hits == int(general["get_hits"])
    sets = sum(int(v) for n, v in slabs.items() if n.endswith(":cmd_set"))
    assert sets == int(general["cmd_set"])
    # Every class may take its first page beyond -m (docs/COMPAT.md#memory-limit).
    classes = int(slabs["active_slabs"])
    assert (int(slabs["total_malloced"])
            <= int(general["limit_maxbytes"]) + classes * 1024 * 1024)


def test_monitoring_rules(start_server):
    """What prometheus/memcached_exporter and Telegraf need (see the issue):
    three tokens per line, nothing but STAT before END, fields always
    present, booleans yes/no, rusage with six digits."""
    srv = start_server()
    with srv.connect() as c:
        workload(c)
        general = dict(lines(c))
        slabs = lines(c, "slabs")
        lines(c, "items")
        settings = dict(lines(c, "settings"))
    for k in ("cmd_set", "cas_hits", "cas_misses", "cas_badval"):
        assert k in general
    for k in ("rusage_user", "rusage_system"):
        assert re.fullmatch(r"\d+\.\d{6}", general[k]), general[k]
    ids = {n.split(":")[0] for n, _ in slabs if ":" in n}
    sl = dict(slabs)
    for i in ids:
        for f in ("cmd_set", "cas_hits", "cas_badval"):
            assert "%s:%s" % (i, f) in sl
    assert "extstore_limit_maxbytes" not in general
    assert "proxy_backend_total" not in general
    for k in ("evictions", "cas_enabled", "flush_enabled"):
        assert settings[k] in ("on", "off", "yes", "no"), k


def test_stats_reset(start_server):
    srv = start_server()
    with srv.connect() as c:
        workload(c)
        before = dict(lines(c))
        assert c.call("stats reset extra") == "RESET"
        after = dict(lines(c))
        items = dict(lines(c, "items"))
        slabs = dict(lines(c, "slabs"))
    for k in ("cmd_get", "cmd_set", "cmd_touch", "get_hits", "get_misses",
              "total_items", "delete_hits", "touch_hits", "evictions"):
        assert after[k] == "0", (k, after[k])
    # only this connection's traffic since the reset
    assert int(after["total_connections"]) <= 1
    assert 0 < int(after["bytes_read"]) < int(before["bytes_read"])
    for k in ("curr_items", "bytes", "limit_maxbytes", "curr_connections",
              "threads", "hash_power_level", "connection_structures"):
        assert after[k] == before[k], k
    assert items["items:4:number"] == "4"
    assert slabs["4:cmd_set"] == "0"
    assert slabs["4:get_hits"] == "0"
    assert slabs["4:used_chunks"] == "4"


def test_unknown_and_absent_families(server):
    with server.connect() as c:
        for sub in ("proxy", "malloc", "foo", "ITEMS", "a b c"):
            assert c.call("stats " + sub) == "ERROR", sub
        assert c.call("stats extstore") == "END"
        assert names_of(lines(c, "settings junk")) == \
            names_of(lines(c, "settings"))
        assert names_of(lines(c, "items junk")) == names_of(lines(c, "items"))


def dump_cold(c, args, n):
    """cachedump lists memcached's COLD queue, which new items reach about
    a second after their store: poll (bounded) until n items show."""
    deadline = time.monotonic() + 10
    while True:
        c.cmd("stats cachedump " + args)
        got = []
        while not got or got[-1] != b"END":
            got.append(c.readline())
        if len(got) > n or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def test_cachedump(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.set("d0", "0123456789")
        c.set("d1", "0123456789", exptime=100)
        c.set("d2", "0123456789")
        t = int(dict(lines(c))["time"])
        got = dump_cold(c, "1 0", 3)
        assert got[0] == b"ITEM d2 [10 b; 0 s]"
        m = re.fullmatch(rb"ITEM d1 \[10 b; (\d+) s\]", got[1])
        assert m and abs(int(m.group(1)) - (t + 100)) <= 2, got[1]
        assert got[2:] == [b"ITEM d0 [10 b; 0 s]", b"END"]
        assert c.call("stats cachedump 1 1") == "ITEM d2 [10 b; 0 s]"
        c.expect_line(b"END")
        assert c.call("stats cachedump 1 0 extra") == "ITEM d2 [10 b; 0 s]"
        for _ in range(3):
            c.readline()
        assert c.call("stats cachedump 2 0") == "END"
        assert c.call("stats cachedump 0 0") == "END"
        assert c.call("stats cachedump 63 0") == "END"
        for line, reply in [
                ("stats cachedump", "CLIENT_ERROR bad command line"),
                ("stats cachedump 1", "CLIENT_ERROR bad command line"),
                ("stats cachedump x 0", "CLIENT_ERROR bad command line format"),
                ("stats cachedump 1 -1", "CLIENT_ERROR bad command line format"),
                ("stats cachedump 64 0", "CLIENT_ERROR Illegal slab id"),
                ("stats cachedump 100 0", "CLIENT_ERROR Illegal slab id")]:
            assert c.call(line) == reply, line


def test_cachedump_refused_with_X(start_server):
    srv = start_server("-X")
    with srv.connect() as c:
        c.set("d0", "1")
        for line in ("stats cachedump 1 0", "stats cachedump"):
            assert c.call(line) == "CLIENT_ERROR stats cachedump not allowed"


def test_cachedump_output_is_bounded(start_server):
    srv = start_server("-m", "128")
    key = "k" * 200
    with srv.connect() as c:
        for i in range(12000):
            c.send(b"set %s%05d 0 0 1 noreply\r\n1\r\n" % (key.encode(), i))
        c.cmd("mn")
        c.expect_line(b"MN")
        got = dump_cold(c, "6 0", 9000)
        total = sum(len(line) + 2 for line in got)
        n = len(got) - 1
    assert total <= 2 * 1024 * 1024
    assert 8000 < n < 12000


def test_sizes(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.set("old", "1")
        assert c.call("stats sizes") == "STAT sizes_status disabled"
        c.expect_line(b"END")
        # no END after these two
        assert c.call("stats sizes_enable") == "STAT sizes_status enabled"
        c.assert_quiet()
        c.set("a", "1")            # 48+1+1+1+2+8 = 61 -> 64
        c.set("b", "x" * 100)      # 160 -> 160
        c.set("c", "x" * 100)
        c.set("d", "x" * 5000, flags=1)  # 5064 -> 5088
        assert lines(c, "sizes") == [("64", "1"), ("160", "2"), ("5088", "1")]
        c.cmd("delete old")
        c.expect_line(b"DELETED")
        c.cmd("delete c")
        c.expect_line(b"DELETED")
        assert lines(c, "sizes") == [("64", "1"), ("160", "1"), ("5088", "1")]
        assert c.call("stats sizes_disable") == "STAT sizes_status disabled"
        c.assert_quiet()
        assert lines(c, "sizes") == [("sizes_status", "disabled")]


def test_sizes_enable_needs_cas(start_server):
    srv = start_server("-C")
    with srv.connect() as c:
        c.cmd("stats sizes_enable")
        c.expect_line(b"STAT sizes_status error")
        c.expect_line(b"STAT sizes_error cas_support_disabled")
        c.assert_quiet()


def test_sizes_from_start_with_track_sizes(start_server):
    srv = start_server("-o", "track_sizes")
    with srv.connect() as c:
        c.set("a", "1")
        assert lines(c, "sizes") == [("64", "1")]


def test_uptime_and_time(start_server):
    srv = start_server()
    s = srv.stats()
    assert 0 <= int(s["uptime"]) <= 10
    assert abs(int(s["time"]) - time.time()) <= 3


@pytest.mark.threaded
def test_counters_under_concurrent_workers(start_server):
    """Every worker counts into its own block while other connections read
    every stats form: the totals are exact and the families agree."""
    import threading

    srv = start_server("-t", "4")
    threads, ops = 6, 300
    errors = []
    stop = threading.Event()

    def writer(t):
        try:
            with srv.connect() as c:
                for i in range(ops):
                    key = "cw_%d_%d" % (t, i)
                    assert c.set(key, "v" * (10 + 97 * (i % 7))) == "STORED"
                    assert c.get(key) is not None
                    assert c.get(key + "_miss") is None
                    if i % 3 == 0:
                        assert c.call("delete " + key) == "DELETED"
        except Exception as e:  # reported below
            errors.append(e)

    def reader():
        try:
            with srv.connect() as c:
                while not stop.is_set():
                    for sub in ("", "items", "slabs", "sizes", "conns",
                                "settings"):
                        lines(c, sub)
        except Exception as e:
            errors.append(e)

    workers = [threading.Thread(target=writer, args=(t,))
               for t in range(threads)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for th in workers + readers:
        th.start()
    for th in workers:
        th.join(120)
    stop.set()
    for th in readers:
        th.join(30)
    assert not errors, errors
    with srv.connect() as c:
        general = dict(lines(c))
        items = {n: int(v) for n, v in lines(c, "items")}
        slabs = {n: int(v) for n, v in lines(c, "slabs")}
    n = threads * ops
    assert int(general["cmd_set"]) == n
    assert int(general["get_hits"]) == n
    assert int(general["get_misses"]) == n
    deletes = threads * len(range(0, ops, 3))
    assert int(general["delete_hits"]) == deletes
    assert int(general["curr_items"]) == n - deletes
    assert sum(v for k, v in items.items() if k.endswith(":number")) == \
        n - deletes
    for field, total in (("cmd_set", n), ("get_hits", n),
                         ("delete_hits", deletes)):
        assert sum(v for k, v in slabs.items()
                   if k.endswith(":" + field)) == total, field


@pytest.mark.parametrize("flags,counted", [
    (("-o", "track_sizes", "-C"), []),
    (("-C", "-o", "track_sizes"), [("64", "1")]),
])
def test_track_sizes_without_cas(start_server, flags, counted):
    """-C with -o track_sizes: the histogram is on from the start. Items
    carry no CAS; memcached counts them only when -C came first (it takes
    the histogram's CAS boundary, 0 without CAS, as it parses the option)."""
    srv = start_server(*flags)
    with srv.connect() as c:
        c.set("a", "1")  # 48 + 1 + 1 + 1 + 2 = 53 -> 64
        assert lines(c, "sizes") == counted
        assert dict(lines(c, "settings"))["track_sizes"] == "yes"
