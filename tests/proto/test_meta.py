"""Meta protocol (mg ms md ma mn me) wire tests that need values captured
from replies (CAS uniques), exact stats, large values, several
connections or generated pipelines (protocol.txt, Meta Commands;
docs/COMPAT.md#meta-protocol; the fixed-reply parts are in meta_*.t)."""

import itertools
import random
import re
import time

import pytest



# -- helpers -----------------------------------------------------------------

def b(x):
    return x.encode() if isinstance(x, str) else x


def call(c, line):
    """One meta command, one reply line (as str)."""
    c.cmd(b(line))
    return c.readline().decode(errors="replace")


def ms(c, key, value, flags=""):
    """ms <key> <len> <flags> + data; returns the reply line."""
    value = b(value)
    line = b"ms %s %d" % (b(key), len(value))
    if flags:
        line += b" " + b(flags)
    c.send(line + b"\r\n" + value + b"\r\n")
    return c.readline().decode(errors="replace")


def va(c, line):
    """A command answered with VA: (header line, data)."""
    c.cmd(b(line))
    head = c.readline().decode(errors="replace")
    m = re.match(r"VA (\d+)", head)
    assert m, "expected VA, got %r for %r" % (head, line)
    data = c.read_exact(int(m.group(1)) + 2)
    assert data[-2:] == b"\r\n", data
    return head, data[:-2]


def flags_of(reply):
    """Return flags of a reply line as a list of tokens (after the code and,
    for VA, the size)."""
    toks = reply.split(" ")
    return toks[2:] if toks[0] == "VA" else toks[1:]


def flag(reply, letter):
    """The argument of the first returned flag `letter` (None if absent)."""
    for t in flags_of(reply):
        if t[:1] == letter:
            return t[1:]
    return None


def cas_of(c, key):
    r = call(c, "mg %s c" % key)
    assert r.startswith("HD c"), r
    return int(flag(r, "c"))


def ttl_ok(reply, ttl):
    """The t flag is ttl or one second less (the clock may tick)."""
    t = int(flag(reply, "t"))
    return ttl - 1 <= t <= ttl


# -- CAS: ms C in every mode -----------------------------------------------------

def test_ms_c_returns_new_cas_matching_gets_and_mg(server):
    with server.connect() as c:
        r = ms(c, "tm_c1", "abc", "c")
        assert re.fullmatch(r"HD c[1-9][0-9]*", r), r
        cas = int(flag(r, "c"))
        assert c.gets("tm_c1") == (0, b"abc", cas)
        assert cas_of(c, "tm_c1") == cas
        # a new store takes a new, larger unique
        r2 = ms(c, "tm_c1", "def", "c")
        assert int(flag(r2, "c")) > cas
        # plain hits and T do not change it
        cas2 = int(flag(r2, "c"))
        call(c, "mg tm_c1 v")
        c.readline()
        assert call(c, "mg tm_c1 T100") == "HD"
        assert cas_of(c, "tm_c1") == cas2
        # failed stores report c0
        assert ms(c, "tm_c1", "x", "c ME") == "NS c0"
        assert ms(c, "tm_c1_nope", "x", "c MR") == "NS c0"


def test_ms_cas_set_and_replace(server):
    with server.connect() as c:
        for mode in ("", " MS", " MR"):
            key = "tm_cs%s" % mode.strip()
            cas = int(flag(ms(c, key, "old", "c"), "c"))
            # mismatch, above and below
            assert ms(c, key, "new", "c C%d%s" % (cas + 1000, mode)) == "EX c0"
            assert ms(c, key, "new", "c C%d%s" % (cas - 1, mode)) == "EX c0"
            # C0 is a CAS that never matches
            assert ms(c, key, "new", "C0%s" % mode) == "EX"
            assert va(c, "mg %s v" % key)[1] == b"old"
            # match
            r = ms(c, key, "new", "c k O1 C%d%s" % (cas, mode))
            assert re.fullmatch(r"HD c[0-9]+ k%s O1" % key, r), r
            new = int(flag(r, "c"))
            assert new > cas
            assert va(c, "mg %s v c" % key) == ("VA 3 c%d" % new, b"new")
            # the old unique no longer matches
            assert ms(c, key, "again", "C%d%s" % (cas, mode)) == "EX"
            # missing: NF, also for C0
            assert ms(c, key + "_nope", "x", "C%d%s" % (cas, mode)) == "NF"
            assert ms(c, key + "_nope", "x", "c C0 k%s" % mode) == "NF c0 k%s_nope" % key
            assert call(c, "mg %s_nope" % key) == "EN"
        # q does not hide EX or NF
        c.send(b"ms tm_cs 1 q C1\r\nx\r\nms tm_cs_nope 1 q C1\r\nx\r\nmn\r\n")
        c.expect(b"EX\r\nNF\r\nMN\r\n")


