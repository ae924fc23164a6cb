"""Many connections and threads, slow readers, big pipelines.

Every value is self-verifying (it embeds its key, a sequence number and a
checksum), so any mixed-up or torn reply is caught."""

import random
import threading
import time
import zlib

import pytest

from wire import Conn

THREADS = 6
CONNS_PER_THREAD = 50       # 300 connections in total
OPS_PER_THREAD = 1500
TIME_LIMIT = 60.0           # a bound for hangs, not a performance target


def make_value(key, seq, rnd):
    payload = bytes(rnd.getrandbits(8) for _ in range(rnd.choice((0, 10, 100, 1000, 3000))))
    body = b"%s|%d|%s" % (key, seq, payload)
    return body + b"|%08x" % zlib.crc32(body)


def check_value(key, value):
    body, sep, crc = value.rpartition(b"|")
    assert sep and b"%08x" % zlib.crc32(body) == crc, (key, value[:80])
    assert body.split(b"|", 1)[0] == key, (key, value[:80])
    return int(body.split(b"|", 2)[1])


@pytest.mark.threaded
def test_many_connections_and_threads(start_server):
    srv = start_server()
    shared_keys = [b"cc_shared_%d" % i for i in range(20)]
    with srv.connect() as c:
        for k in shared_keys:
            assert c.set(k, make_value(k, 0, random.Random(0))) == "STORED"
        assert c.set("cc_counter", "0") == "STORED"
    errors = []
    incrs = [0] * THREADS
    deadline = time.monotonic() + TIME_LIMIT

    def worker(t):
        rnd = random.Random(t)
        conns = []
        try:
            for _ in range(CONNS_PER_THREAD):
                conns.append(Conn(srv.port))
            own = {}
            for op in range(OPS_PER_THREAD):
                if time.monotonic() > deadline:
                    raise AssertionError("worker %d ran out of time at op %d" % (t, op))
                c = conns[op % len(conns)]
                r = rnd.random()
                if r < 0.3:
                    key = b"cc_%d_%d" % (t, rnd.randrange(50))
                    v = make_value(key, op, rnd)
                    assert c.set(key, v) == "STORED"
                    own[key] = v
                elif r < 0.5 and own:
                    key = rnd.choice(list(own))
                    assert c.get(key) == own[key], key
                elif r < 0.65:
                    key = rnd.choice(shared_keys)
                    assert c.set(key, make_value(key, op, rnd)) == "STORED"
                elif r < 0.85:
                    keys = rnd.sample(shared_keys, 5) + rnd.sample(list(own) or [b"x"], 1)
                    c.send(b"get " + b" ".join(keys) + b"\r\n")
                    vals = c.read_values()
                    for key, flags, value in vals:
                        assert key in keys
                        check_value(key, value)
                        if key in own:
                            assert value == own[key]
                else:
                    line = c.call("incr cc_counter 1")
                    assert line.isdigit(), line
                    incrs[t] += 1
            # pipelined burst on one connection
            c = conns[0]
            c.send(b"".join(b"set cc_p_%d_%d 0 0 %d\r\n%d\r\n" % (t, i, len(str(i)), i)
                            for i in range(200)))
            c.expect(b"STORED\r\n" * 200)
        except Exception as e:      # reported by the main thread
            errors.append("thread %d: %r" % (t, e))
        finally:
            for c in conns:
                c.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIME_LIMIT + 10)
    assert not any(th.is_alive() for th in threads), "workers hung"
    assert not errors, "\n".join(errors)
    with srv.connect() as c:
        assert c.get("cc_counter").rstrip(b" ") == str(sum(incrs)).encode()
        for k in shared_keys:
            check_value(k, c.get(k))
        for t in range(THREADS):
            keys = ["cc_p_%d_%d" % (t, i) for i in range(200)]
            c.send(("get " + " ".join(keys) + "\r\n").encode())
            assert [(k.decode(), v) for k, f, v in c.read_values()] == \
                [(k, k.rsplit("_", 1)[1].encode()) for k in keys]


@pytest.mark.threaded
def test_concurrent_incr_on_one_key(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("ci", "0") == "STORED"
    n, per = 8, 500
    errors = []

    def worker():
        try:
            with Conn(srv.port) as c:
                c.send(b"incr ci 1\r\n" * per)
                seen = [int(c.readline()) for _ in range(per)]
                assert seen == sorted(seen) and len(set(seen)) == per
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIME_LIMIT)
    assert not errors, errors
    with srv.connect() as c:
        assert c.get("ci").rstrip(b" ") == str(n * per).encode()


