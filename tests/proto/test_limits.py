"""Size limits, large values, memory limits, eviction, connection limit
(docs/COMPAT.md#memory-and-eviction, docs/COMPAT.md#connections)."""

import random
import time

import pytest

from wire import WireError


TOO_LARGE = "SERVER_ERROR object too large for cache"
NO_MEMORY = "SERVER_ERROR out of memory storing object"


def blob(n, seed):
    """n pseudo-random bytes, with CR, LF and NUL sprinkled in."""
    rnd = random.Random(seed)
    unit = bytearray(rnd.getrandbits(8) for _ in range(4096))
    unit[100:103] = b"\r\n\0"
    unit[2000:2002] = b"\r\n"
    return (bytes(unit) * (n // 4096 + 1))[:n]


# -- -I (item size limit) -----------------------------------------------------

def test_item_size_limit_default(server):
    with server.connect() as c:
        ok = b"a" * 1048514
        assert c.set("foo", ok) == "STORED"
        assert c.get("foo") == ok
        # one byte more: too large; the data is swallowed, the old value of a
        # set is deleted
        assert c.set("foo", b"b" * 1048515) == TOO_LARGE
        assert c.get("foo") is None
        assert c.call("version").startswith("VERSION ")
        # nonzero flags take 4 bytes more
        assert c.set("foo", b"c" * 1048510, flags=1) == "STORED"
        assert c.set("foo", b"c" * 1048511, flags=1) == TOO_LARGE
        assert c.get("foo") is None
        # with noreply, the error is not sent, the old value still goes away
        assert c.set("foo", "old") == "STORED"
        c.set("foo", b"d" * 1048515, noreply=True)
        assert c.get("foo") is None


def test_too_large_other_commands_keep_old_value(server):
    with server.connect() as c:
        assert c.set("tlk", "old") == "STORED"
        big = b"x" * 1048515
        for cmd in ("add", "replace", "append", "prepend"):
            assert c.store(cmd, "tlk", big) == TOO_LARGE, cmd
            assert c.get("tlk") == b"old", cmd
        assert c.store("cas", "tlk", big, cas=c.gets("tlk")[2]) == TOO_LARGE
        assert c.get("tlk") == b"old"


def test_too_large_data_swallowed_across_writes(server):
    with server.connect() as c:
        c.send(b"set sw 0 0 2000000\r\n")
        chunk = b"get sw\r\n" * 10000          # 80000 bytes, all of it data
        for _ in range(25):
            c.send(chunk)
            time.sleep(0.005)
        c.send(b"\r\nget sw\r\n")
        c.expect_line(TOO_LARGE)
        c.expect(b"END\r\n")
        c.assert_quiet(0.1)


def test_append_beyond_limit(server):
    with server.connect() as c:
        assert c.set("apl", b"a" * 600000) == "STORED"
        # the fragment alone fits, the result would not: NOT_STORED
        assert c.store("append", "apl", b"b" * 600000) == "NOT_STORED"
        assert c.get("apl") == b"a" * 600000
        assert c.store("append", "apl", b"b" * 448500) == "STORED"
        assert c.get("apl") == b"a" * 600000 + b"b" * 448500


def test_item_size_limit_2m(shared_server):
    srv = shared_server("-I", "2m")
    with srv.connect() as c:
        v = blob(1536 * 1024, 1)
        assert c.set("big2m", v) == "STORED"
        assert c.get("big2m") == v
        assert c.set("big2m_over", b"x" * (2 * 1024 * 1024)) == TOO_LARGE
        assert c.get("big2m") == v


@pytest.mark.parametrize("size", [1, 1000, 16383, 16384, 16385, 100000,
                                  524288, 600 * 1024, 1000000, 1048000])
def test_large_values_round_trip(server, size):
    with server.connect() as c:
        v = blob(size, size)
        key = "lv_%d" % size
        assert c.set(key, v, flags=size if size < 1000000 else 0) == "STORED"
        c.send(("gets %s\r\n" % key).encode())
        vals = c.read_values(with_cas=True)
        assert len(vals) == 1
        assert vals[0][1] == (size if size < 1000000 else 0) and vals[0][2] == v
        # append/prepend on a large (chunked) item
        if size <= 1000000:
            assert c.store("append", key, b"<tail>") == "STORED"
            assert c.store("prepend", key, b"<head>") == "STORED"
            assert c.get(key) == b"<head>" + v + b"<tail>"


def test_incr_on_large_value(server):
    with server.connect() as c:
        assert c.set("incbig", b"1" + b" " * 700000) == "STORED"
        assert c.call("incr incbig 1") == \
            "CLIENT_ERROR cannot increment or decrement non-numeric value"


def test_get_many_keys_in_one_line(server):
    with server.connect() as c:
        keys = ["gm_%d" % i for i in range(5000)]
        payload = b"".join(b"set %s 0 0 %d noreply\r\n%s\r\n" % (k.encode(), len(k), k.encode())
                           for k in keys[::2])
        c.send(payload)
        c.send(("get " + " ".join(keys) + "\r\n").encode())
        vals = c.read_values()
        assert [v[0].decode() for v in vals] == keys[::2]
        assert all(v[0] == v[2] for v in vals)
        # gets too
        c.send(("gets " + " ".join(keys[:3000]) + "\r\n").encode())
        vals = c.read_values(with_cas=True)
        assert [v[0].decode() for v in vals] == keys[:3000:2]


@pytest.mark.parametrize("cmd", ["get", "gets"])
def test_get_line_arriving_in_pieces(server, cmd):
    # get/gets lines are exempt from the 2048-byte line limit
    with server.connect() as c:
        c.set("gpl_1", "one")
        line = (cmd + " " + " ".join("gpl_%d" % i for i in range(2000)) + "\r\n").encode()
        for i in range(0, len(line), 1000):
            c.send(line[i:i + 1000])
            time.sleep(0.01)
        vals = c.read_values(with_cas=(cmd == "gets"))
        assert [v[:3] for v in vals] == [(b"gpl_1", 0, b"one")]


# -- memory limit ---------------------------------------------------------------

def test_out_of_memory_with_evictions_disabled(start_server):
    srv = start_server("-M", "-m", "2")
    with srv.connect() as c:
        stored, failed = [], 0
        for i in range(60):
            v = blob(100000, i)
            r = c.set("oom_%d" % i, v)
            if r == "STORED":
                stored.append(i)
            else:
                assert r == NO_MEMORY, r
                failed += 1
        assert failed > 0 and stored
        # nothing stored was evicted or damaged
        for i in stored:
            assert c.get("oom_%d" % i) == blob(100000, i), i
        s = c.stats()
        assert s["evictions"] == "0"
        assert int(s["curr_items"]) == len(stored)
        assert int(s["store_no_memory"]) == failed
        # deleting makes room again
        for i in stored:
            assert c.call("delete oom_%d" % i) == "DELETED"
        assert c.set("oom_again", blob(100000, 1)) == "STORED"


def test_set_out_of_memory_deletes_old_value(start_server):
    srv = start_server("-M", "-m", "2")
    with srv.connect() as c:
        assert c.set("keep", "old") == "STORED"
        for i in range(60):
            if c.set("fill_%d" % i, blob(100000, i)) == NO_MEMORY:
                break
        else:
            pytest.fail("memory never filled up")
        assert c.set("keep", blob(100000, 99)) == NO_MEMORY
        assert c.get("keep") is None


def test_eviction_keeps_recent_keys_and_never_returns_wrong_data(start_server):
    srv = start_server("-m", "2")
    with srv.connect() as c:
        n = 0
        sizes = [100, 1000, 5000, 20000, 100000]
        total = 0
        payload = []
        while total < 12 * 1024 * 1024:
            size = sizes[n % len(sizes)]
            key = "ev_%d" % n
            v = (key.encode() + b":") * (size // (len(key) + 1) + 1)
            payload.append(b"set %s 0 0 %d noreply\r\n%s\r\n" % (key.encode(), size, v[:size]))
            total += size
            n += 1
            if len(payload) == 50:
                c.send(b"".join(payload))
                payload = []
        c.send(b"".join(payload))
        assert c.call("version").startswith("VERSION ")
        # recent keys are readable
        for i in range(n - 5, n):
            size = sizes[i % len(sizes)]
            key = "ev_%d" % i
            v = ((key.encode() + b":") * (size // (len(key) + 1) + 1))[:size]
            assert c.get(key) == v, key
        # whatever survived is intact
        hits = 0
        for start in range(0, n, 200):
            keys = ["ev_%d" % i for i in range(start, min(n, start + 200))]
            c.send(("get " + " ".join(keys) + "\r\n").encode())
            for key, flags, data in c.read_values():
                i = int(key.decode()[3:])
                size = sizes[i % len(sizes)]
                assert data == ((key + b":") * (size // (len(key) + 1) + 1))[:size], key
                hits += 1
        assert 0 < hits < n
        s = c.stats()
        assert int(s["evictions"]) > 0
        assert int(s["total_items"]) == n


# -- connection limit (-c) and fairness (-R) --------------------------------

@pytest.mark.threaded
def test_connection_limit(start_server):
    srv = start_server("-c", "30")
    conns = []
    try:
        for _ in range(45):
            conns.append(srv.connect())
        # rejected connections get an error line and are closed without
        # being asked anything; accepted ones stay silent. Wait until no
        # more rejections arrive for half a second.
        rejected, silent = [], list(conns)
        last_change = time.monotonic()
        deadline = last_change + 10
        while time.monotonic() - last_change < 0.5 and time.monotonic() < deadline:
            for c in list(silent):
                c.buf += c.pending(0)
                if c.buf:
                    silent.remove(c)
                    rejected.append(c)
                    last_change = time.monotonic()
            time.sleep(0.05)
        for c in rejected:
            c.expect_line("ERROR Too many open connections")
            c.expect_closed()
        assert silent and rejected, (len(silent), len(rejected))
        for c in silent:
            assert c.call("version").startswith("VERSION ")
        assert silent[0].stats()["rejected_connections"] == str(len(rejected))
        # closing connections frees room for new ones
        for c in silent:
            c.close()
        deadline = time.monotonic() + 5
        while True:
            c = srv.connect()
            conns.append(c)
            c.cmd("version")
            try:
                line = c.readline()
            except WireError as e:
                line = str(e).encode()
            if line.startswith(b"VERSION ") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert line.startswith(b"VERSION "), line
    finally:
        for c in conns:
            c.close()


def test_reqs_per_event_long_pipeline(shared_server):
    srv = shared_server("-R", "1")
    with srv.connect() as c:
        n = 2000
        c.send(b"".join(b"set rp_%d 0 0 %d\r\n%d\r\n" % (i, len(str(i)), i)
                        for i in range(n)))
        c.send(b"".join(b"incr rp_%d 1\r\n" % i for i in range(n)))
        c.expect(b"STORED\r\n" * n)
        c.expect(b"".join(b"%d\r\n" % (i + 1) for i in range(n)))
