"""`stats conns` (protocol.txt: "connection details", one group of lines
per open socket) and the connection counters of `stats`: checked against
memcached 1.6.18's behaviour (docs/COMPAT.md#stats-conns). Descriptor
numbers differ between servers; the tests look connections up by their
addresses, never by fd."""

import os
import re
import threading
import time

import pytest

import wire
from test_listen import has_ipv6_loopback
from test_udp import Udp, free_udp_port
from test_unix import sockdir, start_unix  # noqa: F401 (fixtures)

LINE = re.compile(r"STAT (\d+):(\w+) (\S+|\S*<AF \d+>)")


def parse(lines):
    """[(fd, field, value)] -> {fd: [(field, value)]}, checking that the
    fds ascend and each fd's lines are together."""
    groups = {}
    last = -1
    for fd, field, value in lines:
        if fd != last:
            assert fd > last, "fds out of order: %d after %d" % (fd, last)
            assert fd not in groups
            groups[fd] = []
            last = fd
        groups[fd].append((field, value))
    return groups


def read_conns(c):
    """`stats conns` over a wire.Conn: {fd: [(field, value)]}."""
    c.cmd("stats conns")
    lines = []
    while True:
        line = c.readline().decode()
        if line == "END":
            return parse(lines)
        # three tokens, but for an address memcached cannot print
        # ("?:<AF 0>" for a unix client)
        m = LINE.fullmatch(line)
        assert m, "bad line %r" % line
        lines.append((int(m.group(1)), m.group(2), m.group(3)))


def fields(group):
    return [f for f, _ in group]


def find(groups, addr):
    """The one group whose addr is addr, or None."""
    found = [g for g in groups.values() if dict(g)["addr"] == addr]
    assert len(found) <= 1, (addr, groups)
    return dict(found[0]) if found else None


def by_addr(groups, addr):
    g = find(groups, addr)
    assert g is not None, (addr, groups)
    return g


def state_of(c, sock):
    """The state `stats conns` on c shows for the client socket sock."""
    g = find(read_conns(c), tcp_name(sock))
    return g and g["state"]


def tcp_name(sock):
    host, port = sock.getsockname()[:2]
    return "tcp:%s:%d" % (host, port)


def wait_for(check, what):
    """Polls check() (bounded) until it returns a true value."""
    deadline = time.monotonic() + wire.IO_TIMEOUT
    while True:
        v = check()
        if v or time.monotonic() > deadline:
            assert v, "timed out waiting for " + what
            return v
        time.sleep(0.05)


LISTENER = ["addr", "state", "secs_since_last_cmd"]
CLIENT = ["addr", "listen_addr", "state", "secs_since_last_cmd"]


def test_every_fd_is_a_listener_or_a_client_in_memcached_order(server):
    with server.connect() as a, server.connect() as b:
        assert b.call("version").startswith("VERSION ")
        groups = read_conns(a)
        for group in groups.values():
            assert fields(group) in (LISTENER, CLIENT), group
            assert int(dict(group)["secs_since_last_cmd"]) >= 0
        listen = "tcp:127.0.0.1:%d" % server.port
        lst = [dict(g) for g in groups.values() if fields(g) == LISTENER]
        assert [g["addr"] for g in lst] == [listen]
        assert lst[0]["state"] == "conn_listening"
        for name in (tcp_name(a.sock), tcp_name(b.sock)):
            assert by_addr(groups, name)["listen_addr"] == listen
        a.assert_quiet()


def test_the_asking_connection_is_parsing_its_command(server):
    with server.connect() as a:
        g = by_addr(read_conns(a), tcp_name(a.sock))
        assert g["state"] == "conn_parse_cmd"
        assert g["secs_since_last_cmd"] == "0"


def test_a_new_client_waits_for_its_first_command(server):
    with server.connect() as a, server.connect() as fresh:
        # nothing sent: memcached's state for a client yet to send
        st = wait_for(lambda: state_of(a, fresh.sock),
                      "the new client to be listed")
        assert st == "conn_new_cmd"
        assert fresh.call("version").startswith("VERSION ")
        wait_for(lambda: state_of(a, fresh.sock) == "conn_read",
                 "conn_read after a command")


def test_partial_input_and_data_blocks(server):
    with server.connect() as a, server.connect() as half, \
            server.connect() as block:
        half.send(b"get some")       # no end of line yet
        block.send(b"set sc_k 0 0 10\r\nabc")
        wait_for(lambda: (state_of(a, half.sock), state_of(a, block.sock)) ==
                 ("conn_read", "conn_nread"), "conn_read and conn_nread")
        block.send(b"defghij\r\n")
        block.expect_line("STORED")
        half.send(b"\r\n")
        half.expect_line("END")


