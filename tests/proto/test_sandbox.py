"""-o drop_privileges: the seccomp sandbox (docs/SECURITY.md#the-sandbox).

A server under the filter must serve everything a server without it
serves: text, meta, binary, UDP, unix sockets, stats of every kind,
watch, dumps, cache_memlimit, a thread started later (the LRU crawler
after `lru_crawler enable`), SIGHUP, shutdown, a daemon's pid file. Debian's
memcached 1.6.18 is built without seccomp: it accepts the option and
does nothing, so the same tests run against it and must get the same
answers. What only means something with a filter (every thread of the
process is filtered) is `memoria_only`.

The sandbox is for the release build (`make wire-sandbox`): the ASan and
TSan runtimes make calls of their own that memoria never makes (a thread's
sigaltstack, LeakSanitizer's ptrace at exit), so these tests skip on
sanitizer builds. The whole suite runs under the filter too
(MEMORIA_SANDBOX=1, wire.py).
"""

import os
import signal
import socket
import struct
import subprocess
import time

import pytest

import binproto as bp
import wire
from wire import REF, UnixServer, WireError

DEADLINE = 10.0    # seconds any bounded wait below may take
DROP = ("-o", "drop_privileges")


def _sanitizer_build():
    with open(wire.BIN, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


@pytest.fixture(autouse=True)
def release_build_only():
    if not REF and _sanitizer_build():
        pytest.skip("the sandbox is for the release build (make wire-sandbox)")


def _wait_for(what, check):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.02)
    pytest.fail("timed out waiting for " + what)


