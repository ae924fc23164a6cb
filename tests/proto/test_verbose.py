"""-vv on stderr: memcached 1.6.18's startup, connection and per-command
lines (`<fd <command>`, `>fd <reply>`), and the verbosity command changing
the level at run time. fd numbers differ between servers, so each test
finds its connection's fd from its own first command line."""

import re
import struct
import time


def fd_lines(srv, marker, until, timeout=5.0):
    """The -vv lines of the connection whose first command was `marker`,
    with its fd written as FD, once a line matching `until` shows up."""
    deadline = time.monotonic() + timeout
    while True:
        err = srv.stderr()
        m = re.search(r"^<(\d+) %s$" % re.escape(marker), err, re.M)
        if m:
            fd = m.group(1)
            mine = [l for l in err.splitlines()
                    if re.match(r"^[<>]?%s[ :]" % fd, l)]
            out = [re.sub(r"^([<>]?)%s" % fd, r"\1FD", l) for l in mine]
            # The fd may have served the fixture's readiness probe before:
            # keep this connection's lines only.
            at = out.index("<FD " + marker)
            while at > 0 and out[at] not in (
                    "<FD new auto-negotiating client connection",
                    "<FD new ascii client connection."):
                at -= 1
            out = out[at:]
            ends = [i for i, l in enumerate(out) if re.fullmatch(until, l)]
            if ends:
                return out[:ends[0] + 1]
        assert time.monotonic() < deadline, err[-2000:]
        time.sleep(0.05)


def test_startup_lines(start_server):
    srv = start_server("-vv")
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    assert re.search(r"^<\d+ server listening \(auto-negotiate\)$",
                     srv.stderr(), re.M), srv.stderr()


def test_ascii_listener_lines(start_server):
    """-B ascii: the listener says so, its clients are "ascii" from the
    start and no protocol choice is logged."""
    srv = start_server("-vv", "-B", "ascii")
    with srv.connect() as c:
        c.cmd("get vv_ascii_marker")
        assert c.readline() == b"END"
    assert re.search(r"^<\d+ server listening \(ascii\)$",
                     srv.stderr(), re.M), srv.stderr()
    lines = fd_lines(srv, "get vv_ascii_marker", r"<FD connection closed\.")
    assert lines == ["<FD new ascii client connection.",
                     "<FD get vv_ascii_marker", ">FD END",
                     "<FD connection closed."]


def test_per_command_lines(start_server):
    srv = start_server("-vv")
    with srv.connect() as c:
        c.cmd("get vv_marker")
        assert c.readline() == b"END"
        for data, replies in (
                (b"set vv_a 5 0 3\r\nabc\r\n", [b"STORED"]),
                (b"get vv_a vv_b\r\n", [b"VALUE vv_a 5 3", b"abc", b"END"]),
                (b"delete vv_a\r\n", [b"DELETED"]),
                (b"delete vv_a\r\n", [b"NOT_FOUND"]),
                (b"set vv_n 0 0 1\r\n5\r\n", [b"STORED"]),
                (b"incr vv_n 3\r\n", [b"8"]),
                (b"mg vv_n v\r\n", [b"VA 1", b"8"]),
                (b"mn\r\n", [b"MN"]),
                (b"bogus\r\n", [b"ERROR"]),
                (b"set vv_q 0 0 1 noreply\r\nx\r\n", []),
                (b"ma vv_q\r\n",
                 [b"CLIENT_ERROR cannot increment or decrement non-numeric value"]),
                (b"incr vv_n x\r\n", [b"CLIENT_ERROR invalid numeric delta argument"]),
                (b"mg vv_n zz\r\n", [b"CLIENT_ERROR invalid flag"]),
                (b"touch vv_n 10\r\n", [b"TOUCHED"]),
                (b"version\r\n", [None])):
            c.send(data)
            for r in replies:
                line = c.readline()
                assert r is None or line == r, (data, line)
    lines = fd_lines(srv, "get vv_marker", r"<FD connection closed\.")
    assert lines == [
        "<FD new auto-negotiating client connection",
        "FD: Client using the ascii protocol",
        "<FD get vv_marker", ">FD END",
        "<FD set vv_a 5 0 3", ">FD STORED",
        "<FD get vv_a vv_b", ">FD sending key vv_a", ">FD END",
        "<FD delete vv_a", ">FD DELETED",
        "<FD delete vv_a", ">FD NOT_FOUND",
        "<FD set vv_n 0 0 1", ">FD STORED",
        "<FD incr vv_n 3", ">FD 8",
        "<FD mg vv_n v",
        "<FD mn", ">FD MN",
        "<FD bogus", ">FD ERROR",
        "<FD set vv_q 0 0 1 noreply", ">FD NOREPLY STORED",
        "<FD ma vv_q",
        ">FD CLIENT_ERROR cannot increment or decrement non-numeric value",
        "<FD incr vv_n x", ">FD CLIENT_ERROR invalid numeric delta argument",
        "<FD mg vv_n zz", ">FD CLIENT_ERROR invalid flag",
        "<FD touch vv_n 10", ">FD TOUCHED",
        "<FD version", lines[-2],
        "<FD connection closed.",
    ], lines
    assert re.fullmatch(r">FD VERSION \S+", lines[-2])


