"""Command line, startup validation, -h, signals (docs/OPTIONS.md;
docs/COMPAT.md#command-line, docs/COMPAT.md#process-life)."""

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest

import wire
from wire import free_port, run_binary, user_args

REPO = Path(__file__).resolve().parents[2]
REFERENCE = "/usr/bin/memcached"

BASE = ["-l", "127.0.0.1", "-p", "0", "-U", "0"]

# Startup validation: (extra args, exit code, a line stderr must contain).
# Each fails before the server listens, against both servers.
BAD_ARGS = [
    (["-t", "0"], 1, "Number of threads must be greater than 0"),
    (["-t", "-1"], 1, "Number of threads must be greater than 0"),
    (["-t", "abc"], 1, "Number of threads must be greater than 0"),
    (["-R", "0"], 1, "Number of requests per event must be greater than 0"),
    (["-c", "0"], 1, "Maximum connections must be greater than 0"),
    (["-c", "-1"], 1, "Maximum connections must be greater than 0"),
    (["-c", "-5"], 1, "Maximum connections must be greater than 0"),
    (["-f", "1"], 1, "Factor must be greater than 1"),
    (["-f", "1.0"], 1, "Factor must be greater than 1"),
    (["-f", "0.5"], 1, "Factor must be greater than 1"),
    (["-n", "0"], 1, "Chunk size must be greater than 0"),
    (["-m", "0"], 64, "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "2m", "-m", "2"], 64,
     "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "512"], 64, "Item max size cannot be less than 1024 bytes."),
    # 2g overflows and is reported as too small
    (["-I", "2g"], 64, "Item max size cannot be less than 1024 bytes."),
    (["-I", "2000m", "-m", "8000"], 64,
     "Cannot set item size limit higher than a gigabyte."),
    (["-I", "40m", "-m", "64"], 64,
     "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "1000000"], 64,
     "-I (item_size_max: 1000000) must be evenly divisible by slab_chunk_max (bytes: 524288)"),
    (["-I", "1k"], 64,
     "slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024)"),
    (["-p", "70000"], 64, "ERROR: Invalid port number 70000."),
    (["-B", "bogus"], 64, "Invalid value for binding protocol: bogus"),
    (["-B", "http"], 64, "Invalid value for binding protocol: http"),
    (["-o", "bogus"], 1, 'Illegal suboption "bogus"'),
    (["-o", "nosuch"], 1, 'Illegal suboption "nosuch"'),
    (["-o", "modern,nosuch=3"], 1, 'Illegal suboption "nosuch=3"'),
    (["-o", ","], 1, 'Illegal suboption ""'),
    # not in the reference build (no proxy, not a debug build)
    (["-o", "proxy_config=/x"], 1, 'Illegal suboption "proxy_config=/x"'),
    (["-o", "proxy_uring"], 1, 'Illegal suboption "proxy_uring"'),
    (["-o", "relaxed_privileges"], 1, 'Illegal suboption "relaxed_privileges"'),
    (["-o", "hashpower"], 1, "Missing numeric argument for hashpower"),
    (["-o", "hashpower=11"], 1, "Initial hashtable multiplier of 11 is too low"),
    (["-o", "hashpower=33"], 1, "Initial hashtable multiplier of 33 is too high"),
    (["-o", "hashpower=12"], 1,
     "Hash table power size (12) cannot be equal to or less than item lock table (12)"),
    (["-o", "idle_timeout"], 1, "Missing numeric argument for idle_timeout"),
    (["-o", "read_buf_mem_limit"], 1, "Missing read_buf_mem_limit argument"),
    (["-o", "watcher_logbuf_size=abc"], 1,
     "could not parse argument to watcher_logbuf_size"),
    (["-o", "slab_chunk_max=1000"], 64,
     "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 1000)"),
    (["-o", "slab_sizes=100-100"], 64,
     "slab size 100 cannot be lower than or equal to a previous class size"),
    (["-o", "slab_sizes=47"], 64, "slab size 47 is out of valid range"),
    # compat options keep memcached's checks
    (["-o", "hash_algorithm=foo"], 1,
     "Unknown hash_algorithm option (jenkins, murmur3, xxh3)"),
    (["-o", "slab_automove=3"], 1, "slab_automove must be between 0 and 2"),
    (["-o", "tail_repair_time=5"], 1,
     "Cannot set tail_repair_time to less than 10 seconds"),
    (["-o", "hot_lru_pct=0"], 1, "hot_lru_pct must be > 1 and < 80"),
    (["-o", "hot_lru_pct=40,warm_lru_pct=41"], 64,
     "hot_lru_pct + warm_lru_pct cannot be more than 80% combined"),
    (["-o", "no_lru_maintainer,temporary_ttl=10"], 64,
     "temporary_ttl requires lru_maintainer to be enabled"),
    (["-o", "no_modern,temporary_ttl=10"], 64,
     "temporary_ttl requires lru_maintainer to be enabled"),
    (["-o", "lru_crawler_sleep=2000000"], 1,
     "LRU crawler sleep must be between 0 and 1 second"),
    (["-o", "lru_crawler_tocrawl=abc"], 1,
     "lru_crawler_tocrawl takes a numeric 32bit value"),
    (["-o", "ext_page_size=abc"], 1, "could not parse argument to ext_page_size"),
    (["-o", "ext_max_frag"], 1, "Missing ext_max_frag argument"),
    # refused options keep memcached's checks of their values too
    (["-o", "ssl_verify_mode=4"], 1,
     "Invalid ssl_verify_mode. Use help to see valid options."),
    (["-o", "ssl_min_version=abc"], 1, "could not parse argument to ssl_min_version"),
    (["-o", "ssl_key"], 1, "Missing ssl_key argument"),
    (["-o", "ext_path"], 1, "missing argument to ext_path, ie: ext_path=/d/file:5G"),
    (["-N", "0"], 1, "Maximum number of NAPI IDs must be greater than 0"),
    (["-N", "8"], 64, "Number of napi_ids(8) cannot be greater than number of threads(4)"),
    (["-S", "-B", "ascii"], 64,
     "ERROR: You cannot allow the ASCII protocol while using SASL."),
    (["-Y", "/nonexistent", "-B", "binary"], 64,
     "ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens."),
    (["-Z"], 64, "ERROR: You cannot enable SSL without a TCP port."),
    (["-Q"], 1, 'Illegal argument "?"'),
    (["-t"], 1, 'Illegal argument "?"'),
    (["--no-such-option"], 1, 'Illegal argument "?"'),
]


@pytest.mark.parametrize("args,rc,message", BAD_ARGS,
                         ids=[" ".join(a[0]) for a in BAD_ARGS])
def test_rejects_bad_option(args, rc, message):
    code, out, err = run_binary(BASE + user_args() + args)
    assert code == rc, (code, out, err)
    assert message in err.splitlines(), err


# A bad -l fails when the server tries to listen: (element, first line).
BAD_LISTEN = [
    ("notls:127.0.0.1", "'notls' option is valid only when SSL is enabled"),
    ("127.0.0.1:abc", 'Invalid port number: "abc"'),
    ("proto[ascii", 'Invalid protocol spec: "[ascii"'),
    ("tag[123456789]:127.0.0.1",
     'Listener tags must be between 1 and 8 characters: "123456789"'),
    # RFC 6761: .invalid never resolves
    ("fooble.invalid", "getaddrinfo(): Name or service not known"),
]


@pytest.mark.parametrize("spec,first", BAD_LISTEN, ids=[s for s, _ in BAD_LISTEN])
def test_rejects_bad_listen(spec, first):
    code, out, err = run_binary(["-l", spec, "-p", str(free_port()), "-U", "0"]
                                + user_args())
    assert code == 71, (code, out, err)
    assert err.splitlines() == [
        first, "failed to listen on one of interface(s) %s: Success" % spec], err


def test_many_threads_only_warn(start_server):
    srv = start_server("-t", "65")
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    assert srv.stderr().splitlines()[:2] == [
        "WARNING: Setting a high number of workerthreads is not recommended.",
        " Set this value to the number of cores in your machine or less."], srv.stderr()


# Options memoria accepts for compatibility (docs/OPTIONS.md), with values
# memcached accepts: both servers start with all of them.
COMPAT_ARGS = [
    "-o", "tail_repair_time=30,hash_algorithm=jenkins,no_lru_crawler,lru_crawler,"
    "lru_crawler_sleep=100,lru_crawler_tocrawl=0,no_lru_maintainer,lru_maintainer,"
    "hot_lru_pct=20,warm_lru_pct=40,hot_max_factor=0.2,warm_max_factor=2.0,"
    "temporary_ttl=61,modern,inline_ascii_resp,no_inline_ascii_resp,"
    "drop_privileges,no_drop_privileges,no_slab_reassign,slab_reassign,"
    "no_slab_automove,slab_automove=1,slab_automove_ratio=0.8,"
    "slab_automove_window=30,slab_automove_freeratio=0.01",
    "-o", "ext_page_size=64,ext_wbuf_size=4,ext_threads=1,ext_io_depth=1,"
    "ext_item_size=512,ext_item_age=3600,ext_low_ttl=0,ext_drop_unread,"
    "ext_recache_rate=2000,ext_compact_under=4,ext_drop_under=4,ext_max_frag=0.8,"
    "ext_max_sleep=1000000",
]


def test_compat_options_are_accepted(start_server):
    srv = start_server(*COMPAT_ARGS)
    with srv.connect() as c:
        assert c.set("compat_k", "v") == "STORED"
        assert c.call("version").startswith("VERSION ")
    assert srv.stderr() == "", srv.stderr()


# Values memcached takes without a word (atoi/strtol turn garbage into 0).
SILENT_ARGS = [
    ["-U", "abc"],
    ["-a", "9"],
    ["-a", "abc"],
    ["-b", "0"],
    ["-o", "idle_timeout=abc,sock_cookie_id=x"],
    ["-o", "maxconns_fast=7,no_hashexpand=x"],
]


@pytest.mark.parametrize("args", SILENT_ARGS, ids=[" ".join(a) for a in SILENT_ARGS])
def test_values_memcached_takes_silently(start_server, args):
    srv = start_server(*args)
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    assert srv.stderr() == "", srv.stderr()


def test_resp_obj_mem_limit_is_deprecated(start_server):
    srv = start_server("-o", "resp_obj_mem_limit")
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    assert srv.stderr().splitlines() == [
        "DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,"]


# What memoria refuses: (args, the option named in the message).
REFUSED_ARGS = [
    (["-e", "/nonexistent/memoria.mem"], "-e (memory file)"),
    (["-o", "ext_path=/nonexistent/x:1G"], "-o ext_path (extstore)"),
    (["-N", "1"], "-N (NAPI ids)"),
]


@pytest.mark.memoria_only
@pytest.mark.parametrize("args,what", REFUSED_ARGS, ids=[w for _, w in REFUSED_ARGS])
def test_refused_option_says_so(args, what):
    code, out, err = run_binary(BASE + user_args() + args)
    assert code == 64, (code, out, err)
    assert err == "memoria: %s is not supported yet\n" % what, err


@pytest.mark.memoria_only
def test_refused_listener_protocol_says_so():
    code, out, err = run_binary(["-l", "proto[proxy]:127.0.0.1", "-p",
                                 str(free_port()), "-U", "0"] + user_args())
    assert code == 64, (code, out, err)
    assert err == "memoria: -l proto[proxy] is not supported yet\n", err


def test_binding_protocol_message_has_hint_line():
    code, out, err = run_binary(BASE + user_args() + ["-B", "bogus"])
    assert code == 64
    assert err.splitlines()[:2] == [
        "Invalid value for binding protocol: bogus",
        " -- should be one of auto, binary, or ascii"], err


def test_unknown_user():
    if os.geteuid() != 0:
        pytest.skip("-u is only checked when started as root")
    code, out, err = run_binary(BASE + ["-u", "no-such-user-memtest"])
    assert code == 67, (code, err)
    assert "can't find the user no-such-user-memtest to switch to" in err.splitlines()


def test_version_flag():
    code, out, err = run_binary(["-V"])
    assert code == 0, err
    assert out.splitlines()[0] == "memcached 1.6.18", out


@pytest.mark.memoria_only
def test_version_flag_names_memoria():
    code, out, err = run_binary(["-V"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "memcached 1.6.18", out
    assert len(lines) >= 2 and "memoria" in lines[1], out


def test_help_exits_zero():
    code, out, err = run_binary(["-h"])
    assert code == 0, err
    assert out.splitlines()[0] == "memcached 1.6.18", out
    assert "-p, --port=<num>" in out
    for word in ("--unix-socket", "--udp-port", "--listen", "--disable-watch",
                 "idle_timeout", "read_buf_mem_limit", "maxconns_fast"):
        assert word in out, word


def _options_md():
    """docs/OPTIONS.md rows: [(option, disposition)]."""
    rows = []
    for line in (REPO / "docs" / "OPTIONS.md").read_text().splitlines():
        m = re.match(r"\| `(-[^`]+)`(?:, `--[^`]+`)? \| (applied|refused|compat) \|", line)
        if m:
            rows.append((m.group(1), m.group(2)))
    return rows


@pytest.mark.memoria_only
def test_help_lists_no_refused_option():
    code, out, err = run_binary(["-h"])
    assert code == 0, err
    for word in ("ext_path", "proxy_config",
                 "memory-file", "napi"):
        assert word not in out, word
    for option, disposition in _options_md():
        if disposition != "refused":
            continue
        if option.startswith("-o "):
            assert "- %s:" % option[3:] not in out, option
        else:
            assert not any(line.startswith(option) for line in out.splitlines()), option


@pytest.mark.memoria_only
def test_help_lists_only_documented_options():
    code, out, err = run_binary(["-h"])
    assert code == 0, err
    documented = dict(_options_md())
    assert len(documented) > 90
    for line in out.splitlines():
        m = re.match(r"   - (\w+):", line)
        if m:
            assert documented.get("-o " + m.group(1)) in ("applied", "compat"), line
        m = re.match(r"(-\w)[, ] ", line)
        if m:
            assert documented.get(m.group(1)) in ("applied", "compat"), line


# -h lines where memoria differs from memcached on purpose (docs/OPTIONS.md).
HELP_OWN_LINES = {
    "-l, --listen=<addr>       interface to listen on (default: 127.0.0.1)",
    "-i, --license             print memoria and libevent license",
    "-B, --protocol=<name>     protocol - one of ascii or auto (default: auto-negotiate)",
    "   - External storage (ext_*) related options (accepted, without effect)",
    "   - TLS (ssl_*) options, used with -Z",
    # memcached prints these only when built with seccomp; Debian's is not
    "   - drop_privileges:     enable dropping extra syscall privileges",
    "   - no_drop_privileges:  disable drop_privileges in case it causes issues with",
    "                          some customisation.",
    "                          (default is no_drop_privileges)",
}


@pytest.mark.memoria_only
def test_help_is_memcached_text_in_memcached_order():
    if not os.access(REFERENCE, os.X_OK):
        pytest.skip("no reference memcached to compare with")
    ref = subprocess.run([REFERENCE, "-h"], capture_output=True, text=True,
                         timeout=10).stdout.splitlines()
    code, out, err = run_binary(["-h"])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == ref[0] == "memcached 1.6.18"
    assert lines[1].startswith("memoria ")
    at = 1
    for line in lines[2:]:
        if line in HELP_OWN_LINES:
            continue
        assert line in ref[at:], "not memcached's, or out of order: %r" % line
        at = ref.index(line, at) + 1


def test_root_needs_user_switch():
    if os.geteuid() != 0:
        pytest.skip("only meaningful when running as root")
    code, out, err = run_binary(BASE)
    assert code == 64, (code, out, err)
    assert "can't run as root without the -u switch" in err.splitlines(), err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT],
                         ids=["SIGTERM", "SIGINT"])
def test_signal_exits_zero(start_server, sig):
    srv = start_server()
    with srv.connect() as c:
        assert c.set("sig_a", "x") == "STORED"
        srv.proc.send_signal(sig)
        srv.term_sent = True
        # a generous bound, not a timing assertion
        rc = srv.proc.wait(wire.STOP_TIMEOUT)
        assert rc == 0, srv.stderr()
        c.expect_closed()
    srv.exit_expected = True


def test_shutdown_command(start_server):
    srv = start_server("-A")
    with srv.connect() as c:
        c.cmd("shutdown")
        c.expect_closed()
    rc = srv.proc.wait(wire.STOP_TIMEOUT)
    srv.exit_expected = True
    assert rc == 0, srv.stderr()


def test_shutdown_graceful_command(start_server):
    srv = start_server("-A")
    with srv.connect() as c:
        c.cmd("shutdown graceful")
        c.expect_closed()
    rc = srv.proc.wait(wire.STOP_TIMEOUT)
    srv.exit_expected = True
    assert rc == 0, srv.stderr()


def test_address_in_use(start_server):
    srv = start_server()
    code, out, err = run_binary(["-l", "127.0.0.1", "-p", str(srv.port), "-U", "0"]
                                + user_args())
    assert code == 71, (code, out, err)
    assert ("failed to listen on one of interface(s) 127.0.0.1: Address already in use"
            in err.splitlines()), err


def _local_addresses():
    """Non-loopback addresses of this machine: [(family, address)]."""
    addrs = set()
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True,
                             timeout=5).stdout
        addrs.update(out.split())
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))   # no packet is sent
            addrs.add(s.getsockname()[0])
    except OSError:
        pass
    out = []
    for a in sorted(addrs):
        if ":" in a:
            if a != "::1" and not a.lower().startswith("fe80"):
                out.append((socket.AF_INET6, a))
        elif not a.startswith("127.") and a != "0.0.0.0":
            out.append((socket.AF_INET, a))
    return out


@pytest.mark.memoria_only
def test_default_listen_address_is_loopback(start_server):
    srv = start_server(listen=False)
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    others = _local_addresses()
    if not others:
        pytest.skip("no non-loopback address to check")
    for family, addr in others:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            with pytest.raises(OSError):
                s.connect((addr, srv.port))