@pytest.mark.threaded
def test_slow_reader(server):
    big = bytes(random.Random(5).getrandbits(8) for _ in range(4096)) * 64   # 256 KiB
    with server.connect() as c, server.connect() as other:
        assert c.set("sr_big", big) == "STORED"
        n = 100                                     # 25 MiB of replies
        c.send(b"get sr_big\r\n" * n)
        # the server must keep serving others while this client reads nothing
        time.sleep(0.5)
        for i in range(20):
            assert other.set("sr_o%d" % i, str(i)) == "STORED"
            assert other.get("sr_o%d" % i) == str(i).encode()
        time.sleep(0.5)
        header = b"VALUE sr_big 0 %d\r\n" % len(big)
        for _ in range(n):
            c.expect(header)
            assert c.read_exact(len(big) + 2, timeout=10) == big + b"\r\n"
            c.expect(b"END\r\n")
        assert c.call("version").startswith("VERSION ")


def test_many_pipelined_sets_in_one_write(server):
    n = 10000
    with server.connect() as c:
        data = b"".join(b"set ps_%d %d 0 %d\r\n%s\r\n" % (i, i, len(b"v%d" % i), b"v%d" % i)
                        for i in range(n))
        c.send(data)
        c.expect(b"STORED\r\n" * n)
        for start in range(0, n, 1000):
            keys = ["ps_%d" % i for i in range(start, start + 1000)]
            c.send(("get " + " ".join(keys) + "\r\n").encode())
            vals = c.read_values()
            assert vals == [(k.encode(), int(k[3:]), b"v" + k[3:].encode()) for k in keys]


def test_many_pipelined_noreply_sets_then_get(server):
    n = 5000
    with server.connect() as c:
        c.send(b"".join(b"set pn_%d 0 0 1 noreply\r\nx\r\n" % i for i in range(n)))
        c.send(b"get pn_%d\r\n" % (n - 1))
        c.expect(b"VALUE pn_%d 0 1\r\nx\r\nEND\r\n" % (n - 1))
        c.assert_quiet(0.1)


@pytest.mark.threaded
def test_meta_commands_from_many_threads(start_server):
    """mg/ms/md/ma from several threads on overlapping keys: the stale and
    win bits, invalidation of items others are reading, counters and
    self-checking values must all stay consistent."""
    srv = start_server()
    keys = [b"mt_%d" % i for i in range(16)]
    with srv.connect() as c:
        for k in keys:
            v = make_value(k, 0, random.Random(1))
            c.send(b"ms %s %d T60\r\n%s\r\n" % (k, len(v), v))
            assert c.readline() == b"HD"
        c.send(b"ms mt_n 1\r\n0\r\n")
        assert c.readline() == b"HD"
    n, per = 6, 400
    errors = []
    incrs = [0] * n

    def worker(t):
        rnd = random.Random(t)
        try:
            with Conn(srv.port) as c:
                for op in range(per):
                    k = rnd.choice(keys)
                    r = rnd.random()
                    if r < 0.5:
                        c.send(b"mg %s v k R30 t O%d\r\n" % (k, op))
                        head = c.readline().split()
                        assert head[0] == b"VA", head
                        data = c.read_exact(int(head[1]) + 2)[:-2]
                        assert head[2] == b"k" + k and head[4] == b"O%d" % op, head
                        assert set(head[5:]) <= {b"W", b"X", b"Z"}, head
                        assert not (b"W" in head and b"Z" in head), head
                        check_value(k, data)
                    elif r < 0.7:
                        v = make_value(k, op, rnd)
                        c.send(b"ms %s %d T60 c\r\n%s\r\n" % (k, len(v), v))
                        assert c.readline().startswith(b"HD c"), k
                    elif r < 0.85:
                        c.send(b"md %s I T30 q\r\nmn\r\n" % k)
                        assert c.readline() == b"MN"
                    else:
                        c.send(b"ma mt_n v\r\n")
                        head = c.readline().split()
                        assert head[0] == b"VA", head
                        assert len(c.readline()) == int(head[1])
                        incrs[t] += 1
        except Exception as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIME_LIMIT)
    assert not errors, errors
    with srv.connect() as c:
        c.send(b"mg mt_n v\r\n")
        head = c.readline().split()
        assert c.readline() == b"%d" % sum(incrs), head
