"""Large items: -I from 1 KiB to 1 GiB and its rules against -m and
slab_chunk_max, the largest storable value in every protocol, chunked
items (values over slab_chunk_max) under every command, their accounting
to -m and their eviction (docs/ENGINE.md#chunked-items,
docs/COMPAT.md#item-size)."""

import hashlib
import random
import socket
import threading

import pytest

import binproto as bp
import wire
from wire import WireError, run_binary, user_args

TOO_LARGE = "SERVER_ERROR object too large for cache"
NON_NUMERIC = "CLIENT_ERROR cannot increment or decrement non-numeric value"
KIB = 1024
MIB = 1024 * 1024
BASE = ["-l", "127.0.0.1", "-p", "0", "-U", "0"]


def largest_value(item_size_max, nkey, flags=0, cas=True):
    """memcached's largest value: 48-byte header, key + NUL, 4 bytes of
    nonzero client flags, value + CRLF, 8 bytes of CAS (docs/COMPAT.md)."""
    return (item_size_max - 48 - (nkey + 1) - (4 if flags else 0) - 2
            - (8 if cas else 0))


# -- patterned values --------------------------------------------------------

PERIOD = 65521   # prime: never lines up with a chunk or segment size


def _base(seed):
    return random.Random(seed).randbytes(PERIOD)


