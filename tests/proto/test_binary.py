"""The binary protocol on the wire (docs/COMPAT.md#binary-protocol).

Every reply is compared byte for byte as a whole packet (header, extras,
key, value), built with binproto.response()/error(). CAS values are not
guessed: they are taken from an earlier reply of the same server (the
SET that stored the item) and must then reappear exactly.

`sync(c)` ends most exchanges: a NOOP with its own opaque must be the very
next packet, and nothing may follow it, so any extra or missing reply
before it shows up.
"""

import os
import re
import select
import socket
import struct
import tempfile
import threading
import time
import zlib

import pytest

import binproto as bp
import wire
from binproto import request, response, error
from test_udp import free_udp_port
from wire import Conn, UnixServer, WireError

SYNC_OPAQUE = 0x5EC0DE


# --------------------------------------------------------------------------
# helpers

def show(raw):
    try:
        return repr(bp.Response(raw))
    except struct.error:
        return repr(raw)


def expect(c, *packets):
    """The next response packets must be exactly these bytes."""
    for want in packets:
        got = bp.read_response(c).raw
        if got != want:
            raise WireError("expected %s\n     got %s" % (show(want), show(got)))


def call(c, pkt, *want):
    c.send(pkt)
    expect(c, *want)


def sync(c):
    """A NOOP must be answered next, and nothing else be pending."""
    c.send(request(bp.NOOP, opaque=SYNC_OPAQUE))
    expect(c, response(bp.NOOP, opaque=SYNC_OPAQUE))
    c.assert_quiet(0)


def link_state(c, grace=0.3):
    """'open' if neither bytes nor EOF arrive within grace seconds,
    'closed' on EOF/reset, else the bytes that came."""
    if c.buf:
        return bytes(c.buf)
    ready, _, _ = select.select([c.sock], [], [], grace)
    if not ready:
        return "open"
    try:
        data = c.sock.recv(65536)
    except ConnectionResetError:
        return "closed"
    return data if data else "closed"


def store(c, key, value, flags=0, exptime=0, op=bp.SET, cas=0, opaque=0):
    """Stores with a loud opcode; returns the new item's CAS."""
    c.send(request(op, key, bp.store_extras(flags, exptime), value,
                   opaque=opaque, cas=cas))
    r = bp.read_response(c)
    assert r.raw == response(op, opaque=opaque, cas=r.cas), r
    return r.cas


def hit(op, key, value, flags, cas, opaque=0):
    """The hit reply of GET/GETK/GAT/GATK and their quiet twins."""
    with_key = op in (bp.GETK, bp.GETKQ, bp.GATK, bp.GATKQ)
    return response(op, extras=bp.flags_extras(flags),
                    key=key if with_key else b"", value=value,
                    opaque=opaque, cas=cas)


def key_miss(op, key, opaque=0):
    """GETK/GATK miss: status 1, the key in the key field, no message."""
    return response(op, bp.KEY_ENOENT, key=key, opaque=opaque)


def bconn(srv):
    """A connection made binary by a first NOOP."""
    c = srv.connect()
    sync(c)
    return c


def text_value(srv, key):
    with srv.connect() as t:
        return t.get(key)


def mg(srv, key, flags):
    with srv.connect() as t:
        t.cmd("mg %s %s" % (key, flags))
        return t.readline().decode()


# --------------------------------------------------------------------------
# 1. every implemented opcode

def test_get_family_hit(server):
    with bconn(server) as c:
        cas = store(c, b"bg_k", b"hello", flags=0xDEADBEEF, opaque=7)
        for op in (bp.GET, bp.GETQ, bp.GETK, bp.GETKQ):
            # the request's CAS is ignored by GETs
            call(c, request(op, b"bg_k", opaque=op + 100, cas=cas + 55),
                 hit(op, b"bg_k", b"hello", 0xDEADBEEF, cas, opaque=op + 100))
        sync(c)


def test_get_family_miss(server):
    with bconn(server) as c:
        call(c, request(bp.GET, b"bg_miss", opaque=5),
             error(bp.GET, bp.KEY_ENOENT, opaque=5))
        # GETK: the key is both key field and whole body, no message
        call(c, request(bp.GETK, b"bg_miss", opaque=6),
             key_miss(bp.GETK, b"bg_miss", opaque=6))
        c.send(request(bp.GETQ, b"bg_miss") + request(bp.GETKQ, b"bg_miss"))
        sync(c)


def test_set_add_replace(server):
    with bconn(server) as c:
        cas1 = store(c, b"sar_k", b"one", flags=3)
        call(c, request(bp.ADD, b"sar_k", bp.store_extras(), b"x", opaque=9),
             error(bp.ADD, bp.KEY_EEXISTS, opaque=9))
        call(c, request(bp.REPLACE, b"sar_nokey", bp.store_extras(), b"x", opaque=10),
             error(bp.REPLACE, bp.KEY_ENOENT, opaque=10))
        cas2 = store(c, b"sar_k", b"two", flags=4, op=bp.REPLACE)
        cas3 = store(c, b"sar_new", b"three", flags=5, op=bp.ADD)
        assert len({cas1, cas2, cas3}) == 3 and 0 not in (cas1, cas2, cas3)
        call(c, request(bp.GET, b"sar_k"), hit(bp.GET, b"", b"two", 4, cas2))
        call(c, request(bp.GET, b"sar_new"), hit(bp.GET, b"", b"three", 5, cas3))
        # quiet twins: successes silent, errors sent with the quiet opcode
        c.send(request(bp.SETQ, b"sar_q", bp.store_extras(1, 0), b"q1")
               + request(bp.ADDQ, b"sar_q2", bp.store_extras(), b"q2")
               + request(bp.REPLACEQ, b"sar_q", bp.store_extras(), b"q3")
               + request(bp.ADDQ, b"sar_q", bp.store_extras(), b"no", opaque=1)
               + request(bp.REPLACEQ, b"sar_nokey", bp.store_extras(), b"no", opaque=2))
        expect(c, error(bp.ADDQ, bp.KEY_EEXISTS, opaque=1),
               error(bp.REPLACEQ, bp.KEY_ENOENT, opaque=2))
        sync(c)
        assert text_value(server, b"sar_q") == b"q3"
        assert text_value(server, b"sar_q2") == b"q2"


def test_set_empty_and_binary_value(server):
    value = bytes(range(256)) + b"\r\nEND\r\n"
    with bconn(server) as c:
        cas = store(c, b"sev_k", value, flags=0xFFFFFFFF)
        call(c, request(bp.GETK, b"sev_k"), hit(bp.GETK, b"sev_k", value, 0xFFFFFFFF, cas))
        cas = store(c, b"sev_e", b"")
        call(c, request(bp.GET, b"sev_e"), hit(bp.GET, b"", b"", 0, cas))


@pytest.mark.parametrize("op", [bp.SET, bp.ADD, bp.REPLACE])
def test_storage_with_cas(server, op):
    """A non-zero request CAS makes SET, ADD and REPLACE a compare-and-swap
    (ADD too: on an existing item with the right CAS it stores)."""
    key = b"swc_%d" % op
    with bconn(server) as c:
        cas = store(c, key, b"orig")
        call(c, request(op, key, bp.store_extras(), b"bad", cas=cas + 1000, opaque=1),
             error(op, bp.KEY_EEXISTS, opaque=1))
        new = store(c, key, b"new", flags=8, op=op, cas=cas, opaque=2)
        assert new != cas
        call(c, request(bp.GET, key), hit(bp.GET, b"", b"new", 8, new))
        call(c, request(op, key + b"_missing", bp.store_extras(), b"x", cas=new, opaque=3),
             error(op, bp.KEY_ENOENT, opaque=3))
        call(c, request(bp.GET, key + b"_missing"), error(bp.GET, bp.KEY_ENOENT))


def test_cas_from_binary_matches_text_gets(server):
    with bconn(server) as c:
        cas = store(c, b"cft_k", b"v")
        with server.connect() as t:
            assert t.gets(b"cft_k") == (0, b"v", cas)
            assert t.store("cas", b"cft_k", b"w", cas=cas) == "STORED"
            newcas = t.gets(b"cft_k")[2]
        call(c, request(bp.GET, b"cft_k"), hit(bp.GET, b"", b"w", 0, newcas))


@pytest.fixture
def small_server(shared_server):
    """Items up to 1 KiB (-I 1k; -o slab_chunk_max=512 lets it start)."""
    return shared_server("-I", "1k", "-o", "slab_chunk_max=512")


@pytest.mark.parametrize("op", [bp.SET, bp.SETQ, bp.ADD, bp.ADDQ, bp.REPLACE,
                                bp.REPLACEQ, bp.APPEND, bp.PREPEND])
def test_value_too_large(small_server, op):
    key = b"tl_%d" % op
    extras = b"" if op in (bp.APPEND, bp.PREPEND) else bp.store_extras()
    with bconn(small_server) as c:
        cas = store(c, key, b"old")
        # the value is swallowed: the NOOP behind it is answered
        c.send(request(op, key, extras, b"x" * 2000, opaque=4))
        expect(c, error(op, bp.E2BIG, opaque=4))
        sync(c)
        if op in (bp.SET, bp.SETQ):
            # a failed SET does not leave the old value behind
            call(c, request(bp.GET, key), error(bp.GET, bp.KEY_ENOENT))
        else:
            call(c, request(bp.GET, key), hit(bp.GET, b"", b"old", 0, cas))


