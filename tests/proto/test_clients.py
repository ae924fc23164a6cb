"""Real client libraries against the server: pymemcache and pylibmc
(libmemcached, text protocol)."""

import multiprocessing
import time
import traceback

import pytest

pymemcache = pytest.importorskip("pymemcache.client.base")
pylibmc = pytest.importorskip("pylibmc")


@pytest.fixture
def pm(server):
    c = pymemcache.Client(("127.0.0.1", server.port), connect_timeout=5, timeout=5,
                          default_noreply=False)
    yield c
    c.close()


def test_pymemcache_basics(pm):
    p = "pm_%d_" % time.monotonic_ns()
    assert pm.set(p + "a", b"alpha") is True
    assert pm.get(p + "a") == b"alpha"
    assert pm.get(p + "missing") is None
    assert pm.set(p + "b", b"\r\n\0binary\r\n", expire=100) is True
    assert pm.get_many([p + "a", p + "b", p + "missing"]) == {
        p + "a": b"alpha", p + "b": b"\r\n\0binary\r\n"}
    assert pm.add(p + "a", b"x") is False
    assert pm.add(p + "c", b"gamma") is True
    assert pm.replace(p + "c", b"GAMMA") is True
    assert pm.replace(p + "missing", b"x") is False
    assert pm.append(p + "c", b"!") is True
    assert pm.prepend(p + "c", b"<") is True
    assert pm.get(p + "c") == b"<GAMMA!"
    value, cas = pm.gets(p + "c")
    assert value == b"<GAMMA!" and int(cas) > 0
    assert pm.cas(p + "c", b"new", cas) is True
    assert pm.cas(p + "c", b"newer", cas) is False
    assert pm.cas(p + "missing", b"x", cas) is None
    assert pm.get(p + "c") == b"new"
    assert pm.set(p + "n", b"10") is True
    assert pm.incr(p + "n", 5) == 15
    assert pm.decr(p + "n", 20) == 0
    assert pm.incr(p + "missing", 1) is None
    assert pm.touch(p + "n", 100) is True
    assert pm.touch(p + "missing", 100) is False
    assert pm.delete(p + "n") is True
    assert pm.delete(p + "n") is False
    assert pm.get(p + "n") is None
    assert pm.set_many({p + "m1": b"1", p + "m2": b"2"}) == []
    assert pm.get_many([p + "m1", p + "m2"]) == {p + "m1": b"1", p + "m2": b"2"}
    assert pm.version() == b"1.6.18"
    stats = pm.stats()
    assert stats[b"version"] == b"1.6.18"
    assert int(stats[b"curr_connections"]) >= 1
    assert pm.flush_all() is True
    assert pm.get(p + "a") is None


def test_pymemcache_noreply(server):
    c = pymemcache.Client(("127.0.0.1", server.port), connect_timeout=5, timeout=5,
                          default_noreply=True)
    try:
        p = "pmn_%d_" % time.monotonic_ns()
        c.set(p + "a", b"1")
        c.add(p + "a", b"2")
        c.append(p + "a", b"3")
        c.incr(p + "b", 1)
        c.delete(p + "nope")
        assert c.get(p + "a") == b"13"
    finally:
        c.close()


def test_pymemcache_large_value(pm):
    v = bytes(range(256)) * 3000     # 768000 bytes
    assert pm.set("pm_large", v) is True
    assert pm.get("pm_large") == v


def in_child(fn, *args):
    """Run fn(*args) in a forked child: libmemcached aborts the whole
    process on some garbled replies, which must fail only this test."""
    ctx = multiprocessing.get_context("fork")
    parent_end, child_end = ctx.Pipe(duplex=False)

    def main():
        try:
            fn(*args)
            child_end.send(None)
        except BaseException:
            child_end.send(traceback.format_exc())

    p = ctx.Process(target=main)
    p.start()
    p.join(60)
    if p.is_alive():
        p.kill()
        p.join()
        pytest.fail("pylibmc test hung")
    if parent_end.poll():
        err = parent_end.recv()
        if err:
            pytest.fail(err, pytrace=False)
    assert p.exitcode == 0, "pylibmc test process died (exit %s)" % p.exitcode


def pylibmc_client(port):
    return pylibmc.Client(["127.0.0.1:%d" % port], binary=False,
                          behaviors={"cas": True, "connect_timeout": 5000,
                                     "receive_timeout": 5000000, "send_timeout": 5000000})


