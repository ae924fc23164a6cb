"""Absolute expiry times, which depend on the real clock
(protocol.txt, Expiration times; docs/COMPAT.md#expiry-and-the-clock)."""

import time


def test_absolute_exptime(server):
    now = int(time.time())
    with server.connect() as c:
        assert c.set("abs_future", "f", exptime=now + 100) == "STORED"
        assert c.set("abs_past", "p", exptime=now - 100) == "STORED"
        assert c.set("abs_far", "x", exptime=now + 30 * 86400 + 100) == "STORED"
        assert c.get("abs_future") == b"f"
        assert c.get("abs_past") is None
        assert c.get("abs_far") == b"x"
        assert c.call("touch abs_far %d" % (now - 10)) == "TOUCHED"
        assert c.get("abs_far") is None
        c.send(b"gat %d abs_future\r\n" % (now + 1000))
        assert c.read_values() == [(b"abs_future", 0, b"f")]
        assert c.get("abs_future") == b"f"