def test_ms_cas_append_prepend_add(server):
    with server.connect() as c:
        cas = int(flag(ms(c, "tm_ca", "mid", "c"), "c"))
        assert ms(c, "tm_ca", "A", "c MA C%d" % (cas + 1000)) == "EX c0"
        assert ms(c, "tm_ca", "P", "MP C%d" % (cas + 1000)) == "EX"
        r = ms(c, "tm_ca", "A", "c MA C%d" % cas)
        assert r.startswith("HD c")
        cas = int(flag(r, "c"))
        r = ms(c, "tm_ca", "P", "c MP C%d" % cas)
        assert r.startswith("HD c")
        # C0: no comparison for A and P
        assert ms(c, "tm_ca", "a", "MA C0") == "HD"
        assert ms(c, "tm_ca", "p", "MP C0") == "HD"
        assert va(c, "mg tm_ca v")[1] == b"pPmidAa"
        # missing: NS (not NF) for A and P, with or without C
        assert ms(c, "tm_ca_nope", "x", "MA C5") == "NS"
        assert ms(c, "tm_ca_nope", "x", "MP C0") == "NS"
        # E ignores the CAS value entirely
        assert ms(c, "tm_ca", "x", "ME C1") == "NS"
        assert ms(c, "tm_ca", "x", "ME C0") == "NS"
        assert ms(c, "tm_ca", "x", "ME C%d" % cas_of(c, "tm_ca")) == "NS"
        assert ms(c, "tm_ca_add", "x", "ME C99") == "HD"
        assert va(c, "mg tm_ca_add v")[1] == b"x"


# -- the stale CAS store (ms C<old> I) -------------------------------------------

def test_ms_invalidate_stale_store(server):
    with server.connect() as c:
        old = int(flag(ms(c, "tm_st", "v1x", "c T100"), "c"))
        cur = int(flag(ms(c, "tm_st", "v2x", "c T100"), "c"))
        assert cur > old
        # a lower CAS with I: stored, marked stale, new unique, TTL kept
        r = ms(c, "tm_st", "old", "c C%d I T500" % old)
        assert r.startswith("HD c"), r
        new = int(flag(r, "c"))
        assert new > cur
        head, data = va(c, "mg tm_st v c t")
        assert data == b"old"
        assert re.fullmatch(r"VA 3 c%d t(99|100) X W" % new, head), head
        head, _ = va(c, "mg tm_st v c t")
        assert re.fullmatch(r"VA 3 c%d t(9[89]|100) Z X" % new, head), head
        # an equal CAS with I: a normal store, stale state cleared
        r = ms(c, "tm_st", "eq_", "c C%d I" % new)
        assert r.startswith("HD c"), r
        assert va(c, "mg tm_st v t") == ("VA 3 t-1", b"eq_")
        # a higher CAS with I: EX
        cur = cas_of(c, "tm_st")
        assert ms(c, "tm_st", "hi_", "C%d I" % (cur + 1000)) == "EX"
        assert ms(c, "tm_st", "hi_", "C%d I MR" % (cur + 1000)) == "EX"
        assert va(c, "mg tm_st v c") == ("VA 3 c%d" % cur, b"eq_")
        # missing: NF
        assert ms(c, "tm_st_nope", "x", "C%d I" % cur) == "NF"


def test_ms_invalidate_replace_mode_and_other_modes(server):
    with server.connect() as c:
        old = int(flag(ms(c, "tm_sr", "b1_", "c"), "c"))
        ms(c, "tm_sr", "b2_", "c")
        r = ms(c, "tm_sr", "bst", "c C%d I MR" % old)
        assert r.startswith("HD c")
        assert va(c, "mg tm_sr v") == ("VA 3 X W", b"bst")
        # A and P with a lower CAS and I: just a mismatch; E: NS
        old = int(flag(ms(c, "tm_sa", "x1_", "c"), "c"))
        ms(c, "tm_sa", "x2_")
        assert ms(c, "tm_sa", "A", "C%d I MA" % old) == "EX"
        assert ms(c, "tm_sa", "P", "C%d I MP" % old) == "EX"
        assert ms(c, "tm_sa", "E", "C%d I ME" % old) == "NS"
        assert va(c, "mg tm_sa v") == ("VA 3", b"x2_")


def test_ms_invalidate_copies_token_sent(server):
    with server.connect() as c:
        old = int(flag(ms(c, "tm_tk", "r", "c T100"), "c"))
        ms(c, "tm_tk", "r", "T100")
        head, _ = va(c, "mg tm_tk R200 v t")
        assert re.fullmatch(r"VA 1 t(99|100) W", head), head
        # the stale store copies token-sent: nobody wins, Z X
        assert ms(c, "tm_tk", "s", "C%d I" % old) == "HD"
        r = call(c, "mg tm_tk t")
        assert re.fullmatch(r"HD t(9[89]|100) Z X", r), r
        # without a previous winner the stale item is won once
        old = int(flag(ms(c, "tm_tk2", "r", "c"), "c"))
        ms(c, "tm_tk2", "r")
        assert ms(c, "tm_tk2", "s", "C%d I" % old) == "HD"
        assert call(c, "mg tm_tk2 t") == "HD t-1 X W"
        assert call(c, "mg tm_tk2 t") == "HD t-1 Z X"


