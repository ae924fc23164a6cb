"""UDP (-U): frame headers, reply messages and datagrams, drops.

Every datagram carries an 8-byte header of big-endian u16s: request id,
sequence, total datagrams, reserved. memcached answers each reply object
(one per request, one per key of a get) as its own message numbered
0..total-1, in datagrams of at most 1400 bytes. Tests that check that a
datagram got no reply run on one worker (-t 1), so replies come in request
order: a later `version` datagram's answer arriving first proves nothing
else was sent.
"""

import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

import wire
from wire import Conn, WireError

HDR = struct.Struct(">HHHH")


def free_udp_port():
    """A port free for both UDP and TCP on 127.0.0.1 (when -p is not
    given, memcached listens for TCP on the UDP port too)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise WireError("no port free for both UDP and TCP")


class Udp:
    """A UDP client; every read waits at most wire.IO_TIMEOUT."""

    def __init__(self, port, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.settimeout(wire.IO_TIMEOUT)
        self.sock.connect((host, port))
        self.next_id = 1

    def close(self):
        self.sock.close()

    def send(self, payload, rid=None, seq=0, total=1, reserved=0):
        if rid is None:
            rid = self.next_id
            self.next_id = (self.next_id + 1) & 0xFFFF
        self.sock.send(HDR.pack(rid, seq, total, reserved) + payload)
        return rid

    def send_raw(self, data):
        self.sock.send(data)

    def recv(self):
        """One datagram: ((id, seq, total, reserved), payload, size)."""
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise WireError("no datagram within %ss" % wire.IO_TIMEOUT)
        assert len(d) >= 8, d
        return HDR.unpack(d[:8]), d[8:], len(d)

    def message(self, rid):
        """One whole reply message for rid: its datagrams' headers and
        the joined payload. Datagrams of one message arrive in order."""
        h, payload, _ = self.recv()
        assert h[0] == rid and h[1] == 0 and h[3] == 0, h
        heads, parts = [h], [payload]
        for seq in range(1, h[2]):
            hh, p, _ = self.recv()
            assert hh == (rid, seq, h[2], 0), (hh, h)
            heads.append(hh)
            parts.append(p)
        return heads, b"".join(parts)

    def messages(self, rid, n):
        return [self.message(rid)[1] for _ in range(n)]

    def call(self, payload):
        """Sends one datagram and reads one single-datagram reply."""
        rid = self.send(payload)
        heads, body = self.message(rid)
        assert len(heads) == 1, heads
        return body

    def sync(self):
        """The next datagram must be the answer to a fresh `version`."""
        rid = self.send(b"version\r\n")
        h, payload, _ = self.recv()
        if h != (rid, 0, 1, 0) or not payload.startswith(b"VERSION "):
            raise WireError("unexpected datagram %r %r before version's answer"
                            % (h, payload[:80]))


@pytest.fixture
def udp_server(start_server):
    """udp_server(*flags) -> (server, Udp client)."""
    made = []

    def start(*flags):
        port = free_udp_port()
        srv = start_server("-U", str(port), *flags)
        u = Udp(port)
        made.append(u)
        return srv, u
    yield start
    for u in made:
        u.close()


def test_set_and_get_carry_the_request_id(udp_server):
    srv, u = udp_server()
    rid = u.send(b"set k 5 0 5\r\nhello\r\n", rid=0xBEEF, seq=7, reserved=9)
    h, payload, _ = u.recv()
    assert h == (0xBEEF, 0, 1, 0)
    assert payload == b"STORED\r\n"
    assert u.call(b"get k\r\n") == b"VALUE k 5 5\r\nhello\r\nEND\r\n"
    assert rid == 0xBEEF


def test_large_value_spans_datagrams_of_1400_bytes(udp_server):
    srv, u = udp_server()
    value = bytes(i % 251 for i in range(5000))
    assert u.call(b"set big 0 0 5000\r\n" + value + b"\r\n") == b"STORED\r\n"
    rid = u.send(b"get big\r\n")
    got = [u.recv() for _ in range(4)]
    assert [h for h, _, _ in got] == [(rid, s, 4, 0) for s in range(4)]
    assert [size for _, _, size in got] == [1400, 1400, 1400, 857]
    body = b"".join(p for _, p, _ in got)
    assert body == b"VALUE big 0 5000\r\n" + value + b"\r\nEND\r\n"


def test_a_value_of_60000_bytes_arrives_whole(udp_server):
    srv, u = udp_server()
    value = os.urandom(60000)
    assert u.call(b"set v 0 0 60000\r\n" + value + b"\r\n") == b"STORED\r\n"
    rid = u.send(b"gets v\r\n")
    heads, body = u.message(rid)
    assert len(heads) == 44
    assert body.startswith(b"VALUE v 0 60000 ")
    assert body.endswith(b"\r\n" + value + b"\r\nEND\r\n")


def test_multi_get_sends_one_message_per_found_key(udp_server):
    srv, u = udp_server("-t", "1")
    assert u.call(b"set a 0 0 1\r\nA\r\n") == b"STORED\r\n"
    assert u.call(b"set c 0 0 1\r\nC\r\n") == b"STORED\r\n"
    rid = u.send(b"get a b c a\r\n")
    assert u.messages(rid, 3) == [b"VALUE a 0 1\r\nA\r\n",
                                  b"VALUE c 0 1\r\nC\r\n",
                                  b"VALUE a 0 1\r\nA\r\nEND\r\n"]
    u.sync()


def test_a_get_starting_with_a_miss_sends_an_empty_datagram(udp_server):
    # memcached sends the first key's empty reply object as a bare header
    # (total 0); later empty ones are dropped.
    srv, u = udp_server("-t", "1")
    assert u.call(b"set a 0 0 1\r\nA\r\n") == b"STORED\r\n"
    rid = u.send(b"get x y z\r\n")
    assert u.recv()[:2] == ((rid, 0, 0, 0), b"")
    assert u.message(rid)[1] == b"END\r\n"
    rid = u.send(b"get x a\r\n")
    assert u.recv()[:2] == ((rid, 0, 0, 0), b"")
    assert u.message(rid)[1] == b"VALUE a 0 1\r\nA\r\nEND\r\n"
    # after another reply in the same burst, the empty object is dropped
    rid = u.send(b"version\r\nget x y\r\n")
    assert u.message(rid)[1].startswith(b"VERSION ")
    assert u.message(rid)[1] == b"END\r\n"
    # a get writes its burst out: the next get's miss opens a new one
    rid = u.send(b"get a\r\ngets x y\r\n")
    assert u.message(rid)[1] == b"VALUE a 0 1\r\nA\r\nEND\r\n"
    assert u.recv()[:2] == ((rid, 0, 0, 0), b"")
    assert u.message(rid)[1] == b"END\r\n"
    u.sync()


def test_several_commands_in_one_datagram_are_separate_messages(udp_server):
    srv, u = udp_server("-t", "1")
    rid = u.send(b"set q 0 0 2\r\nhi\r\nget q\r\nbogus\r\nincr q 1\r\n"
                 b"delete q\r\n")
    assert u.messages(rid, 5) == [b"STORED\r\n", b"VALUE q 0 2\r\nhi\r\nEND\r\n",
                                  b"ERROR\r\n",
                                  b"CLIENT_ERROR cannot increment or decrement "
                                  b"non-numeric value\r\n",
                                  b"DELETED\r\n"]
    u.sync()


def test_meta_commands_over_udp(udp_server):
    srv, u = udp_server("-t", "1")
    rid = u.send(b"ms m 2 T0\r\nhi\r\nmg m v k\r\nmg nope v\r\nmg nope v q\r\n"
                 b"mn\r\nma m\r\n")
    assert u.messages(rid, 5) == [b"HD\r\n", b"VA 2 km\r\nhi\r\n", b"EN\r\n",
                                  b"MN\r\n",
                                  b"CLIENT_ERROR cannot increment or decrement "
                                  b"non-numeric value\r\n"]
    u.sync()


def test_noreply_and_quiet_send_nothing(udp_server):
    srv, u = udp_server("-t", "1")
    u.send(b"set n 0 0 1 noreply\r\nz\r\n")
    u.send(b"delete nothere noreply\r\nms n 1 q\r\ny\r\n")
    u.sync()
    assert u.call(b"get n\r\n") == b"VALUE n 0 1\r\ny\r\nEND\r\n"


def test_total_other_than_one_and_short_datagrams_are_dropped(udp_server):
    srv, u = udp_server("-t", "1")
    u.send(b"set d 0 0 1\r\nx\r\n", total=2)
    u.send(b"set d 0 0 1\r\nx\r\n", total=0)
    u.send(b"set d 0 0 1\r\nx\r\n", total=0x0101)
    u.send_raw(HDR.pack(9, 0, 1, 0))          # a header alone
    u.send_raw(b"\x00\x09\x00\x00\x00\x01\x00")  # seven bytes
    u.send_raw(b"")
    u.sync()
    assert u.call(b"get d\r\n") == b"END\r\n"


def test_datagram_ending_inside_a_data_block_gets_no_reply(start_server):
    # memcached keeps waiting for the data (and then reads the next
    # datagram, header included, as the rest of it), so this is the last
    # datagram of the test; TCP still works.
    port = free_udp_port()
    srv = start_server("-U", str(port), "-t", "1")
    u = Udp(port)
    try:
        u.send(b"version\r\nset a 0 0 5\r\nhel")
        with srv.connect() as c:
            c.cmd("version")
            assert c.readline().startswith(b"VERSION ")
    finally:
        u.close()


@pytest.mark.memoria_only
def test_each_datagram_starts_afresh_after_an_incomplete_one(udp_server):
    # memoria: a request never spans datagrams (memcached reads the next
    # datagram as the rest of the data block and loses step).
    srv, u = udp_server("-t", "1")
    u.send(b"version\r\nset a 0 0 5\r\nhel")
    u.send(b"lo\r\n")
    rid = u.send(b"get a\r\n")
    h, payload, _ = u.recv()
    assert (h, payload) == ((rid - 1, 0, 1, 0), b"ERROR\r\n")
    assert u.message(rid)[1] == b"END\r\n"
    u.sync()


def test_quit_sends_what_came_before_and_ends_the_datagram(udp_server):
    srv, u = udp_server("-t", "1")
    rid = u.send(b"set a 0 0 1\r\n1\r\nquit\r\nset b 0 0 1\r\n2\r\n")
    assert u.message(rid)[1] == b"STORED\r\n"
    u.sync()
    assert u.call(b"get b\r\n") == b"END\r\n"


def test_a_line_too_long_drops_the_pending_replies(udp_server):
    srv, u = udp_server("-t", "1")
    u.send(b"version\r\n" + b"x" * 3000)
    u.sync()
    rid = u.send(b"x" * 3000 + b"\r\nversion\r\n")
    assert u.message(rid)[1] == b"ERROR\r\n"
    assert u.message(rid)[1].startswith(b"VERSION ")


def test_reply_bursts_follow_reqs_per_event(udp_server):
    # With -R 3 memcached writes replies out after requests 4, 7, 10...
    # of a datagram; a get whose first key misses opens a burst only there.
    srv, u = udp_server("-t", "1", "-R", "3")
    for n, empty in ((3, False), (4, True), (5, False), (7, True)):
        rid = u.send(b"version\r\n" * n + b"get x y\r\n")
        for _ in range(n):
            assert u.message(rid)[1].startswith(b"VERSION ")
        if empty:
            assert u.recv()[:2] == ((rid, 0, 0, 0), b"")
        assert u.message(rid)[1] == b"END\r\n"
    u.sync()


def test_conn_yields_count_like_memcached(udp_server):
    srv, u = udp_server("-t", "1", "-R", "3")
    for n, more in ((10, 3), (4, 1), (3, 1), (2, 0), (1, 0)):
        before = int(srv.stats()["conn_yields"])
        rid = u.send(b"version\r\n" * n)
        for _ in range(n):
            u.message(rid)
        u.sync()
        after = int(srv.stats()["conn_yields"])
        assert after - before == more, n


def test_udp_bytes_count_in_bytes_read_and_written(udp_server):
    srv, u = udp_server("-t", "1")
    with srv.connect() as c:
        def counters():
            s = c.stats()
            return int(s["bytes_read"]), int(s["bytes_written"])
        r0, _ = counters()
        r1, w1 = counters()
        stats_read = r1 - r0
        u.send(b"x", total=2)          # read, then dropped
        u.send_raw(HDR.pack(1, 0, 1, 0))  # 8 bytes: not even read
        value = b"v" * 3000
        assert u.call(b"set k 0 0 3000\r\n" + value + b"\r\n") == b"STORED\r\n"
        rid = u.send(b"get k\r\n")
        heads, body = u.message(rid)
        u.sync()
        r2, w2 = counters()
    sent = 9 + (8 + 16 + 3002) + (8 + 7) + (8 + 9)
    assert r2 - r1 - stats_read == sent
    # STORED, the 3 datagrams of the value, version's answer, one stats
    version = len(b"VERSION ") + len(srv_version(srv)) + 2
    replies = (8 + 8) + (len(body) + 8 * len(heads)) + (8 + version)
    assert 0 < w2 - w1 - replies < 4096


def srv_version(srv):
    with srv.connect() as c:
        return c.call("version").split(" ", 1)[1].encode()


@pytest.mark.parametrize("threads", [1, 2, 4])
def test_udp_endpoints_count_as_connections(udp_server, threads):
    # memcached: one UDP connection per worker per socket, plus the
    # listener, minus one; the stats client itself adds one. The total
    # also has every stats client and the fixture's start-up probe, which
    # memcached may not have accepted yet.
    srv, u = udp_server("-t", str(threads))
    for calls in range(1, 251):   # until the server has seen the probe close
        s = srv.stats()
        if int(s["curr_connections"]) == 1 + threads:
            break
        time.sleep(0.02)
    assert int(s["curr_connections"]) == 1 + threads
    assert int(s["total_connections"]) - calls in (1 + threads, 2 + threads)


def test_listen_element_port_applies_to_udp(start_server):
    # -l host:port overrides -U for that element; with a comma list each
    # UDP socket gets one worker.
    p = free_udp_port()
    q = free_udp_port()
    srv = start_server("-U", str(q), "-t", "2", "-l", "127.0.0.1:%d,127.0.0.1" % p,
                       listen=False)
    for port in (p, q):
        u = Udp(port)
        try:
            assert u.call(b"version\r\n").startswith(b"VERSION ")
        finally:
            u.close()
    # TCP listeners on p and -p, two UDP endpoints, the stats client
    for _ in range(250):    # until the server has seen earlier closes
        s = srv.stats()
        if int(s["curr_connections"]) == 4:
            break
        time.sleep(0.02)
    assert int(s["curr_connections"]) == 4
    with Conn(p) as c:
        assert c.call("version").startswith("VERSION ")


def run_own(args):
    """A server started without the fixture's -p/-U (stopped by PID)."""
    return subprocess.Popen([wire.BIN] + args + wire.user_args(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def stop_own(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(wire.STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    err = proc.stderr.read().decode(errors="replace")
    for mark in wire.SANITIZER_MARKS:
        assert mark not in err, err[-4000:]


def test_udp_port_is_the_tcp_port_when_p_is_not_given():
    port = free_udp_port()
    proc = run_own(["-l", "127.0.0.1", "-U", str(port)])
    try:
        deadline = time.monotonic() + wire.START_TIMEOUT
        while True:
            try:
                c = Conn(port)
                break
            except OSError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.02)
        with c:
            assert c.call("version").startswith("VERSION")
        u = Udp(port)
        try:
            assert u.call(b"version\r\n").startswith(b"VERSION ")
        finally:
            u.close()
    finally:
        stop_own(proc)


def test_udp_only_server_with_p_0_counts_its_endpoints():
    port = free_udp_port()
    proc = run_own(["-l", "127.0.0.1", "-p", "0", "-U", str(port), "-t", "2"])
    u = Udp(port)
    try:
        u.sock.settimeout(0.2)
        deadline = time.monotonic() + wire.START_TIMEOUT
        while True:     # until the server answers
            try:
                u.send(b"version\r\n")
                u.sock.recv(65536)
                break
            except (socket.timeout, ConnectionRefusedError):
                assert proc.poll() is None and time.monotonic() < deadline
        u.sock.settimeout(wire.IO_TIMEOUT)
        # two UDP endpoints, no listener, minus one. memcached's workers
        # create their endpoints as they start, after the first can
        # already answer: wait (bounded) for the count to settle.
        deadline = time.monotonic() + wire.IO_TIMEOUT
        while True:
            rid = u.send(b"stats\r\n")
            heads, body = u.message(rid)
            stats = dict(line.split(b" ")[1:3] for line in body.split(b"\r\n")
                         if line.startswith(b"STAT "))
            if (stats[b"curr_connections"] == b"1"
                    or time.monotonic() > deadline):
                break
            time.sleep(0.05)
        assert stats[b"curr_connections"] == b"1"
        assert stats[b"total_connections"] == b"2"
    finally:
        u.close()
        stop_own(proc)


def test_udp_port_in_use_fails_like_memcached():
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", 0))
    try:
        port = busy.getsockname()[1]
        rc, out, err = wire.run_binary(["-l", "127.0.0.1", "-p", str(wire.free_port()),
                                        "-U", str(port)] + wire.user_args())
        assert rc == 71
        assert err == ("failed to listen on one of interface(s) 127.0.0.1: "
                       "Address already in use\n")
    finally:
        busy.close()


def test_tcp_still_serves_after_udp_traffic(udp_server):
    srv, u = udp_server()
    assert u.call(b"set t 0 0 3\r\nudp\r\n") == b"STORED\r\n"
    with srv.connect() as c:
        c.cmd("get t")
        assert c.readline() == b"VALUE t 0 3"
        assert c.readline() == b"udp"
        assert c.readline() == b"END"


@pytest.mark.threaded
def test_many_udp_clients_share_the_workers(udp_server):
    srv, u = udp_server("-t", "4")
    port = u.sock.getpeername()[1]
    errors = []
    deadline = time.monotonic() + 60

    def client(t):
        c = Udp(port)
        try:
            for i in range(300):
                if time.monotonic() > deadline:
                    raise AssertionError("client %d ran out of time" % t)
                key = b"u%d_%d" % (t, i % 20)
                val = b"%d-%d" % (t, i) * (1 + i % 400)
                assert c.call(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(val), val)) \
                    == b"STORED\r\n"
                rid = c.send(b"get %s\r\n" % key)
                heads, body = c.message(rid)
                assert body == b"VALUE %s 0 %d\r\n%s\r\nEND\r\n" % (key, len(val), val)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("client %d: %r" % (t, e))
        finally:
            c.close()

    threads = [threading.Thread(target=client, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(70)
    assert not errors, errors[:3]
    assert u.call(b"version\r\n").startswith(b"VERSION ")


def test_libmemcached_sets_over_udp(udp_server):
    """pylibmc (libmemcached) given a `udp:` server sends its stores as
    UDP datagrams (it supports only stores and deletes over UDP); they
    land and are read back over TCP. Datagrams are not ordered (several
    workers read the socket), so the delete is sent once the stores are
    seen."""
    pylibmc = pytest.importorskip("pylibmc")
    srv, u = udp_server()
    lm = pylibmc.Client(["udp:127.0.0.1:%d" % u.sock.getpeername()[1]])

    def wait_for(c, want):
        deadline = time.monotonic() + wire.IO_TIMEOUT
        while True:
            c.cmd("get udp_lm_a udp_lm_b")
            lines = [c.readline()]
            while lines[-1] != b"END":
                lines.append(c.readline())
            if lines == want or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    try:
        with srv.connect() as c:
            assert lm.set("udp_lm_a", "alpha")
            assert lm.set("udp_lm_b", "beta")
            both = [b"VALUE udp_lm_a 16 5", b"alpha",
                    b"VALUE udp_lm_b 16 4", b"beta", b"END"]
            assert wait_for(c, both) == both
            assert lm.delete("udp_lm_b")
            one = [b"VALUE udp_lm_a 16 5", b"alpha", b"END"]
            assert wait_for(c, one) == one
    finally:
        lm.disconnect_all()
