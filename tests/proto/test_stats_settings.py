"""`stats settings` (protocol.txt, "Settings statistics";
docs/OPTIONS.md#stats-settings): every line of memcached 1.6.18's Debian
build, in its order and formats, for the command line the server was
started with, and the values commands change at run time.

The expected lines are what memcached prints for the same command line;
only tcpport (a free port) is filled in per server."""

import os
import subprocess

import pytest

import wire
from test_unix import sockdir, start_unix  # noqa: F401 (fixtures)
from wire import REF, UnixServer

REFERENCE = "/usr/bin/memcached"

# memcached's `stats settings` under conftest's default command line
# (-l 127.0.0.1 -p <port> -U 0); TCPPORT stands for the port.
TCPPORT = object()
DEFAULT = [
    ("maxbytes", "67108864"),
    ("maxconns", "1024"),
    ("tcpport", TCPPORT),
    ("udpport", "0"),
    ("inter", "127.0.0.1"),
    ("verbosity", "0"),
    ("oldest", "0"),
    ("evictions", "on"),
    ("domain_socket", "NULL"),
    ("umask", "700"),
    ("shutdown_command", "no"),
    ("growth_factor", "1.25"),
    ("chunk_size", "48"),
    ("num_threads", "4"),
    ("num_threads_per_udp", "4"),
    ("stat_key_prefix", ":"),
    ("detail_enabled", "no"),
    ("reqs_per_event", "20"),
    ("cas_enabled", "yes"),
    ("tcp_backlog", "1024"),
    ("binding_protocol", "auto-negotiate"),
    ("auth_enabled_sasl", "no"),
    ("auth_enabled_ascii", "no"),
    ("item_size_max", "1048576"),
    ("maxconns_fast", "yes"),
    ("hashpower_init", "0"),
    ("slab_reassign", "yes"),
    ("slab_automove", "1"),
    ("slab_automove_ratio", "0.80"),
    ("slab_automove_window", "30"),
    ("slab_chunk_max", "524288"),
    ("lru_crawler", "yes"),
    ("lru_crawler_sleep", "100"),
    ("lru_crawler_tocrawl", "0"),
    ("tail_repair_time", "0"),
    ("flush_enabled", "yes"),
    ("dump_enabled", "yes"),
    ("hash_algorithm", "murmur3"),
    ("lru_maintainer_thread", "yes"),
    ("lru_segmented", "yes"),
    ("hot_lru_pct", "20"),
    ("warm_lru_pct", "40"),
    ("hot_max_factor", "0.20"),
    ("warm_max_factor", "2.00"),
    ("temp_lru", "no"),
    ("temporary_ttl", "61"),
    ("idle_timeout", "0"),
    ("watcher_logbuf_size", "262144"),
    ("worker_logbuf_size", "65536"),
    ("read_buf_mem_limit", "0"),
    ("track_sizes", "no"),
    ("inline_ascii_response", "no"),
    ("ext_item_size", "512"),
    ("ext_item_age", "4294967295"),
    ("ext_low_ttl", "0"),
    ("ext_recache_rate", "2000"),
    ("ext_wbuf_size", "4194304"),
    ("ext_compact_under", "0"),
    ("ext_drop_under", "0"),
    ("ext_max_sleep", "1000000"),
    ("ext_max_frag", "0.80"),
    ("slab_automove_freeratio", "0.010"),
    ("ext_drop_unread", "no"),
    ("ssl_enabled", "no"),
    ("ssl_chain_cert", "(null)"),
    ("ssl_key", "(null)"),
    ("ssl_verify_mode", "0"),
    ("ssl_keyformat", "1"),
    ("ssl_ciphers", "NULL"),
    ("ssl_ca_cert", "NULL"),
    ("ssl_wbuf_size", "16384"),
    ("ssl_session_cache", "no"),
    ("ssl_kernel_tls", "no"),
    ("ssl_min_version", "tlsv1.2"),
    ("num_napi_ids", "(null)"),
    ("memory_file", "(null)"),
]

