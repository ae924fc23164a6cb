"""The LRU crawler and key dumps (protocol.txt: LRU_Crawler): crawls that
reclaim expired items and their counters, the crawler's switches in
`stats settings`, metadump and mgdump lines, and a dump of 1M keys that
stays bounded in memory while the worker's other clients are served."""

import re
import socket
import threading
import time

import pytest

import wire


def dump_lines(c, cmd="lru_crawler metadump all"):
    text = c.dump_when_idle(cmd, 30).decode()
    assert text.endswith("END\r\n"), text
    body = text[:-len("END\r\n")]
    assert body == "" or body.endswith("\n"), text
    return sorted(body.split("\n")[:-1])


def poll_stats(srv, pred, timeout=20.0, sub=""):
    """Stats once pred(stats) holds; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        st = srv.stats(sub)
        if pred(st):
            return st
        assert time.monotonic() < deadline, st
        time.sleep(0.1)


def crawl_until(srv, pred, timeout=20.0):
    """Asks for crawls until pred(stats) holds (items expire within 2 s)."""
    def crawled(st):
        if pred(st):
            return True
        with srv.connect() as k:
            r = k.call("lru_crawler crawl all")
            assert r in ("OK", "BUSY currently processing crawler request"), r
        return False
    return poll_stats(srv, crawled, timeout)


# -- metadump lines ----------------------------------------------------------

def test_metadump(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.set(b"md_\x01a", "abc", flags=5, exptime=1000) == "STORED"
        assert c.set(b"md_b", "xy") == "STORED"
        assert c.set(b"md_dead", "d", exptime=-1) == "STORED"
        assert c.get(b"md_b") == b"xy"
        items = dump_lines(c)
        assert len(items) == 2, items
        now = time.time()
        m = re.fullmatch(r"key=md_%01a exp=(\d+) la=(\d+) cas=(\d+) fetch=no cls=1 size=71",
                         items[0])
        assert m, items[0]
        assert abs(int(m.group(1)) - (now + 1000)) < 10
        assert abs(int(m.group(2)) - now) < 10
        assert re.fullmatch(r"key=md_b exp=-1 la=\d+ cas=\d+ fetch=yes cls=1 size=65",
                            items[1]), items[1]
        # the hash walk sees the same items
        assert dump_lines(c, "lru_crawler metadump hash") == items


def test_metadump_binary_key_and_classes(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.send(b"ms YmluAAE= 2 b\r\nhi\r\n")          # key b"bin\x00\x01"
        assert c.readline() == b"HD"
        assert c.set("md_big", "v" * 500) == "STORED"
        items = dump_lines(c)
        assert len(items) == 2, items
        assert re.fullmatch(r"key=bin%00%01 exp=-1 la=\d+ cas=\d+ fetch=no cls=1 size=66",
                            items[0]), items
        big = re.fullmatch(r"key=md_big exp=-1 la=\d+ cas=\d+ fetch=no cls=(\d+) size=(\d+)",
                           items[1])
        assert big, items
        cls = int(big.group(1))
        assert cls > 1
        # a class list dumps only those classes
        assert dump_lines(c, "lru_crawler metadump 1") == items[:1]
        assert dump_lines(c, "lru_crawler metadump %d" % cls) == items[1:]
        assert dump_lines(c, "lru_crawler metadump 1,%d" % cls) == items
        # a class id of the table that holds nothing: an empty dump
        assert dump_lines(c, "lru_crawler metadump 63") == []


def test_metadump_encodes_every_reserved_byte(start_server):
    srv = start_server()
    with srv.connect() as c:
        key = "a-._~b%c/d+e:f"
        assert c.set(key, "1") == "STORED"
        items = dump_lines(c)
        assert items[0].startswith("key=a-._~b%25c%2Fd%2Be%3Af "), items


@pytest.mark.memoria_only
def test_mgdump(start_server):
    """memcached 1.6.19's meta-form dump: one `mg <key>` per item, base64
    with ` b` for binary keys, then EN."""
    srv = start_server()
    with srv.connect() as c:
        c.send(b"ms YmluAAE= 2 b\r\nhi\r\n")
        assert c.readline() == b"HD"
        assert c.set("mg_plain", "1") == "STORED"
        for form in ("all", "hash", "1"):
            c.cmd("lru_crawler mgdump " + form)
            text = c.read_until(b"EN\r\n", 30)
            lines = sorted(text[:-len(b"EN\r\n")].split(b"\r\n")[:-1])
            assert lines == [b"mg YmluAAE= b", b"mg mg_plain"], text


def test_requests_after_a_dump_are_answered_after_it(start_server):
    # no maintainer: no crawl of memcached's own can answer the dump BUSY
    srv = start_server("-o", "no_lru_maintainer")
    with srv.connect() as c:
        assert c.set("pa_k", "1") == "STORED"
        c.send(b"lru_crawler metadump all\r\nversion\r\n")
        assert c.read_until(b"END\r\n", 30).startswith(b"key=pa_k ")
        # memcached answers the pipelined request once more input comes
        c.send(b"version\r\n")
        assert c.readline().startswith(b"VERSION ")
        assert c.readline().startswith(b"VERSION ")


# -- the crawler ---------------------------------------------------------------

def test_crawl_reclaims_expired_items(start_server):
    # memcached's LRU maintainer would reclaim them first (as `reclaimed`)
    srv = start_server("-o", "no_lru_maintainer")
    with srv.connect() as c:
        for i in range(50):
            assert c.set("cr_dead_%d" % i, "x", exptime=2) == "STORED"
        for i in range(20):
            assert c.set("cr_live_%d" % i, "x") == "STORED"
        assert c.get("cr_dead_0") == b"x"  # fetched: not expired_unfetched
        before = c.stats()
        assert before["lru_crawler_running"] in ("0", "1")

        st = crawl_until(srv, lambda st: int(st["crawler_reclaimed"]) >= 50)
        assert st["crawler_reclaimed"] == "50"
        assert st["curr_items"] == "20"
        # memcached counts the crawler's reclaims apart from `reclaimed`
        assert st["reclaimed"] == "0"
        assert st["expired_unfetched"] == "49"
        assert int(st["crawler_items_checked"]) >= 70
        assert int(st["lru_crawler_starts"]) > int(before["lru_crawler_starts"])
        items = srv.stats("items")
        assert items["items:1:crawler_reclaimed"] == "50"
        assert items["items:1:expired_unfetched"] == "49"
        assert int(items["items:1:crawler_items_checked"]) >= 70
        # the live ones are all there
        assert len(dump_lines(c)) == 20
        assert c.call("stats reset") == "RESET"
        st = c.stats()
        assert (st["crawler_reclaimed"], st["crawler_items_checked"],
                st["lru_crawler_starts"], st["expired_unfetched"]) == ("0",) * 4
        items = c.stats("items")
        assert items["items:1:crawler_reclaimed"] == "0"
        assert items["items:1:crawler_items_checked"] == "0"


def test_crawler_switches_show_in_stats_settings(start_server):
    srv = start_server()
    with srv.connect() as c:
        st = c.stats("settings")
        assert (st["lru_crawler"], st["lru_crawler_sleep"],
                st["lru_crawler_tocrawl"]) == ("yes", "100", "0")
        assert c.call("lru_crawler sleep 7") == "OK"
        assert c.call("lru_crawler tocrawl 4294967297") == "OK"  # cut to 32 bits
        assert c.call("lru_crawler disable") == "OK"
        # memcached's crawler clears the switch when it stops, after any
        # crawl of its own is over
        st = poll_stats(srv, lambda st: st["lru_crawler"] == "no", sub="settings")
        assert (st["lru_crawler"], st["lru_crawler_sleep"],
                st["lru_crawler_tocrawl"]) == ("no", "7", "1")
        # memcached prints the crawler's stats only while it runs
        st = c.stats()
        assert "lru_crawler_running" not in st and "lru_crawler_starts" not in st
        assert c.call("lru_crawler enable") == "OK"
        st = c.stats()
        assert "lru_crawler_running" in st and "lru_crawler_starts" in st
        assert c.stats("settings")["lru_crawler"] == "yes"


@pytest.mark.parametrize("flags,want", [
    (("-o", "no_lru_crawler"), ("no", "100", "0")),
    (("-o", "lru_crawler_sleep=5,lru_crawler_tocrawl=9"), ("yes", "5", "9")),
    (("-o", "no_modern"), ("no", "100", "0")),
])
def test_crawler_options(start_server, flags, want):
    srv = start_server(*flags)
    st = srv.stats("settings")
    assert (st["lru_crawler"], st["lru_crawler_sleep"],
            st["lru_crawler_tocrawl"]) == want
    general = srv.stats()
    assert ("lru_crawler_starts" in general) == (want[0] == "yes")


def test_enabled_later_crawls(start_server):
    srv = start_server("-o", "no_lru_crawler")
    with srv.connect() as c:
        assert c.call("lru_crawler crawl all") == "CLIENT_ERROR lru crawler disabled"
        assert c.call("lru_crawler enable") == "OK"
        assert c.set("el_k", "1") == "STORED"
        assert [l.split(" ")[0] for l in dump_lines(c)] == ["key=el_k"]


# -- a large dump: bounded memory, the worker's other clients served -------

def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def proc_wchar(pid):
    """Bytes the process has written (to sockets included)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    raise AssertionError("no wchar")


