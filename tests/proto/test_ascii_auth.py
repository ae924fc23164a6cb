"""ASCII authentication (-Y <file>): the file, the startup checks, the
handshake every text connection must pass, reload on SIGHUP
(docs/AUTH.md). Every answer here was checked byte for byte against
memcached 1.6.18.

memcached writes an unauthenticated connection's answers into one reply
buffer that each new answer overwrites until it is sent (when the server
needs more input or yields after -R): of several answers read in one go
the client gets only the last. Tests that send several pre-auth commands
at once therefore expect one reply.
"""

import os
import signal
import threading
import time

import pytest

from test_stats_conns import state_of, wait_for
from wire import free_port, run_binary, user_args

GOOD = "alice:secret\nbob:pw:with:colons\n"
MALFORMED_MSG = "Authfile [%s] has a malformed entry. Should be 'user:password'"
OK = b"STORED\r\n"
REFUSED = b"CLIENT_ERROR unauthenticated\r\n"
FAILURE = b"CLIENT_ERROR authentication failure\r\n"
BAD_FORMAT = b"CLIENT_ERROR bad authentication token format\r\n"
BAD_END = b"CLIENT_ERROR bad command line termination\r\n"


def authfile(tmp_path, text, name="authfile"):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


@pytest.fixture
def auth_server(start_server, tmp_path):
    return start_server("-Y", authfile(tmp_path, GOOD))


def auth(c, token):
    c.send(b"set x 0 0 %d\r\n%s\r\n" % (len(token), token))
    return c.readline().decode()


def exchange(srv, data, grace=0.3):
    """Sends data on a fresh connection; returns all it gets back."""
    with srv.connect() as c:
        c.send(data)
        return c.pending(grace)


def try_token(srv, token):
    """One handshake on a fresh connection: True for STORED."""
    with srv.connect() as c:
        reply = auth(c, token)
    assert reply in ("STORED", "CLIENT_ERROR authentication failure")
    return reply == "STORED"


def test_stats_conns_states_before_authentication(auth_server):
    """What an authenticated client's `stats conns` shows for clients that
    have not authenticated: one that sent nothing, one refused, and one
    that announced its token and has not sent it yet."""
    with auth_server.connect() as quiet, auth_server.connect() as refused, \
            auth_server.connect() as halfway, auth_server.connect() as admin:
        assert refused.call("get a") == "CLIENT_ERROR unauthenticated"
        halfway.send(b"set x 0 0 12\r\n")
        assert auth(admin, b"alice secret") == "STORED"
        want = {quiet: "conn_new_cmd", refused: "conn_read",
                halfway: "conn_read"}
        for c, state in want.items():
            wait_for(lambda c=c, state=state:
                     state_of(admin, c.sock) == state,
                     "%s on a client before authentication" % state)
        # the announced token still completes the handshake
        halfway.send(b"alice secret\r\n")
        assert halfway.readline() == b"STORED"


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
    bad = authfile(tmp_path, "nocolon\n", "bad")
    code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "0", "-Y", bad]
                                + user_args())
    assert code == 1
    # memcached prints no newline after it
    assert err == MALFORMED_MSG % bad
    good = authfile(tmp_path, "a:b\n", "good")
    for proto in ("binary", "auto"):
        code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "0", "-Y", good,
                                     "-B", proto] + user_args())
        assert code == 64
        assert err == ("ERROR: You cannot allow the BINARY protocol while using ascii "
                       "authentication tokens.\n")
    code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "11311", "-Y", good]
                                + user_args())
    assert code == 64
    assert err == "Cannot use UDP with ascii authentication enabled (-U 0 to disable)\n"
    missing = str(tmp_path / "missing")
    code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "0", "-Y", missing]
                                + user_args())
    assert code == 1
    assert err == ("Could not open authfile [%s] for reading, error No such file or "
                   "directory: No such file or directory\n" % missing)


def test_auth_file_is_read_before_binding(tmp_path):
    """A malformed file is reported even when the port is taken."""
    import socket
    bad = authfile(tmp_path, "nocolon\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        code, out, err = run_binary(["-l", "127.0.0.1", "-p", str(port), "-U", "0",
                                     "-Y", bad] + user_args())
    assert code == 1
    assert err == MALFORMED_MSG % bad


