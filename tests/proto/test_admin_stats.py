"""Stats sub-commands and the settings they show, from the admin tests
written against memcached before the capability landed (protocol.txt,
Statistics and the sections on each stats sub-command)."""

import re
import time


def stat_lines(c, cmd):
    c.cmd(cmd)
    lines = []
    while True:
        line = c.readline().decode()
        if line == "END":
            return lines
        lines.append(line)

# -- stats sub-commands ---------------------------------------------------

def test_stats_items_and_slabs(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert stat_lines(c, "stats items") == []
        assert stat_lines(c, "stats slabs") == ["STAT active_slabs 0",
                                                "STAT total_malloced 0"]
        assert c.set("a", "1") == "STORED"           # 61 bytes: class 1 (96)
        assert c.set("b", b"x" * 1000) == "STORED"
        items = dict(l[5:].split(" ", 1) for l in stat_lines(c, "stats items"))
        assert items["items:1:number"] == "1"
        assert items["items:1:mem_requested"] == "61"
        assert items["items:1:evicted"] == "0"
        classes = {k.split(":")[1] for k in items}
        assert len(classes) == 2 and "1" in classes
        slabs = dict(l[5:].split(" ", 1) for l in stat_lines(c, "stats slabs"))
        assert slabs["1:chunk_size"] == "96"
        assert slabs["1:chunks_per_page"] == str(1048576 // 96)
        assert slabs["1:used_chunks"] == "1"
        assert slabs["1:cmd_set"] == "1"
        assert slabs["active_slabs"] == "2"
        assert slabs["total_malloced"] == str(2 * 1048576)

def test_stats_sizes(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert stat_lines(c, "stats sizes") == ["STAT sizes_status disabled"]
        # no END after sizes_enable / sizes_disable
        c.cmd("stats sizes_enable")
        c.expect_line("STAT sizes_status enabled")
        assert c.set("a", "1") == "STORED"           # 61 -> bucket 64
        assert c.set("b", b"x" * 100) == "STORED"    # 160 -> bucket 160
        assert stat_lines(c, "stats sizes") == ["STAT 64 1", "STAT 160 1"]
        c.cmd("stats sizes_disable")
        c.expect_line("STAT sizes_status disabled")
        assert stat_lines(c, "stats sizes") == ["STAT sizes_status disabled"]

def test_stats_sizes_enable_without_cas(start_server):
    srv = start_server("-C")
    with srv.connect() as c:
        c.cmd("stats sizes_enable")
        c.expect(b"STAT sizes_status error\r\nSTAT sizes_error cas_support_disabled\r\n")
        c.assert_quiet(0.1)

def test_stats_conns(server):
    with server.connect() as c:
        lines = stat_lines(c, "stats conns")
    text = "\n".join(lines)
    assert re.search(r"^STAT \d+:addr tcp:127\.0\.0\.1:%d$" % server.port, text, re.M), text
    assert re.search(r"^STAT \d+:state conn_listening$", text, re.M), text
    assert re.search(r"^STAT \d+:state conn_parse_cmd$", text, re.M), text
    assert re.search(r"^STAT \d+:listen_addr tcp:127\.0\.0\.1:%d$" % server.port,
                     text, re.M), text
    for line in lines:
        assert re.fullmatch(r"STAT \d+:(addr|listen_addr|state|secs_since_last_cmd) \S+",
                            line), line

def test_stats_detail(start_server):
    srv = start_server()
    with srv.connect() as c:
        usage = "CLIENT_ERROR usage: stats detail on|off|dump"
        assert c.call("stats detail") == usage
        assert c.call("stats detail bogus") == usage
        assert c.call("stats detail on") == "OK"
        assert c.set("p:x", "x") == "STORED"
        c.send(b"get p:x p:y\r\n")
        c.read_values()
        assert c.call("delete p:z") == "NOT_FOUND"
        assert stat_lines(c, "stats detail dump") == [
            "PREFIX p get 2 hit 1 set 1 del 1"]
        assert c.call("stats detail off") == "OK"

def test_stats_cachedump(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("cd_a", "1") == "STORED"
        assert c.set("cd_b", "22", exptime=1000) == "STORED"
        # new items reach the COLD queue that cachedump walks within about a
        # second; wait for both
        deadline = time.monotonic() + 5
        while True:
            lines = stat_lines(c, "stats cachedump 1 0")
            if len(lines) == 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert sorted(lines)[0] == "ITEM cd_a [1 b; 0 s]"
        m = re.fullmatch(r"ITEM cd_b \[2 b; (\d+) s\]", sorted(lines)[1])
        assert m and abs(int(m.group(1)) - (time.time() + 1000)) < 10, lines
        assert len(stat_lines(c, "stats cachedump 1 1")) == 1
        assert c.call("stats cachedump 1") == "CLIENT_ERROR bad command line"
        assert c.call("stats cachedump 99 0") == "CLIENT_ERROR Illegal slab id"
        assert c.call("stats cachedump abc 0") == "CLIENT_ERROR bad command line format"

def test_stats_extstore_without_extstore(server):
    with server.connect() as c:
        assert stat_lines(c, "stats extstore") == []

def test_stats_extra_tokens_ignored(server):
    with server.connect() as c:
        lines = stat_lines(c, "stats settings extra tokens")
    assert "STAT maxconns 1024" in lines

def test_verbosity_is_clamped(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.call("verbosity 5") == "OK"
        assert c.stats("settings")["verbosity"] == "2"
        assert c.call("verbosity 0 1") == "OK"
        assert c.stats("settings")["verbosity"] == "0"
