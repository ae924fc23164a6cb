"""memcached's past CVEs, one test each where no other test pins the
behaviour down (docs/SECURITY.md#memcacheds-past-cves lists them all,
with the tests that pin the others). memcached 1.6.18 has every fix, so
each test runs against both servers and they must answer alike.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import binproto as bp
import wire
from wire import UnixServer

DEADLINE = 10.0


def _talk_binary(srv, packet):
    """Sends one packet; returns every byte the server sends until it
    closes the connection (or stays quiet for a moment)."""
    with srv.connect() as c:
        c.send(packet)
        return c.pending(0.3)


# -- CVE-2009-1255: `stats maps` printed the memory map (ASLR bypass) --------

def test_stats_maps_is_an_unknown_stats_group(server):
    with server.connect() as c:
        assert c.call("stats maps") == "ERROR"


# -- CVE-2013-0179, CVE-2013-7290, CVE-2013-7291: -vv printed keys past ----
# -- their end (a key is not NUL-terminated in the input buffer) -----------

def test_verbose_lines_print_whole_keys_and_nothing_past_them(start_server):
    srv = start_server("-vv")
    key = "v" * 250
    with srv.connect() as c:
        assert c.call("delete " + key) == "NOT_FOUND"
        c.send("get %s\r\nget %sX\r\n" % (key, key))
        assert c.readline() == b"END"
        assert c.readline() == b"CLIENT_ERROR bad command line format"
    with srv.connect() as b:
        # the next packet's header right behind the key in the buffer
        b.send(bp.request(bp.DELETE, key, opaque=1) + bp.request(bp.NOOP, opaque=2))
        b.expect(bp.error(bp.DELETE, bp.KEY_ENOENT, opaque=1)
                 + bp.response(bp.NOOP, opaque=2))
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline and srv.stderr().count(key) < 3:
        time.sleep(0.02)
    err = srv.stderr()
    assert err.count(key) >= 3, err[-2000:]
    assert key + "\x80" not in err and key + "\ufffd" not in err
    srv.check()


# -- CVE-2011-4971, CVE-2016-8704, CVE-2016-8705, CVE-2016-8706, -----------
# -- CVE-2017-9951: a key (and extras) longer than the declared body made ---
# -- the value length negative in append/prepend, set/add/replace and SASL --

SHORT_BODY = [bp.APPEND, bp.PREPEND, bp.APPENDQ, bp.SET, bp.SETQ, bp.ADD,
              bp.REPLACE, bp.SASL_AUTH, bp.SASL_STEP]


def _extras(op):
    return bp.store_extras() if op in (bp.SET, bp.SETQ, bp.ADD, bp.REPLACE) else b""


@pytest.mark.parametrize("op", SHORT_BODY, ids=["%02x" % o for o in SHORT_BODY])
@pytest.mark.parametrize("short", [1, 10], ids=["key-and-extras", "key"])
def test_key_longer_than_the_body_is_refused_and_closes(server, op, short):
    ext = _extras(op)
    body = len(ext) + 10 - short
    pkt = bp.request(op, b"k" * 10, ext, keylen=10, extlen=len(ext),
                     bodylen=body, opaque=5) + b"x" * 16
    assert _talk_binary(server, pkt) == bp.error(op, bp.UNKNOWN_COMMAND, opaque=5)


@pytest.mark.parametrize("op", [bp.SET, bp.APPEND, bp.SASL_AUTH],
                         ids=["set", "append", "sasl_auth"])
def test_a_body_of_4_gib_is_never_buffered(server, op):
    """The header alone, then the client leaves: nothing allocated for it,
    other clients served."""
    ext = _extras(op)
    with server.connect() as c:
        c.send(bp.request(op, b"kk", ext, bodylen=0xFFFFFFFF) + b"z" * 4096)
    with server.connect() as c:
        assert c.call("version").startswith("VERSION ")


# -- CVE-2020-10931: extras longer than any command takes overflowed the ---
# -- header copy --------------------------------------------------------------

@pytest.mark.parametrize("op", [bp.GET, bp.SET, bp.NOOP], ids=["get", "set", "noop"])
def test_255_bytes_of_extras_are_invalid_arguments(server, op):
    pkt = bp.request(op, b"", b"e" * 255, opaque=9)
    assert _talk_binary(server, pkt) == bp.error(op, bp.EINVAL, opaque=9)


# -- CVE-2018-1000127: one key repeated in a multiget overflowed the --------
# -- item's 16-bit reference count --------------------------------------------

def test_a_key_repeated_70000_times_never_overflows_the_item(start_server):
    srv = start_server()
    with srv.connect(timeout=DEADLINE) as c:
        assert c.set("rc", "x") == "STORED"
        c.send(b"get" + b" rc" * 70000 + b"\r\n")
        got = c.read_values()
        # both cap the references one item may have (memcached 1.6.18 at
        # 59999, memoria at 64999: docs/COMPAT.md) and miss beyond
        assert 50000 < len(got) < 65536, len(got)
        assert set(got) == {(b"rc", 0, b"x")}
        # every reference was given back: the item can go
        assert c.call("delete rc") == "DELETED"
        assert c.get("rc") is None
        assert c.set("rc", "y") == "STORED"
        assert c.get("rc") == b"y"
    srv.check()


# -- CVE-2019-11596: `lru mode` and `lru temp_ttl` without a value ------------
# -- dereferenced NULL --------------------------------------------------------

@pytest.mark.parametrize("line", ["lru mode", "lru temp_ttl", "lru tune",
                                  "lru tune 10", "lru_crawler metadump"])
def test_lru_commands_without_their_value_are_errors(server, line):
    with server.connect() as c:
        assert c.call(line) == "ERROR"
        assert c.call("version").startswith("VERSION ")


# -- CVE-2019-15026: stats conns overran a stack buffer for a unix socket ---
# -- path of the longest length -----------------------------------------------

def test_stats_conns_shows_a_unix_path_of_107_bytes(_used):
    d = tempfile.mkdtemp(prefix="cve-", dir="/tmp")
    path = os.path.join(d, "s" * (107 - len(d) - 1))
    assert len(path) == 107
    srv = UnixServer(path)
    _used.private.append(srv)
    try:
        srv.start()
        with srv.connect() as c:
            c.cmd("stats conns")
            text = c.read_until(b"END\r\n").decode()
        assert ("listen_addr unix:%s\r\n" % path) in text, text
        assert ("addr unix:%s\r\n" % path[:26]) in text, text
        srv.check()
    finally:
        srv.terminate()
        srv.stop()
        if os.path.exists(path):
            os.unlink(path)
        os.rmdir(d)


# -- CVE-2018-1000115: UDP on by default made servers amplifiers ----------------

def test_udp_is_off_without_u(tmp_path):
    """No -U: no UDP socket. A datagram to the TCP port finds nobody (the
    kernel answers port unreachable)."""
    port = wire.free_port()
    argv = [wire.BIN, "-l", "127.0.0.1", "-p", str(port)] + wire.user_args()
    argv += wire.sandbox_args()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.02)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.settimeout(2.0)
            u.connect(("127.0.0.1", port))
            u.send(b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n")
            with pytest.raises(ConnectionRefusedError):
                u.recv(2048)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wire.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