def test_ms_i_without_c_is_a_plain_store(server):
    with server.connect() as c:
        cas = int(flag(ms(c, "tm_ic", "a", "c"), "c"))
        r = ms(c, "tm_ic", "b", "c I")
        assert int(flag(r, "c")) > cas
        assert va(c, "mg tm_ic v") == ("VA 1", b"b")


# -- md / ma with CAS ---------------------------------------------------------------

def test_md_cas(server):
    with server.connect() as c:
        cas = int(flag(ms(c, "tm_mdc", "abc", "c"), "c"))
        assert call(c, "md tm_mdc C%d" % (cas + 1)) == "EX"
        assert call(c, "md tm_mdc C%d k O1" % (cas - 1)) == "EX ktm_mdc O1"
        assert call(c, "md tm_mdc C0") == "EX"
        assert call(c, "md tm_mdc C%d q" % (cas + 1)) == "EX"
        assert call(c, "md tm_mdc C%d k" % cas) == "HD ktm_mdc"
        assert call(c, "mg tm_mdc") == "EN"
        assert call(c, "md tm_mdc C%d" % cas) == "NF"
        # invalidation with a matching CAS: new unique, stale
        cas = int(flag(ms(c, "tm_mdc", "abc", "c"), "c"))
        assert call(c, "md tm_mdc I C%d" % (cas + 1)) == "EX"
        assert cas_of(c, "tm_mdc") == cas
        assert call(c, "md tm_mdc I C%d T30" % cas) == "HD"
        r = call(c, "mg tm_mdc c t")
        new = int(flag(r, "c"))
        assert new > cas
        assert re.fullmatch(r"HD c%d t(29|30) X W" % new, r), r
        # each invalidation takes another unique; the old one no longer matches
        assert call(c, "md tm_mdc I C%d" % cas) == "EX"
        assert call(c, "md tm_mdc I") == "HD"
        newer = cas_of(c, "tm_mdc")
        assert newer > new
        # a stale item can be replaced by a CAS store with its current CAS
        assert ms(c, "tm_mdc", "fresh", "C%d" % newer) == "HD"
        assert va(c, "mg tm_mdc v") == ("VA 5", b"fresh")


def test_ma_cas(server):
    with server.connect() as c:
        cas = int(flag(ms(c, "tm_mac", "5", "c"), "c"))
        assert call(c, "ma tm_mac C%d v" % (cas + 1)) == "EX"
        assert call(c, "ma tm_mac C%d k O1 q" % (cas + 1)) == "EX ktm_mac O1"
        head, data = va(c, "ma tm_mac C%d v c" % cas)
        new = int(flag(head, "c"))
        assert data == b"6" and new > cas
        assert cas_of(c, "tm_mac") == new
        # C0 means no comparison for ma
        head, data = va(c, "ma tm_mac C0 v c")
        assert data == b"7" and int(flag(head, "c")) > new
        # the old unique no longer matches
        assert call(c, "ma tm_mac C%d" % new) == "EX"
        # a miss is NF whatever the CAS; with N it is created, no compare
        assert call(c, "ma tm_mac_nope C5") == "NF"
        assert va(c, "ma tm_mac_n C5 N0 J3 v") == ("VA 1", b"3")


def test_cas_counter_shared_by_all_commands(start_server):
    """Every store, arithmetic update, md I and vivify takes the next unique
    of one counter shared with the classic commands
    (docs/COMPAT.md#cas-uniques)."""
    srv = start_server()
    with srv.connect() as c:
        n = int(flag(ms(c, "a", "1", "c"), "c"))
        assert c.set("b", "1") == "STORED"
        assert c.gets("b")[2] == n + 1
        head, _ = va(c, "ma a v c")
        assert int(flag(head, "c")) == n + 2
        assert c.call("incr b 1") == "2"
        assert c.gets("b")[2] == n + 3
        assert call(c, "md a I") == "HD"
        assert cas_of(c, "a") == n + 4
        r = call(c, "mg v N30 c")
        assert r == "HD c%d W" % (n + 5)
        head, _ = va(c, "ma m N0 v c")
        assert int(flag(head, "c")) == n + 6
        # failures and reads take none
        assert ms(c, "a", "x", "ME") == "NS"
        assert call(c, "mg a T30") == "HD Z X"
        assert c.call("touch b 30") == "TOUCHED"
        assert ms(c, "z", "x", "c") == "HD c%d" % (n + 7)


# -- me ------------------------------------------------------------------------

# value length -> (cls, size) for key "foo" and flags 0 / nonzero, default
# settings (-n 48, -f 1.25, CAS on)
ME_SIZES = [
    (0, 1, 62, 1, 66),
    (1, 1, 63, 1, 67),
    (3, 1, 65, 1, 69),
    (31, 1, 93, 2, 97),
    (33, 1, 95, 2, 99),
    (56, 2, 118, 3, 122),
    (57, 2, 119, 3, 123),
    (100, 4, 162, 4, 166),
    (1000, 12, 1062, 12, 1066),
    (5000, 19, 5062, 19, 5066),
    (50000, 29, 50062, 29, 50066),
    (500000, 39, 500062, 39, 500066),
    (600000, 39, 600062, 39, 600066),
    (1048514, 39, 1048576, None, None),
]


