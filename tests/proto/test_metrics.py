"""The Prometheus endpoint (memoria extension, -o metrics_listen).

Checks the exposition with the real Prometheus text parser (Debian's
python3-prometheus-client): the metric names, types and labels of
prometheus/memcached_exporter (docs/METRICS.md), each present exactly when
the exporter would emit it (when its stat is in the text protocol's
`stats`, `stats settings`, `stats slabs` or `stats items`), and values
that agree with those stats read on the same server around the scrape.
"""

import http.client
import os
import re
import socket
import threading
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from wire import WireError, free_port, run_binary, user_args

pytestmark = pytest.mark.memoria_only

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
TIMEOUT = 5.0

COUNTER, GAUGE = "counter", "gauge"

# From `stats`: metric -> (type, stat). Present when the stat is.
GENERAL = {
    "memcached_uptime_seconds": (COUNTER, "uptime"),
    "memcached_time_seconds": (GAUGE, "time"),
    "memcached_process_user_cpu_seconds_total": (COUNTER, "rusage_user"),
    "memcached_process_system_cpu_seconds_total": (COUNTER, "rusage_system"),
    "memcached_current_bytes": (GAUGE, "bytes"),
    "memcached_limit_bytes": (GAUGE, "limit_maxbytes"),
    "memcached_current_items": (GAUGE, "curr_items"),
    "memcached_items_total": (COUNTER, "total_items"),
    "memcached_read_bytes_total": (COUNTER, "bytes_read"),
    "memcached_written_bytes_total": (COUNTER, "bytes_written"),
    "memcached_current_connections": (GAUGE, "curr_connections"),
    "memcached_connections_total": (COUNTER, "total_connections"),
    "memcached_connections_rejected_total": (COUNTER, "rejected_connections"),
    "memcached_connections_yielded_total": (COUNTER, "conn_yields"),
    "memcached_connections_listener_disabled_total":
        (COUNTER, "listen_disabled_num"),
    "memcached_items_evicted_total": (COUNTER, "evictions"),
    "memcached_items_reclaimed_total": (COUNTER, "reclaimed"),
    "memcached_item_too_large_total": (COUNTER, "store_too_large"),
    "memcached_item_no_memory_total": (COUNTER, "store_no_memory"),
    "memcached_lru_crawler_starts_total": (COUNTER, "lru_crawler_starts"),
    "memcached_direct_reclaims_total": (COUNTER, "direct_reclaims"),
    "memcached_lru_crawler_items_checked_total":
        (COUNTER, "crawler_items_checked"),
    "memcached_lru_crawler_reclaimed_total": (COUNTER, "crawler_reclaimed"),
    "memcached_lru_crawler_moves_to_cold_total": (COUNTER, "moves_to_cold"),
    "memcached_lru_crawler_moves_to_warm_total": (COUNTER, "moves_to_warm"),
    "memcached_lru_crawler_moves_within_lru_total":
        (COUNTER, "moves_within_lru"),
    "memcached_accepting_connections": (GAUGE, "accepting_conns"),
}

# Stats that move between two reads of a quiet server (our own `stats`
# commands, the clock): the scraped value lies between the two reads.
MOVING = {"uptime", "time", "rusage_user", "rusage_system", "bytes_read",
          "bytes_written"}

# From `stats settings`, only with lru_crawler yes (as the exporter).
CRAWLER_SETTINGS = {
    "memcached_lru_crawler_enabled": "lru_crawler",
    "memcached_lru_crawler_sleep": "lru_crawler_sleep",
    "memcached_lru_crawler_to_crawl": "lru_crawler_tocrawl",
    "memcached_lru_crawler_maintainer_thread": "lru_maintainer_thread",
    "memcached_lru_crawler_hot_percent": "hot_lru_pct",
    "memcached_lru_crawler_warm_percent": "warm_lru_pct",
    "memcached_lru_crawler_hot_max_factor": "hot_max_factor",
    "memcached_lru_crawler_warm_max_factor": "warm_max_factor",
}

