"""Command line, startup validation, signals (memcached -h;
docs/COMPAT.md#command-line, docs/COMPAT.md#process-life)."""

import os
import signal
import socket
import subprocess

import pytest

import wire
from wire import run_binary, user_args

BASE = ["-l", "127.0.0.1", "-p", "0", "-U", "0"]

# (extra args, exit code, a line stderr must contain)
BAD_ARGS = [
    (["-t", "0"], 1, "Number of threads must be greater than 0"),
    (["-t", "-1"], 1, "Number of threads must be greater than 0"),
    (["-R", "0"], 1, "Number of requests per event must be greater than 0"),
    (["-c", "0"], 1, "Maximum connections must be greater than 0"),
    (["-c", "-5"], 1, "Maximum connections must be greater than 0"),
    (["-f", "1.0"], 1, "Factor must be greater than 1"),
    (["-f", "0.5"], 1, "Factor must be greater than 1"),
    (["-n", "0"], 1, "Chunk size must be greater than 0"),
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
    (["-o", "bogus"], 1, 'Illegal suboption "bogus"'),
    (["-Q"], 1, 'Illegal argument "?"'),
    (["--no-such-option"], 1, 'Illegal argument "?"'),
]


@pytest.mark.parametrize("args,rc,message", BAD_ARGS,
                         ids=[" ".join(a[0]) for a in BAD_ARGS])
def test_rejects_bad_option(args, rc, message):
    code, out, err = run_binary(BASE + user_args() + args)
    assert code == rc, (code, out, err)
    assert message in err.splitlines(), err


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