def test_value_too_large_is_not_counted(start_server):
    """Unlike text, a binary Too large moves neither store_too_large nor
    cmd_set."""
    srv = start_server("-I", "1k", "-o", "slab_chunk_max=512")
    with bconn(srv) as c:
        call(c, request(bp.SET, b"tlc", bp.store_extras(), b"x" * 2000),
             error(bp.SET, bp.E2BIG))
    st = srv.stats()
    assert (st["store_too_large"], st["cmd_set"]) == ("0", "0")


def test_value_too_large_split_in_pieces(small_server):
    """The reply waits until the whole swallowed value has arrived."""
    with bconn(small_server) as c:
        pkt = request(bp.SET, b"tlp", bp.store_extras(), b"y" * 5000, opaque=6)
        c.send(pkt[:40])
        assert link_state(c) == "open"
        c.send(pkt[40:3000])
        assert link_state(c) == "open"
        c.send(pkt[3000:])
        expect(c, error(bp.SET, bp.E2BIG, opaque=6))
        sync(c)


def test_out_of_memory(start_server):
    """-M (no evictions) on 2 MB: once memory is full, SET answers 0x0082
    with the server's message, swallows the value, and deletes the old
    item under that key; the failure is not counted in store_no_memory."""
    srv = start_server("-m", "2", "-M")
    value = b"x" * 100000
    with bconn(srv) as c:
        for i in range(200):
            c.send(request(bp.SET, b"oom_%d" % i, bp.store_extras(), value, opaque=i)
                   + request(bp.NOOP, opaque=SYNC_OPAQUE))
            r = bp.read_response(c)
            expect(c, response(bp.NOOP, opaque=SYNC_OPAQUE))
            if r.status != bp.SUCCESS:
                break
        assert i > 0
        assert r.raw == response(bp.SET, bp.ENOMEM, value=b"Out of memory allocating item",
                                 opaque=i), r
        c.send(request(bp.SET, b"oom_0", bp.store_extras(), value, opaque=1))
        expect(c, response(bp.SET, bp.ENOMEM, value=b"Out of memory allocating item", opaque=1))
        call(c, request(bp.GET, b"oom_0"), error(bp.GET, bp.KEY_ENOENT))
        sync(c)
    assert srv.stats()["store_no_memory"] == "0"


def test_cas_disabled(start_server):
    """-C: every CAS field is 0; SET/ADD/REPLACE/APPEND/PREPEND ignore the
    request CAS (they store as without one), DELETE and INCREMENT with a
    request CAS never match."""
    srv = start_server("-C")
    with bconn(srv) as c:
        call(c, request(bp.SET, b"cd_k", bp.store_extras(), b"1", cas=77), response(bp.SET))
        call(c, request(bp.SET, b"cd_new", bp.store_extras(), b"1", cas=77), response(bp.SET))
        call(c, request(bp.GET, b"cd_k"), hit(bp.GET, b"", b"1", 0, 0))
        call(c, request(bp.ADD, b"cd_k", bp.store_extras(), b"x", cas=1),
             error(bp.ADD, bp.KEY_EEXISTS))
        call(c, request(bp.ADD, b"cd_add", bp.store_extras(), b"x", cas=1), response(bp.ADD))
        call(c, request(bp.REPLACE, b"cd_k", bp.store_extras(), b"2", cas=1), response(bp.REPLACE))
        call(c, request(bp.REPLACE, b"cd_none", bp.store_extras(), b"2", cas=1),
             error(bp.REPLACE, bp.KEY_ENOENT))
        call(c, request(bp.APPEND, b"cd_k", value=b"0", cas=1), response(bp.APPEND))
        call(c, request(bp.PREPEND, b"cd_k", value=b"1", cas=1), response(bp.PREPEND))
        call(c, request(bp.INCREMENT, b"cd_k", bp.arith_extras(1, 0, 0), cas=1),
             error(bp.INCREMENT, bp.KEY_EEXISTS))
        call(c, request(bp.INCREMENT, b"cd_k", bp.arith_extras(1, 0, 0)),
             response(bp.INCREMENT, value=bp.number_value(121)))
        call(c, request(bp.INCREMENT, b"cd_n", bp.arith_extras(1, 5, 0), cas=1),
             response(bp.INCREMENT, value=bp.number_value(5)))
        call(c, request(bp.DELETE, b"cd_k", cas=1), error(bp.DELETE, bp.KEY_EEXISTS))
        call(c, request(bp.DELETE, b"cd_k"), response(bp.DELETE))
        sync(c)
    st = srv.stats()
    assert (st["cas_hits"], st["cas_misses"], st["cas_badval"]) == ("0", "0", "0")


def test_append_prepend(server):
    with bconn(server) as c:
        cas = store(c, b"ap_k", b"mid", flags=0x1234, exptime=1000)
        c.send(request(bp.APPEND, b"ap_k", value=b">>", opaque=1))
        r = bp.read_response(c)
        assert r.raw == response(bp.APPEND, opaque=1, cas=r.cas) and r.cas != cas
        c.send(request(bp.PREPEND, b"ap_k", value=b"<<", opaque=2))
        r2 = bp.read_response(c)
        assert r2.raw == response(bp.PREPEND, opaque=2, cas=r2.cas) and r2.cas != r.cas
        # flags and expiry are kept
        call(c, request(bp.GET, b"ap_k"), hit(bp.GET, b"", b"<<mid>>", 0x1234, r2.cas))
        assert re.fullmatch(r"HD t(999|1000) f4660", mg(server, "ap_k", "t f"))
        # an empty fragment is fine
        c.send(request(bp.APPEND, b"ap_k", value=b""))
        r3 = bp.read_response(c)
        assert r3.raw == response(bp.APPEND, cas=r3.cas)
        for op in (bp.APPEND, bp.PREPEND, bp.APPENDQ, bp.PREPENDQ):
            call(c, request(op, b"ap_missing", value=b"x", opaque=op),
                 error(op, bp.NOT_STORED, opaque=op))
        # quiet twins are silent on success
        c.send(request(bp.APPENDQ, b"ap_k", value=b"!") + request(bp.PREPENDQ, b"ap_k", value=b"?"))
        sync(c)
        assert text_value(server, b"ap_k") == b"?<<mid>>!"


def test_append_prepend_with_cas(server):
    with bconn(server) as c:
        cas = store(c, b"apc_k", b"v")
        for op in (bp.APPEND, bp.PREPEND):
            call(c, request(op, b"apc_k", value=b"x", cas=cas + 99, opaque=3),
                 error(op, bp.KEY_EEXISTS, opaque=3))
        c.send(request(bp.APPEND, b"apc_k", value=b"a", cas=cas))
        r = bp.read_response(c)
        assert r.raw == response(bp.APPEND, cas=r.cas)
        c.send(request(bp.PREPEND, b"apc_k", value=b"p", cas=r.cas))
        r2 = bp.read_response(c)
        assert r2.raw == response(bp.PREPEND, cas=r2.cas)
        # a missing key is "Not stored." whatever the CAS
        call(c, request(bp.APPEND, b"apc_missing", value=b"x", cas=5),
             error(bp.APPEND, bp.NOT_STORED))
        call(c, request(bp.GET, b"apc_k"), hit(bp.GET, b"", b"pva", 0, r2.cas))


def test_append_result_too_large_is_not_stored(small_server):
    with bconn(small_server) as c:
        cas = store(c, b"apl_k", b"a" * 900)
        for op in (bp.APPEND, bp.PREPEND):
            call(c, request(op, b"apl_k", value=b"b" * 500, opaque=op),
                 error(op, bp.NOT_STORED, opaque=op))
        call(c, request(bp.GET, b"apl_k"), hit(bp.GET, b"", b"a" * 900, 0, cas))


def test_delete(server):
    with bconn(server) as c:
        cas = store(c, b"del_k", b"v")
        call(c, request(bp.DELETE, b"del_k", cas=cas + 1, opaque=1),
             error(bp.DELETE, bp.KEY_EEXISTS, opaque=1))
        # success carries CAS 0
        call(c, request(bp.DELETE, b"del_k", cas=cas, opaque=2),
             response(bp.DELETE, opaque=2))
        call(c, request(bp.DELETE, b"del_k", opaque=3),
             error(bp.DELETE, bp.KEY_ENOENT, opaque=3))
        call(c, request(bp.DELETE, b"del_k", cas=cas, opaque=4),
             error(bp.DELETE, bp.KEY_ENOENT, opaque=4))
        store(c, b"del_k", b"v")
        call(c, request(bp.DELETE, b"del_k"), response(bp.DELETE))
        store(c, b"del_q", b"v")
        c.send(request(bp.DELETEQ, b"del_q") + request(bp.DELETEQ, b"del_q", opaque=8))
        expect(c, error(bp.DELETEQ, bp.KEY_ENOENT, opaque=8))
        sync(c)


def arith(c, op, key, delta, initial=0, exptime=0, cas=0, opaque=0):
    c.send(request(op, key, bp.arith_extras(delta, initial, exptime),
                   cas=cas, opaque=opaque))
    return bp.read_response(c)