def load_keys(srv, n, prefix):
    """Stores n keys of 1-byte values, pipelined with noreply."""
    with srv.connect() as c:
        batch = 5000
        for start in range(0, n, batch):
            c.send(b"".join(b"set %s%d 0 0 1 noreply\r\nx\r\n" % (prefix, i)
                            for i in range(start, min(n, start + batch))))
        assert c.call("version").startswith("VERSION ")
        assert int(c.stats()["curr_items"]) == n


def test_million_key_dump_is_streamed(start_server):
    # Not a threaded test: one worker, and a million stores are too slow
    # under TSan; the dump's threading is covered by the tests below.
    n = 1_000_000
    # hashpower 20: no table growth while loading
    srv = start_server("-t", "1", "-m", "512", "-o", "hashpower=20")
    load_keys(srv, n, b"mk_")
    pid = srv.proc.pid
    rss_before = vm_rss_kb(pid)

    dumper = socket.create_connection(("127.0.0.1", srv.port))
    dumper.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    dumper.sendall(b"lru_crawler metadump all\r\n")
    # the dumping client reads nothing: the server must stop at its
    # output high-water mark, not buffer the whole dump (~70 MB of lines).
    # (No `stats` here: memcached's crawler holds its locks while it waits
    # for the client, and `stats` would wait with it.)
    with srv.connect() as other:
        last = -1
        while True:
            # another client of the same (single) worker keeps being answered
            assert other.call("version").startswith("VERSION ")
            written = proc_wchar(pid)
            if written == last:
                break  # the dump waits for its client
            last = written
            time.sleep(0.2)
        grown_kb = vm_rss_kb(pid) - rss_before
        assert grown_kb < 16 * 1024, "RSS grew by %d KiB during a stalled dump" % grown_kb

    # now read it all: every key, once, then END
    buf = bytearray()
    dumper.settimeout(60)
    while not buf.endswith(b"END\r\n"):
        chunk = dumper.recv(1 << 20)
        assert chunk, "closed before END"
        buf += chunk
    dumper.close()
    lines = bytes(buf[:-len(b"END\r\n")]).split(b"\n")[:-1]
    keys = {l.split(b" ", 1)[0] for l in lines}
    assert len(keys) == len(lines)  # none twice
    if wire.REF:
        # memcached's crawler skips the items it finds busy (a few dozen)
        assert len(lines) > n * 0.999
    else:
        assert len(lines) == n