def test_verbosity_command_changes_the_level(start_server):
    srv = start_server("-vv")
    with srv.connect() as c:
        c.cmd("get vv_marker2")
        assert c.readline() == b"END"
        assert c.call("verbosity 1") == "OK"
        c.cmd("get vv_quiet")
        assert c.readline() == b"END"
        assert c.call("verbosity 2") == "OK"
        c.cmd("get vv_loud")
        assert c.readline() == b"END"
    lines = fd_lines(srv, "get vv_marker2", r"<FD connection closed\.")
    assert "<FD get vv_loud" in lines, lines
    assert "<FD get vv_quiet" not in lines, lines
    # the reply to verbosity is logged at the level the command found
    assert lines[lines.index("<FD verbosity 1") + 1] == ">FD OK"
    assert ">FD OK" not in lines[lines.index("<FD get vv_marker2"):][4:-3]


def test_verbosity_zero_prints_no_command_lines(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.cmd("get vv_silent")
        assert c.readline() == b"END"
    time.sleep(0.2)
    assert "vv_silent" not in srv.stderr()


def test_slab_class_table_with_memcached_classes(start_server):
    """-f (or -n) selects memcached's class table, so the -vv table is
    memcached's line for line."""
    srv = start_server("-vv", "-f", "1.25")
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    table = [l for l in srv.stderr().splitlines() if l.startswith("slab class")]
    assert len(table) == 39, table
    assert table[0] == "slab class   1: chunk size        96 perslab   10922"
    assert table[1] == "slab class   2: chunk size       120 perslab    8738"
    assert table[-1] == "slab class  39: chunk size    524288 perslab       2"


def test_slab_class_table_format(start_server):
    """Without -f/-n memoria prints its own (finer) classes, in memcached's
    line format."""
    srv = start_server("-vv")
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    table = [l for l in srv.stderr().splitlines() if l.startswith("slab class")]
    assert table
    for i, l in enumerate(table):
        assert re.fullmatch(r"slab class +%d: chunk size +\d+ perslab +\d+" % (i + 1),
                            l), l


LOOKUP = re.compile(r"> (FOUND KEY|NOT FOUND) ")


def test_vvv_prints_every_lookup(start_server):
    # -t 1: memcached's threads write stderr in pieces, and the fixture's
    # readiness probe, closing on another worker, could cut into a line
    srv = start_server("-vvv", "-t", "1")
    with srv.connect() as c:
        c.cmd("get vv3_marker")
        assert c.readline() == b"END"
        for data, replies in (
                (b"set vv3_a 0 0 1\r\nx\r\n", [b"STORED"]),
                (b"get vv3_a\r\n", [b"VALUE vv3_a 0 1", b"x", b"END"]),
                (b"delete vv3_b\r\n", [b"NOT_FOUND"]),
                (b"mg vv3_a\r\n", [b"HD"]),
                (b"me vv3_a\r\n", [None]),
                (b"flush_all\r\n", [b"OK"]),
                (b"get vv3_a\r\n", [b"END"])):
            c.send(data)
            for r in replies:
                line = c.readline()
                assert r is None or line == r, (data, line)
    # memcached's threads write stderr in pieces, so a line of another
    # connection (the fixture's readiness probe) may cut into one of ours
    # early on: only the lookups after the marker's are compared.
    err = srv.stderr()
    start = err.index(" get vv3_marker\n")
    lookups = [l for l in err[start:].splitlines()
               if LOOKUP.match(l) and "vv3_marker" not in l]
    assert lookups == [
        "> NOT FOUND vv3_a",
        "> FOUND KEY vv3_a",
        "> NOT FOUND vv3_b",
        "> FOUND KEY vv3_a",
        "> FOUND KEY vv3_a",
        "> FOUND KEY vv3_a -nuked by flush",
    ], lookups


def test_verbosity_command_clamps_to_two(start_server):
    """`verbosity 5` gives level 2 (memcached's maximum at run time): the
    -vvv lookup lines stop."""
    srv = start_server("-vvv")
    with srv.connect() as c:
        assert c.call("verbosity 5") == "OK"
        c.cmd("get vv_clamped")
        assert c.readline() == b"END"
    fd_lines(srv, "get vv_clamped", r"<FD connection closed\.")
    assert "> NOT FOUND vv_clamped" not in srv.stderr()


def wait_for(srv, pattern, timeout=5.0):
    """srv's stderr once `pattern` (a regex) matches a line of it."""
    deadline = time.monotonic() + timeout
    while not re.search(pattern, srv.stderr(), re.M):
        assert time.monotonic() < deadline, srv.stderr()[-2000:]
        time.sleep(0.05)
    return srv.stderr()


def own_lines(err, fd, first):
    """From the line `first` (fd written as FD) on: the lines of fd, and
    the lines that name no fd (memcached's CAS and binary command lines),
    with fd written as FD."""
    out = []
    for line in err.splitlines():
        m = re.match(r"^([<>]?)(\d+)([ :].*)$", line)
        if m and m.group(2) != fd:
            continue
        out.append(re.sub(r"^([<>]?)%s([ :])" % fd, r"\1FD\2", line))
    return out[out.index(first):]


def test_cas_failure_line(start_server):
    """memcached logs a compare-and-swap that finds another CAS (text cas,
    meta ms C), not an append's CAS check."""
    srv = start_server("-vv")
    wait_for(srv, r"connection closed\.$")  # the readiness probe's
    with srv.connect() as c:
        c.cmd("get vv_cas_marker")
        assert c.readline() == b"END"
        assert c.call("set vv_c 0 0 1\r\nx") == "STORED"
        cas = c.gets(b"vv_c")[2]
        assert c.call("cas vv_c 0 0 1 %d\r\ny" % (cas + 100)) == "EXISTS"
        assert c.call("ms vv_c 1 C%d\r\nz" % (cas + 50)) == "EX"
        assert c.call("ms vv_c 1 MA C%d\r\nz" % (cas + 60)) == "EX"
        assert c.call("get vv_cas_end").startswith("END")
    err = wait_for(srv, r"^<\d+ get vv_cas_end$")
    fd = re.search(r"^<(\d+) get vv_cas_marker$", err, re.M).group(1)
    lines = own_lines(err, fd, "<FD get vv_cas_marker")
    fails = [l for l in lines if l.startswith("CAS:")]
    assert fails == ["CAS:  failure: expected %d, got %d" % (cas, cas + 100),
                     "CAS:  failure: expected %d, got %d" % (cas, cas + 50)]


def binary_request(opcode, key=b"", extras=b"", value=b""):
    body = extras + key + value
    return struct.pack(">BBHBBHIIQ", 0x80, opcode, len(key), len(extras), 0,
                       0, len(body), 0, 0) + body


NOOP_REPLY = bytes.fromhex("810a0000" + "00" * 20)


def test_binary_lines(start_server):
    """-vv on a binary connection: the protocol it chose, each request's
    header dump and command line, each error's text and each response's
    header dump (stat packets excepted; a hit's CAS shows as 0)."""
    srv = start_server("-vv")
    wait_for(srv, r"connection closed\.$")  # the readiness probe's
    extras = struct.pack(">II", 5, 0)
    reqs = [binary_request(0x01, b"vb_k", extras, b"12"),          # SET
            binary_request(0x0E, b"vb_k", value=b"3"),               # APPEND
            binary_request(0x00, b"vb_k"),                           # GET hit
            binary_request(0x0C, b"vb_miss"),                        # GETK miss
            binary_request(0x00, b"vb_miss"),                        # GET miss
            binary_request(0x05, b"vb_n", struct.pack(">QQI", 2, 7, 0)),
            binary_request(0x04, b"vb_n"),                           # DELETE
            binary_request(0x10, b"bogus"),                          # STAT
            binary_request(0x10, b"items"),
            binary_request(0x0A)]                                    # NOOP
    with srv.connect() as c:
        c.send(b"".join(reqs))
        data = b""
        while not data.endswith(NOOP_REPLY):
            data += c.read_exact(1)
        # the NOOP's response dump is the last line before the close
    err = wait_for(srv, r"^<\d+ connection closed\.$(?![\s\S]*Client using)")
    fd = re.search(r"^(\d+): Client using the binary protocol$", err,
                   re.M).group(1)
    mine = own_lines(err, fd, "FD: Client using the binary protocol")
    mine = [l for l in mine if l != "<FD connection closed."]
    words = [l for l in mine if "0x" not in l]
    assert words == [
        "FD: Client using the binary protocol",
        "<FD Read binary protocol data:", "<FD SET vb_k Value len is 2",
        ">FD Writing bin response:",
        "<FD Read binary protocol data:", "Value len is 1",
        ">FD Writing bin response:",
        "<FD Read binary protocol data:", "<FD GET vb_k",
        ">FD Writing bin response:",
        "<FD Read binary protocol data:", "<FD GET vb_miss",
        ">FD Writing bin response:",
        "<FD Read binary protocol data:", "<FD GET vb_miss",
        ">FD Writing an error: Not found", ">FD Writing bin response:",
        "<FD Read binary protocol data:", "incr vb_n 2, 7, 0",
        ">FD Writing bin response:",
        "<FD Read binary protocol data:", "Deleting vb_n",
        ">FD Writing bin response:",
        "<FD Read binary protocol data:", "<FD STATS bogus",
        ">FD Writing an error: Not found", ">FD Writing bin response:",
        "<FD Read binary protocol data:", "<FD STATS items",
        "<FD Read binary protocol data:",
        ">FD Writing bin response:",
    ], words
    # every dump is six lines of four bytes; a GET hit's CAS reads 0
    dumps = [l for l in mine if "0x" in l]
    assert len(dumps) == 6 * 19, dumps
    get_hit = mine.index("<FD GET vb_k") + 2
    assert mine[get_hit + 4:get_hit + 6] == [">FD   0x00 0x00 0x00 0x00"] * 2