def pattern_parts(n, seed, part=8 * MIB):
    """n bytes of seed's pattern, in parts of about `part` bytes: every
    PERIOD bytes a marker with the offset, then random bytes (CR, LF and
    NUL among them), so a misplaced or repeated segment never matches."""
    base = _base(seed)
    blocks_per_part = max(1, part // PERIOD)
    off = 0
    while off < n:
        out = bytearray()
        for _ in range(blocks_per_part):
            if off + len(out) >= n:
                break
            o = off + len(out)
            out += (b"@%x#" % o + base)[:PERIOD]
        chunk = bytes(out[:n - off])
        off += len(chunk)
        yield chunk


def pattern(n, seed):
    return b"".join(pattern_parts(n, seed))


def digest(data):
    return hashlib.sha1(data).hexdigest()


def recv_into(c, view, timeout=30.0):
    """Fills the memoryview from the connection: bytes the Conn buffered
    first, then straight from the socket, with no intermediate copy.
    `timeout` bounds each wait for progress, not the whole read."""
    n = min(len(c.buf), len(view))
    view[:n] = c.buf[:n]
    c.buf = c.buf[n:]
    c.sock.settimeout(timeout)
    try:
        while n < len(view):
            got = c.sock.recv_into(view[n:])
            if got == 0:
                raise WireError("connection closed after %d of %d bytes"
                                % (n, len(view)))
            n += got
    except socket.timeout:
        raise WireError("timed out after %d of %d bytes: %r"
                        % (n, len(view), bytes(view[:min(n, 200)])))
    finally:
        c.sock.settimeout(c.timeout)


def read_reply(c, expect_head, nbytes, expect_tail, timeout=30.0):
    """Reads a reply that should be expect_head + nbytes of value +
    expect_tail into one preallocated buffer; returns the value's
    memoryview. Fails early (with what came) if the head differs."""
    buf = bytearray(len(expect_head) + nbytes + len(expect_tail))
    view = memoryview(buf)
    head = view[:len(expect_head)]
    recv_into(c, head[:1], timeout)
    # A short error line instead of the value: read it and fail.
    if bytes(head[:1]) != expect_head[:1]:
        raise WireError("expected %r, got %r" % (
            expect_head, bytes(head[:1]) + c.readline()))
    recv_into(c, head[1:], timeout)
    if bytes(head) != expect_head:
        raise WireError("expected %r, got %r" % (expect_head, bytes(head)))
    recv_into(c, view[len(expect_head):], timeout)
    tail = bytes(view[len(buf) - len(expect_tail):])
    if tail != expect_tail:
        raise WireError("expected tail %r, got %r" % (expect_tail, tail))
    return view[len(expect_head):len(expect_head) + nbytes]


def send_value(c, line, n, seed):
    """Sends a command line and n bytes of seed's pattern + CRLF, part by
    part; returns the SHA-1 of the value."""
    h = hashlib.sha1()
    c.send(line + b"\r\n")
    for part in pattern_parts(n, seed):
        h.update(part)
        c.sock.sendall(part)
    c.send(b"\r\n")
    return h.hexdigest()


# -- -I against -m and slab_chunk_max ----------------------------------------

# (args, item_size_max, slab_chunk_max) as `stats settings` shows them.
ACCEPTED = [
    (["-I", "512k"], 524288, 524288),
    (["-I", "524288"], 524288, 524288),
    (["-I", "1m"], MIB, 524288),
    (["-I", "1M"], MIB, 524288),
    (["-I", "1.5m"], MIB, 524288),          # atoi stops at the dot: 1m
    (["-I", "1536k"], 1536 * KIB, 524288),
    (["-I", "2m"], 2 * MIB, 524288),
    (["-I", "16m"], 16 * MIB, 524288),
    (["-I", "32m"], 32 * MIB, 524288),      # exactly half of -m 64
    (["-I", "16m", "-m", "32"], 16 * MIB, 524288),
    (["-I", "1024m", "-m", "2048"], 1024 * MIB, 524288),
    (["-I", "1073741824", "-m", "2048"], 1024 * MIB, 524288),
    # 4097m wraps the int to 1m
    (["-I", "4097m", "-m", "16384"], MIB, 524288),
    (["-m", "2"], MIB, 524288),
    (["-m", "1", "-I", "512k"], 524288, 524288),
    (["-I", "1k", "-o", "slab_chunk_max=1024"], 1024, 1024),
    (["-I", "1k", "-o", "slab_chunk_max=512"], 1024, 512),
    (["-I", "3k", "-o", "slab_chunk_max=1024"], 3072, 1024),
    (["-I", "64k", "-o", "slab_chunk_max=65536"], 65536, 65536),
    (["-I", "1m", "-o", "slab_chunk_max=1048576"], MIB, MIB),
    (["-I", "2m", "-o", "slab_chunk_max=1048576"], 2 * MIB, MIB),
    (["-I", "2m", "-o", "slab_chunk_max=262144"], 2 * MIB, 262144),
    (["-I", "2m", "-o", "slab_chunk_max=4096"], 2 * MIB, 4096),
    (["-o", "slab_chunk_max=64"], MIB, 64),
    (["-o", "slab_chunk_max=65536"], MIB, 65536),
    (["-o", "slab_chunk_max=1048576", "-I", "1m"], MIB, MIB),
    # -I over 1m puts slab_chunk_max back to 512 KiB unless it was given
    (["-I", "2m", "-o", "no_chunked_items"], 2 * MIB, 524288),
    (["-I", "2m", "-o", "no_modern"], 2 * MIB, 524288),
    (["-o", "no_chunked_items"], MIB, MIB),
    # the last of no_chunked_items and slab_chunk_max wins
    (["-o", "no_chunked_items,slab_chunk_max=65536"], MIB, 65536),
    (["-o", "slab_chunk_max=65536,no_chunked_items"], MIB, MIB),
]

REFUSED = [
    (["-I", "0"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "1023"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "abc"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "-5"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "1mb"], "Item max size cannot be less than 1024 bytes."),
    # 1.6.18 knows only the k and m suffixes: 1g is 1 byte, 2048m wraps
    (["-I", "1g", "-m", "2048"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "1G", "-m", "2048"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "2g"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "2048m", "-m", "8192"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "4096m", "-m", "16384"], "Item max size cannot be less than 1024 bytes."),
    (["-I", "33m"], "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "32m", "-m", "63"], "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "100000k"], "Cannot set item size limit higher than 1/2 of memory max."),
    (["-m", "1"], "Cannot set item size limit higher than 1/2 of memory max."),
    (["-m", "0", "-I", "1k"], "Cannot set item size limit higher than 1/2 of memory max."),
    (["-I", "1025m", "-m", "4096"], "Cannot set item size limit higher than a gigabyte."),
    (["-I", "1073741825", "-m", "4096"], "Cannot set item size limit higher than a gigabyte."),
    (["-I", "2047m", "-m", "8192"], "Cannot set item size limit higher than a gigabyte."),
    (["-I", "1k"], "slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 1024)"),
    (["-I", "256k"], "slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 262144)"),
    (["-I", "512k", "-o", "no_chunked_items"],
     "slab_chunk_max (bytes: 1048576) cannot be larger than -I (item_size_max 524288)"),
    (["-I", "512k", "-o", "no_modern"],
     "slab_chunk_max (bytes: 1048576) cannot be larger than -I (item_size_max 524288)"),
    (["-o", "slab_chunk_max=2097152"],
     "slab_chunk_max (bytes: 2097152) cannot be larger than -I (item_size_max 1048576)"),
    (["-I", "524289"],
     "-I (item_size_max: 524289) must be evenly divisible by slab_chunk_max (bytes: 524288)"),
    (["-I", "1500k"],
     "-I (item_size_max: 1536000) must be evenly divisible by slab_chunk_max (bytes: 524288)"),
    (["-I", "1073741823", "-m", "4096"],
     "-I (item_size_max: 1073741823) must be evenly divisible by slab_chunk_max (bytes: 524288)"),
    (["-I", "1536k", "-o", "slab_chunk_max=1048576"],
     "-I (item_size_max: 1572864) must be evenly divisible by slab_chunk_max (bytes: 1048576)"),
    (["-I", "2m", "-o", "slab_chunk_max=1000"],
     "-I (item_size_max: 2097152) must be evenly divisible by slab_chunk_max (bytes: 1000)"),
    (["-o", "slab_chunk_max=48"],
     "-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 48)"),
    (["-I", "2m", "-o", "slab_chunk_max=2097152"],
     "slab_chunk_max (bytes: 2097152) must divide evenly into 1048576 (slab_page_size)"),
]