def test_a_watcher_is_listed_as_watching(server):
    with server.connect() as a, server.connect() as w:
        w.send(b"watch\r\n")
        w.expect_line("OK")
        g = wait_for(lambda: find(read_conns(a), tcp_name(w.sock)),
                     "the watcher")
        assert g["state"] == "conn_watch"
        assert list(g) == CLIENT


def test_secs_since_last_cmd_counts_from_the_last_command(start_server):
    srv = start_server()
    with srv.connect() as a, srv.connect() as idle:
        assert idle.call("version").startswith("VERSION ")
        time.sleep(2.2)
        groups = read_conns(a)
        me = by_addr(groups, tcp_name(a.sock))
        other = by_addr(groups, tcp_name(idle.sock))
        listener = by_addr(groups, "tcp:127.0.0.1:%d" % srv.port)
        assert me["secs_since_last_cmd"] == "0"
        assert int(other["secs_since_last_cmd"]) >= 1
        assert int(listener["secs_since_last_cmd"]) >= 1
        # a command starts the count again
        before = int(other["secs_since_last_cmd"])
        assert idle.call("version").startswith("VERSION ")
        wait_for(lambda: int(by_addr(read_conns(a), tcp_name(idle.sock))
                             ["secs_since_last_cmd"]) < before,
                 "the idle client's count to restart")


def test_unix_clients_have_no_address(start_unix, sockdir):  # noqa: F811
    path = os.path.join(sockdir, "mc.sock")
    srv = start_unix(path)
    with srv.connect() as a, srv.connect() as b:
        assert b.call("version").startswith("VERSION ")
        groups = read_conns(a)
        listeners = [dict(g) for g in groups.values() if fields(g) == LISTENER]
        # memcached shows only the first 26 bytes of the listener's path
        # (it reads the address into a sockaddr_in6); clients show it all
        assert len(path) > 26
        assert [g["addr"] for g in listeners] == ["unix:" + path[:26]]
        assert listeners[0]["state"] == "conn_listening"
        clients = [dict(g) for g in groups.values() if fields(g) == CLIENT]
        assert len(clients) >= 2
        for g in clients:
            assert g["addr"] == "?:<AF 0>"
            assert g["listen_addr"] == "unix:" + path
        assert sorted(g["state"] for g in clients).count("conn_parse_cmd") == 1


UDP_IDLE = ["UDP", "addr", "state", "secs_since_last_cmd"]
UDP_ASKER = ["UDP", "addr", "listen_addr", "state", "secs_since_last_cmd"]


@pytest.mark.parametrize("threads", [1, 3])
def test_udp_endpoints_one_per_worker(start_server, threads):
    port = free_udp_port()
    srv = start_server("-U", str(port), "-t", str(threads))
    with srv.connect() as a:
        def udp_groups():
            groups = read_conns(a)
            return [dict(g) for g in groups.values() if fields(g)[0] == "UDP"]
        # memcached's workers create their endpoints as they start
        got = wait_for(lambda: len(udp_groups()) == threads and udp_groups(),
                       "%d UDP endpoints" % threads)
        for g in got:
            assert list(g) == UDP_IDLE
            assert g["UDP"] == "UDP"
            assert g["addr"] == "udp:127.0.0.1:%d" % port
            assert g["state"] == "conn_read"


def test_udp_asker_shows_its_peer(start_server):
    port = free_udp_port()
    srv = start_server("-U", str(port), "-t", "2")
    u = Udp(port)
    try:
        rid = u.send(b"stats conns\r\n")
        _, body = u.message(rid)
        lines = body.decode().split("\r\n")
        assert lines[-2:] == ["END", ""]
        parsed = []
        for line in lines[:-2]:
            m = LINE.fullmatch(line)
            assert m, line
            parsed.append((int(m.group(1)), m.group(2), m.group(3)))
        groups = parse(parsed)
        me = "udp:127.0.0.1:%d" % u.sock.getsockname()[1]
        g = by_addr(groups, me)
        assert list(g) == UDP_ASKER
        assert g["listen_addr"] == "udp:127.0.0.1:%d" % port
        assert g["state"] == "conn_parse_cmd"
        assert g["secs_since_last_cmd"] == "0"
        with srv.connect() as a:
            after = read_conns(a)
            assert all(dict(g)["state"] == "conn_read"
                       for g in after.values() if fields(g) == UDP_IDLE)
    finally:
        u.close()


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def connect_when_listening(port, host):
    """A Conn to host:port. The server counts as started once its first
    listener (127.0.0.1) accepts; the others may follow a moment later."""
    conns = []

    def attempt():
        try:
            conns.append(wire.Conn(port, host=host))
        except ConnectionRefusedError:
            return False
        return True
    wait_for(attempt, "a listener on [%s]:%d" % (host, port))
    return conns[0]


