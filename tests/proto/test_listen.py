"""Listeners: -l forms, -p 0, -B, proto[...] prefixes, -b,
-o sock_cookie_id and MEMCACHED_PORT_FILENAME (memcached's -h and its
behaviour; the port file is what memcached's own test suite reads)."""

import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

import wire


class PortFileServer(wire.Server):
    """A server started with MEMCACHED_PORT_FILENAME; ready once the file
    is there (it is written after every listener is bound)."""

    def __init__(self, path, flags):
        super().__init__(flags, listen=False)
        self.port_file = path

    def _wait_accepting(self):
        deadline = time.monotonic() + wire.START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if os.path.exists(self.port_file):
                return True
            time.sleep(0.02)
        return False

    def lines(self):
        with open(self.port_file) as f:
            return f.read().splitlines()


@pytest.fixture
def tmpdir_path():
    with tempfile.TemporaryDirectory(prefix="memtest-listen-") as d:
        yield d


@pytest.fixture
def start_pf(_used, monkeypatch, tmpdir_path):
    """start_pf(*flags): a private server writing a port file; wire.Server
    passes -p <free port> first, so a later -p in flags wins."""
    def start(*flags):
        path = os.path.join(tmpdir_path, "ports")
        monkeypatch.setenv("MEMCACHED_PORT_FILENAME", path)
        srv = PortFileServer(path, list(flags))
        _used.private.append(srv)
        try:
            return srv.start()
        finally:
            monkeypatch.delenv("MEMCACHED_PORT_FILENAME")
    return start


def talk(host, port, data=b"version\r\n", family=socket.AF_INET):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(wire.IO_TIMEOUT)
        s.connect((host, port))
        s.sendall(data)
        out = b""
        while not out.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        return out


def wait_listening(port, host="127.0.0.1"):
    """Polls (bounded) until host:port accepts. start_server() returns once
    the server's first listener accepts; the others may follow a moment
    later (start_pf() waits for the port file, written after all)."""
    deadline = time.monotonic() + wire.START_TIMEOUT
    while True:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "nothing listens on %d" % port
            time.sleep(0.02)


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_port_file_lists_each_listener_in_order(start_pf):
    p2, p3 = wire.free_port(), wire.free_port()
    srv = start_pf("-l", "127.0.0.1", "-l", "127.0.0.2:%d,127.0.0.1:%d" % (p2, p3))
    assert srv.lines() == ["TCP INET: %d" % srv.port, "TCP INET: %d" % p2,
                           "TCP INET: %d" % p3]
    assert not os.path.exists(srv.port_file + ".lck")
    for host, port in (("127.0.0.1", srv.port), ("127.0.0.2", p2),
                       ("127.0.0.1", p3)):
        assert talk(host, port).startswith(b"VERSION ")


def test_port_file_lists_udp_after_tcp(start_pf):
    pu = wire.free_port()
    srv = start_pf("-l", "127.0.0.1", "-U", str(pu))
    assert srv.lines() == ["TCP INET: %d" % srv.port, "UDP INET: %d" % pu]


def test_port_zero_listener_binds_free_tcp_and_udp_ports(start_pf):
    srv = start_pf("-l", "127.0.0.1:0", "-U", str(wire.free_port()))
    lines = srv.lines()
    assert [l.split(": ")[0] for l in lines] == ["TCP INET", "UDP INET"]
    assert all(int(l.split(": ")[1]) != 0 for l in lines)


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback")
def test_bracketed_ipv6_listener(start_pf):
    p6 = wire.free_port()
    srv = start_pf("-l", "127.0.0.1,[::1]:%d" % p6)
    assert srv.lines() == ["TCP INET: %d" % srv.port, "TCP INET6: %d" % p6]
    assert talk("::1", p6, family=socket.AF_INET6).startswith(b"VERSION ")


def test_port_zero_in_listener_binds_a_free_port(start_pf):
    srv = start_pf("-l", "127.0.0.1,127.0.0.1:0")
    lines = srv.lines()
    assert lines[0] == "TCP INET: %d" % srv.port
    assert len(lines) == 2 and lines[1].startswith("TCP INET: ")
    port = int(lines[1].split(": ")[1])
    assert port not in (0, srv.port)
    assert talk("127.0.0.1", port).startswith(b"VERSION ")


def test_p_zero_turns_tcp_off_even_for_listener_ports(start_pf):
    p2 = wire.free_port()
    srv = start_pf("-l", "127.0.0.1:%d" % p2, "-p", "0")
    assert srv.lines() == []
    for port in (p2, srv.port):
        with pytest.raises(OSError):
            talk("127.0.0.1", port)


def test_star_listens_on_every_address(start_pf):
    srv = start_pf("-l", "*")
    assert "TCP INET: %d" % srv.port in srv.lines()
    assert talk("127.0.0.1", srv.port).startswith(b"VERSION ")


def test_port_file_that_cannot_be_opened_is_reported(start_server,
                                                     monkeypatch):
    bad = "/nonexistent-memtest-dir/ports"
    monkeypatch.setenv("MEMCACHED_PORT_FILENAME", bad)
    srv = start_server()
    monkeypatch.delenv("MEMCACHED_PORT_FILENAME")
    assert talk("127.0.0.1", srv.port).startswith(b"VERSION ")
    assert ('Failed to open "%s.lck": No such file or directory' % bad
            in srv.stderr().splitlines())


def test_proto_ascii_listener_reads_0x80_as_text(start_server):
    p2 = wire.free_port()
    srv = start_server("-l", "proto[ascii]:127.0.0.1:%d" % p2)
    wait_listening(p2)
    assert talk("127.0.0.1", p2, b"\x80get x\r\n") == b"ERROR\r\n"
    assert talk("127.0.0.1", p2, b"version\r\n").startswith(b"VERSION ")


def test_B_ascii_reads_0x80_as_text(start_server):
    srv = start_server("-B", "ascii")
    assert talk("127.0.0.1", srv.port, b"\x80get x\r\n") == b"ERROR\r\n"


def test_proto_negotiating_listener_speaks_text(start_server):
    p2 = wire.free_port()
    srv = start_server("-l", "proto[negotiating]:127.0.0.1:%d" % p2)
    wait_listening(p2)
    c = wire.Conn(p2)
    with c:
        assert c.set("neg", "v") == "STORED"
        c.cmd("mg neg v")
        c.expect_line("VA 1")
        c.expect_line("v")


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss")
def test_backlog(start_server):
    srv = start_server("-b", "77")
    out = subprocess.run(["ss", "-ltnH", "sport = :%d" % srv.port],
                         capture_output=True, text=True, timeout=10).stdout
    # a listening socket's Send-Q is its backlog
    assert out.split()[2] == "77", out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch user")
def test_sock_cookie_id_without_privilege_warns_and_runs(start_server):
    srv = start_server("-u", "nobody", "-o", "sock_cookie_id=5")
    assert talk("127.0.0.1", srv.port).startswith(b"VERSION ")
    assert "setsockopt: Operation not permitted" in srv.stderr().splitlines()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root for SO_MARK")
def test_sock_cookie_id_as_root_is_silent(start_server):
    srv = start_server("-o", "sock_cookie_id=5")
    assert talk("127.0.0.1", srv.port).startswith(b"VERSION ")
    assert "setsockopt" not in srv.stderr()
