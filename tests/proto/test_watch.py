"""watch: memcached 1.6.18's live log stream (doc/protocol.txt,
"Watchers"). Line formats, types, the watcher limit, and the rule that a
slow watcher loses lines but never slows the server."""

import re
import socket
import struct
import time

import pytest

TS = r"ts=\d+\.\d+ gid=\d+ "


def watch_lines(w, want, match=b"type=", timeout=5.0):
    """At least `want` lines containing `match`, read within `timeout`."""
    lines = []
    deadline = time.monotonic() + timeout
    while len([l for l in lines if match in l]) < want:
        lines.append(w.read_until(b"\n", max(0.1, deadline - time.monotonic())))
    return b"".join(lines).decode()


def close_reasons(w, ports, timeout=5.0):
    """{port: reason} of the conn_close lines the watcher w reads for the
    client ports in `ports` (other clients' lines are skipped)."""
    seen = {}
    for _ in range(32):
        line = w.read_until(b"\n", timeout).decode()
        m = re.fullmatch(TS + r"type=conn_close rip=127\.0\.0\.1 rport=(\d+) "
                         r"transport=tcp reason=(\w+) cfd=\d+\n", line)
        if m and int(m.group(1)) in ports:
            seen[int(m.group(1))] = m.group(2)
        if len(seen) == len(ports):
            break
    return seen


def test_watch_fetchers_and_mutations(start_server):
    srv = start_server()
    with srv.connect() as w, srv.connect() as c:
        assert w.call("watch fetchers mutations") == "OK"
        assert c.set("wa\x01", "abc") == "STORED"
        assert c.get("wa\x01") == b"abc"
        assert c.get("nope") is None
        lines = []
        deadline = time.monotonic() + 5
        while len([l for l in lines if b"type=item_" in l]) < 4 \
                and time.monotonic() < deadline:
            lines.append(w.read_until(b"\n", 5))
        text = b"".join(lines).decode()
        assert re.search(r"^ts=\d+\.\d+ gid=\d+ type=item_store key=wa%01 status=stored "
                         r"cmd=set ttl=0 clsid=\d+ cfd=\d+ size=3$", text, re.M), text
        assert re.search(r"^ts=\d+\.\d+ gid=\d+ type=item_get key=wa%01 status=found "
                         r"clsid=\d+ cfd=\d+ size=3$", text, re.M), text
        assert re.search(r"^ts=\d+\.\d+ gid=\d+ type=item_get key=nope status=not_found "
                         r"clsid=0 cfd=\d+ size=0$", text, re.M), text
        # a watcher accepts no more commands
        w.cmd("version")
        assert w.pending(0.3) == b""


def test_watch_errors(server):
    with server.connect() as c:
        assert c.call("watch bogus") == "ERROR"
        assert c.call("watch fetchers bogus") == "ERROR"
        # noreply is taken as an unknown type: nothing happens at all
        c.cmd("watch fetchers noreply")
        assert c.call("version").startswith("VERSION ")


def test_watch_connevents(start_server):
    srv = start_server()
    with srv.connect() as w:
        assert w.call("watch connevents") == "OK"
        other = srv.connect()
        port = other.sock.getsockname()[1]
        assert other.call("version").startswith("VERSION ")
        other.close()
        # The fixture's readiness probe may be accepted late and show up
        # here too; only the events of `other` are checked.
        mine = []
        for _ in range(16):
            line = w.read_until(b"\n", 5).decode()
            if " rport=%d " % port in line:
                mine.append(line)
            if len(mine) == 2:
                break
        new, close = mine
        assert re.fullmatch(r"ts=\d+\.\d+ gid=\d+ type=conn_new rip=127\.0\.0\.1 "
                            r"rport=%d transport=tcp cfd=\d+\n" % port, new), new
        assert re.fullmatch(r"ts=\d+\.\d+ gid=\d+ type=conn_close rip=127\.0\.0\.1 "
                            r"rport=%d transport=tcp reason=normal cfd=\d+\n" % port,
                            close), close