def pylibmc_basics(port):
    lm = pylibmc_client(port)
    p = "lm_%d_" % time.monotonic_ns()
    assert lm.set(p + "a", b"alpha") is True
    assert lm.get(p + "a") == b"alpha"
    assert lm.get(p + "missing") is None
    assert lm.set(p + "s", "text") is True
    assert lm.get(p + "s") == "text"              # flags carry the type
    assert lm.set(p + "i", 12345) is True
    assert lm.get(p + "i") == 12345
    assert lm.set(p + "obj", {"k": [1, 2]}) is True
    assert lm.get(p + "obj") == {"k": [1, 2]}
    assert lm.set_multi({p + "m1": b"1", p + "m2": b"2"}) == []
    assert lm.get_multi([p + "m1", p + "m2", p + "missing"]) == {
        p + "m1": b"1", p + "m2": b"2"}
    assert lm.add(p + "a", b"x") is False
    assert lm.add(p + "c", b"gamma") is True
    assert lm.replace(p + "c", b"GAMMA") is True
    assert lm.replace(p + "missing", b"x") is False
    assert lm.append(p + "c", b"!") is True
    assert lm.prepend(p + "c", b"<") is True
    assert lm.get(p + "c") == b"<GAMMA!"
    value, cas = lm.gets(p + "c")
    assert value == b"<GAMMA!"
    assert lm.cas(p + "c", b"new", cas) is True
    assert lm.cas(p + "c", b"newer", cas) is False
    assert lm.get(p + "c") == b"new"
    assert lm.set(p + "n", b"10") is True
    assert lm.incr(p + "n", 5) == 15
    assert lm.decr(p + "n", 20) == 0
    try:
        lm.incr(p + "missing", 1)
        raise AssertionError("incr of a missing key did not raise")
    except pylibmc.NotFound:
        pass
    assert lm.touch(p + "n", 100) is True
    assert lm.touch(p + "missing", 100) is False
    assert lm.delete(p + "n") is True
    assert lm.delete(p + "n") is False
    stats = lm.get_stats()
    assert len(stats) == 1
    st = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
          for k, v in stats[0][1].items()}
    assert st["version"] == "1.6.18"
    assert int(st["curr_items"]) >= 1
    assert lm.flush_all() is True
    assert lm.get(p + "a") is None
    lm.disconnect_all()


def pylibmc_large_and_binary(port):
    lm = pylibmc_client(port)
    v = bytes(range(256)) * 2500 + b"\r\n\0\r\n"
    assert lm.set("lm_large", v) is True
    assert lm.get("lm_large") == v
    many = {"lm_many_%d" % i: ("v%d" % i).encode() * 10 for i in range(500)}
    assert lm.set_multi(many) == []
    assert lm.get_multi(list(many)) == many
    lm.disconnect_all()


def test_pylibmc_basics(server):
    in_child(pylibmc_basics, server.port)


def test_pylibmc_large_and_binary(server):
    in_child(pylibmc_large_and_binary, server.port)


# ---- stats through the clients' own calls (issue: monitoring and tools) --


def test_pymemcache_stats_calls(pm):
    pm.set("st_a", b"x" * 100)
    assert pm.get("st_a") == b"x" * 100
    general = pm.stats()
    assert general[b"cmd_set"] >= 1
    settings = pm.stats("settings")
    assert settings[b"item_size_max"] == 1048576
    items = pm.stats("items")
    assert any(k.endswith(b":number") for k in items)
    slabs = pm.stats("slabs")
    assert b"total_malloced" in slabs and b"active_slabs" in slabs
    assert pm.stats("sizes")[b"sizes_status"] == b"disabled"


def pylibmc_stats(port):
    lm = pylibmc_client(port)
    lm.set("st_b", b"y" * 100)
    for sub in (None, "settings", "items", "slabs", "sizes"):
        got = lm.get_stats(sub) if sub else lm.get_stats()
        assert len(got) == 1, sub
        name, values = got[0]
        assert name.startswith(b"127.0.0.1:") or name.startswith("127.0.0.1:")
        assert values, sub
    # libmemcached folds every form into its fixed struct of general
    # stats; what matters is that each call completes (END is seen).
    general = dict(lm.get_stats()[0][1])
    assert int(general["curr_items"]) >= 1


def test_pylibmc_stats_calls(server):
    in_child(pylibmc_stats, server.port)


def test_python_memcache_stats_calls(server):
    memcache = pytest.importorskip("memcache")
    mc = memcache.Client(["127.0.0.1:%d" % server.port])
    try:
        assert mc.set("st_c", "z" * 100)
        (_, general), = mc.get_stats()
        assert int(general["curr_items"]) >= 1
        (_, settings), = mc.get_stats("settings")
        assert settings["maxconns"] == "1024"
        (_, items), = mc.get_stats("items")
        assert any(k.endswith(":number") for k in items)
        (_, slabs), = mc.get_stats("slabs")
        assert "total_malloced" in slabs
    finally:
        mc.disconnect_all()
