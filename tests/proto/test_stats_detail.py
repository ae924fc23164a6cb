"""`stats detail on|off|dump`: per key prefix counts (protocol.txt,
Statistics; docs/COMPAT.md#stats-detail).

Each test runs a private server: the prefix table and the on/off switch
are server-wide.
"""

import threading

import pytest

USAGE = b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"


def line(prefix, get=0, hit=0, set_=0, dele=0):
    return b"PREFIX %s get %d hit %d set %d del %d\r\n" % (
        prefix, get, hit, set_, dele)


def dump(c):
    """The raw bytes of one `stats detail dump`, END included."""
    c.cmd("stats detail dump")
    out = b""
    while True:
        ln = c.readline() + b"\r\n"
        out += ln
        if ln == b"END\r\n":
            return out


def turn(c, state):
    assert c.call("stats detail " + state) == "OK"


def test_usage_errors_and_ignored_extra_tokens(start_server):
    srv = start_server()
    with srv.connect() as c:
        for bad in ("stats detail", "stats detail foo", "stats detail ON",
                    "stats detail onx", "stats detail  "):
            c.cmd(bad)
            c.expect(USAGE)
        assert dump(c) == b"END\r\n"
        assert c.call("stats detail on extra") == "OK"
        c.cmd("get a:1")
        c.expect(b"END\r\n")
        assert c.call("stats detail off x y") == "OK"
        c.cmd("stats detail dump more")
        c.expect(line(b"a", get=1) + b"END\r\n")


