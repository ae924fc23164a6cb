"""Connection life: replies that cannot be queued, connection limits,
idle and read-buffer limits (memcached's doc/protocol.txt, "General-
purpose statistics"; SERVER.md has no say on our own fault hook)."""

import os

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