@pytest.mark.parametrize("args,message", REFUSED,
                         ids=[" ".join(a[0]) for a in REFUSED])
def test_item_size_refused(args, message):
    code, out, err = run_binary(BASE + user_args() + args)
    assert code == 64, (code, out, err)
    assert message in err.splitlines(), err


@pytest.mark.parametrize("args,size,chunk", ACCEPTED,
                         ids=[" ".join(a[0]) for a in ACCEPTED])
def test_item_size_accepted(start_server, args, size, chunk):
    srv = start_server(*args)
    st = srv.stats("settings")
    assert st["item_size_max"] == str(size)
    assert st["slab_chunk_max"] == str(chunk)
    assert srv.stats()["limit_maxbytes"] == st["maxbytes"]


# memcached takes these and then crashes (slab_chunk_max 0 divides by
# zero at startup, 16 and 32 fault on the first store) or runs with a
# negative chunk size; memoria refuses them (docs/OPTIONS.md).
@pytest.mark.memoria_only
@pytest.mark.parametrize("value,message", [
    ("0", "slab_chunk_max (bytes: 0) must divide evenly into 1048576 (slab_page_size)"),
    ("-1", "slab_chunk_max (bytes: -1) must divide evenly into 1048576 (slab_page_size)"),
    ("16", "slab_chunk_max (bytes: 16) cannot be smaller than 64"),
    ("32", "slab_chunk_max (bytes: 32) cannot be smaller than 64"),
])
def test_tiny_slab_chunk_max_refused(value, message):
    code, out, err = run_binary(BASE + user_args() +
                                ["-I", "2m", "-o", "slab_chunk_max=" + value])
    assert code == 64, (code, out, err)
    assert message in err.splitlines(), err


# -- the largest value, in every protocol ------------------------------------

def check_text_limit(c, size_max, key, flags=0):
    """The largest value stores and reads back byte for byte in text;
    one byte more is too large (and a set of it drops the old value)."""
    kb = key.encode()
    n = largest_value(size_max, len(kb), flags)
    h = send_value(c, b"set %s %d 0 %d" % (kb, flags, n), n, n)
    c.expect_line("STORED")
    c.send(b"get %s\r\n" % kb)
    got = read_reply(c, b"VALUE %s %d %d\r\n" % (kb, flags, n), n,
                     b"\r\nEND\r\n")
    assert digest(got) == h
    # over by one: refused, the data swallowed, the old value gone
    send_value(c, b"set %s %d 0 %d" % (kb, flags, n + 1), n + 1, 7)
    c.expect_line(TOO_LARGE)
    assert c.call("get " + key) == "END"


@pytest.mark.parametrize("size", ["2m", "16m"])
def test_largest_value_text(shared_server, size):
    srv = shared_server("-I", size)
    limit = int(size[:-1]) * MIB
    with srv.connect() as c:
        check_text_limit(c, limit, "lim_text_" + size)
        check_text_limit(c, limit, "lim_flags_" + size, flags=77)
        # a 250-byte key leaves 247 bytes fewer than a 3-byte one
        check_text_limit(c, limit, "k" * 250)


@pytest.mark.parametrize("size", ["2m", "16m"])
def test_largest_value_meta(shared_server, size):
    srv = shared_server("-I", size)
    limit = int(size[:-1]) * MIB
    key = b"lim_meta_" + size.encode()
    n = largest_value(limit, len(key))
    with srv.connect() as c:
        h = send_value(c, b"ms %s %d T0" % (key, n), n, 3)
        c.expect_line("HD")
        c.send(b"mg %s s v\r\n" % key)
        got = read_reply(c, b"VA %d s%d\r\n" % (n, n), n, b"\r\n")
        assert digest(got) == h
        send_value(c, b"ms %s %d" % (key, n + 1), n + 1, 4)
        c.expect_line(TOO_LARGE)
        assert c.call("mg %s v" % key.decode()) == "EN"
        # flags in ms take the 4 bytes too
        send_value(c, b"ms %s %d F5" % (key, n), n, 5)
        c.expect_line(TOO_LARGE)
        send_value(c, b"ms %s %d F5" % (key, n - 4), n - 4, 5)
        c.expect_line("HD")