NO_MODERN = {
    "maxconns_fast": "no", "slab_reassign": "no", "slab_automove": "0",
    "slab_chunk_max": "1048576", "lru_crawler": "no",
    "hash_algorithm": "jenkins", "lru_maintainer_thread": "no",
    "lru_segmented": "no",
}

# (extra flags, the lines that differ from DEFAULT), as memcached prints
# them for the same flags.
CASES = [
    (["-m", "48", "-c", "500", "-t", "2", "-R", "7", "-C", "-M", "-I", "2m",
      "-f", "1.5", "-n", "64"],
     {"maxbytes": "50331648", "maxconns": "500", "evictions": "off",
      "growth_factor": "1.50", "chunk_size": "64", "num_threads": "2",
      "num_threads_per_udp": "2", "reqs_per_event": "7", "cas_enabled": "no",
      "item_size_max": "2097152"}),
    (["-b", "77", "-B", "ascii", "-A", "-F", "-X", "-W"],
     {"shutdown_command": "yes", "tcp_backlog": "77",
      "binding_protocol": "ascii", "flush_enabled": "no",
      "dump_enabled": "no"}),
    (["-B", "auto", "-f", "1.333", "-n", "100", "-m", "100000"],
     {"growth_factor": "1.33", "chunk_size": "100",
      "maxbytes": "104857600000"}),
    # -l lists join with commas; one already in the list is dropped
    (["-l", "127.0.0.1:0"],
     {"inter": "127.0.0.1,127.0.0.1:0", "num_threads_per_udp": "1"}),
    (["-l", "127.0.0.1"], {}),
    (["-a", "644"], {"umask": "644"}),
    (["-D", "#"], {"stat_key_prefix": "#", "detail_enabled": "yes"}),
    (["-D", "abc"], {"stat_key_prefix": "a", "detail_enabled": "yes"}),
    (["-v"], {"verbosity": "1"}),
    (["-I", "2m", "-o", "slab_chunk_max=1048576"],
     {"item_size_max": "2097152", "slab_chunk_max": "1048576"}),
    (["-o", "no_chunked_items"], {"slab_chunk_max": "1048576"}),
    (["-o", "track_sizes,idle_timeout=30,slab_automove=2,hashpower=20"],
     {"track_sizes": "yes", "idle_timeout": "30", "slab_automove": "2",
      "hashpower_init": "20"}),
    (["-o", "no_modern"], NO_MODERN),
    (["-o", "slab_chunk_max=16384,no_modern"],
     dict(NO_MODERN, slab_chunk_max="16384")),
    (["-o", "no_modern,lru_maintainer,slab_reassign,lru_crawler,"
      "maxconns_fast,hash_algorithm=xxh3"],
     {"slab_automove": "0", "slab_chunk_max": "1048576",
      "hash_algorithm": "xxh3"}),
    (["-o", "no_lru_maintainer"],
     {"lru_maintainer_thread": "no", "lru_segmented": "no"}),
    (["-o", "no_slab_reassign,no_lru_crawler,no_slab_automove,"
      "slab_automove=0,slab_automove,modern"],
     {"slab_reassign": "no", "lru_crawler": "no"}),
    (["-o", "lru_crawler_sleep=50,lru_crawler_tocrawl=4294967295,"
      "hot_lru_pct=10,warm_lru_pct=30,hot_max_factor=0.333,"
      "warm_max_factor=3.14159,temporary_ttl=100,tail_repair_time=30"],
     {"lru_crawler_sleep": "50", "lru_crawler_tocrawl": "4294967295",
      "hot_lru_pct": "10", "warm_lru_pct": "30", "hot_max_factor": "0.33",
      "warm_max_factor": "3.14", "temp_lru": "yes", "temporary_ttl": "100",
      "tail_repair_time": "30"}),
    (["-o", "temporary_ttl=-5,idle_timeout=-5"],
     {"temp_lru": "yes", "temporary_ttl": "4294967291",
      "idle_timeout": "-5"}),
    (["-o", "slab_automove_ratio=0.555,slab_automove_window=7,"
      "slab_automove_freeratio=0.0125"],
     {"slab_automove_ratio": "0.56", "slab_automove_window": "7",
      "slab_automove_freeratio": "0.013"}),
    # memcached 1.6.18's worker_logbuf_size also sets slab_sizes (memoria
    # does not): 128 is a value both take.
    (["-o", "watcher_logbuf_size=10,worker_logbuf_size=128,"
      "read_buf_mem_limit=3"],
     {"watcher_logbuf_size": "10240", "worker_logbuf_size": "131072",
      "read_buf_mem_limit": "3145728"}),
    # byte counts memcached computes in 32 bits
    (["-o", "read_buf_mem_limit=5000,ext_wbuf_size=5000"],
     {"read_buf_mem_limit": "947912704", "ext_wbuf_size": "947912704"}),
    (["-o", "ext_item_size=1024,ext_item_age=100,ext_low_ttl=5,"
      "ext_recache_rate=10,ext_wbuf_size=8,ext_compact_under=3,"
      "ext_drop_under=2,ext_max_sleep=5000,ext_max_frag=0.555,"
      "ext_drop_unread,ext_page_size=32,ext_threads=3,ext_io_depth=2"],
     {"ext_item_size": "1024", "ext_item_age": "100", "ext_low_ttl": "5",
      "ext_recache_rate": "10", "ext_wbuf_size": "8388608",
      "ext_compact_under": "3", "ext_drop_under": "2",
      "ext_max_sleep": "5000", "ext_max_frag": "0.56",
      "ext_drop_unread": "yes"}),
    # a value is cut at 126 characters
    (["-o", "hot_max_factor=1e-9,warm_max_factor=1e300"],
     {"hot_max_factor": "0.00",
      "warm_max_factor": "1000000000000000052504760255204420248704468581108"
                         "1591549158541155118024579889081957863713750804478"
                         "6404370444383288387817694252"}),
    # no_drop_privileges: the filter itself cannot run under ASan, and
    # test_sandbox.py checks it adds no line either
    (["-o", "no_hashexpand,sock_cookie_id=0,inline_ascii_resp,"
      "no_drop_privileges,slab_sizes=100-200-300"], {}),
]