def assert_number(r, op, n, opaque=0):
    assert r.raw == response(op, value=bp.number_value(n), opaque=opaque, cas=r.cas), r
    assert r.cas != 0


def test_incr_decr_existing(server):
    with bconn(server) as c:
        store(c, b"id_k", b"10", flags=77)
        r = arith(c, bp.INCREMENT, b"id_k", 5, initial=999, opaque=1)
        assert_number(r, bp.INCREMENT, 15, opaque=1)
        r = arith(c, bp.DECREMENT, b"id_k", 3, opaque=2)
        assert_number(r, bp.DECREMENT, 12, opaque=2)
        # text-incr storage: shorter results are padded in place; flags kept
        call(c, request(bp.GET, b"id_k"), hit(bp.GET, b"", b"12", 77, r.cas))
        r = arith(c, bp.DECREMENT, b"id_k", 100)
        assert_number(r, bp.DECREMENT, 0)
        call(c, request(bp.GET, b"id_k"), hit(bp.GET, b"", b"0 ", 77, r.cas))
        c.send(request(bp.INCREMENTQ, b"id_k", bp.arith_extras(7, 0, 0))
               + request(bp.DECREMENTQ, b"id_k", bp.arith_extras(2, 0, 0)))
        sync(c)
        assert text_value(server, b"id_k") == b"5 "


def test_incr_wraps_and_pads(server):
    with bconn(server) as c:
        store(c, b"iw_k", b"18446744073709551615")
        r = arith(c, bp.INCREMENT, b"iw_k", 2)
        assert_number(r, bp.INCREMENT, 1)
        call(c, request(bp.GET, b"iw_k"), hit(bp.GET, b"", b"1" + b" " * 19, 0, r.cas))
        # leading zeros beyond 20 digits are still a number
        store(c, b"iw_z", b"0" * 20 + b"1")
        r = arith(c, bp.INCREMENT, b"iw_z", 2)
        assert_number(r, bp.INCREMENT, 3)
        call(c, request(bp.GET, b"iw_z"), hit(bp.GET, b"", b"3" + b" " * 20, 0, r.cas))
        r = arith(c, bp.DECREMENT, b"iw_z", 5)
        assert_number(r, bp.DECREMENT, 0)


@pytest.mark.parametrize("value", [b"abc", b"", b"1" * 21, b"12abc", b"-1",
                                   b"1" + b" " * 700000])
def test_incr_non_numeric(server, value):
    key = b"inn_%d" % zlib.crc32(value)
    with bconn(server) as c:
        cas = store(c, key, value)
        for op in (bp.INCREMENT, bp.DECREMENTQ):
            r = arith(c, op, key, 1, opaque=op)
            assert r.raw == error(op, bp.DELTA_BADVAL, opaque=op)
        c.send(request(bp.GET, key))
        assert bp.read_response(c).raw == hit(bp.GET, b"", value, 0, cas)


def test_incr_creates_missing_item(server):
    with bconn(server) as c:
        # the initial value is stored and returned; the delta is not applied
        r = arith(c, bp.INCREMENT, b"ic_k", 5, initial=1000, exptime=500, opaque=3)
        assert_number(r, bp.INCREMENT, 1000, opaque=3)
        call(c, request(bp.GETK, b"ic_k"), hit(bp.GETK, b"ic_k", b"1000", 0, r.cas))
        assert re.fullmatch(r"HD t(499|500) f0", mg(server, "ic_k", "t f"))
        r = arith(c, bp.DECREMENT, b"ic_d", 5, initial=7)
        assert_number(r, bp.DECREMENT, 7)
        # a request CAS does not stop the creation
        r = arith(c, bp.INCREMENT, b"ic_cas", 1, initial=2, cas=123456789)
        assert_number(r, bp.INCREMENT, 2)
        # exptime 0xffffffff: no creation
        for op in (bp.INCREMENT, bp.DECREMENT, bp.INCREMENTQ):
            r = arith(c, op, b"ic_none", 1, initial=5, exptime=0xFFFFFFFF, opaque=op)
            assert r.raw == error(op, bp.KEY_ENOENT, opaque=op)
        call(c, request(bp.GET, b"ic_none"), error(bp.GET, bp.KEY_ENOENT))
        # a quiet creation is silent
        c.send(request(bp.INCREMENTQ, b"ic_q", bp.arith_extras(1, 42, 0)))
        sync(c)
        assert text_value(server, b"ic_q") == b"42"


def test_incr_with_cas(server):
    with bconn(server) as c:
        cas = store(c, b"icas_k", b"1")
        r = arith(c, bp.INCREMENT, b"icas_k", 1, cas=cas + 7, opaque=1)
        assert r.raw == error(bp.INCREMENT, bp.KEY_EEXISTS, opaque=1)
        r = arith(c, bp.INCREMENT, b"icas_k", 1, cas=cas)
        assert_number(r, bp.INCREMENT, 2)
        r2 = arith(c, bp.DECREMENT, b"icas_k", 1, cas=r.cas)
        assert_number(r2, bp.DECREMENT, 1)


def test_quit(server):
    c = bconn(server)
    c.send(request(bp.QUIT, opaque=9))
    expect(c, response(bp.QUIT, opaque=9))
    c.expect_closed()
    c.close()
    c = bconn(server)
    c.send(request(bp.QUITQ, opaque=9))
    c.expect_closed()
    c.close()


def test_quit_discards_the_rest_of_the_pipeline(server):
    with bconn(server) as c:
        c.send(request(bp.QUIT, opaque=1) + request(bp.SET, b"qd_k", bp.store_extras(), b"v"))
        expect(c, response(bp.QUIT, opaque=1))
        c.expect_closed()
    assert text_value(server, b"qd_k") is None


def test_flush(start_server):
    srv = start_server()
    with bconn(srv) as c:
        store(c, b"fl_a", b"1")
        call(c, request(bp.FLUSH, opaque=1), response(bp.FLUSH, opaque=1))
        call(c, request(bp.GET, b"fl_a"), error(bp.GET, bp.KEY_ENOENT))
        store(c, b"fl_b", b"2")
        c.send(request(bp.FLUSHQ, opaque=2))
        sync(c)
        call(c, request(bp.GET, b"fl_b"), error(bp.GET, bp.KEY_ENOENT))
        # a delay: items stay until it passes
        cas = store(c, b"fl_c", b"3")
        call(c, request(bp.FLUSH, extras=bp.exptime_extras(1000), opaque=3),
             response(bp.FLUSH, opaque=3))
        call(c, request(bp.GET, b"fl_c"), hit(bp.GET, b"", b"3", 0, cas))
        c.send(request(bp.FLUSHQ, extras=bp.exptime_extras(0)))
        sync(c)
        call(c, request(bp.GET, b"fl_c"), error(bp.GET, bp.KEY_ENOENT))
    assert srv.stats()["cmd_flush"] == "4"


def test_flush_disabled(start_server):
    srv = start_server("-F")
    with bconn(srv) as c:
        cas = store(c, b"fd_a", b"1")
        for pkt, op in ((request(bp.FLUSH, opaque=1), bp.FLUSH),
                        (request(bp.FLUSHQ, opaque=1), bp.FLUSHQ),
                        (request(bp.FLUSH, extras=bp.exptime_extras(5), opaque=1), bp.FLUSH)):
            call(c, pkt, error(op, bp.AUTH_ERROR, opaque=1))
        call(c, request(bp.GET, b"fd_a"), hit(bp.GET, b"", b"1", 0, cas))
        sync(c)


def test_noop_and_version(server):
    with server.connect() as t:
        line = t.call("version")
    assert line.startswith("VERSION ")
    with bconn(server) as c:
        call(c, request(bp.NOOP, opaque=0xFFFFFFFF), response(bp.NOOP, opaque=0xFFFFFFFF))
        call(c, request(bp.VERSION, opaque=12),
             response(bp.VERSION, value=line[len("VERSION "):].encode(), opaque=12))
        sync(c)


def test_touch_and_gat_hit(server):
    with bconn(server) as c:
        cas = store(c, b"tg_k", b"tv", flags=9, exptime=0)
        call(c, request(bp.TOUCH, b"tg_k", bp.exptime_extras(1000), opaque=1),
             response(bp.TOUCH, extras=bp.flags_extras(9), opaque=1, cas=cas))
        assert re.fullmatch(r"HD t(999|1000)", mg(server, "tg_k", "t"))
        for op in (bp.GAT, bp.GATQ, bp.GATK, bp.GATKQ):
            call(c, request(op, b"tg_k", bp.exptime_extras(2000 + op), opaque=op),
                 hit(op, b"tg_k", b"tv", 9, cas, opaque=op))
            assert re.fullmatch(r"HD t%d|HD t%d" % (2000 + op, 1999 + op),
                                mg(server, "tg_k", "t"))
        # exptime 0: never expires again
        call(c, request(bp.GAT, b"tg_k", bp.exptime_extras(0)),
             hit(bp.GAT, b"tg_k", b"tv", 9, cas))
        assert mg(server, "tg_k", "t") == "HD t-1"
        sync(c)