@pytest.mark.parametrize("size", ["2m", "16m"])
def test_largest_value_binary(shared_server, size):
    srv = shared_server("-I", size)
    limit = int(size[:-1]) * MIB
    key = b"lim_bin_" + size.encode()
    n = largest_value(limit, len(key))
    with srv.connect() as c:
        value = pattern(n, 11)
        c.send(bp.request(bp.SET, key, bp.store_extras(0, 0), value))
        r = bp.read_response(c)
        assert (r.opcode, r.status) == (bp.SET, bp.SUCCESS)
        cas = r.cas
        c.send(bp.request(bp.GETK, key))
        hdr = bp.HEADER.pack(bp.RES_MAGIC, bp.GETK, len(key), 4, 0, 0,
                             4 + len(key) + n, 0, cas)
        got = read_reply(c, hdr + bp.flags_extras(0) + key, n, b"")
        assert got == value
        del got
        c.send(bp.request(bp.SET, key, bp.store_extras(0, 0), value + b"x"))
        c.expect(bp.error(bp.SET, bp.E2BIG))
        c.send(bp.request(bp.GET, key))
        c.expect(bp.error(bp.GET, bp.KEY_ENOENT))


@pytest.mark.parametrize("flags", [("-o", "slab_chunk_max=16384"),
                                   ("-I", "2m", "-o", "slab_chunk_max=65536"),
                                   ("-o", "no_chunked_items")])
def test_largest_value_other_chunk_sizes(shared_server, flags):
    srv = shared_server(*flags)
    limit = 2 * MIB if "2m" in flags else MIB
    with srv.connect() as c:
        check_text_limit(c, limit, "lim_scm")


# memoria keeps a chunked item's segment table in its header chunk, so a
# value can have at most (slab_chunk_max - 48) / 16 segments of
# slab_chunk_max bytes (docs/COMPAT.md#item-size): with slab_chunk_max
# 4096 that is 253 segments, 1036288 bytes, below -I 1m's 1048514.
# memcached links its chunks and stores up to -I whatever their size.
@pytest.mark.memoria_only
def test_segment_table_limit_of_tiny_chunks(shared_server):
    srv = shared_server("-o", "slab_chunk_max=4096")
    with srv.connect() as c:
        assert c.set("abc", b"t" * 1036288) == "STORED"
        assert c.get("abc") == b"t" * 1036288
        assert c.set("abc", b"t" * 1036289) == TOO_LARGE


# -- chunked items under every command ----------------------------------------

CHUNKED = 1536 * KIB + 123     # over slab_chunk_max (512 KiB): chunked


def test_chunked_reads(shared_server):
    srv = shared_server("-I", "2m")
    v = pattern(CHUNKED, 21)
    with srv.connect() as c:
        assert c.set("ck_read", v, flags=9) == "STORED"
        assert c.get("ck_read") == v
        flags, got, cas = c.gets("ck_read")
        assert (flags, got) == (9, v) and cas > 0
        c.cmd("gat 100 ck_read")
        assert c.read_values() == [(b"ck_read", 9, v)]
        c.cmd("gats 0 ck_read")
        assert c.read_values(with_cas=True) == [(b"ck_read", 9, v, cas)]
        # several chunked values and a small one in one reply
        assert c.set("ck_read2", v[::-1]) == "STORED"
        assert c.set("ck_small", "tiny") == "STORED"
        c.cmd("get ck_read ck_small ck_read2 ck_missing ck_read")
        assert c.read_values() == [(b"ck_read", 9, v), (b"ck_small", 0, b"tiny"),
                                   (b"ck_read2", 0, v[::-1]),
                                   (b"ck_read", 9, v)]
        # meta: with and without the value
        c.cmd("mg ck_read s f k")
        c.expect_line("HD s%d f9 kck_read" % CHUNKED)
        c.cmd("mg ck_read v c")
        c.expect_line("VA %d c%d" % (CHUNKED, cas))
        c.expect(v + b"\r\n")
        c.cmd("mg ck_read")
        c.expect_line("HD")
        c.cmd("mn")
        c.expect_line("MN")
    with srv.connect() as b:             # binary GET and GETK
        b.send(bp.request(bp.GET, b"ck_read", opaque=5))
        b.expect(bp.response(bp.GET, extras=bp.flags_extras(9), value=v,
                             opaque=5, cas=cas))
        b.send(bp.request(bp.GETK, b"ck_read"))
        b.expect(bp.response(bp.GETK, key=b"ck_read",
                             extras=bp.flags_extras(9), value=v, cas=cas))