def test_me_class_and_size(start_server):
    srv = start_server()
    with srv.connect() as c:
        for n, cls0, size0, cls1, size1 in ME_SIZES:
            assert ms(c, "foo", b"x" * n) == "HD"
            r = call(c, "me foo")
            m = re.fullmatch(r"ME foo exp=-1 la=([0-9]+) cas=([0-9]+) fetch=no "
                             r"cls=([0-9]+) size=([0-9]+)", r)
            assert m, r
            assert int(m.group(1)) <= 1
            assert int(m.group(2)) == cas_of(c, "foo")
            assert (int(m.group(3)), int(m.group(4))) == (cls0, size0), (n, r)
            if cls1 is None:
                assert ms(c, "foo", b"x" * n, "F1") == "SERVER_ERROR object too large for cache"
                continue
            assert ms(c, "foo", b"x" * n, "F1 T100") == "HD"
            r = call(c, "me foo")
            m = re.fullmatch(r"ME foo exp=(-100|-99) la=[01] cas=[0-9]+ fetch=no "
                             r"cls=([0-9]+) size=([0-9]+)", r)
            assert m, r
            assert (int(m.group(2)), int(m.group(3))) == (cls1, size1), (n, r)
        # key length counts
        assert ms(c, "k" * 250, "abc") == "HD"
        r = call(c, "me " + "k" * 250)
        assert re.fullmatch(r"ME k{250} exp=-1 la=[01] cas=[0-9]+ fetch=no cls=7 size=312", r), r


def test_me_without_cas(start_server):
    srv = start_server("-C")
    with srv.connect() as c:
        assert ms(c, "foo", "abc") == "HD"
        assert re.fullmatch(r"ME foo exp=-1 la=[01] cas=0 fetch=no cls=1 size=57",
                            call(c, "me foo"))


def test_me_exp_is_negative_remaining_ttl(server):
    with server.connect() as c:
        assert ms(c, "tm_exp", "abc", "T100") == "HD"
        r = call(c, "me tm_exp")
        assert re.fullmatch(r"ME tm_exp exp=-(100|99) la=[01] cas=[0-9]+ fetch=no "
                            r"cls=1 size=68", r), r
        assert call(c, "mg tm_exp T2000") == "HD"
        assert re.match(r"ME tm_exp exp=-(2000|1999) ", call(c, "me tm_exp"))
        assert call(c, "mg tm_exp T0") == "HD"
        assert re.match(r"ME tm_exp exp=-1 la=[0-9]+ cas=[0-9]+ fetch=yes ",
                        call(c, "me tm_exp"))
        # expired and missing: EN
        assert call(c, "mg tm_exp T-1") == "HD"
        assert call(c, "me tm_exp") == "EN"
        assert call(c, "me tm_exp_nope") == "EN"
        assert call(c, "me tm_exp_nope extra tokens b") == "EN"


@pytest.mark.slow
def test_me_la_counts_seconds_since_store(server):
    with server.connect() as c:
        assert ms(c, "tm_la", "abc") == "HD"
        time.sleep(2.1)
        r = call(c, "me tm_la")
        la = int(re.search(r" la=([0-9]+) ", r).group(1))
        assert 1 <= la <= 3, r
        # l reports the same before this request
        r = call(c, "mg tm_la l h")
        assert re.fullmatch(r"HD l[123] h0", r), r
        # me does not bump: fetch=yes now only because of the mg
        assert " fetch=yes " in call(c, "me tm_la")


# -- oversized and out of range ms -------------------------------------------------

TOO_LARGE = "SERVER_ERROR object too large for cache"


@pytest.mark.parametrize("mode", ["", "MS", "ME", "MA", "MP", "MR", "C1", "C0",
                                  "MA C1", "ME q", "q", "k O5 c", "MR I C1"])
def test_oversized_ms_deletes_existing_item(server, mode):
    with server.connect() as c:
        key = "tm_big_" + mode.replace(" ", "_")
        assert ms(c, key, "old") == "HD"
        big = b"x" * 1048515
        c.send(b"ms %s %d %s\r\n" % (b(key), len(big), b(mode)) + big + b"\r\nmn\r\n")
        c.expect_line(TOO_LARGE)
        c.expect_line("MN")
        assert call(c, "mg %s v" % key) == "EN"
        # also when nothing was there
        c.send(b"ms %s %d %s\r\n" % (b(key), len(big), b(mode)) + big + b"\r\nmn\r\n")
        c.expect_line(TOO_LARGE)
        c.expect_line("MN")