def test_touch_and_gat_miss(server):
    with bconn(server) as c:
        call(c, request(bp.TOUCH, b"tgm_k", bp.exptime_extras(10), opaque=1),
             error(bp.TOUCH, bp.KEY_ENOENT, opaque=1))
        call(c, request(bp.GAT, b"tgm_k", bp.exptime_extras(10), opaque=2),
             error(bp.GAT, bp.KEY_ENOENT, opaque=2))
        call(c, request(bp.GATK, b"tgm_k", bp.exptime_extras(10), opaque=3),
             key_miss(bp.GATK, b"tgm_k", opaque=3))
        c.send(request(bp.GATQ, b"tgm_k", bp.exptime_extras(10))
               + request(bp.GATKQ, b"tgm_k", bp.exptime_extras(10)))
        sync(c)


def test_verbosity_is_an_unknown_command(server):
    with bconn(server) as c:
        call(c, request(bp.VERBOSITY, opaque=4), error(bp.VERBOSITY, bp.UNKNOWN_COMMAND, opaque=4))
        sync(c)
        # with its 4-byte extras, 4 more bytes are swallowed (the swallow
        # quirk of unknown opcodes, docs/COMPAT.md#binary-protocol)
        c.send(request(bp.VERBOSITY, extras=struct.pack(">I", 1), opaque=5) + b"PADS")
        expect(c, error(bp.VERBOSITY, bp.UNKNOWN_COMMAND, opaque=5))
        sync(c)


# -- STAT

def bin_stats(c, key=b"", opaque=0):
    """[(name, value)] of one STAT request; every packet checked whole."""
    c.send(request(bp.STAT, key, opaque=opaque))
    out = []
    while True:
        r = bp.read_response(c)
        assert r.raw == response(bp.STAT, key=r.key, value=r.value, opaque=opaque), r
        if not r.key and not r.value:
            return out
        out.append((r.key.decode(), r.value.decode()))


def text_stat_names(srv, sub=""):
    with srv.connect() as t:
        return list(t.stats(sub))


def test_stat_general_names_match_text_stats(start_server):
    srv = start_server()
    with bconn(srv) as c:
        store(c, b"sg_k", b"v")
        names_bin = [n for n, v in bin_stats(c, opaque=77)]
        names_text = text_stat_names(srv)
        assert names_bin == names_text
        stats = dict(bin_stats(c))
        assert stats["curr_items"] == "1" and stats["pid"] == str(srv.proc.pid)
        sync(c)


@pytest.mark.parametrize("sub", ["settings", "items", "slabs"])
def test_stat_groups_match_text(start_server, sub):
    srv = start_server()
    with bconn(srv) as c:
        store(c, b"sgr_k", b"v")
        assert [n for n, v in bin_stats(c, sub.encode(), opaque=3)] == text_stat_names(srv, sub)
        sync(c)


def test_stat_settings_is_a_prefix_match(start_server):
    srv = start_server()
    with bconn(srv) as c:
        a = bin_stats(c, b"settings")
        b = bin_stats(c, b"settingsXYZ")
        assert [n for n, v in a] == [n for n, v in b] and a[0] == ("maxbytes", "67108864")
        sync(c)


def test_stat_sizes(start_server):
    srv = start_server()
    with bconn(srv) as c:
        assert bin_stats(c, b"sizes") == [("sizes_status", "disabled")]
        # sizes_enable/sizes_disable: one packet and no terminator
        for key, status in ((b"sizes_enable", b"enabled"), (b"sizes_disable", b"disabled"),
                            (b"sizes_enable", b"enabled")):
            call(c, request(bp.STAT, key, opaque=8),
                 response(bp.STAT, key=b"sizes_status", value=status, opaque=8))
            sync(c)
        store(c, b"sz_k", b"v" * 10)
        sizes = bin_stats(c, b"sizes")
        with srv.connect() as t:
            assert [(n, v) for n, v in sizes] == list(t.stats("sizes").items())
        assert len(sizes) == 1 and sizes[0][1] == "1"


def test_stat_reset(start_server):
    srv = start_server()
    with bconn(srv) as c:
        call(c, request(bp.GET, b"sr_miss"), error(bp.GET, bp.KEY_ENOENT))
        assert srv.stats()["get_misses"] == "1"
        assert bin_stats(c, b"reset", opaque=2) == []
        assert srv.stats()["get_misses"] == "0"
        assert bin_stats(c, b"resetXYZ") == []
        sync(c)


def test_stat_detail(start_server):
    srv = start_server()
    with bconn(srv) as c:
        assert bin_stats(c, b"detail dump", opaque=1) == [("detailed", "END\r\n")]
        assert bin_stats(c, b"detail on") == []
        call(c, request(bp.GET, b"dt:one"), error(bp.GET, bp.KEY_ENOENT))
        store(c, b"dt:two", b"v")
        assert bin_stats(c, b"detail dump") == [
            ("detailed", "PREFIX dt get 1 hit 0 set 1 del 0\r\nEND\r\n")]
        with srv.connect() as t:
            t.cmd("stats detail dump")
            assert t.readline() == b"PREFIX dt get 1 hit 0 set 1 del 0"
        assert bin_stats(c, b"detail off") == []
        call(c, request(bp.GET, b"dt:three"), error(bp.GET, bp.KEY_ENOENT))
        assert bin_stats(c, b"detail dump") == [
            ("detailed", "PREFIX dt get 1 hit 0 set 1 del 0\r\nEND\r\n")]
        # "detail" + anything but " on"/" off"/" dump": Not found (the
        # NOOP behind keeps the bytes after the key deterministic)
        for key in (b"detail", b"detail o", b"detailx", b"detail of"):
            c.send(request(bp.STAT, key, opaque=4) + request(bp.NOOP, opaque=5))
            expect(c, error(bp.STAT, bp.KEY_ENOENT, opaque=4), response(bp.NOOP, opaque=5))
        sync(c)


@pytest.mark.parametrize("key", [b"conns", b"extstore", b"cachedump", b"cachedump 1 1",
                                 b"itemsx", b"slabsx", b"sizesx", b"sizes_enablex",
                                 b"settin", b"res", b"nonesuch", b"d"])
def test_stat_unknown_groups(server, key):
    # the NOOP in the same write: the server's prefix matches may read past
    # a short key (memcached compares "reset", "settings", "detail on" with
    # whatever bytes follow it in its buffer)
    with bconn(server) as c:
        c.send(request(bp.STAT, key, opaque=6) + request(bp.NOOP, opaque=7))
        expect(c, error(bp.STAT, bp.KEY_ENOENT, opaque=6), response(bp.NOOP, opaque=7))
        sync(c)


# -- keys

@pytest.mark.parametrize("key", [b"sp ace", b"cr\rlf\n", b"nul\0byte", b"\r\n",
                                 b"\x80\xff", b"x" * 250])
def test_arbitrary_key_bytes(server, key):
    with bconn(server) as c:
        cas = store(c, key, b"val:" + key, flags=1)
        call(c, request(bp.GETK, key), hit(bp.GETK, key, b"val:" + key, 1, cas))
        call(c, request(bp.DELETE, key), response(bp.DELETE))
        call(c, request(bp.GETK, key), key_miss(bp.GETK, key))


@pytest.mark.parametrize("op,extras", [(bp.GET, b""), (bp.SET, bp.store_extras()),
                                       (bp.DELETE, b""), (bp.TOUCH, bp.exptime_extras(1)),
                                       (bp.INCREMENT, bp.arith_extras())])
def test_key_of_251_bytes_closes(server, op, extras):
    with bconn(server) as c:
        c.send(request(op, b"k" * 251, extras, opaque=3) + request(bp.NOOP))
        expect(c, error(op, bp.EINVAL, opaque=3))
        c.expect_closed()


def test_key_length_checked_once_key_bytes_arrive(server):
    with bconn(server) as c:
        pkt = request(bp.GET, b"k" * 300, opaque=1)
        c.send(pkt[:-1])
        assert link_state(c) == "open"
        c.send(pkt[-1:])
        expect(c, error(bp.GET, bp.EINVAL, opaque=1))
        c.expect_closed()


# --------------------------------------------------------------------------
# 2. quiet pipelines

def test_getkq_pipeline(server):
    keys = [b"gp_%d" % i for i in range(20)]
    with bconn(server) as c:
        cas = {k: store(c, k, b"v" + k, flags=i) for i, k in enumerate(keys) if int(k[3:]) % 3 == 0}
        c.send(b"".join(request(bp.GETKQ, k, opaque=i) for i, k in enumerate(keys))
               + request(bp.NOOP, opaque=999))
        want = [hit(bp.GETKQ, k, b"v" + k, i, cas[k], opaque=i)
                for i, k in enumerate(keys) if k in cas]
        expect(c, *want)
        expect(c, response(bp.NOOP, opaque=999))
        c.assert_quiet(0)
        # GETQ too (no key in the hits)
        c.send(b"".join(request(bp.GETQ, k, opaque=i) for i, k in enumerate(keys))
               + request(bp.NOOP, opaque=998))
        expect(c, *[hit(bp.GETQ, k, b"v" + k, i, cas[k], opaque=i)
                    for i, k in enumerate(keys) if k in cas])
        expect(c, response(bp.NOOP, opaque=998))
        sync(c)