def test_chunked_append_prepend(shared_server):
    srv = shared_server("-I", "2m")
    limit = 2 * MIB
    small = pattern(1000, 31)
    grow = pattern(700 * KIB, 32)
    with srv.connect() as c:
        # a small item grows into a chunked one, then further
        assert c.set("ck_app", small, flags=3) == "STORED"
        assert c.store("append", "ck_app", grow) == "STORED"
        assert c.get("ck_app") == small + grow
        assert c.store("prepend", "ck_app", grow[::-1]) == "STORED"
        want = grow[::-1] + small + grow
        flags, got, cas1 = c.gets("ck_app")
        assert (flags, got) == (3, want)
        # a small fragment onto a chunked item; the CAS changes
        assert c.store("append", "ck_app", b"<t>") == "STORED"
        assert c.store("prepend", "ck_app", b"<h>") == "STORED"
        want = b"<h>" + want + b"<t>"
        flags, got, cas2 = c.gets("ck_app")
        assert (flags, got) == (3, want) and cas2 != cas1
        # to exactly the limit, then one byte over: NOT_STORED, unchanged
        room = largest_value(limit, len("ck_app"), flags=3) - len(want)
        assert c.store("append", "ck_app", b"z" * (room + 1)) == "NOT_STORED"
        assert c.store("prepend", "ck_app", b"z" * (room + 1)) == "NOT_STORED"
        assert c.get("ck_app") == want
        assert c.store("append", "ck_app", b"z" * room) == "STORED"
        want += b"z" * room
        assert c.get("ck_app") == want
        assert c.store("append", "ck_app", b"z") == "NOT_STORED"
        # a fragment too large by itself: too large, the data swallowed
        assert c.store("append", "ck_app", b"y" * (limit - 60)) == TOO_LARGE
        assert c.get("ck_app") == want
        # meta append and prepend modes
        assert c.set("ck_app", grow) == "STORED"
        c.send(b"ms ck_app %d MA\r\n%s\r\n" % (len(grow), grow))
        c.expect_line("HD")
        c.send(b"ms ck_app 3 MP\r\nabc\r\n")
        c.expect_line("HD")
        want = b"abc" + grow + grow
        assert c.get("ck_app") == want
        c.send(b"ms ck_app %d MA\r\n%s\r\n" % (len(grow), grow))
        c.expect_line("NS")
        with srv.connect() as b:         # binary APPEND/PREPEND
            b.send(bp.request(bp.APPEND, b"ck_app", value=b"BIN"))
            r = bp.read_response(b)
            assert (r.opcode, r.status) == (bp.APPEND, bp.SUCCESS)
            b.send(bp.request(bp.PREPEND, b"ck_app", value=grow))
            b.expect(bp.error(bp.PREPEND, bp.NOT_STORED))
        assert c.get("ck_app") == want + b"BIN"


def test_chunked_arithmetic_refused(shared_server):
    srv = shared_server("-I", "2m")
    digits = b"1" * CHUNKED
    with srv.connect() as c:
        assert c.set("ck_num", digits) == "STORED"
        assert c.call("incr ck_num 1") == NON_NUMERIC
        assert c.call("decr ck_num 1") == NON_NUMERIC
        assert c.call("ma ck_num") == NON_NUMERIC
        with srv.connect() as b:
            b.send(bp.request(bp.INCREMENT, b"ck_num", bp.arith_extras(1, 0, 0)))
            b.expect(bp.error(bp.INCREMENT, bp.DELTA_BADVAL))
        assert c.get("ck_num") == digits


