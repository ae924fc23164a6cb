"""Unix domain sockets: -s and -a (memcached's -h: "UNIX socket to listen
on (disables network support)", "access mask for UNIX socket, in
octal")."""

import os
import socket
import stat
import subprocess
import tempfile
import time

import pytest

import wire
from wire import UnixServer, run_binary, user_args


@pytest.fixture
def sockdir():
    with tempfile.TemporaryDirectory(prefix="memtest-unix-") as d:
        yield d


@pytest.fixture
def start_unix(_used):
    def start(path, *flags):
        srv = UnixServer(path, flags)
        _used.private.append(srv)
        return srv.start()
    return start


def test_text_and_meta_commands(start_unix, sockdir):
    srv = start_unix(os.path.join(sockdir, "mc.sock"))
    with srv.connect() as c:
        assert c.set("uk", "hello") == "STORED"
        c.cmd("get uk")
        assert c.read_values() == [(b"uk", 0, b"hello")]
        c.cmd("mg uk v")
        c.expect_line("VA 5")
        c.expect_line("hello")
        c.cmd("mn")
        c.expect_line("MN")
        c.assert_quiet()


def test_connections_are_counted_like_tcp_ones(start_unix, sockdir):
    srv = start_unix(os.path.join(sockdir, "mc.sock"))
    with srv.connect() as a, srv.connect() as b:
        assert b.call("version").startswith("VERSION ")
        # the listening socket counts, as for TCP; the readiness probe's
        # close may still be on its way, so wait for it (bounded)
        deadline = time.monotonic() + wire.IO_TIMEOUT
        s = a.stats()
        while s["curr_connections"] != "2" and time.monotonic() < deadline:
            time.sleep(0.02)
            s = a.stats()
        assert s["curr_connections"] == "2"
        with srv.connect() as c:
            assert c.call("version").startswith("VERSION ")
            t = a.stats()
        assert t["curr_connections"] == "3"
        assert int(t["total_connections"]) == int(s["total_connections"]) + 1


def test_default_mode_is_0700(start_unix, sockdir):
    path = os.path.join(sockdir, "mc.sock")
    start_unix(path)
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o700


@pytest.mark.parametrize("mask,mode", [("766", 0o766), ("0644", 0o644),
                                       ("777", 0o777), ("999", 0o000)])
def test_mask_sets_the_mode(start_unix, sockdir, mask, mode):
    # -a is octal; a value that is not octal reads as 0.
    path = os.path.join(sockdir, "mc.sock")
    start_unix(path, "-a", mask)
    assert stat.S_IMODE(os.lstat(path).st_mode) == mode


def test_tcp_is_off_and_p_ignored(start_unix, sockdir):
    srv = start_unix(os.path.join(sockdir, "mc.sock"))
    # Server passed -p <free port>: nothing may listen there.
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()


def test_stale_socket_file_is_replaced(start_unix, sockdir):
    path = os.path.join(sockdir, "mc.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()           # the file stays, nobody listens
    srv = start_unix(path)
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")


def _inode(path):
    try:
        return os.lstat(path).st_ino
    except FileNotFoundError:
        return None


def test_live_socket_is_taken_over(start_unix, sockdir):
    # memcached 1.6.18 removes whatever socket is at the path, even one a
    # running server listens on: the new server gets the path, the old one
    # keeps running unreachable.
    path = os.path.join(sockdir, "mc.sock")
    first = start_unix(path)
    with first.connect() as c:
        assert c.set("which", "first") == "STORED"
    inode = os.lstat(path).st_ino
    second = start_unix(path, "-a", "750")
    deadline = time.monotonic() + wire.START_TIMEOUT
    while _inode(path) in (inode, None) and time.monotonic() < deadline:
        time.sleep(0.02)   # the first server answers until it is replaced
    assert stat.S_IMODE(os.lstat(path).st_mode) == 0o750
    with second.connect() as c:
        c.cmd("get which")
        assert c.read_values() == []
    assert first.alive()


def test_socket_file_is_left_at_exit(start_unix, sockdir):
    path = os.path.join(sockdir, "mc.sock")
    srv = start_unix(path)
    srv.terminate()
    srv.proc.wait(wire.STOP_TIMEOUT)
    assert srv.proc.returncode == 0
    assert stat.S_ISSOCK(os.lstat(path).st_mode)


def test_path_that_is_not_a_socket_is_refused(sockdir):
    path = os.path.join(sockdir, "file")
    open(path, "w").close()
    code, out, err = run_binary(["-s", path] + user_args())
    assert code == 71, (code, err)
    assert err.splitlines() == [
        "bind(): Address already in use",
        "failed to listen on UNIX socket: %s: Invalid argument" % path]


def test_missing_directory_is_refused(sockdir):
    path = os.path.join(sockdir, "nodir", "mc.sock")
    code, out, err = run_binary(["-s", path] + user_args())
    assert code == 71, (code, err)
    assert err.splitlines() == [
        "bind(): No such file or directory",
        "failed to listen on UNIX socket: %s: Invalid argument" % path]


def test_client_libraries_over_the_socket(start_unix, sockdir):
    """pymemcache and pylibmc (libmemcached) take a socket path as the
    server address, as deployments that use -s configure them."""
    pymemcache = pytest.importorskip("pymemcache.client.base")
    pylibmc = pytest.importorskip("pylibmc")
    path = os.path.join(sockdir, "mc.sock")
    start_unix(path)
    errors = pytest.importorskip("pymemcache.exceptions")
    pm = pymemcache.Client(path, connect_timeout=5, timeout=5,
                           default_noreply=False)
    try:
        assert pm.set("ux_a", b"alpha") is True
        assert pm.get_many(["ux_a", "ux_missing"]) == {"ux_a": b"alpha"}
        with pytest.raises(errors.MemcacheClientError):
            pm.incr("ux_a", 1)  # not a number: CLIENT_ERROR
        assert pm.version() == b"1.6.18"
    finally:
        pm.close()
    lm = pylibmc.Client([path])
    try:
        assert lm.set("ux_b", "beta")
        assert lm.get("ux_b") == "beta"
        assert lm.get_multi(["ux_a", "ux_b"]) == {"ux_a": b"alpha", "ux_b": "beta"}
        assert lm.delete("ux_b")
        assert lm.get("ux_b") is None
    finally:
        lm.disconnect_all()