def test_setq_pipeline_with_errors_in_the_middle(server):
    with bconn(server) as c:
        store(c, b"sp_exists", b"old")
        pkts = [request(bp.SETQ, b"sp_%d" % i, bp.store_extras(i, 0), b"val%d" % i, opaque=i)
                for i in range(10)]
        pkts.insert(3, request(bp.ADDQ, b"sp_exists", bp.store_extras(), b"x", opaque=100))
        pkts.insert(7, request(bp.REPLACEQ, b"sp_nokey", bp.store_extras(), b"x", opaque=101))
        pkts.insert(9, request(bp.APPENDQ, b"sp_nokey", value=b"x", opaque=102))
        pkts.insert(10, request(bp.DELETEQ, b"sp_nokey", opaque=103))
        pkts.insert(11, request(bp.INCREMENTQ, b"sp_exists", bp.arith_extras(), opaque=104))
        c.send(b"".join(pkts) + request(bp.GETK, b"sp_9", opaque=200))
        expect(c, error(bp.ADDQ, bp.KEY_EEXISTS, opaque=100),
               error(bp.REPLACEQ, bp.KEY_ENOENT, opaque=101),
               error(bp.APPENDQ, bp.NOT_STORED, opaque=102),
               error(bp.DELETEQ, bp.KEY_ENOENT, opaque=103),
               error(bp.INCREMENTQ, bp.DELTA_BADVAL, opaque=104))
        r = bp.read_response(c)
        assert r.raw == hit(bp.GETK, b"sp_9", b"val9", 9, r.cas, opaque=200)
        sync(c)
        for i in range(10):
            assert text_value(server, b"sp_%d" % i) == b"val%d" % i


def test_opaque_is_echoed_per_packet(server):
    with bconn(server) as c:
        store(c, b"op_k", b"1")
        c.send(request(bp.GET, b"op_k", opaque=0x01020304)
               + request(bp.GET, b"op_nokey", opaque=0xA0B0C0D0)
               + request(bp.INCREMENT, b"op_k", bp.arith_extras(), opaque=0xFFFFFFFF)
               + request(bp.VERSION, opaque=0)
               + request(bp.NOOP, opaque=7))
        opaques = [bp.read_response(c).opaque for _ in range(5)]
        assert opaques == [0x01020304, 0xA0B0C0D0, 0xFFFFFFFF, 0, 7]
        stats = bin_stats(c, b"items", opaque=0x12345)
        assert stats    # every packet checked for the opaque in bin_stats
        sync(c)


def test_reply_header_ignores_datatype_and_vbucket(server):
    with bconn(server) as c:
        c.send(request(bp.SET, b"dv_k", bp.store_extras(), b"v", datatype=0x7F, vbucket=0xBEEF))
        r = bp.read_response(c)
        assert r.raw == response(bp.SET, cas=r.cas)
        call(c, request(bp.GET, b"dv_k", datatype=1, vbucket=2), hit(bp.GET, b"", b"v", 0, r.cas))


# --------------------------------------------------------------------------
# 3. bad headers

def test_wrong_magic_closes_without_reply(server):
    with bconn(server) as c:
        c.send(request(bp.NOOP, magic=0x81) + request(bp.NOOP))
        c.expect_closed()
    with bconn(server) as c:
        # nothing happens before 24 bytes have arrived
        c.send(b"\x00" * 23)
        assert link_state(c) == "open"
        c.send(b"\x00")
        c.expect_closed()


def test_wrong_magic_drops_queued_replies(server):
    """A pipelined GETQ hit before the bad header is never sent."""
    with bconn(server) as c:
        store(c, b"wm_k", b"v")
        c.send(request(bp.GETQ, b"wm_k") + request(bp.NOOP, magic=0))
        c.expect_closed()


@pytest.mark.parametrize("op,keylen,extlen,bodylen", [
    (bp.GET, 5, 0, 2), (bp.SET, 3, 8, 10), (bp.NOOP, 0, 1, 0), (0x40, 4, 0, 3),
    (bp.DELETE, 1, 0, 0)])
def test_lengths_beyond_body_are_unknown_command(server, op, keylen, extlen, bodylen):
    """keylen > bodylen or keylen + extlen > bodylen: Unknown command, then
    close; the server first waits for header + extras + key."""
    with bconn(server) as c:
        pkt = request(op, b"k" * keylen, b"e" * extlen, keylen=keylen, extlen=extlen,
                      bodylen=bodylen, opaque=11)
        c.send(pkt[:-1] if len(pkt) > 24 else pkt)
        if len(pkt) > 24:
            assert link_state(c) == "open"
            c.send(pkt[-1:])
        expect(c, error(op, bp.UNKNOWN_COMMAND, opaque=11))
        c.expect_closed()


# (opcode, extras, key, value) shapes the server refuses with Invalid arguments
BAD_SHAPES = [
    (bp.GET, b"", b"", b""), (bp.GET, b"e" * 4, b"k", b""), (bp.GET, b"", b"k", b"v"),
    (bp.GETQ, b"", b"", b""), (bp.GETK, b"", b"k", b"v"), (bp.GETKQ, b"e", b"k", b""),
    (bp.SET, b"", b"k", b"v"), (bp.SET, b"e" * 8, b"", b"v"), (bp.SET, b"e" * 4, b"k", b"v"),
    (bp.SETQ, b"e" * 9, b"k", b"v"), (bp.ADD, b"", b"k", b"v"), (bp.ADDQ, b"e" * 8, b"", b""),
    (bp.REPLACE, b"e" * 7, b"k", b"v"), (bp.REPLACEQ, b"", b"k", b""),
    (bp.DELETE, b"", b"", b""), (bp.DELETE, b"", b"k", b"v"), (bp.DELETE, b"e" * 4, b"k", b""),
    (bp.DELETEQ, b"", b"", b""),
    (bp.INCREMENT, b"", b"k", b""), (bp.INCREMENT, b"e" * 20, b"", b""),
    (bp.INCREMENT, b"e" * 20, b"k", b"v"), (bp.DECREMENT, b"e" * 19, b"k", b""),
    (bp.INCREMENTQ, b"e" * 21, b"k", b""), (bp.DECREMENTQ, b"", b"", b""),
    (bp.QUIT, b"", b"k", b""), (bp.QUIT, b"e", b"", b""), (bp.QUITQ, b"", b"", b"v"),
    (bp.FLUSH, b"e" * 2, b"", b""), (bp.FLUSH, b"", b"k", b""), (bp.FLUSH, b"e" * 4, b"", b"v"),
    (bp.FLUSHQ, b"e" * 8, b"", b""),
    (bp.NOOP, b"", b"k", b""), (bp.NOOP, b"", b"", b"v"), (bp.NOOP, b"e", b"", b""),
    (bp.VERSION, b"", b"k", b""), (bp.VERSION, b"", b"", b"v"),
    (bp.APPEND, b"", b"", b"v"), (bp.APPEND, b"e" * 8, b"k", b"v"),
    (bp.PREPEND, b"", b"", b""), (bp.APPENDQ, b"e", b"k", b"v"), (bp.PREPENDQ, b"", b"", b"v"),
    (bp.STAT, b"e" * 4, b"", b""), (bp.STAT, b"e", b"k", b""),
    (bp.TOUCH, b"", b"k", b""), (bp.TOUCH, b"e" * 4, b"", b""), (bp.TOUCH, b"e" * 8, b"k", b""),
    (bp.GAT, b"", b"k", b""), (bp.GATQ, b"e" * 4, b"", b""), (bp.GATK, b"e" * 3, b"k", b""),
    (bp.GATKQ, b"", b"k", b""),
    (bp.SASL_LIST_MECHS, b"", b"k", b""), (bp.SASL_LIST_MECHS, b"", b"", b"v"),
    (bp.SASL_AUTH, b"", b"", b"v"), (bp.SASL_AUTH, b"e", b"k", b""),
    (bp.SASL_STEP, b"", b"", b""),
]


@pytest.mark.parametrize("op,extras,key,value", BAD_SHAPES,
                         ids=["%02x-e%d-k%d-v%d" % (o, len(e), len(k), len(v))
                              for o, e, k, v in BAD_SHAPES])
def test_bad_shape_is_invalid_arguments_then_close(server, op, extras, key, value):
    with bconn(server) as c:
        c.send(request(op, key, extras, value, opaque=0xAB) + request(bp.NOOP))
        expect(c, error(op, bp.EINVAL, opaque=0xAB))
        c.expect_closed()


# VERBOSITY, the range opcodes 0x30..0x3C, TAP/vbucket ones and beyond
UNKNOWN = [0x1B, 0x1F, 0x25, 0x30, 0x31, 0x36, 0x3C, 0x3D, 0x40, 0x41, 0x80,
           0x89, 0xFE, 0xFF]


@pytest.mark.parametrize("op", UNKNOWN, ids=["%02x" % o for o in UNKNOWN])
def test_unknown_opcodes(server, op):
    with bconn(server) as c:
        c.send(request(op, opaque=op) + request(bp.NOOP, opaque=1))
        expect(c, error(op, bp.UNKNOWN_COMMAND, opaque=op), response(bp.NOOP, opaque=1))
        # a value alone is swallowed exactly: in step
        c.send(request(op, value=b"v" * 100, opaque=2) + request(bp.NOOP, opaque=3))
        expect(c, error(op, bp.UNKNOWN_COMMAND, opaque=2), response(bp.NOOP, opaque=3))
        sync(c)