# From `stats items` (label slab): metric -> (type, field).
ITEMS = {
    "memcached_slab_current_items": (GAUGE, "number"),
    "memcached_slab_items_age_seconds": (GAUGE, "age"),
    "memcached_slab_items_crawler_reclaimed_total":
        (COUNTER, "crawler_reclaimed"),
    "memcached_slab_items_evicted_total": (COUNTER, "evicted"),
    "memcached_slab_items_evicted_nonzero_total": (COUNTER, "evicted_nonzero"),
    "memcached_slab_items_evicted_time_seconds": (COUNTER, "evicted_time"),
    "memcached_slab_items_evicted_unfetched_total":
        (COUNTER, "evicted_unfetched"),
    "memcached_slab_items_expired_unfetched_total":
        (COUNTER, "expired_unfetched"),
    "memcached_slab_items_outofmemory_total": (COUNTER, "outofmemory"),
    "memcached_slab_items_reclaimed_total": (COUNTER, "reclaimed"),
    "memcached_slab_items_tailrepairs_total": (COUNTER, "tailrepairs"),
    "memcached_slab_mem_requested_bytes": (COUNTER, "mem_requested"),
    "memcached_slab_items_moves_to_cold": (COUNTER, "moves_to_cold"),
    "memcached_slab_items_moves_to_warm": (COUNTER, "moves_to_warm"),
    "memcached_slab_items_moves_within_lru": (COUNTER, "moves_within_lru"),
    "memcached_slab_hot_items": (GAUGE, "number_hot"),
    "memcached_slab_warm_items": (GAUGE, "number_warm"),
    "memcached_slab_cold_items": (GAUGE, "number_cold"),
    "memcached_slab_temporary_items": (GAUGE, "number_temp"),
    "memcached_slab_hot_age_seconds": (GAUGE, "age_hot"),
    "memcached_slab_warm_age_seconds": (GAUGE, "age_warm"),
}
ITEMS_MOVING = {"age", "age_hot", "age_warm"}
LRUS = {"hot": "hits_to_hot", "warm": "hits_to_warm", "cold": "hits_to_cold",
        "temporary": "hits_to_temp"}

# From `stats slabs` (label slab): metric -> field.
SLABS = {
    "memcached_slab_chunk_size_bytes": "chunk_size",
    "memcached_slab_chunks_per_page": "chunks_per_page",
    "memcached_slab_current_pages": "total_pages",
    "memcached_slab_current_chunks": "total_chunks",
    "memcached_slab_chunks_used": "used_chunks",
    "memcached_slab_chunks_free": "free_chunks",
    "memcached_slab_chunks_free_end": "free_chunks_end",
}
SLAB_OPS = [("get", "hit", "get_hits"), ("delete", "hit", "delete_hits"),
            ("incr", "hit", "incr_hits"), ("decr", "hit", "decr_hits"),
            ("cas", "hit", "cas_hits"), ("touch", "hit", "touch_hits"),
            ("cas", "badval", "cas_badval")]

MEMORIA = {"memoria_bytes_per_item", "memoria_memory_limit_ratio",
           "memoria_memory_allocated_bytes", "memoria_hash_load_factor"}


# --------------------------------------------------------------------------
# helpers

def start(start_server, *flags):
    """A private server with the endpoint on a free loopback port."""
    last = None
    for _ in range(5):
        port = free_port()
        try:
            srv = start_server("-o", "metrics_listen=127.0.0.1:%d" % port,
                               *flags)
            return srv, port
        except WireError as e:      # somebody took the port meanwhile
            last = e
    raise last