def test_ipv6_addresses_are_bracketed(start_server):
    srv = start_server("-l", "[::1]")
    with connect_when_listening(srv.port, "::1") as c:
        groups = read_conns(c)
        port = c.sock.getsockname()[1]
        g = by_addr(groups, "tcp6:[::1]:%d" % port)
        assert g["listen_addr"] == "tcp6:[::1]:%d" % srv.port
        assert g["state"] == "conn_parse_cmd"
        listeners = sorted(dict(g)["addr"] for g in groups.values()
                           if fields(g) == LISTENER)
        assert listeners == ["tcp6:[::1]:%d" % srv.port,
                             "tcp:127.0.0.1:%d" % srv.port]


# ---- connection counters of `stats` --------------------------------------

def counters(c):
    s = c.stats()
    return {k: int(s[k]) for k in ("curr_connections", "total_connections",
                                   "connection_structures")}


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_reserved_fds_is_five_per_worker(start_server, threads):
    srv = start_server("-t", str(threads))
    with srv.connect() as c:
        assert c.stats()["reserved_fds"] == str(5 * threads)


def test_connection_structures_are_reused(start_server):
    srv = start_server()
    with srv.connect() as a:
        for _ in range(5):
            with srv.connect() as x:
                assert x.call("version").startswith("VERSION ")
        # wait (bounded) for the last close to be seen
        s = wait_for(lambda: (lambda d: d["curr_connections"] == 1 and d)(
            counters(a)), "curr_connections 1")
        # one structure per descriptor in use at once, not per client
        assert s["connection_structures"] < s["total_connections"]
        xs = [srv.connect() for _ in range(3)]
        try:
            for x in xs:
                assert x.call("version").startswith("VERSION ")
            t = counters(a)
            assert t["curr_connections"] == 4
            assert t["total_connections"] == s["total_connections"] + 3
            # listener + a + three clients at once
            assert t["connection_structures"] >= 5
            assert t["connection_structures"] <= t["total_connections"]
        finally:
            for x in xs:
                x.close()


def test_udp_endpoints_have_structures(start_server):
    port = free_udp_port()
    srv = start_server("-U", str(port), "-t", "2")
    with srv.connect() as a:
        # two UDP endpoints and the listener; printed minus one
        s = wait_for(lambda: (lambda d: d["curr_connections"] == 3 and d)(
            counters(a)), "curr_connections 3")
        assert s["connection_structures"] >= 4


# ---- buffer gauges of `stats` ------------------------------------------

def gauges(c):
    s = c.stats()
    return {k: int(s[k]) for k in ("response_obj_count", "response_obj_bytes",
                                   "read_buf_count", "read_buf_bytes",
                                   "read_buf_bytes_free")}


def test_buffer_gauges_follow_connections_in_a_data_block(start_server):
    srv = start_server()
    with srv.connect() as a:
        g0 = gauges(a)
        assert g0["read_buf_count"] >= 1           # the asker's
        assert g0["read_buf_bytes"] >= 16384 * g0["read_buf_count"] // 2
        assert g0["read_buf_bytes"] % 16384 == 0
        assert g0["read_buf_bytes_free"] <= g0["read_buf_bytes"]
        assert g0["response_obj_count"] >= 1       # a reply was sent
        assert g0["response_obj_bytes"] >= 8192
        xs = [srv.connect() for _ in range(5)]
        try:
            for x in xs:
                x.send(b"set gauge 0 0 10\r\nab")  # each holds its input
            # Five buffers in use besides the asker's. Not five more
            # allocated: a worker's cached buffer may serve a newcomer.
            g1 = wait_for(lambda: (lambda g: in_use(g) >= 6 and g)(gauges(a)),
                          "five more read buffers in use")
            assert g1["read_buf_bytes"] % 16384 == 0
            assert g1["read_buf_bytes"] >= 6 * 16384
            assert g1["read_buf_bytes_free"] <= g1["read_buf_bytes"]
        finally:
            for x in xs:
                x.close()


def in_use(g):
    """Read buffers held by connections: allocated ones not cached free."""
    return g["read_buf_count"] - g["read_buf_bytes_free"] // 16384


def gauges_around_idle_clients(srv, n=50):
    """The buffer gauges an asker sees before and after n clients each
    made one request and stay connected, idle."""
    with srv.connect() as a:
        a.call("version")
        g0 = gauges(a)
        xs = []
        try:
            for _ in range(n):
                x = srv.connect()
                xs.append(x)
                assert x.call("version").startswith("VERSION ")
            return g0, gauges(a)
        finally:
            for x in xs:
                x.close()


