"""Admin commands whose replies need more than a transcript:
ASCII auth (lru_crawler metadump moved to tests/proto/test_lru_crawler.py,
slabs reassign and cache_memlimit to tests/proto/test_slab_mover.py)
(protocol.txt: LRU_Crawler, Watchers, Authentication, Statistics and the
sections on each stats sub-command)."""


import pytest





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
