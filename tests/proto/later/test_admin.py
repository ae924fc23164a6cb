"""Admin commands whose replies need more than a transcript:
cache_memlimit, slabs reassign, ASCII auth
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
