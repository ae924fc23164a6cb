"""Admin commands whose replies need more than a transcript:
lru_crawler metadump, ASCII auth (slabs reassign and cache_memlimit moved
to tests/proto/test_slab_mover.py)
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