def test_ms_size_limit(server):
    with server.connect() as c:
        # 1048517 - keylen bytes fit (docs/COMPAT.md#item-size); nonzero
        # flags take 4
        assert ms(c, "tm_lim", b"y" * 1048511) == "HD"
        assert ms(c, "tm_lim", b"y" * 1048512) == TOO_LARGE
        assert call(c, "mg tm_lim") == "EN"
        assert ms(c, "tm_lim", b"y" * 1048508, "F1") == TOO_LARGE
        assert ms(c, "tm_lim", b"y" * 1048507, "F1") == "HD"
        assert call(c, "mg tm_lim s f") == "HD s1048507 f1"
        # an append whose result is too large: NS, old value kept
        assert ms(c, "tm_lim", b"a" * 600000) == "HD"
        assert ms(c, "tm_lim", b"b" * 600000, "MA") == "NS"
        assert call(c, "mg tm_lim s") == "HD s600000"
        assert ms(c, "tm_lim", b"b" * 448000, "MA") == "HD"
        assert call(c, "mg tm_lim s") == "HD s1048000"


def test_ms_large_value_roundtrip(server):
    rnd = random.Random(7)
    val = bytes(rnd.getrandbits(8) for _ in range(700000))
    with server.connect() as c:
        assert ms(c, "tm_large", val, "F9 c").startswith("HD c")
        head, data = va(c, "mg tm_large v s f")
        assert head == "VA 700000 s700000 f9"
        assert data == val
        assert c.get("tm_large") == val


def test_ms_waits_for_the_whole_block(server):
    with server.connect() as c:
        c.send(b"ms tm_slow 10 k\r\n01234")
        c.assert_quiet(0.2)
        c.send(b"56789\r")
        c.assert_quiet(0.1)
        c.send(b"\nmn\r\n")
        c.expect(b"HD ktm_slow\r\nMN\r\n")


# -- line length -----------------------------------------------------------------

def test_long_meta_line_in_one_piece(server):
    with server.connect() as c:
        assert ms(c, "tm_long", "x") == "HD"
        c.send(b"mg tm_long" + b" " * 2000 + b"v\r\n")
        c.expect(b"VA 1\r\nx\r\n")


def test_partial_meta_line_over_2048_closes(server):
    with server.connect() as c:
        c.send(b"mg tm_long" + b" " * 3000)
        c.expect_closed()


# -- win / stale across connections --------------------------------------------------

def test_vivify_win_across_connections(server):
    with server.connect() as a, server.connect() as b_:
        r = call(a, "mg tm_win N30 c")
        assert re.fullmatch(r"HD c[0-9]+ W", r), r
        cas = int(flag(r, "c"))
        # everybody else sees Z until the winner stores
        assert call(b_, "mg tm_win N30 c") == "HD c%d Z" % cas
        assert call(a, "mg tm_win N30") == "HD Z"
        assert ms(a, "tm_win", "data", "C%d" % cas) == "HD"
        assert va(b_, "mg tm_win N30 v") == ("VA 4", b"data")


def test_invalidate_win_across_connections(server):
    with server.connect() as a, server.connect() as b_:
        cas = int(flag(ms(a, "tm_inv", "abc", "c T100"), "c"))
        assert call(b_, "md tm_inv I") == "HD"
        new = cas_of(a, "tm_inv")
        assert new > cas
        # cas_of above won the token
        assert call(b_, "mg tm_inv c") == "HD c%d Z X" % new
        # the winner recaches with a stale-store or a CAS store
        assert ms(a, "tm_inv", "fresh", "C%d" % new) == "HD"
        assert va(b_, "mg tm_inv v") == ("VA 5", b"fresh")
        # stale store by an old writer after that: stale again, won again
        r = ms(b_, "tm_inv", "late", "C%d I" % cas)
        assert r == "HD"
        assert call(a, "mg tm_inv") == "HD X W"
        assert call(b_, "mg tm_inv") == "HD Z X"


def test_ma_keeps_state_in_place_and_resets_when_growing(server):
    with server.connect() as c:
        assert ms(c, "tm_mas", "10", "T100") == "HD"
        assert call(c, "mg tm_mas R200") == "HD W"
        assert va(c, "ma tm_mas v") == ("VA 2", b"11")
        assert call(c, "mg tm_mas") == "HD Z"
        assert ms(c, "tm_mas2", "9", "T100") == "HD"
        assert call(c, "md tm_mas2 I") == "HD"
        head, data = va(c, "ma tm_mas2 v")
        assert data == b"10"
        assert call(c, "mg tm_mas2") == "HD"
        assert ms(c, "tm_mas3", "10") == "HD"
        assert call(c, "md tm_mas3 I") == "HD"
        assert va(c, "ma tm_mas3 v") == ("VA 2", b"11")
        assert call(c, "mg tm_mas3") == "HD X W"


# -- output order -------------------------------------------------------------