def test_watch_mutations_formats(start_server):
    srv = start_server()
    with srv.connect() as w, srv.connect() as c:
        assert w.call("watch mutations") == "OK"
        c.send(b"set wm1 5 100 3\r\nabc\r\nadd wm1 0 0 1\r\nx\r\n"
               b"replace wm_none 0 0 1\r\nx\r\nappend wm1 0 0 2\r\nde\r\n"
               b"cas wm1 0 0 1 999999\r\nx\r\ncas wm_none 0 0 1 1\r\nx\r\n")
        for reply in ("STORED", "NOT_STORED", "NOT_STORED", "STORED",
                      "EXISTS", "NOT_FOUND"):
            assert c.readline().decode() == reply
        text = watch_lines(w, 6)
        tail = r" clsid=\d+ cfd=\d+ size=%d$"
        for key, status, cmd, ttl, size in (
                ("wm1", "stored", "set", 100, 3),
                ("wm1", "not_stored", "add", 0, 1),
                ("wm_none", "not_stored", "replace", 0, 1),
                ("wm1", "stored", "append", 100, 5),
                ("wm1", "exists", "cas", 0, 1),
                ("wm_none", "not_found", "cas", 0, 1)):
            pat = (r"^" + TS + r"type=item_store key=%s status=%s cmd=%s ttl=%d"
                   % (key, status, cmd, ttl) + tail % size)
            assert re.search(pat, text, re.M), (pat, text)
        # only mutations: no item_get lines
        assert "type=item_get" not in text


def test_watch_fetchers_see_every_lookup(start_server):
    """delete, incr, touch and the meta commands look the key up too."""
    srv = start_server()
    with srv.connect() as w, srv.connect() as c:
        assert w.call("watch") == "OK"          # fetchers by default
        assert c.set("wf", "12") == "STORED"
        for line, reply in (("incr wf 1", "13"), ("touch wf 10", "TOUCHED"),
                            ("mg wf v", "VA 2"), ("delete wf", "DELETED"),
                            ("md wf", "NF"), ("ma wf", "NF")):
            c.cmd(line)
            assert c.readline().decode() == reply
            if reply == "VA 2":
                assert c.readline() == b"13"
        text = watch_lines(w, 7)
        found = TS + r"type=item_get key=wf status=found clsid=\d+ cfd=\d+ size=2\n"
        missing = TS + r"type=item_get key=wf status=not_found clsid=0 cfd=\d+ size=0\n"
        assert re.fullmatch(missing + found * 4 + missing * 2, text), text


def test_watch_evictions(start_server):
    srv = start_server("-m", "2", "-I", "1m")
    with srv.connect() as w, srv.connect() as c:
        assert w.call("watch evictions") == "OK"
        val = b"x" * 5000
        c.send(b"set we_first 0 1000 5000\r\n" + val + b"\r\n")
        assert c.readline() == b"STORED"
        assert c.get("we_first") == val
        c.send(b"".join(b"set we%d 0 0 5000 noreply\r\n%s\r\n" % (i, val)
                        for i in range(1000)))
        assert c.call("version").startswith("VERSION ")
        # Which items go first is the eviction policy's choice (memoria's
        # CLOCK gives the fetched one a second chance); the format is not.
        lines = watch_lines(w, 2).splitlines()
        for l in lines:
            assert re.fullmatch(TS + r"type=eviction key=we(_first|\d+) "
                                r"fetch=(yes|no) ttl=(\d+|-1) la=\d+ "
                                r"clsid=\d+ size=5000", l), l
        assert any(re.search(r" key=we\d+ fetch=no ttl=-1 la=\d+ ", l)
                   for l in lines), lines
        assert all(" key=we_first fetch=yes ttl=" in l
                   for l in lines if "we_first" in l), lines


def test_watch_limit_is_twenty_watchers(start_server):
    srv = start_server()
    watchers = [srv.connect() for _ in range(21)]
    try:
        for w in watchers[:20]:
            assert w.call("watch") == "OK"
        assert watchers[20].call("watch") == \
            "WATCHER_TOO_MANY log watcher limit reached"
        # the refused connection is still an ordinary client
        assert watchers[20].call("version").startswith("VERSION ")
        # a closed watcher frees its slot
        watchers[0].close()
        deadline = time.monotonic() + 5
        while True:
            with srv.connect() as again:
                if again.call("watch") == "OK":
                    break
            assert time.monotonic() < deadline, "watcher slot never freed"
            time.sleep(0.05)
    finally:
        for w in watchers:
            w.close()


