"""Packing and reading memcached binary-protocol packets for wire tests.

Layout (docs/COMPAT.md#binary-protocol): a 24-byte big-endian header
(magic, opcode, key length, extras length, data type, vbucket/status,
total body length, opaque, CAS), then extras, key and value.
"""

import struct

REQ_MAGIC = 0x80
RES_MAGIC = 0x81
HEADER = struct.Struct(">BBHBBHIIQ")

# opcodes
GET, SET, ADD, REPLACE, DELETE, INCREMENT, DECREMENT, QUIT = range(8)
FLUSH, GETQ, NOOP, VERSION, GETK, GETKQ, APPEND, PREPEND = range(8, 16)
STAT, SETQ, ADDQ, REPLACEQ, DELETEQ, INCREMENTQ, DECREMENTQ = range(16, 23)
QUITQ, FLUSHQ, APPENDQ, PREPENDQ, VERBOSITY = range(23, 28)
TOUCH, GAT, GATQ = 0x1C, 0x1D, 0x1E
SASL_LIST_MECHS, SASL_AUTH, SASL_STEP = 0x20, 0x21, 0x22
GATK, GATKQ = 0x23, 0x24

# statuses
SUCCESS = 0x00
KEY_ENOENT = 0x01
KEY_EEXISTS = 0x02
E2BIG = 0x03
EINVAL = 0x04
NOT_STORED = 0x05
DELTA_BADVAL = 0x06
AUTH_ERROR = 0x20
AUTH_CONTINUE = 0x21
UNKNOWN_COMMAND = 0x81
ENOMEM = 0x82


def request(opcode, key=b"", extras=b"", value=b"", opaque=0, cas=0,
            keylen=None, extlen=None, bodylen=None, magic=REQ_MAGIC,
            datatype=0, vbucket=0):
    """One request packet. keylen/extlen/bodylen override the header
    fields (to build bad headers); the body is always extras+key+value."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    body = extras + key + value
    hdr = HEADER.pack(
        magic, opcode,
        len(key) if keylen is None else keylen,
        len(extras) if extlen is None else extlen,
        datatype, vbucket,
        len(body) if bodylen is None else bodylen,
        opaque, cas)
    return hdr + body


def store_extras(flags=0, exptime=0):
    return struct.pack(">II", flags, exptime)


def arith_extras(delta=1, initial=0, exptime=0):
    return struct.pack(">QQI", delta, initial, exptime)


def exptime_extras(exptime):
    return struct.pack(">I", exptime)


class Response:
    """One response packet as read from the wire."""

    def __init__(self, raw):
        (self.magic, self.opcode, self.keylen, self.extlen, self.datatype,
         self.status, self.bodylen, self.opaque, self.cas) = HEADER.unpack(
            raw[:24])
        body = raw[24:]
        self.raw = raw
        self.extras = body[:self.extlen]
        self.key = body[self.extlen:self.extlen + self.keylen]
        self.value = body[self.extlen + self.keylen:]

    @property
    def flags(self):
        return struct.unpack(">I", self.extras)[0] if self.extlen == 4 else None

    @property
    def number(self):
        return struct.unpack(">Q", self.value)[0]

    def __repr__(self):
        return ("Response(op=0x%02x status=0x%04x key=%r extras=%r value=%r "
                "opaque=%d cas=%d)" % (self.opcode, self.status, self.key,
                                       self.extras, self.value[:80],
                                       self.opaque, self.cas))


def read_response(conn, timeout=None):
    """Reads one response packet from a wire.Conn."""
    hdr = conn.read_exact(24, timeout=timeout)
    bodylen = struct.unpack(">I", hdr[8:12])[0]
    body = conn.read_exact(bodylen, timeout=timeout) if bodylen else b""
    return Response(hdr + body)


def read_stats(conn, timeout=None):
    """Reads STAT packets up to the empty terminator; returns
    [(key, value)] in order (bytes)."""
    out = []
    while True:
        r = read_response(conn, timeout=timeout)
        assert r.opcode == STAT, r
        if r.status != SUCCESS:
            raise AssertionError("STAT failed: %r" % r)
        if r.keylen == 0 and r.bodylen == 0:
            return out
        out.append((r.key, r.value))


# --------------------------------------------------------------------------
# expected responses, built byte for byte

MESSAGES = {
    KEY_ENOENT: b"Not found",
    KEY_EEXISTS: b"Data exists for key.",
    E2BIG: b"Too large.",
    EINVAL: b"Invalid arguments",
    NOT_STORED: b"Not stored.",
    DELTA_BADVAL: b"Non-numeric server-side value for incr or decr",
    AUTH_ERROR: b"Auth failure.",
    UNKNOWN_COMMAND: b"Unknown command",
}


def response(opcode, status=SUCCESS, key=b"", extras=b"", value=b"",
             opaque=0, cas=0):
    """The exact bytes of one response packet."""
    if isinstance(key, str):
        key = key.encode()
    if isinstance(value, str):
        value = value.encode()
    body = extras + key + value
    return HEADER.pack(RES_MAGIC, opcode, len(key), len(extras), 0, status,
                       len(body), opaque, cas) + body


def error(opcode, status, opaque=0):
    """An error response: no extras, no key, the fixed message, CAS 0."""
    return response(opcode, status, value=MESSAGES[status], opaque=opaque)


def flags_extras(flags):
    return struct.pack(">I", flags)


def number_value(n):
    """The 8-byte body of a successful INCREMENT/DECREMENT."""
    return struct.pack(">Q", n)