@pytest.mark.threaded
def test_client_leaving_mid_dump(start_server):
    srv = start_server("-t", "1")
    load_keys(srv, 50_000, b"lv_")
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", srv.port))
        s.sendall(b"lru_crawler metadump all\r\n")
        s.recv(1000)
        s.close()
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")


@pytest.mark.threaded
def test_crawls_and_dumps_with_concurrent_writers(start_server):
    srv = start_server("-t", "4", "-m", "8")
    stop = threading.Event()
    errors = []

    def writer(w):
        try:
            with srv.connect() as c:
                i = 0
                while not stop.is_set():
                    c.send(b"set cw_%d_%d 0 %d 10 noreply\r\n0123456789\r\n"
                           % (w, i % 3000, 1 + i % 2))
                    if i % 50 == 0:
                        c.send(b"get cw_%d_%d\r\n" % (w, (i * 7) % 3000))
                        while c.readline() != b"END":
                            pass
                    i += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    try:
        with srv.connect() as c:
            for _ in range(15):
                r = c.call("lru_crawler crawl all")
                assert r in ("OK", "BUSY currently processing crawler request"), r
                for form in ("all", "hash"):
                    c.cmd("lru_crawler metadump " + form)
                    c.dump_or_busy()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    crawl_until(srv, lambda st: int(st["crawler_reclaimed"]) > 0)
