"""The general `stats` command (protocol.txt, General-purpose statistics;
docs/COMPAT.md#general-stats)."""

import re
import time

import pytest

COUNTERS = [
    "cmd_get", "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
    "get_expired", "get_flushed", "delete_hits", "delete_misses", "incr_hits",
    "incr_misses", "decr_hits", "decr_misses", "cas_hits", "cas_misses",
    "cas_badval", "touch_hits", "touch_misses", "bytes_read", "bytes_written",
    "total_items", "evictions", "reclaimed", "total_connections",
    "rejected_connections", "store_too_large", "store_no_memory",
]
CLASSIC = [
    "pid", "uptime", "time", "version", "pointer_size", "rusage_user",
    "rusage_system", "curr_connections", "total_connections", "cmd_get",
    "cmd_set", "cmd_flush", "cmd_touch", "get_hits", "get_misses",
    "get_expired", "delete_hits", "delete_misses", "incr_hits", "incr_misses",
    "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval",
    "touch_hits", "touch_misses", "bytes_read", "bytes_written",
    "limit_maxbytes", "threads", "bytes", "curr_items", "total_items",
    "evictions", "reclaimed",
]


def raw_stats(c):
    """(raw reply bytes, dict) of one `stats`."""
    c.cmd("stats")
    raw, out = b"", {}
    while True:
        line = c.readline()
        raw += line + b"\r\n"
        if line == b"END":
            return raw, out
        m = re.fullmatch(r"STAT (\S+) (\S.*)", line.decode())
        assert m, "bad stats line %r" % line
        assert m.group(1) not in out, "duplicate stat %s" % m.group(1)
        out[m.group(1)] = m.group(2)


def test_classic_fields_present_and_well_formed(start_server):
    srv = start_server("-t", "3", "-m", "32")
    with srv.connect() as c:
        _, s = raw_stats(c)
    for name in CLASSIC:
        assert name in s, name
    assert int(s["pid"]) == srv.proc.pid
    assert s["version"] == "1.6.18"
    assert s["pointer_size"] in ("32", "64")
    assert re.fullmatch(r"\d+\.\d{6}", s["rusage_user"]), s["rusage_user"]
    assert re.fullmatch(r"\d+\.\d{6}", s["rusage_system"]), s["rusage_system"]
    assert int(s["uptime"]) >= 0
    assert abs(int(s["time"]) - time.time()) < 10
    assert s["limit_maxbytes"] == str(32 * 1024 * 1024)
    assert s["threads"] == "3"
    assert s["max_connections"] == "1024"
    for name in CLASSIC:
        if name not in ("version", "rusage_user", "rusage_system"):
            assert re.fullmatch(r"\d+", s[name]), (name, s[name])
    for name in ("curr_items", "total_items", "bytes", "evictions", "cmd_get",
                 "cmd_set", "get_hits", "get_misses", "curr_items"):
        assert s[name] == "0", (name, s[name])
    assert int(s["curr_connections"]) >= 1


def test_defaults(start_server):
    srv = start_server()
    s = srv.stats()
    assert s["limit_maxbytes"] == str(64 * 1024 * 1024)
    assert s["threads"] == "4"