@pytest.mark.memoria_only
def test_binary_listeners_refused_with_auth(tmp_path):
    """memcached 1.6.18 serves a proto[binary] or proto[negotiating]
    listener without authentication; memoria refuses to start
    (docs/AUTH.md)."""
    good = authfile(tmp_path, "a:b\n")
    for listen in ("proto[binary]:127.0.0.1", "proto[negotiating]:127.0.0.1"):
        code, out, err = run_binary(["-l", listen, "-p", str(free_port()), "-U", "0",
                                     "-Y", good] + user_args())
        assert code == 64
        assert err == ("ERROR: You cannot allow the BINARY protocol while using ascii "
                       "authentication tokens.\n")


# (file contents, tokens that get in, tokens that do not); malformed files
# are (contents, None, None).
FILES = [
    ("", [], [b"a b"]),
    ("a:b\r\nc:d\r\n", [b"a b", b"c d"], [b"a b\r"]),
    ("ab:cd", [b"ab c"], [b"ab cd"]),        # one line, no newline: chopped
    ("a:b\nc:de", [b"a b", b"c de"], [b"c d"]),
    ("a:b:c\n", [b"a b:c"], [b"a b"]),
    ("a:b\rjunk\nc:d\n", [b"a b", b"c d"], [b"a b\rjunk"]),
    ("a:b\0c\nd:e\n", [b"a b", b"a b\0c"], [b"d e"]),
    ("a b:c d\n", [], [b"a b c d", b"a b:c d"]),
    ("".join("u%d:p%d\n" % (i, i) for i in range(9)), [b"u0 p0", b"u7 p7"], [b"u8 p8"]),
    ("x:y\n" * 8 + "bad\n", [b"x y"], []),
    ("a:" + "b" * 253 + "\nc:d\n", [b"a " + b"b" * 253], [b"c d"]),
    ("a:" + "b" * 252 + "\nc:d\n", [b"a " + b"b" * 252, b"c d"], []),
    ("nocolon\n", None, None),
    ("a:b\n\n", None, None),
    ("\na:b\n", None, None),
    ("a:b\nbad\n", None, None),
    ("a:b\r\n", None, None),
    (":", None, None),
    ("a\0:b\n", None, None),
    ("a" * 300 + ":b\n", None, None),
]


@pytest.mark.parametrize("text,good,bad", FILES,
                         ids=[repr(f[0][:12]) for f in FILES])
def test_auth_file_format(start_server, tmp_path, text, good, bad):
    path = authfile(tmp_path, text)
    if good is None:
        code, out, err = run_binary(["-l", "127.0.0.1", "-p", "0", "-U", "0",
                                     "-Y", path] + user_args())
        assert (code, err) == (1, MALFORMED_MSG % path)
        return
    srv = start_server("-Y", path)
    for token in good:
        assert try_token(srv, token), token
    for token in bad:
        assert not try_token(srv, token), token


def test_directory_as_auth_file_grants_nothing(start_server, tmp_path):
    srv = start_server("-Y", str(tmp_path))
    assert not try_token(srv, b"a b")


# (bytes sent at once on a fresh connection, the whole answer)
HANDSHAKES = [
    (b"get a\r\n", REFUSED),
    (b"version\r\n", REFUSED),
    (b"stats\r\n", REFUSED),
    (b"quit\r\n", REFUSED),                  # answered, not closed
    (b"mn\r\n", REFUSED),
    (b"mg a v\r\n", REFUSED),
    (b"\x80\x0b\x00\x00" + b"\x00" * 20, b""),   # binary: no '\n', waits
    (b"\x80\x0b\x00\x00" + b"\x00" * 20 + b"\r\n", REFUSED),
    (b"\n", b""),                            # one byte: waits
    (b"\n\n", REFUSED),
    (b"\r\n", REFUSED),
    (b"SET x 0 0 12\r\nalice secret\r\n", REFUSED),   # two answers, one sent
    (b"add x 0 0 12\r\nalice secret\r\n", REFUSED),
    (b"set x 0 0 12x\r\nalice secret\r\n", REFUSED),
    (b"set x 0 0 -1\r\n", REFUSED),
    (b"set\0x 0 0 12\r\nalice secret\r\n", REFUSED),
    (b"set x 0 0 12\r\nalice secret\r\n", OK),
    (b"set x 0 0 12 noreply\r\nalice secret\r\n", OK),
    (b"set  x 0 0 12 junk more\r\nalice secret\r\n", OK),
    (b" set x 0 0 +012\r\r\nalice secret\r\n", OK),
    (b"set x\t0 0 0 12\r\nalice secret\r\n", OK),
    (b"set x 0 0 18\r\nalice secret extra\r\n", OK),
    (b"set x 0 0 14\r\n alice  secret\r\n", OK),
    (b"set x 0 0 14\r\nalice secret\0z\r\n", OK),     # a C string
    (b"set x 0 0 14\r\nalice\0secret z\r\n", BAD_FORMAT),
    (b"set x 0 0 12\r\nalice\tsecret\r\n", BAD_FORMAT),
    (b"set x 0 0 7\r\n secret\r\n", BAD_FORMAT),      # empty user
    (b"set x 0 0 0\r\n\r\n", BAD_FORMAT),
    (b"set x 0 0 12\n\nalice secret\r\n", BAD_END),
    (b"set x 0 0 12\r\nalice secret\n\n", BAD_END),
    (b"set x 0 0 10\r\nalice secret\r\n", REFUSED),   # len too short
    (b"set x 0 0 13\r\nalice secret\r\n", b""),       # len too long: waits
    (b"set x 0 0 12\r\nalice wrong1\r\nset x 0 0 12\r\nalice secret\r\n", OK),
    (b"set x 0 0 12\r\nalice wrong1\r\nget b\r\n", REFUSED),
    # <n> + 2 wraps modulo 2^32: a 0-byte payload, then the rest is a line
    (b"set x 0 0 4294967294\r\nalice secret\r\n", REFUSED),
    (b"set x 0 0 4294967298\r\nalice secret\r\n", REFUSED),
    (b"set x 0 0 200000\r\n" + b"a" * 100, b""),
    (b"get a\r\nget b\r\nset x 0 0 12\r\nalice secret\r\nget a\r\nmn\r\n",
     OK + b"END\r\nMN\r\n"),
    (b"set x 0 0 12\r\nalice secret\r\nset k 0 0 1\r\nv\r\nget k\r\n",
     OK + b"STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n"),
]


