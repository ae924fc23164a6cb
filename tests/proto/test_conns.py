"""Connection life: replies that cannot be queued, connection limits,
idle and read-buffer limits (memcached's doc/protocol.txt, "General-
purpose statistics"; docs/COMPAT.md#connections)."""

import os
import signal
import socket
import struct
import subprocess
import time

import pytest

import wire


@pytest.mark.memoria_only
def test_reply_that_cannot_be_queued_closes_without_a_partial_reply(
        start_server, monkeypatch):
    # MEMORIA_FAULT_OOM_KEY (debug and sanitizer builds only) makes a batch
    # whose input holds that text fail as if its reply could not be
    # allocated: nothing of the batch may reach the client.
    with open(wire.BIN, "rb") as f:
        if b"MEMORIA_FAULT_OOM_KEY" not in f.read():
            pytest.skip("a release build has no fault injection")
    monkeypatch.setenv("MEMORIA_FAULT_OOM_KEY", "fault-oom-now")
    srv = start_server()
    monkeypatch.delenv("MEMORIA_FAULT_OOM_KEY")
    with srv.connect() as c:
        assert c.set("oomk", "hello") == "STORED"
        c.cmd("get oomk fault-oom-now")
        c.expect_closed()
    with srv.connect() as c:
        s = c.stats()
        assert s["response_obj_oom"] == "1"
        c.cmd("get oomk")
        assert c.read_values() == [(b"oomk", 0, b"hello")]


def stat_names(srv):
    """The names `stats` prints, in order."""
    names = []
    with srv.connect() as c:
        c.cmd("stats")
        while True:
            line = c.readline()
            if line == b"END":
                return names
            names.append(line.split(b" ")[1].decode())


def test_response_obj_oom_is_printed_after_connection_structures(
        start_server):
    srv = start_server()
    names = stat_names(srv)
    i = names.index("connection_structures")
    assert names[i + 1] == "response_obj_oom"
    assert names[0] == "pid"


# --------------------------------------------------------------------------
# signals and the shutdown command

def _wait_exit(srv):
    rc = srv.proc.wait(wire.STOP_TIMEOUT)   # a bound, not a timing check
    srv.exit_expected = True
    return rc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "v"])
def test_stop_signal_says_exiting_normally_with_v(start_server, sig,
                                                    verbose):
    srv = start_server(*(["-v"] if verbose else []))
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
        srv.proc.send_signal(sig)
        srv.term_sent = True
        assert _wait_exit(srv) == 0
        c.expect_closed()
    assert ("Exiting normally" in srv.stderr().splitlines()) == verbose


def test_sigusr1_stops_gracefully(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("usr1", "x") == "STORED"
        srv.proc.send_signal(signal.SIGUSR1)
        srv.term_sent = True
        assert _wait_exit(srv) == 0
        c.expect_closed()
    # printed even without -v
    assert "Gracefully stopping" in srv.stderr().splitlines()


def test_sighup_changes_nothing(start_server):
    srv = start_server("-v")
    with srv.connect() as c:
        assert c.set("hup", "x") == "STORED"
        before = srv.stderr()
        srv.proc.send_signal(signal.SIGHUP)
        # memcached notices signals on its clock tick (once a second)
        time.sleep(1.5)
        assert srv.alive()
        c.cmd("get hup")
        assert c.read_values() == [(b"hup", 0, b"x")]
    assert srv.stderr() == before


def test_sigpipe_is_ignored(start_server):
    srv = start_server()
    c = srv.connect()
    c.send(b"set big 0 0 200000\r\n" + b"x" * 200000 + b"\r\n")
    assert c.readline() == b"STORED"
    for _ in range(20):     # replies to a client that has gone away
        c.send(b"get big\r\n")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                      struct.pack("ii", 1, 0))
    c.close()                # RST: the server's writes now fail with EPIPE
    with srv.connect() as d:
        assert d.call("version").startswith("VERSION ")


@pytest.mark.parametrize("mode,line", [("", "Exiting normally"),
                                       (" graceful", "Gracefully stopping")])
def test_shutdown_command_says_what_the_signal_says(start_server, mode, line):
    srv = start_server("-A", "-v")
    with srv.connect() as c:
        c.cmd("shutdown" + mode)
        c.expect_closed()
    assert _wait_exit(srv) == 0
    assert line in srv.stderr().splitlines()


# --------------------------------------------------------------------------
# -c and -o maxconns_fast / no_maxconns_fast

def _fill(srv, limit=200):
    """Opens clients until one is not answered with VERSION; returns
    (the answered clients, the last client, its reply or None)."""
    conns = []
    for _ in range(limit):
        c = srv.connect()
        c.cmd("version")
        try:
            line = c.readline(timeout=1.0)
        except wire.WireError:
            return conns, c, None
        if not line.startswith(b"VERSION "):
            return conns, c, line
        conns.append(c)
    raise AssertionError("no limit reached after %d clients" % limit)


def _listen_backlog(port):
    """The backlog of the TCP listener on 127.0.0.1:port (ss's Send-Q)."""
    out = subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                         capture_output=True, text=True, check=True).stdout
    rows = [l.split() for l in out.splitlines() if "127.0.0.1:%d" % port in l]
    assert len(rows) == 1, out
    return int(rows[0][2])


def _close_all(conns):
    for c in conns:
        c.close()


