"""Connection life: replies that cannot be queued, connection limits,
idle and read-buffer limits (memcached's doc/protocol.txt, "General-
purpose statistics"; SERVER.md has no say on our own fault hook)."""

import os
import signal
import socket
import struct
import time

import pytest

import wire


@pytest.mark.memoria_only
def test_reply_that_cannot_be_queued_closes_without_a_partial_reply(
        start_server, monkeypatch):
    # MEMORIA_FAULT_OOM_KEY (debug and sanitizer builds only) makes a batch
    # whose input holds that text fail as if its reply could not be
    # allocated: nothing of the batch may reach the client.
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


def test_response_obj_oom_is_printed_after_connection_structures(
        start_server):
    srv = start_server()
    with srv.connect() as c:
        c.cmd("stats")
        names = []
        while True:
            line = c.readline()
            if line == b"END":
                break
            names.append(line.split(b" ")[1].decode())
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