def test_chunked_writes(shared_server):
    srv = shared_server("-I", "2m")
    a, b = pattern(CHUNKED, 41), pattern(CHUNKED + 5000, 42)
    with srv.connect() as c:
        assert c.store("replace", "ck_w", a) == "NOT_STORED"
        assert c.store("add", "ck_w", a) == "STORED"
        assert c.store("add", "ck_w", b) == "NOT_STORED"
        assert c.get("ck_w") == a
        assert c.store("replace", "ck_w", b) == "STORED"
        assert c.get("ck_w") == b
        _, _, cas = c.gets("ck_w")
        assert c.store("cas", "ck_w", a, cas=cas + 1) == "EXISTS"
        assert c.store("cas", "ck_w", a, cas=cas) == "STORED"
        assert c.store("cas", "ck_w", b, cas=cas) == "EXISTS"
        assert c.get("ck_w") == a
        # a chunked value replaced by a small one and back
        assert c.set("ck_w", "small") == "STORED"
        assert c.get("ck_w") == b"small"
        assert c.set("ck_w", b) == "STORED"
        assert c.call("touch ck_w 1000") == "TOUCHED"
        c.cmd("mg ck_w t v")
        c.expect_line("VA %d t1000" % len(b))
        c.expect(b + b"\r\n")
        assert c.call("delete ck_w") == "DELETED"
        assert c.get("ck_w") is None
        assert c.call("delete ck_w") == "NOT_FOUND"
        c.send(b"ms ck_w %d I\r\n%s\r\n" % (len(a), a))
        c.expect_line("HD")
        with srv.connect() as bc:
            bc.send(bp.request(bp.REPLACE, b"ck_w", bp.store_extras(1, 0), b))
            r = bp.read_response(bc)
            assert (r.opcode, r.status) == (bp.REPLACE, bp.SUCCESS)
            bc.send(bp.request(bp.DELETE, b"ck_w"))
            r = bp.read_response(bc)
            assert (r.opcode, r.status) == (bp.DELETE, bp.SUCCESS)
        assert c.call("mg ck_w v") == "EN"


# -- memory: chunked items are counted in full and evicted --------------------

def _tsan_build(path):
    try:
        with open(path, "rb") as f:
            return b"__tsan_init" in f.read()
    except OSError:
        return False


# TSan's shadow memory is a multiple of what the program touches: RSS
# bounds hold for the reference, release and ASan builds only.
RSS_BOUNDED = not _tsan_build(wire.BIN)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def test_chunked_items_count_to_memory_limit(start_server):
    srv = start_server("-m", "32", "-I", "2m")
    v = pattern(1900 * KIB, 51)          # four segments: three whole + one
    with srv.connect() as c:
        for i in range(60):              # 111 MiB into a 32 MiB cache
            c.send(b"set ck_mem_%d 0 0 %d noreply\r\n" % (i, len(v)))
            c.send(v + b"\r\n")
        st = c.stats()
        limit = int(st["limit_maxbytes"])
        assert limit == 32 * MIB
        assert int(st["evictions"]) > 0
        items = int(st["curr_items"])
        # every item counted with its whole value
        assert int(st["bytes"]) == items * (48 + 9 + 1 + len(v) + 2 + 8)
        assert int(st["bytes"]) <= limit
        assert int(st["total_items"]) == 60
        # in memcached's largest class (39), with their memcached size
        its = c.stats("items")
        assert its["items:39:number"] == str(items)
        assert its["items:39:mem_requested"] == st["bytes"]
        assert int(its["items:39:evicted"]) == int(st["evictions"])
        c.cmd("me ck_mem_59")
        assert c.readline().decode().endswith(
            " cls=39 size=%d" % (48 + 9 + 1 + len(v) + 2 + 8))
        # the newest are there, whole; evicted ones simply miss
        assert c.get("ck_mem_59") == v
        hits = sum(1 for i in range(60) if c.get("ck_mem_%d" % i) is not None)
        assert hits == items
        slabs = c.stats("slabs")
        # memcached may give each class in use its first page beyond -m
        classes = len([k for k in slabs if k.endswith(":chunk_size")])
        assert int(slabs["total_malloced"]) <= limit + classes * MIB
    # RSS: the limit, one page per class, and the program's own needs
    # (ASan's included), far below the 111 MiB that went through
    if RSS_BOUNDED:
        assert rss_bytes(srv.proc.pid) < limit + 64 * MIB


def test_items_of_half_the_memory_limit(start_server):
    """-I 32m -m 64, the largest ratio memcached allows: each new value of
    nearly 32 MiB evicts what it must, and reads back whole."""
    srv = start_server("-I", "32m", "-m", "64")
    n = largest_value(32 * MIB, len("ck_half_0"))
    with srv.connect(timeout=30) as c:
        digests = []
        for i in range(4):
            key = b"ck_half_%d" % i
            digests.append(send_value(c, b"set %s 0 0 %d" % (key, n), n, 80 + i))
            c.expect_line("STORED")
            c.send(b"get %s\r\n" % key)
            got = read_reply(c, b"VALUE %s 0 %d\r\n" % (key, n), n,
                             b"\r\nEND\r\n")
            assert digest(got) == digests[i]
            del got
        st = c.stats()
        assert int(st["evictions"]) >= 2
        assert int(st["bytes"]) <= int(st["limit_maxbytes"])
        # an older one is gone or whole
        c.send(b"mg ck_half_0 s\r\n")
        assert c.readline() in (b"EN", b"HD s%d" % n)