@pytest.mark.parametrize("extras,key,value", [(b"", b"abc", b""), (b"EEEE", b"", b"vv"),
                                              (b"E" * 8, b"key", b"value")])
def test_unknown_opcode_swallow_quirk(server, extras, key, value):
    """The server swallows bodylen more bytes after having read header,
    extras and key: extlen + keylen bytes of what follows are eaten. Pad
    bytes after the request keep the stream in step."""
    pad = b"P" * (len(extras) + len(key))
    with bconn(server) as c:
        pkt = request(0x50, key, extras, value, opaque=5)
        c.send(pkt)
        # no reply until the swallow is complete
        assert link_state(c) == "open"
        c.send(pad[:-1])
        assert link_state(c) == "open"
        c.send(pad[-1:] + request(bp.NOOP, opaque=6))
        expect(c, error(0x50, bp.UNKNOWN_COMMAND, opaque=5), response(bp.NOOP, opaque=6))
        sync(c)


def test_unknown_opcode_with_key_eats_the_next_header(server):
    """Without pad bytes the next packet loses its first keylen bytes; what
    is left fails the magic check and the connection closes, the Unknown
    command reply unsent."""
    with bconn(server) as c:
        c.send(request(0x50, b"abc", opaque=5) + request(bp.NOOP, opaque=6)
               + request(bp.NOOP, opaque=7))
        c.expect_closed()


@pytest.mark.parametrize("op", [bp.SASL_AUTH, bp.SASL_STEP])
def test_sasl_opcodes_without_sasl(server, op):
    """Without -S, SASL_AUTH/SASL_STEP answer Unknown command and swallow
    exactly their value: the stream stays in step."""
    with bconn(server) as c:
        c.send(request(op, b"PLAIN", value=b"\0user\0pass", opaque=op) + request(bp.NOOP, opaque=1))
        expect(c, error(op, bp.UNKNOWN_COMMAND, opaque=op), response(bp.NOOP, opaque=1))
        call(c, request(bp.SASL_LIST_MECHS, opaque=2), error(bp.SASL_LIST_MECHS, bp.UNKNOWN_COMMAND, opaque=2))
        sync(c)


@pytest.mark.parametrize("op,extras", [(bp.STAT, b""), (bp.TOUCH, bp.exptime_extras(10)),
                                       (bp.GAT, bp.exptime_extras(10)),
                                       (bp.GATQ, bp.exptime_extras(10)),
                                       (bp.GATK, bp.exptime_extras(10)),
                                       (bp.GATKQ, bp.exptime_extras(10))])
def test_value_bytes_of_stat_touch_gat_are_parsed_as_the_next_packet(server, op, extras):
    key = b"" if op == bp.STAT else b"vb_%d" % op
    with bconn(server) as c:
        if op != bp.STAT:
            cas = store(c, key, b"val", flags=2)
        c.send(request(op, key or b"items", extras, value=request(bp.NOOP, opaque=99),
                       opaque=1))
        if op == bp.STAT:
            while bp.read_response(c).raw != response(bp.STAT, opaque=1):
                pass
        else:
            expect(c, hit(op, key, b"val", 2, cas, opaque=1) if op != bp.TOUCH
                   else response(bp.TOUCH, extras=bp.flags_extras(2), opaque=1, cas=cas))
        expect(c, response(bp.NOOP, opaque=99))
        sync(c)