def settings(conn):
    """`stats settings` as an ordered list of (name, value)."""
    conn.cmd("stats settings")
    lines = []
    while True:
        line = conn.readline().decode()
        if line == "END":
            return lines
        assert line.startswith("STAT ") and line.count(" ") >= 2, line
        name, value = line[5:].split(" ", 1)
        lines.append((name, value))


def expected(port, changes):
    out = []
    for name, value in DEFAULT:
        value = str(port) if value is TCPPORT else value
        out.append((name, changes.get(name, value)))
    return out


def assert_settings(got, want):
    assert [n for n, _ in got] == [n for n, _ in want], "names or order"
    diff = [(n, g, w) for (n, g), (_, w) in zip(got, want) if g != w]
    assert not diff, "(name, got, want): %r" % diff


def test_defaults(start_server):
    # a server of its own: a shared one may have seen flush_all (oldest)
    srv = start_server()
    with srv.connect() as c:
        assert_settings(settings(c), expected(srv.port, {}))


@pytest.mark.parametrize("flags,changes", CASES,
                         ids=[" ".join(f) for f, _ in CASES])
def test_command_line(start_server, flags, changes):
    for name in changes:
        assert name in dict(DEFAULT), name
    srv = start_server(*flags)
    with srv.connect() as c:
        assert_settings(settings(c), expected(srv.port, changes))


def test_without_listen_option_inter_is_null(start_server):
    srv = start_server(listen=False)
    with srv.connect() as c:
        assert_settings(settings(c), expected(srv.port, {"inter": "NULL"}))


def test_semicolons_keep_threads_per_udp(start_server):
    # only a comma makes memcached give each UDP socket one thread
    srv = start_server("-l", "127.0.0.1;127.0.0.1:0", listen=False)
    with srv.connect() as c:
        assert_settings(settings(c), expected(
            srv.port, {"inter": "127.0.0.1;127.0.0.1:0"}))