def test_chunked_out_of_memory_without_evictions(start_server):
    """-M: memcached allocates a chunked value's chunks as the data
    arrives, so running out is "Out of memory during read": the data is
    swallowed, a set keeps the old value, and no outofmemory is counted."""
    srv = start_server("-M", "-m", "8", "-I", "4m")
    v = pattern(3 * MIB + 1000, 90)
    oom = "SERVER_ERROR Out of memory during read"
    with srv.connect() as c:
        assert c.set("ck_oom", "old") == "STORED"
        replies = [c.set("ck_oom_%d" % i, v) for i in range(4)]
        assert replies[0] == "STORED" and oom in replies
        stored = [i for i, r in enumerate(replies) if r == "STORED"]
        for i in range(4):
            assert c.get("ck_oom_%d" % i) == (v if i in stored else None), i
        assert c.set("ck_oom", v) == oom
        assert c.get("ck_oom") == b"old"
        c.set("ck_oom", v, noreply=True)          # no reply at all
        assert c.get("ck_oom") == b"old"
        assert c.store("append", "ck_oom", v) == oom
        c.send(b"ms ck_oom %d\r\n%s\r\n" % (len(v), v))
        c.expect_line(oom)
        c.send(b"ms ck_oom %d MA\r\n%s\r\n" % (len(v), v))
        c.expect_line(oom)
        with srv.connect() as b:
            for op in (bp.SET, bp.SETQ):      # quiet does not hide errors
                b.send(bp.request(op, b"ck_oom", bp.store_extras(0, 0), v))
                b.expect(bp.response(op, 0x82,
                                     value=b"Out of memory during read"))
        assert c.get("ck_oom") == b"old"
        # small values still find room
        assert c.set("ck_oom_small", b"x" * 1000) == "STORED"
        st = c.stats()
        assert st["evictions"] == "0"
        items = c.stats("items")
        assert all(val == "0" for k, val in items.items()
                   if k.endswith(":outofmemory"))


def test_pinned_chunked_values_are_sent_whole(start_server):
    """A reader pipelines gets of a 12 MiB value and reads nothing while a
    writer overwrites it and fills the cache: the value goes out by
    reference (no copy per get, RSS stays flat), stays pinned until sent,
    and every hit is one whole value that was set."""
    srv = start_server("-m", "64", "-I", "16m")
    n = 12 * MIB
    values = {}
    with srv.connect(timeout=60) as w, srv.connect(timeout=60) as r:
        values[send_value(w, b"set ck_pin 0 0 %d" % n, n, 100)] = 100
        w.expect_line("STORED")
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        rss0 = rss_bytes(srv.proc.pid)
        r.send(b"get ck_pin\r\n" * 24)      # 288 MiB of replies, unread
        for seed in range(101, 106):
            h = send_value(w, b"set ck_pin 0 0 %d" % n, n, seed)
            got = w.readline().decode()
            if got == "STORED":
                values[h] = seed
            else:           # all memory pinned by the reader
                assert got == "SERVER_ERROR Out of memory during read"
            send_value(w, b"set ck_pin_other%d 0 0 %d" % (seed, n), n, seed)
            assert w.readline() in (b"STORED",
                                    b"SERVER_ERROR Out of memory during read")
        grown = rss_bytes(srv.proc.pid) - rss0
        assert grown < 100 * MIB or not RSS_BOUNDED, grown >> 20
        hits = 0
        for _ in range(24):
            # a get the server reached after an eviction misses; a hit is
            # always one whole value that was set
            line = r.readline(timeout=60)
            if line == b"END":
                continue
            assert line == b"VALUE ck_pin 0 %d" % n
            got = read_reply(r, b"", n, b"\r\nEND\r\n", timeout=60)
            assert digest(got) in values
            hits += 1
        assert hits > 0
        assert w.call("mn") == "MN"