def test_huge_declared_body_is_swallowed_not_buffered(server):
    """A SET whose value is over the item limit: Too large once the whole
    value has been read and thrown away, in step afterwards; the server
    must not keep the 100 MB."""
    total = 100 * 1024 * 1024
    rss_before = rss_kib(server.proc.pid)
    with bconn(server) as c, bconn(server) as other:
        c.send(request(bp.SET, b"huge_k", bp.store_extras(), bodylen=8 + 6 + total, opaque=42))
        chunk = b"z" * (1 << 20)
        for i in range(total // len(chunk)):
            c.send(chunk)
            if i == 50:
                # half-way: no reply yet, and other connections are served
                assert link_state(c, 0.05) == "open"
                sync(other)
        c.send(request(bp.NOOP, opaque=43))
        expect(c, error(bp.SET, bp.E2BIG, opaque=42), response(bp.NOOP, opaque=43))
        call(c, request(bp.GET, b"huge_k"), error(bp.GET, bp.KEY_ENOENT))
    grown = rss_kib(server.proc.pid) - rss_before
    assert grown < 50 * 1024, "server grew by %d KiB while swallowing 100 MiB" % grown


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def test_half_a_header_then_close(server):
    c = bconn(server)
    c.send(request(bp.GET, b"hh_k")[:12])
    c.close()
    c = server.connect()
    c.send(request(bp.GET, b"hh_k")[:30])    # header and part of the key
    c.close()
    with bconn(server) as c:
        call(c, request(bp.GET, b"hh_k"), error(bp.GET, bp.KEY_ENOENT))


def test_request_split_in_single_bytes(server):
    with bconn(server) as c:
        pkt = (request(bp.SET, b"sb_k", bp.store_extras(5, 0), b"value", opaque=1)
               + request(bp.GETK, b"sb_k", opaque=2))
        for i in range(len(pkt)):
            c.send(pkt[i:i + 1])
        r = bp.read_response(c)
        assert r.raw == response(bp.SET, opaque=1, cas=r.cas)
        expect(c, hit(bp.GETK, b"sb_k", b"value", 5, r.cas, opaque=2))


# --------------------------------------------------------------------------
# 4. stats counters moved by binary commands

COUNTERS = ("cmd_get", "get_hits", "get_misses", "cmd_touch", "touch_hits",
            "touch_misses", "cmd_set", "incr_hits", "incr_misses", "decr_hits",
            "decr_misses", "delete_hits", "delete_misses", "cas_hits",
            "cas_misses", "cas_badval", "cmd_flush", "curr_items", "total_items")


def counters(srv):
    s = srv.stats()
    return {k: int(s[k]) for k in COUNTERS}


E = bp.store_extras()
COUNTED = [
    ("set", [request(bp.SET, b"a", E, b"1")], {"cmd_set": 1, "curr_items": 1, "total_items": 1}),
    ("setq", [request(bp.SETQ, b"a", E, b"1")], {"cmd_set": 1, "total_items": 1}),
    ("get hit", [request(bp.GET, b"a")], {"cmd_get": 1, "get_hits": 1}),
    ("getkq hit", [request(bp.GETKQ, b"a")], {"cmd_get": 1, "get_hits": 1}),
    ("get miss", [request(bp.GET, b"zz")], {"cmd_get": 1, "get_misses": 1}),
    ("getq miss", [request(bp.GETQ, b"zz")], {"cmd_get": 1, "get_misses": 1}),
    ("touch hit", [request(bp.TOUCH, b"a", bp.exptime_extras(100))], {"cmd_touch": 1, "touch_hits": 1}),
    ("touch miss", [request(bp.TOUCH, b"zz", bp.exptime_extras(100))], {"cmd_touch": 1, "touch_misses": 1}),
    ("gat hit", [request(bp.GAT, b"a", bp.exptime_extras(100))], {"cmd_touch": 1, "touch_hits": 1}),
    ("gatkq miss", [request(bp.GATKQ, b"zz", bp.exptime_extras(100))], {"cmd_touch": 1, "touch_misses": 1}),
    ("incr hit", [request(bp.INCREMENT, b"a", bp.arith_extras(1, 0, 0))], {"incr_hits": 1}),
    ("decr hit", [request(bp.DECREMENT, b"a", bp.arith_extras(1, 0, 0))], {"decr_hits": 1}),
    ("incr creates", [request(bp.INCREMENT, b"n1", bp.arith_extras(1, 0, 0))],
     {"curr_items": 1, "total_items": 1}),
    ("incr no create", [request(bp.INCREMENT, b"n2", bp.arith_extras(1, 0, 0xFFFFFFFF))], {"incr_misses": 1}),
    ("decr no create", [request(bp.DECREMENT, b"n2", bp.arith_extras(1, 0, 0xFFFFFFFF))], {"decr_misses": 1}),
    ("incr cas mismatch", [request(bp.INCREMENT, b"a", bp.arith_extras(1, 0, 0), cas=1 << 60)], {}),
    ("incr non-numeric", [request(bp.SET, b"s", E, b"x"), request(bp.INCREMENT, b"s", bp.arith_extras())],
     {"cmd_set": 1, "curr_items": 1, "total_items": 1}),
    ("delete hit", [request(bp.DELETE, b"n1")], {"delete_hits": 1, "curr_items": -1}),
    ("delete miss", [request(bp.DELETE, b"n1")], {"delete_misses": 1}),
    ("delete cas mismatch", [request(bp.DELETE, b"a", cas=1 << 60)], {}),
    ("set cas mismatch", [request(bp.SET, b"a", E, b"v", cas=1 << 60)], {"cmd_set": 1, "cas_badval": 1}),
    ("set cas missing", [request(bp.SET, b"zz", E, b"v", cas=1 << 60)], {"cmd_set": 1, "cas_misses": 1}),
    ("add exists", [request(bp.ADD, b"a", E, b"v")], {"cmd_set": 1}),
    ("replace miss", [request(bp.REPLACE, b"zz", E, b"v")], {"cmd_set": 1}),
    ("append", [request(bp.APPEND, b"a", value=b"v")], {"cmd_set": 1, "total_items": 1}),
    ("append miss", [request(bp.APPEND, b"zz", value=b"v")], {"cmd_set": 1}),
    ("noop version stat", [request(bp.NOOP), request(bp.VERSION), request(bp.STAT, b"items")], {}),
    ("unknown", [request(0x40)], {}),
    ("flush", [request(bp.FLUSH)], {"cmd_flush": 1}),
    ("get flushed", [request(bp.GET, b"a")], {"cmd_get": 1, "get_misses": 1}),
]


# counters that may or may not move, depending on the server's timing:
# incr/decr replace the item (total_items) when it is busy at that moment
# instead of changing it in place; flushed items are reclaimed (curr_items)
# whenever the LRU maintainer gets to them
UNSTEADY = {"incr hit": ("total_items",), "decr hit": ("total_items",),
            "flush": ("curr_items",), "get flushed": ("curr_items",)}


def test_stats_counters(start_server):
    srv = start_server()
    with bconn(srv) as c:
        for name, pkts, delta in COUNTED:
            before = counters(srv)
            for p in pkts:
                c.send(p)
            sync_after_replies(c)
            after = counters(srv)
            got = {k: after[k] - before[k] for k in COUNTERS if after[k] != before[k]}
            for k in UNSTEADY.get(name, ()):
                got.pop(k, None)
            assert got == delta, name


def test_cas_hit_counted(start_server):
    srv = start_server()
    with bconn(srv) as c:
        cas = store(c, b"ch_k", b"v")
        before = counters(srv)
        store(c, b"ch_k", b"w", cas=cas)
        after = counters(srv)
        assert after["cas_hits"] - before["cas_hits"] == 1
        assert after["cmd_set"] - before["cmd_set"] == 1


def sync_after_replies(c):
    """Reads replies up to a NOOP sent now."""
    c.send(request(bp.NOOP, opaque=SYNC_OPAQUE))
    for _ in range(1000):
        r = bp.read_response(c)
        if r.opcode == bp.NOOP and r.opaque == SYNC_OPAQUE:
            return
    raise WireError("no NOOP reply")


# --------------------------------------------------------------------------
# 5. protocol selection

def test_binary_connection_never_reads_text(server):
    c = bconn(server)
    c.send(b"version\r\n")            # 9 bytes of a 24-byte header
    assert link_state(c) == "open"
    c.send(b"get aaaaaaaaaa\r\n")     # now past 24 bytes: bad magic
    assert link_state(c) == "closed"
    c.close()


def test_text_connection_reads_binary_as_text(server):
    with server.connect() as c:
        assert c.call("version").startswith("VERSION ")
        # NOOP's opcode byte is "\n": the line "\x80\n", then 22 NULs
        c.send(request(bp.NOOP))
        c.expect(b"ERROR\r\n")
        c.send(b"\r\n")
        c.expect(b"ERROR\r\n")
        assert c.call("version").startswith("VERSION ")


@pytest.mark.parametrize("flags,listen", [(("-B", "ascii"), True),
                                          (("-l", "proto[ascii]:127.0.0.1"), False)])
def test_ascii_only_server_reads_binary_as_text(start_server, flags, listen):
    srv = start_server(*flags, listen=listen)
    with srv.connect() as c:
        # NOOP's opcode byte is "\n": the line "\x80\n", then 22 NULs
        c.send(request(bp.NOOP))
        c.expect(b"ERROR\r\n")
        c.send(b"\r\n")
        c.expect(b"ERROR\r\n")
        c.send(request(bp.GET, b"foo"))       # no "\n" in it: waits for one
        assert link_state(c) == "open"
        c.send(b"\r\n")
        c.expect(b"ERROR\r\n")
        assert c.call("version").startswith("VERSION ")


@pytest.mark.parametrize("flags,listen", [(("-B", "binary"), True),
                                          (("-l", "proto[binary]:127.0.0.1"), False)])
def test_binary_only_server_closes_text(start_server, server, flags, listen):
    with server.connect() as t:
        version = t.call("version")[len("VERSION "):].encode()
    srv = start_server(*flags, listen=listen)
    c = srv.connect()
    c.send(b"version\r\n" + b"x" * 14)
    assert link_state(c) == "open"
    c.send(b"x")
    assert link_state(c) == "closed"
    c.close()
    with srv.connect() as c:
        call(c, request(bp.VERSION, opaque=1), response(bp.VERSION, value=version, opaque=1))
        sync(c)


def test_negotiating_listener(start_server):
    srv = start_server("-l", "proto[negotiating]:127.0.0.1", listen=False)
    with srv.connect() as c:
        assert c.call("version").startswith("VERSION ")
    with bconn(srv) as c:
        call(c, request(bp.GET, b"nl_k"), error(bp.GET, bp.KEY_ENOENT))


@pytest.mark.memoria_only
def test_unknown_listener_protocol_is_refused():
    """memcached takes proto[auto] (any unknown name) as the -B protocol;
    memoria refuses the name (docs/COMPAT.md#tcp-listeners)."""
    code, out, err = wire.run_binary(["-l", "proto[auto]:127.0.0.1", "-p",
                                      str(wire.free_port()), "-U", "0"]
                                     + wire.user_args())
    assert code != 0
    assert 'Invalid protocol spec: "auto"' in err, err


def test_binary_and_text_share_items(server):
    with bconn(server) as c, server.connect() as t:
        assert t.set(b"sh_k", b"from text", flags=6) == "STORED"
        cas = t.gets(b"sh_k")[2]
        call(c, request(bp.GET, b"sh_k"), hit(bp.GET, b"", b"from text", 6, cas))
        cas2 = store(c, b"sh_k", b"from binary", flags=7)
        assert t.gets(b"sh_k") == (7, b"from binary", cas2)


# --------------------------------------------------------------------------
# 6. unix socket and UDP

def test_binary_over_unix_socket(_used):
    with tempfile.TemporaryDirectory(prefix="memtest-binunix-") as d:
        srv = UnixServer(os.path.join(d, "mc.sock"))
        _used.private.append(srv)
        srv.start()
        with bconn(srv) as c:
            cas = store(c, b"ux_k", b"unix value", flags=3)
            call(c, request(bp.GETK, b"ux_k", opaque=2), hit(bp.GETK, b"ux_k", b"unix value", 3, cas, opaque=2))
            c.send(request(bp.GETKQ, b"ux_nokey") + request(bp.GETKQ, b"ux_k", opaque=3))
            expect(c, hit(bp.GETKQ, b"ux_k", b"unix value", 3, cas, opaque=3))
            c.send(request(bp.NOOP, magic=0x00) + request(bp.NOOP))
            c.expect_closed()
        with srv.connect() as t:
            assert t.get(b"ux_k") == b"unix value"


UDP_HDR = struct.Struct(">HHHH")


class Udp:
    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(wire.IO_TIMEOUT)
        self.sock.connect(("127.0.0.1", port))

    def close(self):
        self.sock.close()

    def send(self, rid, payload):
        self.sock.send(UDP_HDR.pack(rid, 0, 1, 0) + payload)

    def recv(self):
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            raise WireError("no datagram within %ss" % wire.IO_TIMEOUT)
        return UDP_HDR.unpack(d[:8]), d[8:]

    def message(self, rid):
        """One reply message: its datagrams joined."""
        h, payload = self.recv()
        assert h[0] == rid and h[1] == 0 and h[3] == 0, h
        parts = [payload]
        for seq in range(1, h[2]):
            hh, p = self.recv()
            assert hh == (rid, seq, h[2], 0), (hh, h)
            parts.append(p)
        return b"".join(parts)

    def quiet(self, grace=0.2):
        ready, _, _ = select.select([self.sock], [], [], grace)
        if ready:
            raise WireError("unexpected datagram %r" % (self.sock.recv(65536),))


@pytest.fixture
def udp(start_server):
    """A private server on one worker thread (-t 1: replies in request
    order) with UDP on; (server, client)."""
    port = free_udp_port()
    srv = start_server("-U", str(port), "-t", "1")
    u = Udp(port)
    yield srv, u
    u.close()


def test_binary_over_udp(udp):
    srv, u = udp
    u.send(1, request(bp.SET, b"ud_k", bp.store_extras(5, 0), b"uval", opaque=3))
    r = bp.Response(u.message(1))
    assert r.raw == response(bp.SET, opaque=3, cas=r.cas)
    cas = r.cas
    u.send(2, request(bp.GETK, b"ud_k", opaque=4))
    assert u.message(2) == hit(bp.GETK, b"ud_k", b"uval", 5, cas, opaque=4)
    u.send(3, request(bp.GET, b"ud_nokey", opaque=5))
    assert u.message(3) == error(bp.GET, bp.KEY_ENOENT, opaque=5)
    # two requests in one datagram: two reply messages
    u.send(4, request(bp.GET, b"ud_k", opaque=6) + request(bp.NOOP, opaque=7))
    assert u.message(4) == hit(bp.GET, b"", b"uval", 5, cas, opaque=6)
    assert u.message(4) == response(bp.NOOP, opaque=7)
    # a large value spans datagrams of one message
    big = bytes(i % 251 for i in range(3000))
    u.send(5, request(bp.SET, b"ud_big", bp.store_extras(), big))
    cas_big = bp.Response(u.message(5)).cas
    u.send(6, request(bp.GET, b"ud_big", opaque=8))
    assert u.message(6) == hit(bp.GET, b"", big, 0, cas_big, opaque=8)
    # STAT: the whole list (terminator included) is one message
    u.send(7, request(bp.STAT, b"settings", opaque=9))
    data = u.message(7)
    pkts = []
    while data:
        n = 24 + struct.unpack(">I", data[8:12])[0]
        pkts.append(bp.Response(data[:n]))
        data = data[n:]
    assert [p.key.decode() for p in pkts[:-1]] == text_stat_names(srv, "settings")
    assert pkts[-1].raw == response(bp.STAT, opaque=9)
    # errors and the other protocol per datagram
    u.send(8, request(0x40, opaque=10))
    assert u.message(8) == error(0x40, bp.UNKNOWN_COMMAND, opaque=10)
    u.send(9, b"get ud_k\r\n")
    assert u.message(9) == b"VALUE ud_k 5 4\r\nuval\r\nEND\r\n"
    u.send(10, request(bp.QUIT, opaque=11))
    assert u.message(10) == response(bp.QUIT, opaque=11)
    u.send(11, request(bp.NOOP, opaque=12))
    assert u.message(11) == response(bp.NOOP, opaque=12)
    u.quiet()


def test_binary_quiet_over_udp(udp):
    """A suppressed quiet reply still sends an empty message: one datagram
    of only the frame header, total 0."""
    srv, u = udp
    u.send(1, request(bp.SET, b"uq_k", bp.store_extras(), b"v"))
    cas = bp.Response(u.message(1)).cas
    u.send(2, request(bp.GETKQ, b"uq_nokey", opaque=1) + request(bp.NOOP, opaque=2))
    assert u.recv() == ((2, 0, 0, 0), b"")
    assert u.message(2) == response(bp.NOOP, opaque=2)
    u.send(3, request(bp.SETQ, b"uq_k2", bp.store_extras(), b"w"))
    assert u.recv() == ((3, 0, 0, 0), b"")
    u.send(4, request(bp.GETKQ, b"uq_k", opaque=3))
    assert u.message(4) == hit(bp.GETKQ, b"uq_k", b"v", 0, cas, opaque=3)
    u.send(5, request(bp.DELETEQ, b"uq_nokey", opaque=4))
    assert u.message(5) == error(bp.DELETEQ, bp.KEY_ENOENT, opaque=4)
    u.quiet()


def test_short_binary_datagram_is_ignored(udp):
    """Less than a header: no reply, and nothing left over for the next
    datagram."""
    srv, u = udp
    u.send(1, request(bp.NOOP)[:10])
    u.send(2, request(bp.NOOP, opaque=3))
    assert u.message(2) == response(bp.NOOP, opaque=3)
    u.quiet()


# --------------------------------------------------------------------------
# 8. text, meta and binary connections on the same keys

THREADS = 6
OPS = 400
TIME_LIMIT = 60.0


def make_value(key, version):
    body = b"%s|%d|" % (key, version)
    return body + b"%08x" % zlib.crc32(body)


def check_value(key, value):
    """A stored value (maybe with appended "+" tails): must name its key
    and carry a good checksum."""
    core = value.rstrip(b"+")
    body, crc = core[:-8], core[-8:]
    assert b"%08x" % zlib.crc32(body) == crc, (key, value[:100])
    assert body.split(b"|")[0] == key, (key, value[:100])


@pytest.mark.threaded
def test_mixed_protocols_on_shared_keys(start_server):
    srv = start_server()
    keys = [b"mx_%d" % i for i in range(12)]
    with srv.connect() as t:
        for k in keys:
            assert t.set(k, make_value(k, 0)) == "STORED"
        assert t.set("mx_n", "0") == "STORED"
    errors = []
    incrs = [0] * THREADS
    deadline = time.monotonic() + TIME_LIMIT

    def text_worker(t, rnd, c):
        for op in range(OPS):
            assert time.monotonic() < deadline, "out of time"
            k = rnd.choice(keys)
            r = rnd.random()
            if r < 0.3:
                assert c.set(k, make_value(k, op)) == "STORED"
            elif r < 0.6:
                v = c.get(k)
                if v is not None:
                    check_value(k, v)
            elif r < 0.7:
                assert c.store("append", k, b"+") in ("STORED", "NOT_STORED")
            elif r < 0.8:
                assert c.call("delete %s" % k.decode()) in ("DELETED", "NOT_FOUND")
            else:
                line = c.call("incr mx_n 1")
                assert line.isdigit(), line
                incrs[t] += 1
        assert c.call("version").startswith("VERSION ")

    def meta_worker(t, rnd, c):
        for op in range(OPS):
            assert time.monotonic() < deadline, "out of time"
            k = rnd.choice(keys)
            r = rnd.random()
            if r < 0.3:
                v = make_value(k, op)
                c.send(b"ms %s %d O%d\r\n%s\r\n" % (k, len(v), op, v))
                assert c.readline() == b"HD O%d" % op
            elif r < 0.6:
                c.send(b"mg %s k v O%d\r\n" % (k, op))
                head = c.readline().split()
                if head[0] == b"EN":
                    continue
                assert head[0] == b"VA" and head[2:] == [b"k" + k, b"O%d" % op], head
                check_value(k, c.read_exact(int(head[1]) + 2)[:-2])
            elif r < 0.7:
                c.send(b"ms %s 1 MA\r\n+\r\n" % k)
                assert c.readline() in (b"HD", b"NS")
            elif r < 0.8:
                c.send(b"md %s q\r\nmn\r\n" % k)
                line = c.readline()
                if line == b"NF":
                    line = c.readline()
                assert line == b"MN", line
            else:
                c.send(b"ma mx_n v\r\n")
                head = c.readline().split()
                assert head[0] == b"VA", head
                assert c.readline().isdigit()
                incrs[t] += 1
        c.send(b"mn\r\n")
        assert c.readline() == b"MN"

    def binary_worker(t, rnd, c):
        sync(c)
        for op in range(OPS):
            assert time.monotonic() < deadline, "out of time"
            k = rnd.choice(keys)
            r = rnd.random()
            if r < 0.3:
                store(c, k, make_value(k, op), opaque=op)
            elif r < 0.5:
                c.send(request(bp.GETK, k, opaque=op))
                res = bp.read_response(c)
                assert res.opaque == op and res.opcode == bp.GETK, res
                if res.status == bp.SUCCESS:
                    assert res.key == k and res.extlen == 4, res
                    check_value(k, res.value)
                else:
                    assert res.raw == key_miss(bp.GETK, k, opaque=op), res
            elif r < 0.6:
                # a pipeline of quiet gets: hits only, in order, then NOOP
                ks = rnd.sample(keys, 4)
                c.send(b"".join(request(bp.GETKQ, x, opaque=i) for i, x in enumerate(ks))
                       + request(bp.NOOP, opaque=op))
                last = -1
                while True:
                    res = bp.read_response(c)
                    if res.opcode == bp.NOOP:
                        assert res.raw == response(bp.NOOP, opaque=op)
                        break
                    assert res.opcode == bp.GETKQ and res.opaque > last, res
                    last = res.opaque
                    assert res.key == ks[res.opaque]
                    check_value(res.key, res.value)
            elif r < 0.7:
                c.send(request(bp.APPEND, k, value=b"+", opaque=op))
                res = bp.read_response(c)
                assert res.raw in (response(bp.APPEND, opaque=op, cas=res.cas),
                                   error(bp.APPEND, bp.NOT_STORED, opaque=op)), res
            elif r < 0.8:
                c.send(request(bp.DELETE, k, opaque=op))
                res = bp.read_response(c)
                assert res.raw in (response(bp.DELETE, opaque=op),
                                   error(bp.DELETE, bp.KEY_ENOENT, opaque=op)), res
            else:
                res = arith(c, bp.INCREMENT, b"mx_n", 1, opaque=op)
                assert res.status == bp.SUCCESS and res.opaque == op, res
                incrs[t] += 1
        sync(c)

    workers = [text_worker, meta_worker, binary_worker]

    def run(t):
        import random
        rnd = random.Random(t)
        try:
            with srv.connect() as c:
                workers[t % 3](t, rnd, c)
        except Exception as e:        # reported by the main thread
            errors.append("thread %d (%s): %r" % (t, workers[t % 3].__name__, e))

    threads = [threading.Thread(target=run, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(TIME_LIMIT + 10)
    assert not any(th.is_alive() for th in threads), "workers hung"
    assert not errors, "\n".join(errors)
    with bconn(srv) as c:
        c.send(request(bp.GET, b"mx_n"))
        r = bp.read_response(c)
        assert r.status == bp.SUCCESS and int(r.value) == sum(incrs), r
        for k in keys:
            c.send(request(bp.GETK, k))
            r = bp.read_response(c)
            if r.status == bp.SUCCESS:
                check_value(k, r.value)