def test_idle_connections_hold_no_read_buffer(start_server):
    # Both servers give a connection's read buffer back once its input is
    # all run: fifty clients idle after one request each add a few
    # buffers per worker whose cache was empty (memoria one, 1.6.18 two),
    # not fifty.
    g0, g1 = gauges_around_idle_clients(start_server("-t", "4"))
    assert g1["read_buf_count"] <= g0["read_buf_count"] + 2 * 4
    assert g1["read_buf_bytes"] <= g0["read_buf_bytes"] + 8 * 16384
    assert g1["read_buf_bytes_free"] <= g1["read_buf_bytes"]


@pytest.mark.memoria_only
def test_read_buffer_cache_is_bounded(start_server):
    # memcached keeps every read buffer it ever cached; memoria keeps at
    # most 8 free ones per worker (docs/ARCHITECTURE.md) and frees the
    # rest once the clients that held them go idle.
    srv = start_server("-t", "1")
    with srv.connect() as a:
        g0 = gauges(a)
        xs = [srv.connect() for _ in range(40)]
        try:
            for x in xs:
                x.send(b"get cache_bound")  # half a line: holds a buffer
            g1 = wait_for(lambda: (lambda g: in_use(g) >= 41 and g)(
                gauges(a)), "forty more read buffers in use")
            assert g1["read_buf_count"] >= 41
            for x in xs:
                x.send(b"\r\n")
                x.expect_line("END")
            # the asker's buffer and at most 8 cached
            g2 = gauges(a)
            assert g2["read_buf_count"] <= 9
            assert g2["read_buf_bytes"] == 16384 * g2["read_buf_count"]
            assert g2["read_buf_count"] >= g0["read_buf_count"]
        finally:
            for x in xs:
                x.close()


def test_idle_connections_hold_no_reply_block(start_server):
    # Neither server keeps a reply buffer per idle connection: fifty
    # clients idle after one reply each leave at most one cached block
    # per worker (memcached's 16 KiB bundles, memoria's 8 KiB blocks),
    # and the count stays near the one in use (the asker's): memcached
    # counts response objects in use; memoria the blocks held, each
    # worker's next one included.
    g0, g1 = gauges_around_idle_clients(start_server("-t", "4"))
    assert g1["response_obj_count"] >= 1
    assert g1["response_obj_count"] <= g0["response_obj_count"] + 4
    assert g1["response_obj_bytes"] <= g0["response_obj_bytes"] + 4 * 16384


@pytest.mark.memoria_only
def test_reply_block_cache_is_bounded(start_server):
    # memoria keeps at most 8 empty reply blocks (8 KiB) per worker
    # (docs/ARCHITECTURE.md) and frees the rest once the clients that
    # held them go idle. A client holds its block while mid-request.
    srv = start_server("-t", "1")
    with srv.connect() as a:
        xs = [srv.connect() for _ in range(40)]
        try:
            for x in xs:
                # a reply, then half a data block: the block stays
                x.send(b"version\r\nset cache_bound 0 0 4\r\nab")
                assert x.readline().startswith(b"VERSION ")
            g1 = gauges(a)
            assert g1["response_obj_count"] >= 41
            assert g1["response_obj_bytes"] >= 41 * 8192
            for x in xs:
                x.send(b"cd\r\n")
                x.expect_line("STORED")
            g2 = gauges(a)
            # the asker's and at most 8 cached
            assert g2["response_obj_bytes"] <= 9 * 8192
            assert g2["response_obj_count"] <= 2
        finally:
            for x in xs:
                x.close()


def test_listen_addr_is_the_address_reached(start_server):
    # a client's listen_addr is its socket's own address, not the
    # listener's wildcard
    srv = start_server("-l", "0.0.0.0", listen=False)
    with srv.connect() as a:
        groups = read_conns(a)
        listeners = [dict(g)["addr"] for g in groups.values()
                     if fields(g) == LISTENER]
        assert listeners == ["tcp:0.0.0.0:%d" % srv.port]
        g = by_addr(groups, tcp_name(a.sock))
        assert g["listen_addr"] == "tcp:127.0.0.1:%d" % srv.port


@pytest.mark.threaded
def test_report_while_connections_come_and_go(start_server):
    # other workers open, use and close connections (and watchers) while
    # `stats conns` walks their lists; every reply must stay well formed
    port = free_udp_port()
    srv = start_server("-U", str(port), "-t", "4")
    done = threading.Event()
    errors = []

    def churn(n):
        try:
            while not done.is_set():
                with srv.connect() as x:
                    if n == 0:
                        x.send(b"watch\r\n")
                        x.expect_line("OK")
                    elif n == 1:
                        x.send(b"set churn 0 0 10\r\nabc")
                    else:
                        x.cmd("get a b c")
                        x.expect_line("END")
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=churn, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    try:
        with srv.connect() as a:
            me = tcp_name(a.sock)
            for _ in range(40):
                assert by_addr(read_conns(a), me)["state"] == "conn_parse_cmd"
    finally:
        done.set()
        for t in threads:
            t.join()
    assert not errors, errors
