"""Admin commands whose replies need more than a transcript:
lru_crawler metadump, stats sub-commands, ASCII auth
(protocol.txt: LRU_Crawler, Watchers, Authentication, Statistics and the
sections on each stats sub-command)."""

import re
import time

import pytest


def read_until(c, end, timeout=5.0):
    """Bytes up to and including `end`."""
    deadline = time.monotonic() + timeout
    while end not in c.buf:
        c._fill(deadline)
    i = c.buf.index(end) + len(end)
    data, c.buf = c.buf[:i], c.buf[i:]
    return data


def stat_lines(c, cmd):
    c.cmd(cmd)
    lines = []
    while True:
        line = c.readline().decode()
        if line == "END":
            return lines
        lines.append(line)


# -- lru_crawler metadump -------------------------------------------------

def test_metadump(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set(b"md_\x01a", "abc", flags=5, exptime=1000) == "STORED"
        assert c.set(b"md_b", "xy") == "STORED"
        assert c.set(b"md_dead", "d", exptime=-1) == "STORED"
        assert c.get(b"md_b") == b"xy"
        c.cmd("lru_crawler metadump all")
        text = read_until(c, b"END\r\n").decode()
        assert text.endswith("\nEND\r\n"), text
        items = sorted(text[:-len("END\r\n")].split("\n")[:-1])
        assert len(items) == 2, text
        now = time.time()
        m = re.fullmatch(r"key=md_%01a exp=(\d+) la=(\d+) cas=(\d+) fetch=no cls=1 size=71",
                         items[0])
        assert m, items[0]
        assert abs(int(m.group(1)) - (now + 1000)) < 10
        assert abs(int(m.group(2)) - now) < 10
        assert re.fullmatch(r"key=md_b exp=-1 la=\d+ cas=\d+ fetch=yes cls=1 size=65",
                            items[1]), items[1]
        # the hash walk sees the same items
        c.cmd("lru_crawler metadump hash")
        text2 = read_until(c, b"END\r\n").decode()
        assert sorted(text2[:-len("END\r\n")].split("\n")[:-1]) == items


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


def test_cache_memlimit_changes_limit(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.call("cache_memlimit 100") == "OK"
        assert c.stats()["limit_maxbytes"] == str(100 * 1024 * 1024)
        c.cmd("cache_memlimit 8 noreply")
        assert c.stats()["limit_maxbytes"] == str(8 * 1024 * 1024)


# -- ASCII authentication (-Y) ------------------------------------------------

@pytest.fixture
def auth_server(start_server, tmp_path):
    path = tmp_path / "authfile"
    path.write_text("alice:secret\nbob:pw:with:colons\n")
    return start_server("-Y", str(path))


def auth(c, token):
    c.send(b"set x 0 0 %d\r\n%s\r\n" % (len(token), token))
    return c.readline().decode()


def test_ascii_auth(auth_server):
    with auth_server.connect() as c:
        assert c.call("get a") == "CLIENT_ERROR unauthenticated"
        assert c.call("version") == "CLIENT_ERROR unauthenticated"
        assert c.call("set a 0 0") == "CLIENT_ERROR unauthenticated"
        assert c.call("set a 0 0 abc") == "CLIENT_ERROR unauthenticated"
        assert auth(c, b"alice wrong") == "CLIENT_ERROR authentication failure"
        assert auth(c, b"alice") == "CLIENT_ERROR bad authentication token format"
        assert auth(c, b"alice secret") == "STORED"
        # now a normal connection; the auth "set" stored nothing
        assert c.get("x") is None
        assert c.set("a", "1") == "STORED"
        assert c.get("a") == b"1"
        s = c.stats()
        # a malformed token is not counted as an attempt
        assert (s["auth_cmds"], s["auth_errors"]) == ("2", "1")
    with auth_server.connect() as c:
        # the password runs to the end of the line
        assert auth(c, b"bob pw:with:colons") == "STORED"
    with auth_server.connect() as c:
        c.send(b"set x 0 0 12\r\nalice secretXX")
        c.expect_line("CLIENT_ERROR bad command line termination")


def test_ascii_auth_startup_errors(tmp_path):
    from wire import run_binary, user_args
    bad = tmp_path / "bad"
    bad.write_text("nocolon\n")
    code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "0", "-Y", str(bad)]
                                + user_args())
    assert code == 1
    assert "Authfile [%s] has a malformed entry. Should be 'user:password'" % bad in err
    good = tmp_path / "good"
    good.write_text("a:b\n")
    code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "0", "-Y", str(good),
                                 "-B", "binary"] + user_args())
    assert code == 64
    assert ("ERROR: You cannot allow the BINARY protocol while using ascii "
            "authentication tokens.") in err.splitlines()


def test_verbosity_is_clamped(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.call("verbosity 5") == "OK"
        assert c.stats("settings")["verbosity"] == "2"
        assert c.call("verbosity 0 1") == "OK"
        assert c.stats("settings")["verbosity"] == "0"


def test_slabs_reassign_moves_a_page(start_server):
    srv = start_server("-o", "slab_automove=0")
    with srv.connect() as c:
        # three pages of class 1 (96-byte chunks, 10922 per page)
        c.send(b"".join(b"set sr%d 0 0 1 noreply\r\nx\r\n" % i for i in range(25000)))
        assert c.call("version").startswith("VERSION ")
        assert c.stats("slabs")["1:total_pages"] == "3"
        assert c.call("slabs reassign 1 0") == "OK"
        assert c.call("slabs reassign 1 1") in ("SAME src and dst class are identical",
                                                "BUSY currently processing reassign request")


def test_cache_memlimit_with_preallocated_memory(start_server, tmp_path):
    srv = start_server("-e", str(tmp_path / "memory"), "-m", "64")
    with srv.connect() as c:
        assert c.call("cache_memlimit 100") == \
            "MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust"