def test_mg_flag_output_follows_request_order(server):
    rnd = random.Random(11)
    with server.connect() as c:
        cas = int(flag(ms(c, "tm_ord", "abc", "c F77 T1000"), "c"))
        call(c, "mg tm_ord")                    # fetched from now on
        expect = {
            "k": r"ktm_ord", "c": r"c%d" % cas, "f": r"f77", "s": r"s3",
            "t": r"t(999|1000)", "h": r"h1", "l": r"l[0-9]+", "Oxy": r"Oxy",
            "q": None, "u": None, "P9": None, "L9": None, "D1": None, "J1": None,
        }
        names = list(expect)
        for _ in range(60):
            chosen = rnd.sample(names, rnd.randint(0, len(names)))
            with_v = rnd.random() < 0.5
            toks = list(chosen)
            if with_v:
                toks.insert(rnd.randint(0, len(toks)), "v")
            c.cmd("mg tm_ord " + " ".join(toks))
            out = [expect[t] for t in toks if t != "v" and expect[t]]
            line = c.readline().decode()
            pat = ("VA 3" if with_v else "HD") + "".join(" " + o for o in out)
            assert re.fullmatch(pat, line), (toks, line)
            if with_v:
                c.expect(b"abc\r\n")
        # on a miss only O and k, in request order
        for _ in range(20):
            chosen = rnd.sample(names, rnd.randint(1, len(names)))
            chosen = [t for t in chosen if t != "q"]
            c.cmd("mg tm_ord_nope " + " ".join(chosen))
            out = [t if t != "k" else "ktm_ord_nope" for t in chosen if t in ("k", "Oxy")]
            assert c.readline().decode() == " ".join(["EN"] + out)


def test_ms_md_ma_flag_output_order(server):
    with server.connect() as c:
        for perm in itertools.permutations(["k", "c", "O1"]):
            r = ms(c, "tm_oo", "1", " ".join(perm))
            exp = [{"k": "ktm_oo", "c": None, "O1": "O1"}[p] for p in perm]
            toks = r.split(" ")
            assert toks[0] == "HD" and len(toks) == 4, r
            for e, t in zip(exp, toks[1:]):
                if e is None:
                    assert re.fullmatch(r"c[1-9][0-9]*", t), r
                else:
                    assert t == e, r
        for perm in itertools.permutations(["k", "O1", "t", "c"]):
            head, data = va(c, "ma tm_oo v " + " ".join(perm))
            toks = head.split(" ")[2:]
            for p, t in zip(perm, toks):
                assert t[:1] == p[:1], (perm, head)
        for perm in itertools.permutations(["k", "O1"]):
            r = call(c, "md tm_oo_nope " + " ".join(perm))
            assert r == "NF " + " ".join("ktm_oo_nope" if p == "k" else p for p in perm)


# -- pipelines of quiet commands ----------------------------------------------------

def test_quiet_pipeline_ends_with_mn(server):
    rnd = random.Random(5)
    with server.connect() as c:
        cmds, expect = [], []
        for i in range(300):
            key = b"tm_pq_%d" % i
            cmds.append(b"ms %s %d q T0 F%d\r\n%d\r\n" % (key, len(str(i)), i, i))
        for i in range(300):
            key = b"tm_pq_%d" % i
            k = rnd.random()
            if k < 0.3:
                cmds.append(b"mg %s q v f\r\n" % key)
                expect.append(b"VA %d f%d\r\n%d\r\n" % (len(str(i)), i, i))
            elif k < 0.5:
                cmds.append(b"mg %s_nope q v k\r\n" % key)       # hidden
            elif k < 0.6:
                cmds.append(b"md %s q\r\n" % key)                 # hidden
                cmds.append(b"md %s q k\r\n" % key)
                expect.append(b"NF k%s\r\n" % key)
            elif k < 0.7:
                cmds.append(b"ma %s q\r\n" % key)                 # hidden
                cmds.append(b"ma %s_n q N0 J5\r\n" % key)         # created: shown
                expect.append(b"HD\r\n")
            elif k < 0.8:
                cmds.append(b"ms %s 1 q ME\r\nx\r\n" % key)
                expect.append(b"NS\r\n")
            elif k < 0.9:
                cmds.append(b"ms %s 1 q C1\r\nx\r\n" % key)
                expect.append(b"EX\r\n")
            else:
                cmds.append(b"mg %s q z\r\n" % key)
                expect.append(b"CLIENT_ERROR invalid flag\r\n")
        cmds.append(b"mn\r\n")
        expect.append(b"MN\r\n")
        c.send(b"".join(cmds))
        c.expect(b"".join(expect))
        c.assert_quiet(0.1)


def test_many_quiet_gets_then_mn(server):
    with server.connect() as c:
        c.send(b"".join(b"ms tm_mq_%d %d q\r\n%d\r\n" % (i, len(str(i)), i)
                        for i in range(0, 100, 2)) + b"mn\r\n")
        c.expect(b"MN\r\n")
        c.send(b"".join(b"mg tm_mq_%d q k v\r\n" % i for i in range(100)) + b"mn\r\n")
        want = b"".join(b"VA %d ktm_mq_%d\r\n%d\r\n" % (len(str(i)), i, i)
                        for i in range(0, 100, 2)) + b"MN\r\n"
        c.expect(want)
        c.assert_quiet(0.1)


# -- stats -----------------------------------------------------------------