def test_counters_move_by_the_right_amounts(start_server):
    srv = start_server()
    with srv.connect() as c:
        _, before = raw_stats(c)

        def delta():
            _, now = raw_stats(c)
            return {k: int(now[k]) - int(before[k]) for k in COUNTERS
                    + ["curr_items", "bytes"]}

        steps = [
            ("set foo 0 0 3\r\nabc\r\n", b"STORED\r\n"),
            ("set n 0 0 1\r\n5\r\n", b"STORED\r\n"),
            ("add foo 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
            ("get foo n nope foo\r\n",
             b"VALUE foo 0 3\r\nabc\r\nVALUE n 0 1\r\n5\r\nVALUE foo 0 3\r\nabc\r\nEND\r\n"),
            ("gets nope2\r\n", b"END\r\n"),
            ("incr n 2\r\n", b"7\r\n"),
            ("incr nope 1\r\n", b"NOT_FOUND\r\n"),
            ("decr n 1\r\n", b"6\r\n"),
            ("decr n 1\r\n", b"5\r\n"),
            ("decr nope 1\r\n", b"NOT_FOUND\r\n"),
            ("decr nope 1\r\n", b"NOT_FOUND\r\n"),
            ("touch foo 0\r\n", b"TOUCHED\r\n"),
            ("touch nope 0\r\n", b"NOT_FOUND\r\n"),
            ("gat 0 foo nope\r\n", b"VALUE foo 0 3\r\nabc\r\nEND\r\n"),
            ("cas foo 0 0 1 999999\r\nx\r\n", b"EXISTS\r\n"),
            ("cas nope 0 0 1 1\r\nx\r\n", b"NOT_FOUND\r\n"),
            ("delete nope\r\n", b"NOT_FOUND\r\n"),
            ("set d 0 0 1\r\nd\r\n", b"STORED\r\n"),
            ("delete d\r\n", b"DELETED\r\n"),
            ("set e 0 -1 1\r\ne\r\n", b"STORED\r\n"),
            ("get e\r\n", b"END\r\n"),
        ]
        sent = b"".join(s.encode() for s, _ in steps)
        replies = b"".join(r for _, r in steps)
        c.send(sent)
        c.expect(replies)
        # the successful cas needs the unique
        unique = c.gets("foo")[2]
        c.send(b"cas foo 0 0 3 %d\r\nxyz\r\n" % unique)
        c.expect(b"STORED\r\n")
        d = delta()
        assert d["cmd_get"] == 7            # 4 + 1 + get e + gets foo
        assert d["get_hits"] == 4           # foo n foo + gets foo
        assert d["get_misses"] == 3         # nope nope2 e
        assert d["get_expired"] == 1
        assert d["cmd_set"] == 8            # every data block read
        assert d["incr_hits"] == 1 and d["incr_misses"] == 1
        assert d["decr_hits"] == 2 and d["decr_misses"] == 2
        assert d["cmd_touch"] == 4          # touch x2 + gat keys x2
        assert d["touch_hits"] == 2 and d["touch_misses"] == 2
        assert d["cas_hits"] == 1 and d["cas_misses"] == 1
        assert d["cas_badval"] == 1
        assert d["delete_hits"] == 1 and d["delete_misses"] == 1
        assert d["curr_items"] == 2         # foo n
        assert d["total_items"] == 5        # foo n d e + cas foo
        assert d["cmd_flush"] == 0
        # flushed misses, bad chunks (counted as sets), size failures
        _, before = raw_stats(c)
        c.send(b"flush_all\r\nget foo\r\nset b 0 0 2\r\nabcd\r\n")
        c.expect(b"OK\r\nEND\r\nCLIENT_ERROR bad data chunk\r\nERROR\r\n")
        assert c.set("big", b"x" * 1048576) == "SERVER_ERROR object too large for cache"
        d = delta()
        assert d["get_misses"] == 1 and d["get_flushed"] == 1
        assert d["cmd_flush"] == 1
        assert d["cmd_set"] == 1            # the bad chunk; a swallowed value is not counted
        assert d["store_too_large"] == 1


def test_item_bytes(start_server):
    # docs/COMPAT.md#item-size: key foo, 3-byte value, flags 0 -> 65 bytes;
    # flags add 4
    srv = start_server()
    with srv.connect() as c:
        assert c.set("foo", "abc") == "STORED"
        assert c.stats()["bytes"] == "65"
        assert c.set("a", "1", flags=1) == "STORED"
        assert c.stats()["bytes"] == str(65 + 61 + 4)
        assert c.call("delete foo") == "DELETED"
        assert c.stats()["bytes"] == "65"


def test_network_byte_counters(start_server):
    srv = start_server()
    with srv.connect() as c:
        raw1, s1 = raw_stats(c)
        cmds = b"set foo 0 0 3\r\nabc\r\nget foo\r\nget nope\r\n"
        replies = b"STORED\r\nVALUE foo 0 3\r\nabc\r\nEND\r\nEND\r\n"
        c.send(cmds)
        c.expect(replies)
        _, s2 = raw_stats(c)
    # counted when read/written: the second "stats" line is in, the second
    # reply is not; the first reply is
    assert int(s2["bytes_read"]) - int(s1["bytes_read"]) == len(cmds) + len(b"stats\r\n")
    assert int(s2["bytes_written"]) - int(s1["bytes_written"]) == len(raw1) + len(replies)


def test_flush_counts(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.set("fl", "x")
        assert c.call("flush_all") == "OK"
        c.cmd("flush_all noreply")
        assert c.call("flush_all 10") == "OK"
        assert c.call("flush_all 0") == "OK"
        assert c.get("fl") is None
        s = c.stats()
    assert s["cmd_flush"] == "4"
    assert s["curr_items"] in ("0", "1")   # flushed items are reclaimed lazily


def test_flush_counted_when_disabled(start_server):
    srv = start_server("-F")
    with srv.connect() as c:
        assert c.call("flush_all") == "CLIENT_ERROR flush_all not allowed"
        assert c.stats()["cmd_flush"] == "1"


def test_connection_counts(start_server):
    srv = start_server()
    with srv.connect() as c:
        # the start-up probe connection may not be accounted as closed yet
        s1 = c.stats()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.2)
            s0, s1 = s1, c.stats()
            if s0["curr_connections"] == s1["curr_connections"]:
                break
        extra = [srv.connect() for _ in range(3)]
        for e in extra:
            assert e.call("version").startswith("VERSION")
        s2 = c.stats()
        assert int(s2["curr_connections"]) - int(s1["curr_connections"]) == 3
        assert int(s2["total_connections"]) - int(s1["total_connections"]) == 3
        for e in extra:
            e.close()
        deadline = time.monotonic() + 5
        while True:
            s3 = c.stats()
            if s3["curr_connections"] == s1["curr_connections"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert s3["curr_connections"] == s1["curr_connections"]
        assert s3["total_connections"] == s2["total_connections"]


@pytest.mark.parametrize("sub", ["bogus", "proxy"])
def test_unknown_stats_subcommand(server, sub):
    with server.connect() as c:
        assert c.call("stats " + sub) == "ERROR"