def test_off_by_default(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("a:1", "x") == "STORED"
        c.cmd("get a:1 b:2")
        c.expect(b"VALUE a:1 0 1\r\nx\r\nEND\r\n")
        assert c.call("delete a:1") == "DELETED"
        assert dump(c) == b"END\r\n"


def test_which_commands_count(start_server):
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        steps = [
            # the get family, per key, hit or miss; keys without ':' are
            # not counted
            ("get g:1 nodelim g:2\r\n", b"END\r\n"),
            ("set g:1 0 0 1\r\nx\r\n", b"STORED\r\n"),
            ("get g:1 g:1\r\n", b"VALUE g:1 0 1\r\nx\r\n" * 2 + b"END\r\n"),
            ("gets g:1\r\n", b"VALUE g:1 0 1 1\r\nx\r\nEND\r\n"),
            ("bget g:1\r\n", b"VALUE g:1 0 1\r\nx\r\nEND\r\n"),
            ("gat 0 g:1 g:9\r\n", b"VALUE g:1 0 1\r\nx\r\nEND\r\n"),
            ("gats 0 g:1\r\n", b"VALUE g:1 0 1 1\r\nx\r\nEND\r\n"),
            # every storage command, whatever its outcome
            ("add s:1 0 0 1\r\nx\r\n", b"STORED\r\n"),
            ("add s:1 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
            ("replace s:2 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
            ("append s:1 0 0 1\r\nx\r\n", b"STORED\r\n"),
            ("prepend s:3 0 0 1\r\nx\r\n", b"NOT_STORED\r\n"),
            ("cas s:4 0 0 1 5\r\nx\r\n", b"NOT_FOUND\r\n"),
            ("set s:5 0 0 1 noreply\r\nx\r\n", b""),
            # deletes, found or not, noreply too
            ("delete s:1\r\n", b"DELETED\r\n"),
            ("delete s:1\r\n", b"NOT_FOUND\r\n"),
            ("delete s:5 noreply\r\n", b""),
            ("delete s:6 0\r\n", b"NOT_FOUND\r\n"),
            # not counted: arithmetic, touch, meta
            ("set n:1 0 0 1\r\n1\r\n", b"STORED\r\n"),
            ("incr n:1 1\r\n", b"2\r\n"),
            ("decr n:1 1\r\n", b"1\r\n"),
            ("touch n:1 0\r\n", b"TOUCHED\r\n"),
            ("mg m:1 v\r\n", b"EN\r\n"),
            ("ms m:2 1\r\nx\r\n", b"HD\r\n"),
            ("mg m:2 v\r\n", b"VA 1\r\nx\r\n"),
            ("ma m:3\r\n", b"NF\r\n"),
            ("md m:2\r\n", b"HD\r\n"),
            ("me m:2\r\n", b"EN\r\n"),
        ]
        c.send(b"".join(s.encode() for s, _ in steps))
        c.expect(b"".join(r for _, r in steps))
        # ordered as memcached walks its table: by murmur3 bucket
        # (g 22, n 172, s 241)
        assert dump(c) == (line(b"g", get=9, hit=6, set_=1)
                           + line(b"n", set_=1)
                           + line(b"s", set_=7, dele=4)
                           + b"END\r\n")


def test_failed_stores_count_but_malformed_lines_do_not(start_server):
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        big = b"x" * 2000000
        c.send(b"set big:1 0 0 %d\r\n%s\r\n" % (len(big), big))
        c.expect(b"SERVER_ERROR object too large for cache\r\n")
        c.send(b"set bad:1 0 0 1\r\nxyz\r\n")
        c.expect(b"CLIENT_ERROR bad data chunk\r\nERROR\r\n")
        c.cmd("set neg:1 0 0 -1")
        c.expect(b"CLIENT_ERROR bad command line format\r\n")
        c.cmd("cas cas:1 0 0 1 abc")
        c.expect(b"CLIENT_ERROR bad command line format\r\n")
        c.cmd("delete del:1 1")
        c.expect(b"CLIENT_ERROR bad command line format.  "
                 b"Usage: delete <key> [noreply]\r\n")
        assert dump(c) == (line(b"bad", set_=1) + line(b"big", set_=1)
                           + b"END\r\n")


def test_prefix_is_up_to_the_first_delimiter(start_server):
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        long_prefix = b"L" * 249
        c.send(b"get :empty :: a:b:c a: " + long_prefix + b":\r\n")
        c.expect(b"END\r\n")
        assert dump(c) == (line(b"", get=2) + line(long_prefix, get=1)
                           + line(b"a", get=2) + b"END\r\n")


def test_same_bucket_lists_newest_first(start_server):
    # p0, p191 and p256 share murmur3 bucket 63
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        for p in ("p0", "p191", "p256", "p0"):
            c.cmd("get %s:x" % p)
            c.expect(b"END\r\n")
        assert dump(c) == (line(b"p256", get=1) + line(b"p191", get=1)
                           + line(b"p0", get=2) + b"END\r\n")


def test_longer_prefixes_in_bucket_order(start_server):
    # murmur3 % 256: user_profile 43, hello 71, prefix7 234, abc 250
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        c.cmd("get abc:1 hello:1 prefix7:1 user_profile:1")
        c.expect(b"END\r\n")
        assert dump(c) == (line(b"user_profile", get=1)
                           + line(b"hello", get=1) + line(b"prefix7", get=1)
                           + line(b"abc", get=1) + b"END\r\n")


def test_off_keeps_the_counts_and_reset_clears_them(start_server):
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        c.cmd("get a:1")
        c.expect(b"END\r\n")
        turn(c, "off")
        c.cmd("get a:1 b:1")
        c.expect(b"END\r\n")
        assert dump(c) == line(b"a", get=1) + b"END\r\n"
        turn(c, "on")
        assert c.call("stats reset") == "RESET"
        assert dump(c) == b"END\r\n"
        c.cmd("get a:1")             # still on after the reset
        c.expect(b"END\r\n")
        assert dump(c) == line(b"a", get=1) + b"END\r\n"


def test_switch_is_server_wide(start_server):
    srv = start_server("-t", "4")
    conns = [srv.connect() for _ in range(4)]
    try:
        turn(conns[0], "on")
        for i, c in enumerate(conns):
            c.cmd("get w:%d" % i)
            c.expect(b"END\r\n")
        assert dump(conns[3]) == line(b"w", get=4) + b"END\r\n"
        turn(conns[2], "off")
        conns[1].cmd("get w:1")
        conns[1].expect(b"END\r\n")
        assert dump(conns[0]) == line(b"w", get=4) + b"END\r\n"
    finally:
        for c in conns:
            c.close()


def test_settings_follow_the_switch(start_server):
    srv = start_server()
    with srv.connect() as c:
        s = c.stats("settings")
        assert s["detail_enabled"] == "no"
        assert s["stat_key_prefix"] == ":"
        turn(c, "on")
        assert c.stats("settings")["detail_enabled"] == "yes"
        turn(c, "off")
        assert c.stats("settings")["detail_enabled"] == "no"


@pytest.mark.parametrize("delim, used", [("/", b"/"), ("ab", b"a")])
def test_delimiter_option_uses_its_first_byte(start_server, delim, used):
    srv = start_server("-D", delim)
    with srv.connect() as c:
        assert c.stats("settings")["stat_key_prefix"] == used.decode()
        turn(c, "on")
        c.send(b"get x%sy c:d xby\r\n" % used)
        c.expect(b"END\r\n")
        assert dump(c) == line(b"x", get=1) + b"END\r\n"


@pytest.mark.threaded
def test_workers_record_concurrently(start_server):
    srv = start_server("-t", "4")
    nconn, per = 8, 300
    errors = []
    with srv.connect() as c:
        turn(c, "on")

        def worker(i):
            try:
                with srv.connect() as w:
                    keys = [b"c%d:%d_%d" % (j % 4, i, j) for j in range(per)]
                    w.send(b"".join(
                        b"set %s 0 0 1\r\nx\r\nget %s %s_none\r\n"
                        b"delete %s\r\n" % (k, k, k, k) for k in keys))
                    w.expect(b"".join(
                        b"STORED\r\nVALUE %s 0 1\r\nx\r\nEND\r\n"
                        b"DELETED\r\n" % k for k in keys))
            except Exception as e:       # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=worker, args=(i,))
                   for i in range(nconn)]
        for t in threads:
            t.start()
        for _ in range(20):              # dumps race the records
            assert dump(c).endswith(b"END\r\n")
        for t in threads:
            t.join()
        assert not errors, errors
        each = nconn * per // 4
        out = dump(c)
        for p in range(4):
            assert line(b"c%d" % p, get=2 * each, hit=each, set_=each,
                        dele=each) in out
        assert len(out.split(b"\r\n")) == 4 + 2


@pytest.mark.memoria_only
def test_prefix_table_is_bounded(start_server):
    # docs/COMPAT.md#stats-detail: 1024 prefixes, then new ones are not
    # counted (memcached keeps growing)
    srv = start_server()
    with srv.connect() as c:
        turn(c, "on")
        keys = " ".join("k%d:x" % i for i in range(1024))
        c.cmd("get " + keys + " new:x nodelim")
        c.expect(b"END\r\n")
        c.cmd("get k7:y")
        c.expect(b"END\r\n")
        out = dump(c)
        lines = out.split(b"\r\n")
        assert len(lines) == 1024 + 2        # the lines, END, and ""
        assert b"PREFIX new " not in out
        assert line(b"k7", get=2) in out
        assert c.call("stats reset") == "RESET"
        c.cmd("get new:x")
        c.expect(b"END\r\n")
        assert dump(c) == line(b"new", get=1) + b"END\r\n"