STAT_KEYS = ["cmd_get", "get_hits", "get_misses", "cmd_touch", "touch_hits",
             "touch_misses", "cmd_set", "delete_hits", "delete_misses",
             "incr_hits", "incr_misses", "decr_hits", "decr_misses", "cas_hits",
             "cas_misses", "cas_badval", "cmd_meta", "curr_items", "total_items"]


def test_stats_counters(start_server):
    srv = start_server()
    with srv.connect() as c:
        def snap():
            s = c.stats()
            return {k: int(s[k]) for k in STAT_KEYS}

        def step(send, reply, **delta):
            before = snap()
            c.send(b(send))
            c.expect(b(reply))
            after = snap()
            got = {k: after[k] - before[k] for k in STAT_KEYS if after[k] != before[k]}
            assert got == delta, (send, got)

        step("mg a v\r\n", "EN\r\n", cmd_get=1, get_misses=1)
        step("mg a v q\r\nmn\r\n", "MN\r\n", cmd_get=1, get_misses=1)
        step("ms a 1\r\n1\r\n", "HD\r\n", cmd_set=1, curr_items=1, total_items=1)
        step("mg a v\r\n", "VA 1\r\n1\r\n", cmd_get=1, get_hits=1)
        step("mg a\r\n", "HD\r\n", cmd_get=1, get_hits=1)
        step("mg a u\r\n", "HD\r\n", cmd_get=1, get_hits=1)
        # T: a touch instead of a get
        step("mg a T30\r\n", "HD\r\n", cmd_touch=1, touch_hits=1)
        # a miss with T is counted as a get miss
        step("mg b T30\r\n", "EN\r\n", cmd_get=1, get_misses=1)
        # vivify counts as a hit
        step("mg b N30\r\n", "HD W\r\n", cmd_get=1, get_hits=1, curr_items=1,
             total_items=1)
        step("mg c N30 T30\r\n", "HD W\r\n", cmd_touch=1, touch_hits=1,
             curr_items=1, total_items=1)
        # me is the only command counted in cmd_meta; mn counts nothing
        before = snap()
        c.cmd("me a")
        assert c.readline().startswith(b"ME a ")
        c.cmd("me zz")
        assert c.readline() == b"EN"
        c.cmd("mn")
        assert c.readline() == b"MN"
        after = snap()
        assert {k: after[k] - before[k] for k in STAT_KEYS if after[k] != before[k]} \
            == {"cmd_meta": 2}
        # ms
        step("ms a 1 ME\r\n1\r\n", "NS\r\n", cmd_set=1)
        step("ms a 1 MA\r\n1\r\n", "HD\r\n", cmd_set=1, total_items=1)
        step("ms zz 1 MA\r\n1\r\n", "NS\r\n", cmd_set=1)
        step("ms a 1 C1\r\n1\r\n", "EX\r\n", cmd_set=1, cas_badval=1)
        step("ms a 1 C0\r\n1\r\n", "EX\r\n", cmd_set=1, cas_badval=1)
        step("ms zz 1 C1\r\n1\r\n", "NF\r\n", cmd_set=1, cas_misses=1)
        step("ms zz 1 MR C1\r\n1\r\n", "NF\r\n", cmd_set=1, cas_misses=1)
        step("ms a 1 MR C1\r\n1\r\n", "EX\r\n", cmd_set=1, cas_badval=1)
        cas = cas_of(c, "a")
        step("ms a 1 C%d\r\n1\r\n" % cas, "HD\r\n", cmd_set=1, cas_hits=1,
             total_items=1)
        # append/prepend with a CAS: no cas_* counters
        step("ms a 1 MA C1\r\n1\r\n", "EX\r\n", cmd_set=1)
        step("ms a 1 MP C1\r\n1\r\n", "EX\r\n", cmd_set=1)
        step("ms zz 1 MA C1\r\n1\r\n", "NS\r\n", cmd_set=1)
        # a bad chunk counts as a set, a flag error does not
        step("ms a 2\r\nabcd\r\n", "CLIENT_ERROR bad data chunk\r\nERROR\r\n", cmd_set=1)
        step("ms a 1 k k\r\n1\r\n", "CLIENT_ERROR duplicate flag\r\n")
        # too large: not a set; the old item is gone
        step("ms a 2000000\r\n" + "x" * 2000000 + "\r\n", TOO_LARGE + "\r\n",
             curr_items=-1)
        step("ms a 1\r\n1\r\n", "HD\r\n", cmd_set=1, curr_items=1, total_items=1)
        # ma
        step("ma a\r\n", "HD\r\n", incr_hits=1)
        step("ma a MD\r\n", "HD\r\n", decr_hits=1)
        step("ma n\r\n", "NF\r\n", incr_misses=1)
        step("ma n MD\r\n", "NF\r\n", decr_misses=1)
        step("ma n N0\r\n", "HD\r\n", curr_items=1, total_items=1)
        step("ma n N0 MD\r\n", "HD\r\n", decr_hits=1)
        step("ma n C1\r\n", "EX\r\n")
        step("ma n MD C1\r\n", "EX\r\n")
        step("ms x 1\r\nx\r\n", "HD\r\n", cmd_set=1, curr_items=1, total_items=1)
        step("ma x\r\n", "CLIENT_ERROR cannot increment or decrement non-numeric value\r\n")
        # md
        step("md n\r\n", "HD\r\n", delete_hits=1, curr_items=-1)
        step("md n\r\n", "NF\r\n", delete_misses=1)
        step("md a C1\r\n", "EX\r\n", delete_misses=1)
        step("md a I\r\n", "HD\r\n")
        step("md a I C1\r\n", "EX\r\n", delete_misses=1)
        step("md a q\r\nmn\r\n", "MN\r\n", delete_hits=1, curr_items=-1)