def request(port, method="GET", path="/metrics"):
    """(status, headers, body) of one HTTP request."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        c.request(method, path)
        r = c.getresponse()
        return r.status, r.headers, r.read()
    finally:
        c.close()


def scrape(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                timeout=TIMEOUT) as r:
        assert r.status == 200
        assert r.headers["Content-Type"] == CONTENT_TYPE
        return r.read().decode("utf-8")


class Exposition:
    """A parsed scrape: types and samples keyed by the exposed names."""

    def __init__(self, text):
        self.text = text
        self.types = {}
        for m in re.finditer(r"^# TYPE (\S+) (\S+)$", text, re.M):
            assert m.group(1) not in self.types, "family twice: " + m.group(1)
            self.types[m.group(1)] = m.group(2)
        self.samples = {}   # name -> {frozenset(labels): value}
        for fam in text_string_to_metric_families(text):
            # The parser names a counter family without "_total" and adds
            # "_total" to samples that lack it: map both back.
            name = fam.name if fam.name in self.types else fam.name + "_total"
            assert self.types.get(name) == fam.type, (name, fam.type)
            assert fam.documentation, "no HELP for " + name
            got = self.samples.setdefault(name, {})
            for s in fam.samples:
                key = frozenset(s.labels.items())
                assert key not in got, (name, s.labels)
                got[key] = s.value

    def value(self, name, **labels):
        return self.samples[name][frozenset(labels.items())]

    def labelled(self, name):
        """{labels dict as sorted tuple: value} of one family."""
        return {tuple(sorted(k)): v for k, v in self.samples[name].items()}


def class_stats(stats, prefix=""):
    """{class id: {field: value}} of `stats items` / `stats slabs`."""
    out = {}
    for k, v in stats.items():
        parts = k.split(":")
        if prefix and parts[0] != prefix:
            continue
        parts = parts[1:] if prefix else parts
        if len(parts) == 2:
            out.setdefault(int(parts[0]), {})[parts[1]] = v
    return out


def read_all(c):
    return {sub: c.stats(sub) for sub in ("", "settings", "slabs", "items")}


def workload(c):
    """Traffic over several slab classes and every counted command."""
    c.call("flush_all")
    for i, size in enumerate((10, 100, 1000, 10000, 100000, 400000)):
        for j in range(3):
            c.set("k%d_%d" % (i, j), b"v" * size)
        assert c.get("k%d_0" % i) is not None
        assert c.get("missing%d" % i) is None
    c.set("n", b"10")
    assert c.call("incr n 5") == "15"
    assert c.call("decr n 3") == "12"
    assert c.call("incr nope 1") == "NOT_FOUND"
    assert c.call("decr nope 1") == "NOT_FOUND"
    _, _, cas = c.gets("k0_1")
    assert c.store("cas", "k0_1", b"x", cas=cas) == "STORED"
    assert c.store("cas", "k0_1", b"y", cas=cas) == "EXISTS"
    assert c.store("cas", "nope", b"y", cas=1) == "NOT_FOUND"
    assert c.call("touch k1_1 100") == "TOUCHED"
    assert c.call("touch nope 100") == "NOT_FOUND"
    assert c.call("delete k2_2") == "DELETED"
    assert c.call("delete nope") == "NOT_FOUND"


def number(text):
    return float({"yes": 1, "no": 0}.get(text, text))


# --------------------------------------------------------------------------
# tests

def test_names_types_labels_and_values_agree_with_stats(start_server):
    srv, port = start(start_server)
    with srv.connect() as c:
        workload(c)
        before = read_all(c)
        exp = Exposition(scrape(port))
        after = read_all(c)

    general, settings = before[""], before["settings"]
    items_b, items_a = class_stats(before["items"], "items"), \
        class_stats(after["items"], "items")
    slabs_b = class_stats(before["slabs"])
    assert len(items_b) >= 5 and len(slabs_b) >= 5, "workload spans classes"

    want = {"memcached_up": GAUGE, "memcached_version": GAUGE,
            "memcached_commands_total": COUNTER,
            "memcached_malloced_bytes": GAUGE,
            "memcached_slab_commands_total": COUNTER}
    want.update({m: GAUGE for m in MEMORIA})
    want.update({m: GAUGE for m in SLABS})
    for m, (typ, stat) in GENERAL.items():
        if stat in general:
            want[m] = typ
    if "maxconns" in settings:
        want["memcached_max_connections"] = GAUGE
    if settings.get("lru_crawler") == "yes":
        want.update({m: GAUGE for m in CRAWLER_SETTINGS})
    any_class = next(iter(items_b.values()))
    for m, (typ, field) in ITEMS.items():
        if field in any_class:
            want[m] = typ
    if "hits_to_hot" in any_class:
        want["memcached_slab_lru_hits_total"] = COUNTER
    assert exp.types == want

    assert exp.value("memcached_up") == 1
    assert exp.value("memcached_version", version=general["version"]) == 1

    # general stats: equal, or between the two reads for the moving ones
    for m, (_, stat) in GENERAL.items():
        if stat not in general:
            continue
        lo, hi = number(general[stat]), number(after[""][stat])
        if stat in MOVING:
            assert lo <= exp.value(m) <= hi, (m, lo, exp.value(m), hi)
        else:
            assert exp.value(m) == lo == hi, (m, lo, exp.value(m), hi)

    # commands_total: the exporter's pairs; set excludes cas
    cmds = exp.labelled("memcached_commands_total")
    expect = {}
    for op in ("get", "delete", "incr", "decr", "cas", "touch"):
        expect[(("command", op), ("status", "hit"))] = general[op + "_hits"]
        expect[(("command", op), ("status", "miss"))] = general[op + "_misses"]
    expect[(("command", "cas"), ("status", "badval"))] = general["cas_badval"]
    expect[(("command", "flush"), ("status", "hit"))] = general["cmd_flush"]
    cas = sum(int(general[k]) for k in ("cas_hits", "cas_misses",
                                        "cas_badval"))
    expect[(("command", "set"), ("status", "hit"))] = \
        int(general["cmd_set"]) - cas
    assert cmds == {k: float(v) for k, v in expect.items()}
    assert cmds[(("command", "get"), ("status", "miss"))] >= 6

    assert exp.value("memcached_malloced_bytes") == \
        float(before["slabs"]["total_malloced"])
    if "maxconns" in settings:
        assert exp.value("memcached_max_connections") == \
            float(settings["maxconns"])
    if settings.get("lru_crawler") == "yes":
        for m, key in CRAWLER_SETTINGS.items():
            assert exp.value(m) == number(settings[key]), m

    # stats items, per class
    for m, (_, field) in ITEMS.items():
        if m not in want:
            continue
        got = exp.labelled(m)
        assert set(got) == {(("slab", str(i)),) for i in items_b}, m
        for i, f in items_b.items():
            v = got[(("slab", str(i)),)]
            if field in ITEMS_MOVING:
                assert int(f[field]) <= v <= int(items_a[i][field]), (m, i)
            else:
                assert v == int(f[field]), (m, i, v, f[field])
    if "hits_to_hot" in any_class:
        hits = exp.labelled("memcached_slab_lru_hits_total")
        assert hits == {(("lru", lru), ("slab", str(i))): float(f[field])
                        for i, f in items_b.items()
                        for lru, field in LRUS.items()}

    # stats slabs, per class
    for m, field in SLABS.items():
        assert exp.labelled(m) == {(("slab", str(i)),): float(f[field])
                                   for i, f in slabs_b.items()}, m
    expect = {}
    for i, f in slabs_b.items():
        for command, status, field in SLAB_OPS:
            expect[(("command", command), ("slab", str(i)),
                    ("status", status))] = float(f[field])
        expect[(("command", "set"), ("slab", str(i)), ("status", "hit"))] = \
            float(int(f["cmd_set"]) - int(f["cas_hits"]) - int(f["cas_badval"]))
    assert exp.labelled("memcached_slab_commands_total") == expect

    # memoria's own gauges
    items, nbytes = int(general["curr_items"]), int(general["bytes"])
    malloced = int(before["slabs"]["total_malloced"])
    assert exp.value("memoria_bytes_per_item") == \
        pytest.approx(nbytes / items, rel=1e-5)
    assert exp.value("memoria_memory_limit_ratio") == \
        pytest.approx(malloced / int(general["limit_maxbytes"]), rel=1e-5)
    assert exp.value("memoria_memory_allocated_bytes") == \
        malloced + int(general["hash_bytes"])
    assert exp.value("memoria_hash_load_factor") == \
        pytest.approx(items / 2 ** int(general["hash_power_level"]), rel=1e-5)


def test_empty_server_has_no_class_samples(start_server):
    srv, port = start(start_server)
    exp = Exposition(scrape(port))
    # as with the exporter, families without samples are left out
    assert not [m for m in exp.types if m.startswith("memcached_slab_")]
    assert exp.value("memoria_bytes_per_item") == 0
    assert exp.value("memcached_current_items") == 0


def _listening(pid):
    """(address, port) of every TCP socket the process listens on, the
    address as /proc/net/tcp* shows it (hex, network byte order)."""
    inodes = set()
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            m = re.fullmatch(r"socket:\[(\d+)\]",
                             os.readlink("/proc/%d/fd/%s" % (pid, fd)))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    out = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in inodes:   # LISTEN
                    addr, port = cols[1].rsplit(":", 1)
                    out.add((addr, int(port, 16)))
    return out


def _listening_ports(pid):
    return {port for _, port in _listening(pid)}


def test_off_by_default(start_server):
    srv = start_server()
    assert _listening_ports(srv.proc.pid) == {srv.port}
    srv2, port = start(start_server)
    assert _listening_ports(srv2.proc.pid) == {srv2.port, port}


LOOPBACK = "0100007F"     # 127.0.0.1 as /proc/net/tcp prints it


def test_without_host_listens_on_loopback_only(start_server):
    for spec in (":%d", "%d"):
        port = free_port()
        srv = start_server("-o", "metrics_listen=" + spec % port)
        assert (LOOPBACK, port) in _listening(srv.proc.pid)
        assert {a for a, p in _listening(srv.proc.pid) if p == port} == \
            {LOOPBACK}
        assert "memcached_up 1" in scrape(port)


def test_other_paths_404_other_methods_405(start_server):
    srv, port = start(start_server)
    assert request(port, path="/")[0] == 404
    assert request(port, path="/metricsx")[0] == 404
    assert request(port, path="/metrics/")[0] == 404
    assert request(port, method="POST", path="/other")[0] == 404
    for method in ("POST", "PUT", "DELETE", "HEAD"):
        status, headers, _ = request(port, method=method)
        assert status == 405, method
        assert headers["Allow"] == "GET"
    status, headers, body = request(port, path="/metrics?x=1")
    assert status == 200 and b"memcached_up 1\n" in body
    assert headers["Content-Type"] == CONTENT_TYPE


def test_bind_failure_fails_startup():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        spec = "127.0.0.1:%d" % taken.getsockname()[1]
        code, _, err = run_binary(["-l", "127.0.0.1", "-p", str(free_port()),
                                   "-U", "0"] + user_args()
                                  + ["-o", "metrics_listen=" + spec])
    assert code != 0
    assert ("failed to listen on metrics address %s: Address already in use"
            % spec) in err, err


def test_abandoned_connections_do_not_exhaust_the_listener(start_server):
    """Connections closed every which way are all counted out: the
    endpoint keeps answering after many more than its connection cap."""
    srv, port = start(start_server)
    for _ in range(12):
        socket.create_connection(("127.0.0.1", port)).close()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /metr")
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"NONSENSE\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400")
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(10)
            # reset while the reply is still being written
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert "memcached_up 1" in scrape(port)


def test_connection_cap_pauses_and_resumes(start_server):
    """At 4 open connections the endpoint stops accepting; one closing
    lets the waiting scrape through."""
    srv, port = start(start_server)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
    try:
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
            s.settimeout(0.3)
            with pytest.raises(socket.timeout):
                s.recv(1)       # queued in the backlog, not served
            idle.pop().close()
            s.settimeout(TIMEOUT)
            assert s.makefile("rb").readline() == b"HTTP/1.0 200 OK\r\n"
    finally:
        for s in idle:
            s.close()


@pytest.mark.threaded
def test_serves_clients_during_scrapes(start_server):
    srv, port = start(start_server)
    errors = []
    done = threading.Event()
    scrapes = [0]

    def scraper():
        try:
            while not done.is_set():
                Exposition(scrape(port))
                scrapes[0] += 1
        except Exception as e:      # reported below
            errors.append(e)

    threads = [threading.Thread(target=scraper) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        with srv.connect() as c:
            for i in range(300):
                c.set("key%d" % i, b"x" * (i * 37 % 3000))
                assert c.get("key%d" % i) is not None
            while scrapes[0] < 20 and not errors:
                assert c.call("version").startswith("VERSION")
    finally:
        done.set()
        for t in threads:
            t.join(TIMEOUT * 2)
    assert not errors, errors
    exp = Exposition(scrape(port))
    assert exp.value("memcached_current_items") == 300