def test_chunked_churn_never_returns_wrong_data(start_server):
    """Sets of mixed sizes, chunked and not, through a cache much smaller
    than them: every hit is exactly the last value set for its key."""
    srv = start_server("-m", "16", "-I", "2m")
    rnd = random.Random(61)
    last = {}
    sizes = [100, 5000, 300 * KIB, 600 * KIB, 1100 * KIB, 2 * MIB - 200]
    with srv.connect() as c:
        for step in range(240):
            key = "ck_churn_%d" % rnd.randrange(24)
            op = rnd.random()
            if op < 0.6:
                n = rnd.choice(sizes) - rnd.randrange(50)
                v = pattern(n, step)
                assert c.set(key, v) == "STORED"
                last[key] = v
            elif op < 0.7 and key in last:
                frag = b"+%d+" % step
                r = c.store("append", key, frag)
                if r == "STORED":
                    last[key] += frag
                else:
                    assert r == "NOT_STORED"
            elif op < 0.75:
                c.call("delete " + key)
                last.pop(key, None)
            else:
                got = c.get(key)
                if got is not None:
                    assert got == last[key], key
        assert int(c.stats()["evictions"]) > 0
        for key in sorted(last):
            got = c.get(key)
            assert got is None or got == last[key], key
        # a miss after an append can only be an eviction, never a torn item
        c.cmd("get " + " ".join(sorted(last)))
        for k, _, v in c.read_values():
            assert v == last[k.decode()]


# -- one value of 1 GiB -------------------------------------------------------

@pytest.mark.slow
def test_one_gibibyte_value(start_server):
    """The largest value -I 1024m allows (1.6.18 knows no g suffix), sent
    in parts and read back into one buffer: about 8 s under ASan, and
    2 GiB of memory between the server and the test."""
    srv = start_server("-I", "1024m", "-m", "2048")
    n = largest_value(1024 * MIB, len(b"gib"))   # 2048 segments
    with srv.connect(timeout=120) as c:
        send_value(c, b"set gib 0 0 %d" % (n + 1), n + 1, 5)
        c.expect_line(TOO_LARGE)
        h = send_value(c, b"set gib 0 0 %d" % n, n, 71)
        c.expect_line("STORED")
        st = c.stats()
        assert int(st["bytes"]) == 48 + 4 + n + 2 + 8
        c.send(b"get gib\r\n")
        got = read_reply(c, b"VALUE gib 0 %d\r\n" % n, n, b"\r\nEND\r\n",
                         timeout=120)
        assert digest(got) == h
        del got
        c.cmd("mg gib s")
        c.expect_line("HD s%d" % n)
        assert c.call("delete gib") == "DELETED"
        assert int(c.stats()["bytes"]) == 0


# -- readers and writers on the same chunked keys, from many threads ---------

def record(seed, n):
    """A self-describing record: 'R', its body length and seed (8 hex
    digits each), then n bytes derived from the seed."""
    return b"R%08x%08x" % (n, seed) + body_of(seed, n)


def body_of(seed, n):
    unit = random.Random(seed).randbytes(4093)
    return (unit * (n // len(unit) + 1))[:n]


def check_records(value):
    """A value is whole records, each intact (set writes one, every append
    one more); returns how many."""
    off, count = 0, 0
    while off < len(value):
        if value[off:off + 1] != b"R" or len(value) < off + 17:
            raise AssertionError("no record at %d of %d" % (off, len(value)))
        n, seed = int(value[off + 1:off + 9], 16), int(value[off + 9:off + 17], 16)
        body = value[off + 17:off + 17 + n]
        if body != body_of(seed, n):
            raise AssertionError("record at %d (seed %d) torn" % (off, seed))
        off += 17 + n
        count += 1
    return count


@pytest.mark.threaded
def test_chunked_readers_and_writers(start_server):
    srv = start_server("-I", "8m", "-m", "64")
    keys = ["ck_mt_%d" % i for i in range(3)]
    errors = []
    counts = {"hits": 0, "sets": 0, "appends": 0}
    lock = threading.Lock()

    def worker(t):
        rnd = random.Random(t)
        try:
            with srv.connect(timeout=60) as c:
                for i in range(50):
                    key = rnd.choice(keys)
                    op = rnd.random()
                    seed = t * 1000 + i
                    if op < 0.3:
                        v = record(seed, rnd.randrange(600 * KIB, 3 * MIB))
                        assert c.set(key, v) == "STORED"
                        what = "sets"
                    elif op < 0.5:
                        frag = record(seed, rnd.randrange(1, 200 * KIB))
                        r = c.store("append", key, frag)
                        assert r in ("STORED", "NOT_STORED"), r
                        what = "appends"
                    elif op < 0.55:
                        assert c.call("delete " + key) in ("DELETED", "NOT_FOUND")
                        what = None
                    else:
                        v = c.get(key)
                        if v is not None:
                            check_records(v)
                        what = "hits" if v is not None else None
                    if what:
                        with lock:
                            counts[what] += 1
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append("thread %d: %r" % (t, e))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert counts["sets"] > 0 and counts["hits"] > 0
    with srv.connect() as c:
        for key in keys:
            v = c.get(key)
            if v is not None:
                check_records(v)