def _tasks(pid):
    """{tid: {field: value}} from /proc/<pid>/task/*/status."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                out[int(tid)] = dict(line.rstrip("\n").split(":\t", 1)
                                     for line in f if ":\t" in line)
        except FileNotFoundError:
            pass                # the thread ended meanwhile
    return out


# --------------------------------------------------------------------------
# everything a client can ask, under the filter


def test_text_and_meta_commands_are_served(start_server):
    srv = start_server(*DROP)
    with srv.connect() as c:
        assert c.set("sb_a", "hello", flags=5) == "STORED"
        assert c.get("sb_a") == b"hello"
        flags, value, cas = c.gets("sb_a")
        assert (flags, value) == (5, b"hello")
        assert c.store("cas", "sb_a", "world", cas=cas) == "STORED"
        assert c.store("append", "sb_a", "!") == "STORED"
        assert c.set("sb_n", "41") == "STORED"
        assert c.call("incr sb_n 1") == "42"
        assert c.call("touch sb_n 100") == "TOUCHED"
        assert c.call("delete sb_n") == "DELETED"
        c.cmd("ms sb_m 2 T0")
        c.send(b"hi\r\n")
        assert c.readline() == b"HD"
        assert c.call("mg sb_m v f") == "VA 2 f0"
        assert c.readline() == b"hi"
        assert c.call("md sb_m") == "HD"
        assert c.call("mn") == "MN"
        assert c.call("verbosity 1") == "OK"
        assert c.call("flush_all") == "OK"
        assert c.get("sb_a") is None
    srv.check()


def test_binary_protocol_is_served(start_server):
    srv = start_server(*DROP)
    with srv.connect() as c:
        c.send(bp.request(bp.SET, b"sb_bin", bp.store_extras(7), b"value"))
        r = bp.read_response(c)
        assert (r.opcode, r.status) == (bp.SET, bp.SUCCESS), r
        c.send(bp.request(bp.GET, b"sb_bin"))
        r = bp.read_response(c)
        assert (r.status, r.flags, r.value) == (bp.SUCCESS, 7, b"value"), r
        c.send(bp.request(bp.STAT))
        assert any(k == b"pid" for k, _ in bp.read_stats(c))
    srv.check()


def test_every_stats_group_is_served(start_server):
    srv = start_server(*DROP)
    with srv.connect() as c:
        assert c.set("sb:s", "x" * 100) == "STORED"
        assert c.call("stats detail on") == "OK"
        assert c.get("sb:s") == b"x" * 100
        stats = c.stats()
        assert int(stats["pid"]) == srv.proc.pid
        # getrusage under the filter: a real reading, not an error
        assert float(stats["rusage_user"]) >= 0
        for sub in ("slabs", "sizes", "conns"):
            c.stats(sub)
        cls = next(k.split(":")[1] for k in c.stats("items"))
        # identical to 1.6.18's: a seccomp build would add a line here
        assert "drop_privileges" not in c.stats("settings")
        c.cmd("stats detail dump")
        assert c.read_until(b"END\r\n").startswith(b"PREFIX sb ")
        # which LRU the item sits in by now is not the point here
        c.cmd("stats cachedump %s 10" % cls)
        dump = c.read_until(b"END\r\n")
        assert dump == b"END\r\n" or dump.startswith(b"ITEM sb:s "), dump
    srv.check()


def test_dumps_and_watch_are_served(start_server):
    srv = start_server(*DROP)
    with srv.connect() as w, srv.connect() as c:
        assert w.call("watch fetchers mutations") == "OK"
        assert c.set("sb_w", "v") == "STORED"
        assert c.get("sb_w") == b"v"
        assert w.read_until(b"\n").startswith(b"ts=")
        assert b"key=sb_w " in c.dump_when_idle("lru_crawler metadump all")
    srv.check()


def test_cache_memlimit_gives_pages_back(start_server):
    srv = start_server(*DROP, "-m", "64")
    value = b"v" * 100000
    with srv.connect() as c:
        for i in range(300):
            assert c.set("sb_big%d" % i, value) == "STORED"
        assert c.call("cache_memlimit 8") == "OK"
        for i in range(300, 400):
            assert c.set("sb_big%d" % i, value) == "STORED"
        assert c.get("sb_big399") == value
        assert int(c.stats()["limit_maxbytes"]) == 8 << 20
    srv.check()


def test_a_thread_started_later_works(start_server):
    srv = start_server(*DROP, "-o", "no_lru_crawler")
    with srv.connect() as c:
        assert c.set("sb_late", "v") == "STORED"
        assert c.call("lru_crawler enable") == "OK"
        # memcached's maintainer may have started a crawl of its own, and it
        # answers BUSY to a crawl or a dump until that crawl is over.
        assert c.call("lru_crawler crawl all") in ("OK", wire.Conn.CRAWLER_BUSY.decode().strip())
        assert b"key=sb_late " in c.dump_when_idle("lru_crawler metadump all")
    srv.check()


def test_udp_is_served(start_server):
    port = wire.free_port()
    srv = start_server(*DROP, "-U", str(port))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(wire.IO_TIMEOUT)
        u.connect(("127.0.0.1", port))
        u.send(struct.pack(">HHHH", 1, 0, 1, 0) + b"set sb_u 0 0 2\r\nhi\r\n")
        assert u.recv(2048) == struct.pack(">HHHH", 1, 0, 1, 0) + b"STORED\r\n"
        u.send(struct.pack(">HHHH", 2, 0, 1, 0) + b"get sb_u\r\n")
        got = u.recv(2048)
        assert got[8:] == b"VALUE sb_u 0 2\r\nhi\r\nEND\r\n", got
    srv.check()


def test_unix_socket_is_served(_used, tmp_path):
    srv = UnixServer(str(tmp_path / "mc.sock"), DROP)
    _used.private.append(srv)
    srv.start()
    with srv.connect() as c:
        assert c.set("sb_unix", "v") == "STORED"
        c.cmd("stats conns")
        assert c.read_until(b"END\r\n").startswith(b"STAT ")
    srv.check()


def test_verbose_logging_is_served(start_server):
    srv = start_server(*DROP, "-vv")
    with srv.connect() as c:
        assert c.set("sb_v", "v") == "STORED"
    _wait_for("the -vv lines", lambda: "STORED" in srv.stderr())
    srv.check()


# --------------------------------------------------------------------------
# signals and the end of the process


def test_sighup_changes_nothing(start_server):
    srv = start_server(*DROP)
    srv.proc.send_signal(signal.SIGHUP)
    with srv.connect() as c:
        assert c.set("sb_hup", "v") == "STORED"
    srv.check()


@pytest.mark.parametrize("command", ["shutdown", "shutdown graceful"])
def test_shutdown_exits_zero(start_server, command):
    srv = start_server(*DROP, "-A")
    with srv.connect() as c:
        c.cmd(command)
        c.expect_closed()
    rc = srv.proc.wait(wire.STOP_TIMEOUT)
    srv.exit_expected = True
    assert rc == 0, srv.stderr()


def test_sigterm_exits_zero(start_server):
    srv = start_server(*DROP)
    with srv.connect() as c:
        assert c.set("sb_term", "v") == "STORED"
    srv.proc.send_signal(signal.SIGTERM)
    srv.term_sent = True
    assert srv.proc.wait(wire.STOP_TIMEOUT) == 0, srv.stderr()
    srv.exit_expected = True


def _pid_alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def test_a_daemon_removes_its_pid_file(tmp_path):
    pidfile = tmp_path / "sb.pid"
    port = wire.free_port()
    argv = [os.path.abspath(wire.BIN), "-l", "127.0.0.1", "-p", str(port),
            "-U", "0", "-d", "-P", str(pidfile)] + wire.user_args() + list(DROP)
    assert subprocess.run(argv, stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=DEADLINE).returncode == 0
    pid = _wait_for("the pid file", lambda: pidfile.exists()
                    and pidfile.read_text().strip().isdigit()
                    and int(pidfile.read_text()))
    try:
        with wire.Conn(port) as c:
            assert c.set("sb_daemon", "v") == "STORED"
    finally:
        os.kill(pid, signal.SIGTERM)
    _wait_for("the daemon to exit", lambda: not _pid_alive(pid))
    _wait_for("the pid file to go", lambda: not pidfile.exists())


# --------------------------------------------------------------------------
# the filter itself


def test_without_the_option_no_thread_is_filtered(start_server):
    srv = start_server("-o", "no_drop_privileges")
    for tid, st in _tasks(srv.proc.pid).items():
        assert st["Seccomp"] == "0", (tid, st["Name"])


@pytest.mark.memoria_only
def test_every_thread_is_filtered_and_threads_started_later_too(start_server):
    srv = start_server(*DROP, "-o", "no_lru_crawler")
    with srv.connect() as c:
        before = _tasks(srv.proc.pid)
        assert len(before) > 1
        for tid, st in before.items():
            # 2: SECCOMP_MODE_FILTER; no_new_privs comes with it
            assert (st["Seccomp"], st["NoNewPrivs"]) == ("2", "1"), \
                (tid, st["Name"])
        assert c.call("lru_crawler enable") == "OK"
        after = _wait_for("the crawler thread",
                          lambda: len(_tasks(srv.proc.pid)) > len(before)
                          and _tasks(srv.proc.pid))
        for tid, st in after.items():
            assert st["Seccomp"] == "2", (tid, st["Name"])
    srv.check()


@pytest.mark.memoria_only
def test_the_filter_is_installed_once_startup_is_over(start_server):
    # -k's mlockall and the worker threads come before it
    srv = start_server(*DROP, "-k", "-t", "2")
    with srv.connect() as c:
        assert c.set("sb_k", "v") == "STORED"
    srv.check()