def test_unix_socket(start_unix, sockdir):
    path = os.path.join(sockdir, "settings.sock")
    srv = start_unix(path)
    with srv.connect() as c:
        got = settings(c)
    assert_settings(got, expected(srv.port, {"inter": "NULL",
                                             "domain_socket": path}))


def test_unix_socket_keeps_port_lines(start_unix, sockdir):
    # -s listens on the socket only, yet the port lines stay as given
    path = os.path.join(sockdir, "settings.sock")
    srv = start_unix(path, "-a", "600", "-U", "6666", "-l", "127.0.0.9")
    with srv.connect() as c:
        got = settings(c)
    assert_settings(got, expected(srv.port, {
        "udpport": "6666", "inter": "127.0.0.9", "domain_socket": path,
        "umask": "600"}))


def test_verbosity_command_shows(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.call("verbosity 1") == "OK"
        assert dict(settings(c))["verbosity"] == "1"
        # memcached caps the level at 2
        assert c.call("verbosity 5") == "OK"
        assert dict(settings(c))["verbosity"] == "2"
        assert c.call("verbosity 0") == "OK"
        assert dict(settings(c))["verbosity"] == "0"


def test_flush_all_moves_oldest(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert dict(settings(c))["oldest"] == "0"
        assert c.call("flush_all") == "OK"
        first = int(dict(settings(c))["oldest"])
        assert first > 0
        # a delayed flush marks a time in the future
        assert c.call("flush_all 100") == "OK"
        assert int(dict(settings(c))["oldest"]) >= first + 99


def test_stats_detail_switch_shows(start_server):
    srv = start_server()
    with srv.connect() as c:
        assert c.call("stats detail on") == "OK"
        assert dict(settings(c))["detail_enabled"] == "yes"
        assert c.call("stats detail off") == "OK"
        assert dict(settings(c))["detail_enabled"] == "no"


def test_sizes_switch_shows(start_server):
    srv = start_server()
    with srv.connect() as c:
        c.cmd("stats sizes_enable")
        c.expect_line("STAT sizes_status enabled")
        assert dict(settings(c))["track_sizes"] == "yes"
        c.cmd("stats sizes_disable")
        c.expect_line("STAT sizes_status disabled")
        assert dict(settings(c))["track_sizes"] == "no"


def test_delimiter_flag_starts_detail_that_can_stop(start_server):
    srv = start_server("-D", "#")
    with srv.connect() as c:
        assert c.call("stats detail off") == "OK"
        got = dict(settings(c))
    assert got["detail_enabled"] == "no"
    assert got["stat_key_prefix"] == "#"


@pytest.mark.memoria_only
def test_metrics_listen_has_no_settings_line(start_server):
    port = wire.free_port()
    srv = start_server("-o", "metrics_listen=127.0.0.1:%d" % port)
    with srv.connect() as c:
        assert_settings(settings(c), expected(srv.port, {}))


# Command lines compared line for line with the reference, when present.
DIFFERENTIAL = [flags for flags, _ in CASES] + [
    ["-o", "no_modern", "-D", ":", "-X", "-vv"],
    ["-t", "1", "-R", "1000000", "-b", "-7", "-a", "-5"],
    ["-o", "slab_automove_ratio=1e-7x,slab_automove_freeratio=-1.5,"
     "ext_max_frag=-3,temporary_ttl=abc"],
    ["-o", "watcher_logbuf_size=5000000"],
]


@pytest.mark.memoria_only
@pytest.mark.parametrize("flags", DIFFERENTIAL,
                         ids=[" ".join(f) for f in DIFFERENTIAL])
def test_same_as_reference(start_server, flags):
    if REF or not os.access(REFERENCE, os.X_OK):
        pytest.skip("no reference memcached to compare with")
    ours = start_server(*flags)
    saved = wire.BIN
    wire.BIN = REFERENCE
    try:
        ref = start_server(*flags)
    finally:
        wire.BIN = saved
    with ours.connect() as c:
        got = settings(c)
    with ref.connect() as c:
        want = settings(c)
    want = [(n, str(ours.port) if n == "tcpport" else v) for n, v in want]
    assert_settings(got, want)