def test_stats_cas_disabled(start_server):
    """-C: every CAS is 0. ms S/R never match (C0 included), A/P/E do not
    compare at all, md C0 matches, ma C0 is no compare."""
    srv = start_server("-C")
    with srv.connect() as c:
        assert ms(c, "a", "x", "c") == "HD c0"
        assert call(c, "mg a c") == "HD c0"
        assert ms(c, "a", "y", "C0 c") == "EX c0"
        assert ms(c, "a", "y", "C1") == "EX"
        assert ms(c, "a", "y", "C0 MR") == "EX"
        assert ms(c, "a", "y", "C5 MA c") == "HD c0"
        assert ms(c, "a", "z", "C5 MP") == "HD"
        assert va(c, "mg a v") == ("VA 3", b"zxy")
        assert ms(c, "b", "y", "C0 MR") == "NF"
        assert call(c, "md a C1") == "EX"
        assert call(c, "md a C0 I") == "HD"
        assert call(c, "mg a c") == "HD c0 X W"
        assert call(c, "md a C0") == "HD"
        assert call(c, "mg a") == "EN"
        assert ms(c, "n", "1") == "HD"
        assert va(c, "ma n C0 c v") == ("VA 1 c0", b"2")
        assert call(c, "ma n C1 v") == "EX"


# -- worked examples: a session of each command, as memcached 1.6.18 answers --

def test_worked_examples(start_server):
    srv = start_server()
    with srv.connect() as c:
        # ms: the reply flags
        r = ms(c, "Zm9v", "baz", "b k c O1")
        m = re.fullmatch(r"HD kZm9v b c([0-9]+) O1", r)
        assert m, r
        cas = int(m.group(1))
        assert ms(c, "zzq", "bar", "c k O5 MR") == "NS c0 kzzq O5"
        assert ms(c, "zzq", "bar", "c k O5 C99") == "NF c0 kzzq O5"
        assert ms(c, "zzq", "bar") == "HD"
        assert ms(c, "zzq", "bar", "c k O5 C%d" % (cas_of(c, "zzq") + 1)) == "EX c0 kzzq O5"
        # mg: the first fetch says h0, the second h1
        head, data = va(c, "mg foo k v c f s t h l O999 q")
        assert re.fullmatch(r"VA 3 kZm9v b c%d f0 s3 t-1 h0 l[01] O999" % cas, head), head
        head, data = va(c, "mg foo k v c f s t h l O999 q")
        assert re.fullmatch(r"VA 3 kZm9v b c%d f0 s3 t-1 h1 l[01] O999" % cas, head), head
        assert data == b"baz"
        # mg: a miss echoes k and O
        assert call(c, "mg nope k O5 v") == "EN knope O5"
        # ma: create, increment, decrement to the floor, flags
        assert call(c, "ma cnt N0") == "HD"
        assert va(c, "ma cnt v") == ("VA 1", b"1")
        assert va(c, "ma cnt v D10") == ("VA 2", b"11")
        assert va(c, "ma cnt v M- D500") == ("VA 1", b"0")
        head, data = va(c, "ma cnt v M+ D5 t c k O9")
        assert re.fullmatch(r"VA 1 t-1 c[0-9]+ kcnt O9", head) and data == b"5", head
        head, data = va(c, "ma cnt2 N100 J42 v t")
        assert re.fullmatch(r"VA 2 t(99|100)", head) and data == b"42", head
        # mg: vivify, win and stale tokens
        head, data = va(c, "mg vv N30 v c t")
        m = re.fullmatch(r"VA 0 c([0-9]+) t(29|30) W", head)
        assert m and data == b"", head
        head, _ = va(c, "mg vv N30 v c t")
        assert re.fullmatch(r"VA 0 c%s t(2[89]|30) Z" % m.group(1), head), head
        assert ms(c, "vv", "new") == "HD"
        assert va(c, "mg vv N30 v t") == ("VA 3 t-1", b"new")
        assert call(c, "md foo I T30") == "HD"
        head, _ = va(c, "mg foo v c t")
        m = re.fullmatch(r"VA 3 c([0-9]+) t(29|30) X W", head)
        assert m and int(m.group(1)) > cas, head
        head, _ = va(c, "mg foo v c t")
        assert re.fullmatch(r"VA 3 c%s t(2[89]|30) Z X" % m.group(1), head), head