def test_watch_after_pipelined_reply(start_server):
    srv = start_server()
    with srv.connect() as w:
        w.send(b"get wp_none\r\nwatch\r\n")
        assert w.readline() == b"END"
        assert w.readline() == b"OK"


@pytest.mark.threaded
def test_slow_watcher_loses_lines_but_never_slows_the_server(start_server):
    """A watcher that does not read: the server keeps answering; what the
    watcher gets later are whole log lines, or `skipped=<n>` lines saying
    how many it lost."""
    srv = start_server("-o", "watcher_logbuf_size=8")
    with srv.connect() as w, srv.connect() as c:
        w.sock.setsockopt(__import__("socket").SOL_SOCKET,
                          __import__("socket").SO_RCVBUF, 4096)
        assert w.call("watch fetchers") == "OK"
        line = b"get " + b" ".join(b"ws%d" % i for i in range(200)) + b"\r\n"
        for _ in range(300):
            c.send(line)
            assert c.readline() == b"END"
        assert c.call("version").startswith("VERSION ")
        got = b""
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and len(got) < 4 << 20:
            try:
                w._fill(min(deadline, time.monotonic() + 0.5))
            except Exception:
                break
            got += w.buf
            w.buf = b""
        lines = got.split(b"\n")[:-1]
        assert lines, "the watcher got nothing at all"
        for l in lines:
            assert re.fullmatch(rb"(ts=\d+\.\d+ gid=\d+ type=item_get key=ws\d+ "
                                rb"status=not_found clsid=0 cfd=\d+ size=0)"
                                rb"|skipped=\d+", l), l
        assert len([l for l in lines if l.startswith(b"ts=")]) < 300 * 200


def test_log_counters_in_stats(start_server):
    srv = start_server()
    with srv.connect() as w, srv.connect() as c:
        s = c.stats()
        names = list(s)
        i = names.index("malloc_fails")
        assert names[i + 1:i + 6] == ["log_worker_dropped", "log_worker_written",
                                      "log_watcher_skipped", "log_watcher_sent",
                                      "log_watchers"], names
        assert s["log_watchers"] == "0"
        assert w.call("watch") == "OK"
        assert c.get("wc_none") is None
        watch_lines(w, 1)
        deadline = time.monotonic() + 5
        while True:
            s = c.stats()
            if int(s["log_watcher_sent"]) >= 1:
                break
            assert time.monotonic() < deadline, s
            time.sleep(0.05)
        assert s["log_watchers"] == "1"
        assert int(s["log_worker_written"]) >= 1
        assert s["log_watcher_skipped"] == "0"


def test_watch_connevents_close_reasons(start_server):
    """quit and a plain close are `normal`; a watcher that goes away is
    reported as closed by an `error`."""
    srv = start_server()
    with srv.connect() as w:
        assert w.call("watch connevents") == "OK"
        other = srv.connect()
        other_port = other.sock.getsockname()[1]
        assert other.call("watch fetchers") == "OK"
        other.close()
        q = srv.connect()
        q_port = q.sock.getsockname()[1]
        q.cmd("quit")
        q.expect_closed()
        q.close()
        want = {other_port: "error", q_port: "normal"}
        assert close_reasons(w, want) == want


def test_watch_connevents_reset_and_idle_reasons(start_server):
    """A client that resets its connection is closed by an `error` (its
    address still reported), an idle one by `idle_timeout`."""
    srv = start_server("-o", "idle_timeout=1")
    with srv.connect() as w:
        assert w.call("watch connevents") == "OK"
        reset = srv.connect()
        reset_port = reset.sock.getsockname()[1]
        assert reset.call("version").startswith("VERSION ")
        reset.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
        reset.close()
        idle = srv.connect()
        idle_port = idle.sock.getsockname()[1]
        assert idle.call("version").startswith("VERSION ")
        want = {reset_port: "error", idle_port: "idle_timeout"}
        seen = close_reasons(w, want, timeout=10.0)
        idle.close()
        assert seen == want
