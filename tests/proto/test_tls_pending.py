"""TLS input that waits inside OpenSSL, not on the socket: a connection run
again without a read (after yielding to others at -R, or once the socket
took its replies) must read it before waiting for an epoll event that
would never come. Against memcached 1.6.18 the same exchange stalls (it
too leaves such bytes unread until the client sends more), so this is
memoria_only: docs/COMPAT.md, "Fairness and back-pressure"."""

import pytest

from test_tls import tls_conn


@pytest.mark.memoria_only
def test_input_inside_openssl_is_run_after_a_yield(start_server, tls_certs):
    srv = start_server("-R", "1", *tls_certs.flags())
    with tls_conn(srv, tls_certs) as c:
        # A small record ending in half a line: the server keeps "ge" at
        # the front of its buffer, so less than 16 KiB of room follows.
        c.send(b"get k\r\n" * 10 + b"ge")
        for _ in range(10):
            assert c.readline() == b"END"
        # One full 16 KiB record: it does not fit the room left, so its
        # tail stays decrypted inside OpenSSL; with -R 1 every request
        # yields, and no more bytes come on the socket.
        rec = b"t k\r\n" + b"version\r\n" * 3 + b"get k\r\n" * 2336
        assert len(rec) == 16384
        c.send(rec)
        assert c.readline() == b"END"
        for _ in range(3):
            assert c.readline().startswith(b"VERSION ")
        for _ in range(2336):
            assert c.readline() == b"END"
