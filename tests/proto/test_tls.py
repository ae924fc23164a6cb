"""TLS (-Z): the handshake, every protocol over it, the ssl_* options,
what a plaintext client sees, certificate reloads, startup errors and the
stats lines, against memoria and memcached 1.6.18 with -Z alike.

Certificates come from the session's `tls_certs` fixture (made with the
openssl command). memcached counts a failed handshake in
ssl_handshake_errors only when it fails at its first SSL_accept, right
after accept; whether the client's bytes are there by then is a race, so
the tests allow 0 or 1 per failed client, plus 1 for the plain connection
the fixture makes (and drops) to see that the server accepts, which may
be counted after the test read its baseline.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import threading
import time

import pytest

import wire
from test_sasl import sasl_dir  # noqa: F401  (the fixture, for -S)
from wire import REF, TLSConn, WireError


def tls_conn(srv, certs, **kw):
    return TLSConn(srv.port, certs.context(**kw))


def stats(srv, certs, sub="", **kw):
    with tls_conn(srv, certs, **kw) as c:
        return c.stats(sub)


def stat_lines(srv, certs, sub="", **kw):
    """The STAT names in order."""
    with tls_conn(srv, certs, **kw) as c:
        c.cmd("stats " + sub if sub else "stats")
        text = c.read_until(b"END\r\n").decode()
    return re.findall(r"^STAT (\S+) ", text, re.M)


def handshake_errors(srv, certs, **kw):
    return int(stats(srv, certs, **kw)["ssl_handshake_errors"])


def works(srv, certs, **kw):
    """True if a TLS client with these settings gets an answer; False if
    the handshake or the first exchange fails (TLS 1.3 checks the client's
    certificate after the client's side of the handshake is done)."""
    try:
        with tls_conn(srv, certs, **kw) as c:
            c.cmd("version")
            return c.readline().startswith(b"VERSION ")
    except (ssl.SSLError, OSError, EOFError, WireError):
        return False


def wait_for(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


# --------------------------------------------------------------------------
# protocols over TLS

def test_text_and_meta_over_tls(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    with tls_conn(srv, tls_certs) as c:
        assert c.sock.version() == "TLSv1.3"
        c.cmd("set tk 5 0 3")
        c.cmd("abc")
        c.expect_line(b"STORED")
        assert c.get("tk") == b"abc"
        c.cmd("ms tm 2 T0")
        c.cmd("xy")
        c.expect_line(b"HD")
        c.cmd("mg tm v f")
        c.expect_line(b"VA 2 f0")
        c.expect_line(b"xy")
        c.cmd("mn")
        c.expect_line(b"MN")


def binary_version(c):
    c.send(bytes([0x80, 0x0b]) + bytes(22))
    hdr = c.read_exact(24)
    assert hdr[0] == 0x81 and hdr[1] == 0x0b
    body = int.from_bytes(hdr[8:12], "big")
    return c.read_exact(body)


@pytest.mark.parametrize("proto", [[], ["-B", "binary"]])
def test_binary_over_tls(start_server, tls_certs, proto):
    """0x80 as the first decrypted byte: binary, negotiated or forced."""
    srv = start_server(*(tls_certs.flags() + proto))
    with tls_conn(srv, tls_certs) as c:
        assert binary_version(c) == b"1.6.18"


def test_pymemcache_tls_context(start_server, tls_certs):
    from pymemcache.client.base import Client
    srv = start_server(*tls_certs.flags())
    client = Client(("127.0.0.1", srv.port), tls_context=tls_certs.context(),
                    timeout=5)
    try:
        assert client.set("pk", b"v" * 3000)
        assert client.get("pk") == b"v" * 3000
        assert client.get_many(["pk", "nope"]) == {"pk": b"v" * 3000}
    finally:
        client.close()


def test_notls_listener_next_to_tls(start_server, tls_certs):
    plain_port = wire.free_port()
    srv = start_server(*(tls_certs.flags() +
                         ["-l", "notls:127.0.0.1:%d" % plain_port]))
    with wire.Conn(plain_port) as c:
        c.cmd("version")
        assert c.readline().startswith(b"VERSION ")
    assert works(srv, tls_certs)


def test_large_values_both_ways(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    big = bytes(range(256)) * 3900  # 998400 bytes
    with tls_conn(srv, tls_certs) as c:
        c.send(b"set big 0 0 %d\r\n%s\r\n" % (len(big), big))
        c.expect_line(b"STORED")
        c.cmd("get big big")
        c.expect(b"VALUE big 0 %d\r\n%s\r\n" % (len(big), big))
        c.expect(b"VALUE big 0 %d\r\n%s\r\nEND\r\n" % (len(big), big))


def test_pipelined_gets_mixed_sizes(start_server, tls_certs):
    srv = start_server(*tls_certs.flags("ssl_wbuf_size=4"))
    sizes = [0, 1, 100, 4095, 4096, 4097, 16384, 20000, 70000]
    with tls_conn(srv, tls_certs) as c:
        for i, n in enumerate(sizes):
            c.send(b"set p%d 0 0 %d noreply\r\n%s\r\n" % (i, n, b"z" * n))
        c.send(b"".join(b"get p%d\r\n" % i for i in range(len(sizes))) +
               b"get " + b" ".join(b"p%d" % i for i in range(len(sizes))) +
               b"\r\n")
        for i, n in enumerate(sizes):
            c.expect(b"VALUE p%d 0 %d\r\n%s\r\nEND\r\n" % (i, n, b"z" * n))
        for i, n in enumerate(sizes):
            c.expect(b"VALUE p%d 0 %d\r\n%s\r\n" % (i, n, b"z" * n))
        c.expect(b"END\r\n")


def test_slow_reader_then_reads_everything(start_server, tls_certs):
    """A client that stops reading: the server stops reading its requests
    (bounded buffering), serves others meanwhile, and every reply arrives
    intact once the client reads again."""
    srv = start_server(*tls_certs.flags())
    val = b"s" * 200000
    with tls_conn(srv, tls_certs) as c:
        c.send(b"set slow 0 0 %d\r\n%s\r\n" % (len(val), val))
        c.expect_line(b"STORED")
        n = 100  # 20 MB of replies
        c.send(b"get slow\r\n" * n)
        assert works(srv, tls_certs)
        for _ in range(n):
            c.expect(b"VALUE slow 0 %d\r\n%s\r\nEND\r\n" % (len(val), val))


@pytest.mark.threaded
def test_many_concurrent_tls_clients(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    errors = []

    def client(i):
        try:
            with tls_conn(srv, tls_certs) as c:
                for j in range(20):
                    v = b"%d-%d" % (i, j) * (1 + j * 50)
                    c.send(b"set c%d 0 0 %d\r\n%s\r\n" % (i, len(v), v))
                    c.expect_line(b"STORED")
                    assert c.get("c%d" % i) == v
        except Exception as e:  # pylint: disable=broad-except
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# --------------------------------------------------------------------------
# what a plaintext client sees

@pytest.mark.parametrize("data", [b"version\r\n", b"get foo\r\n",
                                  bytes([0x80, 0x0b]) + bytes(22)])
def test_plaintext_client_is_reset(start_server, tls_certs, data):
    """No bytes, then a reset (OpenSSL read a record header's worth and
    the rest is left unread when the socket closes)."""
    srv = start_server(*tls_certs.flags())
    before = handshake_errors(srv, tls_certs)
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s.sendall(data)
    got = b""
    with pytest.raises(ConnectionResetError):
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
    s.close()
    assert got == b""
    assert handshake_errors(srv, tls_certs) - before in (0, 1, 2)
    assert works(srv, tls_certs)


@pytest.mark.parametrize("data,alert", [
    (b"", b"\x15\x03\x03\x00\x02\x02\x32"),              # decode_error
    (b"\x16\x03\x01\x00\x05hello", b"\x15\x03\x03\x00\x02\x02\x0a"),
])
def test_broken_hello_gets_an_alert(start_server, tls_certs, data, alert):
    """An end of stream or a bad handshake record: OpenSSL's fatal alert,
    then the end of the stream."""
    srv = start_server(*tls_certs.flags())
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    if data:
        s.sendall(data)
    else:
        s.shutdown(socket.SHUT_WR)
    got = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        got += d
    s.close()
    assert got == alert


# --------------------------------------------------------------------------
# verify modes, versions, ciphers

# mode -> (no client cert, client cert of the CA, cert of another CA)
VERIFY = {0: (True, True, True), 1: (True, True, False),
          2: (False, True, False), 3: (False, True, False)}
VERIFY_FLAGS = {0: "0", 1: "1", 2: "3", 3: "7"}


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
def test_verify_modes(start_server, tls_certs, mode):
    srv = start_server(*tls_certs.flags(
        "ssl_verify_mode=%d,ssl_ca_cert=%s" % (mode, tls_certs.path("ca.crt"))))
    expect = VERIFY[mode]
    before = handshake_errors(srv, tls_certs, client="client")
    assert works(srv, tls_certs) == expect[0]
    assert works(srv, tls_certs, client="client") == expect[1]
    assert works(srv, tls_certs, client="stranger") == expect[2]
    failed = expect.count(False)
    assert 0 <= handshake_errors(srv, tls_certs, client="client") - before \
        <= failed + 1
    st = stats(srv, tls_certs, "settings", client="client")
    assert st["ssl_verify_mode"] == VERIFY_FLAGS[mode]
    assert st["ssl_ca_cert"] == tls_certs.path("ca.crt")


def test_verify_request_without_ca(start_server, tls_certs):
    """Mode 1 with no CA list: a client that sends a certificate fails
    verification; one that sends none is let in."""
    srv = start_server(*tls_certs.flags("ssl_verify_mode=1"))
    assert works(srv, tls_certs)
    assert not works(srv, tls_certs, client="client")


def test_min_version_tls13(start_server, tls_certs):
    srv = start_server(*tls_certs.flags("ssl_min_version=3"))
    assert not works(srv, tls_certs, maximum=ssl.TLSVersion.TLSv1_2)
    assert works(srv, tls_certs)
    assert stats(srv, tls_certs, "settings")["ssl_min_version"] == "tlsv1.3"


def test_default_min_version_lets_tls12_in(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    with tls_conn(srv, tls_certs, maximum=ssl.TLSVersion.TLSv1_2) as c:
        assert c.sock.version() == "TLSv1.2"
        assert c.get("none") is None


def test_ciphers(start_server, tls_certs):
    srv = start_server(*tls_certs.flags("ssl_ciphers=ECDHE-RSA-AES128-GCM-SHA256"))
    with tls_conn(srv, tls_certs, maximum=ssl.TLSVersion.TLSv1_2) as c:
        assert c.sock.cipher()[0] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert not works(srv, tls_certs, maximum=ssl.TLSVersion.TLSv1_2,
                     ciphers="ECDHE-RSA-AES256-GCM-SHA384")
    assert stats(srv, tls_certs, "settings")["ssl_ciphers"] == \
        "ECDHE-RSA-AES128-GCM-SHA256"


def test_session_cache(start_server, tls_certs):
    srv = start_server(*tls_certs.flags("ssl_session_cache"))
    ctx = tls_certs.context(maximum=ssl.TLSVersion.TLSv1_2)
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s1 = ctx.wrap_socket(raw)
    session = s1.session
    s1.close()
    raw = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
    s2 = ctx.wrap_socket(raw, session=session)
    assert s2.session_reused
    s2.close()
    names = stat_lines(srv, tls_certs)
    i = names.index("ssl_new_sessions")
    assert names[i - 1:i + 4] == ["log_watchers", "ssl_new_sessions",
                                  "ssl_handshake_errors",
                                  "time_since_server_cert_refresh",
                                  "unexpected_napi_ids"]
    assert int(stats(srv, tls_certs)["ssl_new_sessions"]) >= 1
    assert stats(srv, tls_certs, "settings")["ssl_session_cache"] == "yes"


def test_kernel_tls_option(start_server, tls_certs):
    """Accepted; without the kernel's tls module OpenSSL stays in user
    space and nothing changes on the wire."""
    srv = start_server(*tls_certs.flags("ssl_kernel_tls"))
    with tls_conn(srv, tls_certs) as c:
        big = b"k" * 300000
        c.send(b"set kt 0 0 %d\r\n%s\r\n" % (len(big), big))
        c.expect_line(b"STORED")
        assert c.get("kt") == big
    assert stats(srv, tls_certs, "settings")["ssl_kernel_tls"] == "yes"


# --------------------------------------------------------------------------
# stats

def test_stats_lines_with_tls(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    names = stat_lines(srv, tls_certs)
    i = names.index("ssl_handshake_errors")
    assert names[i - 1:i + 3] == ["log_watchers", "ssl_handshake_errors",
                                  "time_since_server_cert_refresh",
                                  "unexpected_napi_ids"]
    assert "ssl_new_sessions" not in names
    st = stats(srv, tls_certs)
    # memcached's clock starts 60 s before its uptime does
    age = int(st["time_since_server_cert_refresh"])
    assert int(st["uptime"]) + 59 <= age <= int(st["uptime"]) + 61


def test_stats_lines_without_tls(server):
    with server.connect() as c:
        names = list(c.stats())
    assert not [n for n in names if n.startswith("ssl_") or "cert" in n]


def test_stats_settings_with_tls(start_server, tls_certs):
    srv = start_server(*tls_certs.flags("ssl_wbuf_size=8,ssl_keyformat=1"))
    st = stats(srv, tls_certs, "settings")
    got = [(k, v) for k, v in st.items() if k.startswith("ssl_")]
    assert got == [
        ("ssl_enabled", "yes"),
        ("ssl_chain_cert", tls_certs.path("server.crt")),
        ("ssl_key", tls_certs.path("server.key")),
        ("ssl_verify_mode", "0"),
        ("ssl_keyformat", "1"),
        ("ssl_ciphers", "NULL"),
        ("ssl_ca_cert", "NULL"),
        ("ssl_wbuf_size", "8192"),
        ("ssl_session_cache", "no"),
        ("ssl_kernel_tls", "no"),
        ("ssl_min_version", "tlsv1.2"),
    ]


def test_stats_reset_zeroes_handshake_errors(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        s.sendall(b"x" * 20)
        try:
            s.recv(10)
        except OSError:
            pass
        s.close()
    with tls_conn(srv, tls_certs) as c:
        c.cmd("stats reset")
        c.expect_line(b"RESET")
        assert c.stats()["ssl_handshake_errors"] == "0"


# --------------------------------------------------------------------------
# refresh_certs and SIGHUP

@pytest.fixture
def cert_dir(tls_certs, tmp_path_factory):
    """A copy of the server's files the test may replace or remove."""
    import tempfile
    d = tempfile.mkdtemp(prefix="memtls-reload-")
    os.chmod(d, 0o755)
    for name in ("server.crt", "server.key", "ca.crt"):
        shutil.copy(tls_certs.path(name), d)
        os.chmod(os.path.join(d, name), 0o644)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def reload_flags(d):
    return ["-Z", "-o", "ssl_chain_cert=%s/server.crt,ssl_key=%s/server.key,"
            "ssl_ca_cert=%s/ca.crt" % (d, d, d)]


def install(tls_certs, d, cert):
    for ext in ("crt", "key"):
        tmp = os.path.join(d, "new." + ext)
        shutil.copy(tls_certs.path(cert + "." + ext), tmp)
        os.chmod(tmp, 0o644)
        os.rename(tmp, os.path.join(d, "server." + ext))


def peer_cert(srv, tls_certs):
    with tls_conn(srv, tls_certs) as c:
        return c.sock.getpeercert(binary_form=True)


def test_refresh_certs_keeps_old_clients(start_server, tls_certs, cert_dir):
    srv = start_server(*reload_flags(cert_dir))
    old = tls_conn(srv, tls_certs)
    try:
        assert old.sock.getpeercert(binary_form=True) == tls_certs.der("server")
        install(tls_certs, cert_dir, "server2")
        old.cmd("refresh_certs")
        old.expect_line(b"OK")
        old.cmd("refresh_certs noreply")
        old.cmd("set after 0 0 2")
        old.cmd("ok")
        old.expect_line(b"STORED")
        assert old.get("after") == b"ok"
        assert peer_cert(srv, tls_certs) == tls_certs.der("server2")
        st = old.stats()
        assert int(st["time_since_server_cert_refresh"]) <= 2
    finally:
        old.close()


def test_refresh_certs_failures(start_server, tls_certs, cert_dir):
    srv = start_server(*reload_flags(cert_dir))
    crt = os.path.join(cert_dir, "server.crt")
    with tls_conn(srv, tls_certs) as c:
        os.rename(crt, crt + ".gone")
        missing = (b"Error loading the certificate chain: %s : error:80000002:"
                   b"system library::No such file or directory" % crt.encode())
        c.cmd("refresh_certs")
        c.expect_line(missing)
        c.cmd("refresh_certs noreply")  # a failure is never silenced
        c.expect_line(missing)
        with open(crt, "w") as f:
            f.write("garbage\n")
        c.cmd("refresh_certs")
        c.expect_line(b"Error loading the certificate chain: %s : error:0480006C:"
                      b"PEM routines::no start line" % crt.encode())
        os.rename(crt + ".gone", crt)
        with open(os.path.join(cert_dir, "ca.crt"), "w") as f:
            f.write("garbage\n")
        c.cmd("refresh_certs")
        c.expect_line(b"Error loading the CA certificate: %s/ca.crt : "
                      b"error:05800088:x509 certificate routines::no "
                      b"certificate or crl found" % cert_dir.encode())
        shutil.copy(tls_certs.path("client.crt"), crt)
        c.cmd("refresh_certs")
        c.expect_line(b"Error loading the key: %s/server.key : error:05800074:"
                      b"x509 certificate routines::key values mismatch"
                      % cert_dir.encode())
        # the connection that asked is still fine
        c.cmd("mn")
        c.expect_line(b"MN")


@pytest.mark.memoria_only
def test_failed_refresh_keeps_serving_new_clients(start_server, tls_certs,
                                                  cert_dir):
    """memcached loads into its live context, so a reload that fails after
    the chain loaded leaves it without a usable key: new handshakes fail.
    memoria builds a new context and keeps the old one on failure."""
    srv = start_server(*reload_flags(cert_dir))
    shutil.copy(tls_certs.path("client.crt"),
                os.path.join(cert_dir, "server.crt"))
    with tls_conn(srv, tls_certs) as c:
        c.cmd("refresh_certs")
        assert c.readline().startswith(b"Error loading the key: ")
    assert peer_cert(srv, tls_certs) == tls_certs.der("server")


@pytest.mark.memoria_only
def test_sighup_reloads_certificates(start_server, tls_certs, cert_dir):
    srv = start_server(*reload_flags(cert_dir))
    old = tls_conn(srv, tls_certs)
    try:
        install(tls_certs, cert_dir, "server2")
        os.kill(srv.proc.pid, signal.SIGHUP)
        assert wait_for(lambda: peer_cert(srv, tls_certs) ==
                        tls_certs.der("server2"))
        assert old.get("nothing") is None
    finally:
        old.close()


def test_watch_over_tls(start_server, tls_certs):
    srv = start_server(*tls_certs.flags())
    with tls_conn(srv, tls_certs) as w, tls_conn(srv, tls_certs) as c:
        w.cmd("watch fetchers")
        w.expect_line(b"OK")
        c.cmd("get wkey")
        c.expect_line(b"END")
        line = w.read_until(b"\n")
        assert b"key=wkey" in line and b"status=not_found" in line


# --------------------------------------------------------------------------
# startup errors

def norm(err, d):
    """OpenSSL's error lines start with the thread's id: drop it."""
    return re.sub(r"(?m)^[0-9A-F]{8,16}:error:", "T:error:", err).replace(d, "D")


CHAIN_MISSING = (
    "T:error:10080002:BIO routines:file_ctrl:system lib:"
    "../crypto/bio/bss_file.c:311:\n"
    "T:error:0A080002:SSL routines:use_certificate_chain_file:system lib:"
    "../ssl/ssl_rsa.c:450:\n"
    "Error loading the certificate chain: %s : "
    "error:80000002:system library::No such file or directory\r\n")


@pytest.mark.parametrize("opts,code,want", [
    ("", 64,
     "T:error:10080002:BIO routines:file_ctrl:system lib:"
     "../crypto/bio/bss_file.c:311:\n"
     "T:error:0A080002:SSL routines:use_certificate_chain_file:system lib:"
     "../ssl/ssl_rsa.c:450:\n"
     "Error loading the certificate chain: (null) : "
     "error:8000000E:system library::Bad address\r\n"),
    ("ssl_chain_cert=D/nonexist", 64, CHAIN_MISSING % "D/nonexist"),
    ("ssl_chain_cert=D/server.crt", 64,
     "T:error:10080002:BIO routines:file_ctrl:system lib:"
     "../crypto/bio/bss_file.c:311:\n"
     "T:error:0A080002:SSL routines:SSL_CTX_use_PrivateKey_file:system lib:"
     "../ssl/ssl_rsa.c:368:\n"
     "Error loading the key: (null) : "
     "error:8000000E:system library::Bad address\r\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/client.key", 64,
     "Error loading the key: D/client.key : error:05800074:x509 certificate "
     "routines::key values mismatch\r\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/server.crt", 64,
     "T:error:0A080009:SSL routines:SSL_CTX_use_PrivateKey_file:PEM lib:"
     "../ssl/ssl_rsa.c:385:\n"
     "Error loading the key: D/server.crt : error:1E08010C:DECODER "
     "routines::unsupported\r\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/server.key,ssl_ca_cert=D/server.key",
     64, "Error loading the CA certificate: D/server.key : error:05800088:x509 "
     "certificate routines::no certificate or crl found\r\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/server.key,ssl_ciphers=BOGUS", 64,
     "Error setting the provided cipher(s): BOGUS\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/server.key,ssl_keyformat=7", 64,
     "Error loading the key: D/server.key : error:0A00007C:SSL routines::bad "
     "ssl filetype\r\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/server.key,ssl_min_version=5", 1,
     "Invalid ssl_min_version. Use help to see valid options.\n"),
    ("ssl_chain_cert=D/server.crt,ssl_key=D/server.key,ssl_verify_mode=4", 1,
     "Invalid ssl_verify_mode. Use help to see valid options.\n"),
])
def test_startup_errors(tls_certs, opts, code, want):
    d = str(tls_certs.dir)
    args = ["-l", "127.0.0.1", "-p", str(wire.free_port()), "-U", "0"] + \
        wire.user_args() + ["-Z"]
    if opts:
        args += ["-o", opts.replace("D/", d + "/")]
    rc, _, err = wire.run_binary(args)
    if "(null)" in want and not REF:
        # A sanitizer build cannot hand OpenSSL a NULL path (ASan's fopen
        # reads it), so OpenSSL's own lines before the message may be
        # missing there: compare the message.
        want = want.splitlines(True)[-1]
        err = err.splitlines(True)[-1]
    assert (rc, norm(err, d)) == (code, want)


def test_tls_needs_a_tcp_port(tls_certs):
    rc, _, err = wire.run_binary(["-p", "0", "-U", "0"] + wire.user_args() +
                                 tls_certs.flags())
    assert (rc, err) == (64, "ERROR: You cannot enable SSL without a TCP port.\n")


def test_help_lists_tls_options():
    rc, out, _ = wire.run_binary(["-h"])
    assert rc == 0
    assert "-Z, --enable-ssl          enable TLS/SSL\n" in out
    assert ("   - ssl_verify_mode:     peer certificate verification mode, "
            "default is 0(None).\n"
            "                          valid values are 0(None), 1(Request), "
            "2(Require)\n"
            "                          or 3(Once)\n") in out
    assert "'notls' prefix can be used to" in out


# --------------------------------------------------------------------------
# SASL (-S, binary only) over TLS

def test_sasl_over_tls(tls_certs, request):
    import binproto as bp
    from test_sasl import _flags, auth, reply
    sasl_dir = request.getfixturevalue("sasl_dir")
    srv = wire.Server(_flags(tls_certs.flags()),
                      env={"SASL_CONF_PATH": sasl_dir}).start()
    try:
        with tls_conn(srv, tls_certs) as c:
            c.send(bp.request(bp.GET, key="sasl:tls", opaque=3))
            reply(c, bp.GET, bp.AUTH_ERROR, b"Auth failure.", opaque=3)
            c.expect_closed()
        with tls_conn(srv, tls_certs) as c:
            c.send(auth())
            reply(c, bp.SASL_AUTH, value=b"Authenticated")
            c.send(bp.request(bp.GET, key="sasl:tls", opaque=7))
            reply(c, bp.GET, bp.KEY_ENOENT, b"Not found", opaque=7)
    finally:
        problems = srv.stop()
        srv.cleanup()
    assert not problems


def test_ascii_auth_over_tls(start_server, tls_certs, tmp_path):
    """-Y and -Z together: the -Y handshake runs inside TLS."""
    auth = tmp_path / "auth"
    auth.write_text("tlsuser:tlspass\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(auth, 0o644)
    srv = start_server(*tls_certs.flags(), "-Y", str(auth))
    with tls_conn(srv, tls_certs) as c:
        c.cmd("get ya")
        c.expect(b"CLIENT_ERROR unauthenticated\r\n")
        c.cmd("set ya 0 0 15")
        c.cmd("tlsuser tlspass")
        c.expect(b"STORED\r\n")
        c.cmd("set ya 0 0 1")
        c.cmd("z")
        c.expect(b"STORED\r\n")
        c.cmd("get ya")
        c.expect(b"VALUE ya 0 1\r\nz\r\nEND\r\n")


def mapped_libraries(pid):
    """The file names of the shared objects the process has mapped."""
    with open("/proc/%d/maps" % pid) as f:
        return {os.path.basename(line.split()[-1]) for line in f
                if ".so" in line}


@pytest.mark.memoria_only
def test_openssl_is_loaded_only_for_tls(start_server, tls_certs):
    """memoria loads libssl and libcrypto when -Z asks for TLS, so a
    plaintext server does not carry them (memcached links them)."""
    plain = start_server()
    assert plain.stats()["pid"]
    libs = mapped_libraries(plain.proc.pid)
    assert not any(n.startswith(("libssl.", "libcrypto.")) for n in libs), libs
    tls = start_server(*tls_certs.flags())
    assert works(tls, tls_certs)
    libs = mapped_libraries(tls.proc.pid)
    assert any(n.startswith("libssl.so.") for n in libs), libs
    assert any(n.startswith("libcrypto.so.") for n in libs), libs