@pytest.mark.parametrize("data,want", HANDSHAKES, ids=[repr(h[0][:30]) for h in HANDSHAKES])
def test_handshake_answers(auth_server, data, want):
    assert exchange(auth_server, data) == want


def test_answers_sent_apart_all_arrive(auth_server):
    with auth_server.connect() as c:
        for line in (b"get a\r\n", b"quit\r\n", b"set x 0 0 12\r\n"):
            c.send(line)
            if line.startswith(b"set"):
                c.assert_quiet()
            else:
                c.expect(REFUSED)
        c.send(b"alice wrong1\r\n")
        c.expect(FAILURE)
        c.send(b"get a\r\nset x 0 0 12\r\nalice sec")
        c.expect(REFUSED)          # sent when the server waits for the rest
        c.send(b"ret\r\nquit\r\n")
        c.expect(OK)
        c.expect_closed()


def test_line_without_newline_closes_after_2048_bytes(auth_server):
    with auth_server.connect() as c:
        c.send(b"x" * 2048)
        c.assert_quiet()
        c.send(b"x")
        c.expect_closed()


def test_payload_over_16k_closes(auth_server):
    with auth_server.connect() as c:
        c.send(b"set x 0 0 16382\r\nalice " + b"x" * 16376 + b"\r\n")
        c.expect(FAILURE)
    with auth_server.connect() as c:
        c.send(b"set x 0 0 20000\r\n" + b"a" * 16384)
        c.assert_quiet()
        c.send(b"a")
        c.expect_closed()


def test_unauthenticated_answers_collapse_until_a_yield(start_server, tmp_path):
    """-R 20: memcached runs 21 requests after a read, 20 after a yield,
    and sends the last answer of each run."""
    srv = start_server("-Y", authfile(tmp_path, GOOD))
    for n, replies in ((21, 1), (22, 2), (41, 2), (42, 3)):
        assert exchange(srv, b"get a\r\n" * n, grace=0.5) == REFUSED * replies, n


def test_auth_counters(start_server, tmp_path):
    srv = start_server("-Y", authfile(tmp_path, GOOD))
    exchange(srv, b"get a\r\nset x 0 0 1\r\na\r\nset x 0 0 5\r\nalice\r\n"
                  b"set x 0 0 11\r\nalice wrong\r\n")
    exchange(srv, b"set x 0 0 12\r\nalice badpw1\r\n")
    with srv.connect() as c:
        assert auth(c, b"alice secret") == "STORED"
        s = c.stats()
        # attempts that reached the check; refusals and bad tokens are not
        assert (s["auth_cmds"], s["auth_errors"]) == ("3", "2")
        settings = c.stats("settings")
        assert settings["auth_enabled_ascii"] == srv.argv[srv.argv.index("-Y") + 1]
        assert settings["binding_protocol"] == "ascii"
        assert settings["auth_enabled_sasl"] == "no"