@pytest.mark.parametrize("flags,admitted", [
    (("-c", "30"), 6),
    (("-c", "50", "-t", "1"), 38),
    (("-c", "50", "-t", "8"), 10),
    (("-c", "50", "-l", "127.0.0.2"), 25),   # a second listener
], ids=["c30", "c50-t1", "c50-t8", "c50-2listeners"])
def test_maxconns_admits_as_many_clients_as_memcached(start_server, flags,
                                                      admitted):
    srv = start_server(*flags)
    conns, last, reply = _fill(srv)
    try:
        assert reply == b"ERROR Too many open connections"
        last.expect_closed()
        assert len(conns) == admitted
        # memcached counts the rejection after it closed the socket
        deadline = time.monotonic() + 10
        while True:
            s = conns[0].stats()
            if s["rejected_connections"] != "0" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert s["rejected_connections"] == "1"
        listeners = 2 if "-l" in flags else 1
        assert s["curr_connections"] == str(admitted + listeners - 1)
        assert s["accepting_conns"] == "1"
    finally:
        _close_all(conns + [last])


def test_no_maxconns_fast_pauses_accepting(start_server):
    srv = start_server("-c", "30", "-o", "no_maxconns_fast")
    conns, waiting, reply = _fill(srv)
    try:
        assert reply is None          # left in the backlog, not refused
        assert len(conns) == 7
        s = conns[0].stats()
        assert s["accepting_conns"] == "0"
        assert s["listen_disabled_num"] == "1"
        # only printed with maxconns_fast
        assert "rejected_connections" not in s
        # while paused the listen backlog is 0, so the kernel queues no more
        assert _listen_backlog(srv.port) == 0
        conns.pop().close()
        # the waiting client gets in once a connection has closed
        assert waiting.readline(timeout=wire.IO_TIMEOUT).startswith(b"VERSION ")
        deadline = time.monotonic() + wire.IO_TIMEOUT
        while conns[0].stats()["accepting_conns"] != "1":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        s = conns[0].stats()
        assert int(s["time_in_listen_disabled_us"]) > 0
        assert _listen_backlog(srv.port) == 1024
        assert s["listen_disabled_num"] == "1"
    finally:
        _close_all(conns + [waiting])
    assert "accept4(): Too many open files" in srv.stderr().splitlines()


def test_connection_stats_are_printed_where_memcached_prints_them(
        start_server):
    srv = start_server("-o", "idle_timeout=100")
    names = stat_names(srv)

    def order(*want):
        pos = [names.index(w) for w in want]
        assert pos == sorted(pos), want

    order("connection_structures", "response_obj_oom", "read_buf_oom",
          "reserved_fds", "cmd_get")
    order("auth_errors", "idle_kicks", "bytes_read")
    order("limit_maxbytes", "accepting_conns", "listen_disabled_num",
          "time_in_listen_disabled_us", "threads", "conn_yields",
          "hash_power_level")


def test_idle_kicks_not_printed_without_idle_timeout(server):
    with server.connect() as c:
        assert "idle_kicks" not in c.stats()


# --------------------------------------------------------------------------
# -o idle_timeout

def _closed_now(c):
    """True if the server has closed c (EOF), False if c is still open."""
    try:
        c.sock.settimeout(0.05)
        return c.sock.recv(1) == b""
    except socket.timeout:
        return False
    except ConnectionError:
        return True


@pytest.mark.slow
def test_idle_timeout_closes_idle_clients_only(start_server):
    srv = start_server("-o", "idle_timeout=1")
    idle, partial, mid_data, busy = (srv.connect() for _ in range(4))
    try:
        partial.send(b"get par")                  # half a command line
        mid_data.send(b"set md 0 0 10\r\nabc")    # inside a data block
        deadline = time.monotonic() + 15
        while not (_closed_now(idle) and _closed_now(partial)):
            assert time.monotonic() < deadline, "idle clients not closed"
            busy.cmd("version")                    # busy: never idle
            assert busy.readline().startswith(b"VERSION ")
            time.sleep(0.25)
        assert not _closed_now(mid_data)
        mid_data.sock.settimeout(wire.IO_TIMEOUT)
        mid_data.send(b"defghij\r\n")
        assert mid_data.readline() == b"STORED"
        s = busy.stats()
        assert s["idle_kicks"] == "2"
    finally:
        for c in (idle, partial, mid_data, busy):
            c.close()


# --------------------------------------------------------------------------
# -o read_buf_mem_limit

def test_read_buf_mem_limit_closes_the_connection_over_it(start_server):
    # 1 MB for one worker: 64 read buffers of 16 KB. A connection holds one
    # while it has unprocessed input (here half a command line).
    srv = start_server("-t", "1", "-o", "read_buf_mem_limit=1")
    holders = [srv.connect() for _ in range(64)]
    try:
        for c in holders:
            c.send(b"get rb")
        # Until the server has read every half line a probe still gets a
        # buffer (and answers); then the next one is closed, no error line.
        deadline = time.monotonic() + 10
        while True:
            with srv.connect() as probe:
                probe.cmd("version")
                try:
                    line = probe.readline()
                except wire.WireError:
                    break                    # closed: over the limit
                assert line.startswith(b"VERSION ")
            assert time.monotonic() < deadline, "limit never reached"
            time.sleep(0.05)
        for c in holders[:10]:
            c.close()
        with srv.connect() as c:
            s = c.stats()
            assert s["read_buf_oom"] == "1"
        h = holders[20]
        h.send(b"\r\n")
        h.expect_line("END")
        h.cmd("version")
        assert h.readline().startswith(b"VERSION ")
    finally:
        for c in holders:
            c.close()
