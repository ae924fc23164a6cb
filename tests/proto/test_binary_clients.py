"""Real binary-protocol clients against the server: pylibmc (libmemcached)
with binary=True, and memjs (Node, binary only). Both run against a
`-B binary` server, so a client that fell back to text would fail."""

import fcntl
import json
import os
import shutil
import subprocess
import time

import pytest

import wire
from test_clients import in_child

pylibmc = pytest.importorskip("pylibmc")

MEMJS_VERSION = "1.3.2"
NPM_DIR = wire.REPO / "build" / "npm"
MEMJS_SCRIPT = os.path.join(os.path.dirname(__file__), "memjs_client.js")

# npm's messages when it cannot reach the registry
NETWORK_ERRORS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET",
                  "ETIMEDOUT", "ENETUNREACH", "EHOSTUNREACH", "network",
                  "getaddrinfo", "socket hang up", "proxy")


@pytest.fixture
def binary_server(start_server):
    return start_server("-B", "binary")


def pylibmc_client(port):
    return pylibmc.Client(["127.0.0.1:%d" % port], binary=True,
                          behaviors={"cas": True, "connect_timeout": 5000,
                                     "receive_timeout": 5000000, "send_timeout": 5000000})


def pylibmc_binary_basics(port):
    lm = pylibmc_client(port)
    p = "lmb_%d_" % time.monotonic_ns()
    assert lm.set(p + "a", b"alpha") is True
    assert lm.get(p + "a") == b"alpha"
    assert lm.get(p + "missing") is None
    assert lm.set(p + "s", "text") is True
    assert lm.get(p + "s") == "text"              # flags carry the type
    assert lm.set(p + "i", 12345) is True
    assert lm.get(p + "i") == 12345
    assert lm.set(p + "key with space", b"sp") is True  # binary keys may hold spaces
    assert lm.get(p + "key with space") == b"sp"
    assert lm.set_multi({p + "m1": b"1", p + "m2": b"2", p + "m3": b"\r\n\0"}) == []
    assert lm.get_multi([p + "m1", p + "missing", p + "m2", p + "m3"]) == {
        p + "m1": b"1", p + "m2": b"2", p + "m3": b"\r\n\0"}
    assert lm.add(p + "a", b"x") is False
    assert lm.add(p + "c", b"gamma") is True
    assert lm.replace(p + "c", b"GAMMA") is True
    try:
        lm.replace(p + "missing", b"x")   # status 0x0001 in binary
        raise AssertionError("replace of a missing key did not raise")
    except pylibmc.NotFound:
        pass
    assert lm.append(p + "c", b"!") is True
    assert lm.prepend(p + "c", b"<") is True
    assert lm.get(p + "c") == b"<GAMMA!"
    value, cas = lm.gets(p + "c")
    assert value == b"<GAMMA!" and cas > 0
    assert lm.cas(p + "c", b"new", cas) is True
    assert lm.cas(p + "c", b"newer", cas) is False
    assert lm.get(p + "c") == b"new"
    assert lm.set(p + "n", b"10") is True
    assert lm.incr(p + "n", 5) == 15
    assert lm.decr(p + "n", 20) == 0
    assert lm.set(p + "w", b"18446744073709551615") is True
    assert lm.incr(p + "w", 2) == 1                 # wraps at 2**64
    assert lm.get(p + "w") == b"1" + b" " * 19       # in place, space-padded
    try:
        lm.incr(p + "missing", 1)       # sent with exptime 0xffffffff: no creation
        raise AssertionError("incr of a missing key did not raise")
    except pylibmc.NotFound:
        pass
    assert lm.touch(p + "n", 100) is True
    assert lm.touch(p + "missing", 100) is False
    assert lm.delete(p + "n") is True
    assert lm.delete(p + "n") is False
    assert lm.get(p + "n") is None
    big = bytes(range(256)) * 3000
    assert lm.set(p + "big", big) is True
    assert lm.get(p + "big") == big
    many = {p + "many_%d" % i: b"v%d" % i for i in range(300)}
    assert lm.set_multi(many) == []
    assert lm.get_multi(list(many) + [p + "nope"]) == many
    stats = lm.get_stats()
    assert len(stats) == 1
    st = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
          for k, v in stats[0][1].items()}
    assert int(st["curr_items"]) >= 300
    assert int(st["get_hits"]) >= 10 and int(st["pid"]) > 0
    assert lm.flush_all() is True
    assert lm.get(p + "a") is None
    assert lm.get_multi(list(many)) == {}
    lm.disconnect_all()


def test_pylibmc_binary(binary_server):
    in_child(pylibmc_binary_basics, binary_server.port)


def test_pylibmc_binary_on_auto_listener(start_server):
    in_child(pylibmc_binary_basics, start_server().port)


# --------------------------------------------------------------------------
# memjs

def network_failure(text):
    return any(m.lower() in text.lower() for m in NETWORK_ERRORS)


@pytest.fixture(scope="session")
def memjs_modules():
    """memjs installed once under build/npm (npm install --prefix); under
    pytest-xdist each worker asks, one at a time (a file lock)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("node and npm are needed (scripts/deps.sh installs them)", pytrace=False)
    NPM_DIR.mkdir(parents=True, exist_ok=True)
    with open(NPM_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _install_memjs()


def _install_memjs():
    modules = NPM_DIR / "node_modules"
    pkg = modules / "memjs" / "package.json"
    if pkg.is_file() and json.loads(pkg.read_text()).get("version") == MEMJS_VERSION:
        return str(modules)
    try:
        p = subprocess.run(["npm", "install", "--prefix", str(NPM_DIR), "--no-audit",
                            "--no-fund", "memjs@" + MEMJS_VERSION],
                           capture_output=True, text=True, timeout=300,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.skip("npm registry unreachable: npm install timed out")
    if p.returncode != 0:
        out = p.stdout + p.stderr
        if network_failure(out):
            pytest.skip("npm registry unreachable: %s" % out.strip()[-500:])
        pytest.fail("npm install memjs failed:\n%s" % out[-4000:], pytrace=False)
    return str(modules)


def run_memjs(modules, port, prefix):
    p = subprocess.run(["node", MEMJS_SCRIPT, modules, "127.0.0.1:%d" % port, prefix],
                       capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr[-4000:]
    return json.loads(p.stdout)


@pytest.mark.parametrize("flags", [("-B", "binary"), ()], ids=["binary", "auto"])
def test_memjs(memjs_modules, start_server, flags):
    srv = start_server(*flags)
    out = run_memjs(memjs_modules, srv.port, "mj_")
    stats = out.pop("stats")
    assert out == {
        "set": True, "get": "alpha", "get_flags": "00000000", "get_missing": None,
        "set_binary": True, "get_binary": "000d0aff80",
        "add_existing": False, "add_new": True, "replace": True, "append": True,
        "get_c": "GAMMA!", "delete": True, "delete_again": False, "get_deleted": None,
        "incr_create": [True, 10], "incr": [True, 15], "decr": [True, 0], "get_n": "0 ",
        "touch": True, "touch_missing": False,
        "flush": {"127.0.0.1:%d" % srv.port: True}, "get_after_flush": None,
    }
    if not flags:
        # the same names in the same order as text `stats`
        with wire.Conn(srv.port) as t:
            assert list(stats) == list(t.stats())
    assert stats["pid"] == str(srv.proc.pid)
    assert stats["cmd_touch"] == "2" and stats["touch_misses"] == "1"
    assert stats["incr_hits"] == "1" and stats["decr_hits"] == "1"
    assert stats["delete_hits"] == "1" and stats["delete_misses"] == "1"
    assert stats["curr_items"] == "3"