def test_verbose_logs_answers_not_the_handshake(start_server, tmp_path):
    srv = start_server("-vv", "-Y", authfile(tmp_path, GOOD))
    with srv.connect() as c:
        c.send(b"get a\r\nversion\r\n")
        c.expect(REFUSED)
        assert auth(c, b"alice secret") == "STORED"
        assert c.call("get zz") == "END"
    deadline = time.monotonic() + 5
    while "END" not in srv.stderr() and time.monotonic() < deadline:
        time.sleep(0.05)
    traced = [l[1:].split(" ", 1) for l in srv.stderr().splitlines()
              if l[:1] in "<>" and l[1:2].isdigit() and " " in l
              and not l.endswith("connection closed.")]
    # This connection's lines only: the fixture's own probe connection may
    # be accepted late, on another worker, and print its line in between.
    fd = [f for f, text in traced if text == "STORED"][-1]
    lines = [text for f, text in traced if f == fd]
    assert lines[-6:] == ["new ascii client connection.",
                          "CLIENT_ERROR unauthenticated",
                          "CLIENT_ERROR unauthenticated",
                          "STORED", "get zz", "END"]


def wait_until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def test_sighup_reloads(start_server, tmp_path):
    path = authfile(tmp_path, "alice:one\n")
    srv = start_server("-Y", path)
    with srv.connect() as before, srv.connect() as half:
        assert auth(before, b"alice one") == "STORED"
        half.send(b"set x 0 0 9\r\n")
        authfile(tmp_path, "alice:two\n")
        srv.proc.send_signal(signal.SIGHUP)
        # memcached reloads on its next clock tick
        assert wait_until(lambda: try_token(srv, b"alice two"))
        assert not try_token(srv, b"alice one")
        # who is in stays in; a handshake in progress checks the new table
        assert before.get("nothing") is None
        half.send(b"alice one\r\n")
        half.expect(FAILURE)
    # a failed reload keeps the table and says nothing
    for text in ("bad\n", None):
        if text is None:
            os.unlink(path)
        else:
            authfile(tmp_path, text)
        srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 2.5     # two clock ticks of memcached
        while time.monotonic() < deadline:
            assert try_token(srv, b"alice two")
            time.sleep(0.1)
    # an empty file locks everybody out
    authfile(tmp_path, "")
    srv.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: not try_token(srv, b"alice two"))
    assert "authfile" not in srv.stderr().lower()


@pytest.mark.threaded
def test_reload_while_clients_authenticate(start_server, tmp_path):
    """alice is in every version of the file; others come and go."""
    path = authfile(tmp_path, "alice:secret\nbob:one\n")
    srv = start_server("-Y", path, "-t", "4")
    stop = threading.Event()
    failures = []
    counts = [0] * 4

    def client(i):
        while not stop.is_set():
            try:
                if not try_token(srv, b"alice secret"):
                    failures.append("alice refused")
                counts[i] += 1
            except Exception as e:   # noqa: BLE001 - reported below
                failures.append(repr(e))
                return

    threads = [threading.Thread(target=client, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        for n in range(40):
            extra = "".join("u%d:p%d\n" % (n, k) for k in range(n % 7))
            tmp = path + ".new"
            with open(tmp, "w") as f:
                f.write("alice:secret\n" + extra)
            os.replace(tmp, path)
            srv.proc.send_signal(signal.SIGHUP)
            time.sleep(0.02)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert failures == []
    assert all(counts)


def test_sighup_ignored_when_daemonized(tmp_path):
    """-d: memcached ignores SIGHUP; the old table stays."""
    path = authfile(tmp_path, "alice:one\n")
    pidfile = tmp_path / "pid"
    port = free_port()
    code, out, err = run_binary(["-d", "-P", str(pidfile), "-l", "127.0.0.1",
                                 "-p", str(port), "-U", "0", "-Y", path] + user_args())
    assert code == 0
    assert wait_until(lambda: pidfile.exists() and pidfile.read_text().strip())
    pid = int(pidfile.read_text())
    try:
        class Srv:
            def connect(self):
                from wire import Conn
                return Conn(port)
        srv = Srv()
        assert wait_until(lambda: _accepting(port))
        assert try_token(srv, b"alice one")
        authfile(tmp_path, "alice:two\n")
        os.kill(pid, signal.SIGHUP)
        deadline = time.monotonic() + 2.5     # two clock ticks of memcached
        while time.monotonic() < deadline:
            assert try_token(srv, b"alice one")
            time.sleep(0.1)
        assert not try_token(srv, b"alice two")
    finally:
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not os.path.exists("/proc/%d" % pid))


def _accepting(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False
