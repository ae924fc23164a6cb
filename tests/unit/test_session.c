#include "unit.h"

#include "outq_gather.h"

#include "cmd/auth.h"
#include "cmd/cmd.h"
#include "cmd/session.h"
#include "lib/buf.h"
#include "lib/outq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A session over in-memory buffers, with a real engine behind it. */
struct fixture {
    struct engine *engine;
    struct stats_thread stats;
    struct stats_thread *blocks[1];
    struct stats_conns conns;
    struct cmd_server srv;
    struct outq out;
    struct buf in;
    struct session *s;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct engine_config ec;

    engine_config_default(&ec);
    f->engine = engine_create(&ec);
    f->blocks[0] = &f->stats;
    f->srv.engine = f->engine;
    f->srv.threads = f->blocks;
    f->srv.nthreads = 1;
    f->srv.conns = &f->conns;
    f->srv.version = "1.6.18";
    f->srv.libevent_version = "test";
    f->srv.flush_enabled = true;
    outq_init(&f->out);
    buf_init(&f->in, 64);
    f->s = session_create(&f->srv, &f->stats, &f->out);
    *state = f;
    return f->engine != NULL && f->s != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    session_destroy(f->s);
    outq_deinit(&f->out);
    buf_deinit(&f->in);
    engine_destroy(f->engine);
    free(f);
    return 0;
}

static void
feed(struct fixture *f, const char *bytes, size_t len)
{
    assert_int_equal(buf_reserve(&f->in, len), BUF_OK);
    memcpy(buf_wptr(&f->in), bytes, len);
    buf_commit(&f->in, len);
}

/* Takes everything queued as one string, as the socket would. */
static char *
drain(struct fixture *f)
{
    size_t len = outq_pending(&f->out);
    char *s = malloc(len + 1);
    size_t off = 0;

    while (outq_pending(&f->out) > 0) {
        struct iovec iov[16];
        int n = outq_iov(&f->out, iov, 16);
        size_t sent = 0;
        for (int i = 0; i < n; i++) {
            memcpy(s + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
            sent += iov[i].iov_len;
        }
        outq_sent(&f->out, sent);
    }
    s[off] = '\0';
    return s;
}

static void
expect(struct fixture *f, const char *want)
{
    char *got = drain(f);
    assert_string_equal(got, want);
    free(got);
}

static void
run(struct fixture *f, const char *bytes)
{
    feed(f, bytes, strlen(bytes));
    assert_int_equal(session_process(f->s, &f->in, 1000), SESSION_NEED_INPUT);
}

static void
pipelined_requests_are_answered_in_order(void **state)
{
    struct fixture *f = *state;

    run(f, "set a 0 0 1\r\nx\r\nget a b\r\ndelete a\r\nget a\r\nversion\r\n");
    expect(f, "STORED\r\nVALUE a 0 1\r\nx\r\nEND\r\nDELETED\r\nEND\r\n"
              "VERSION 1.6.18\r\n");
}

static void
a_set_split_at_every_byte_gives_the_same_reply(void **state)
{
    struct fixture *f = *state;
    const char *req = "set split 5 0 10\r\n0123456789\r\nget split\r\n";
    size_t len = strlen(req);

    for (size_t i = 0; i < len; i++) {
        feed(f, req + i, 1);
        assert_int_equal(session_process(f->s, &f->in, 1000),
                         SESSION_NEED_INPUT);
    }
    expect(f, "STORED\r\nVALUE split 5 10\r\n0123456789\r\nEND\r\n");
}

static void
bad_data_chunk_is_refused_and_the_rest_parsed(void **state)
{
    struct fixture *f = *state;

    run(f, "set foo 0 0 3\r\nabcde\r\nget foo\r\n");
    expect(f, "CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n");
    assert_int_equal(f->stats.cmd_set, 1);
}

static void
too_large_value_is_swallowed_and_old_value_removed(void **state)
{
    struct fixture *f = *state;
    size_t n = (size_t)2 * 1024 * 1024;
    char *big = malloc(n + 64);
    int hdr = snprintf(big, 64, "set k 0 0 %zu\r\n", n);

    run(f, "set k 0 0 3\r\nold\r\n");
    expect(f, "STORED\r\n");
    memset(big + hdr, 'v', n);
    memcpy(big + hdr + n, "\r\n", 2);
    feed(f, big, (size_t)hdr + n + 2);
    assert_int_equal(session_process(f->s, &f->in, 1000), SESSION_NEED_INPUT);
    run(f, "get k\r\n");
    expect(f, "SERVER_ERROR object too large for cache\r\nEND\r\n");
    free(big);
}

static void
noreply_suppresses_replies_but_not_the_data_block_error(void **state)
{
    struct fixture *f = *state;

    run(f, "set q 0 0 1 noreply\r\nx\r\nincr q 1 noreply\r\n"
           "set foo 0 0 3 noreply\r\nabcde\r\nget q\r\n");
    expect(f, "ERROR\r\nVALUE q 0 1\r\nx\r\nEND\r\n");
}

static void
yields_after_max_requests_and_resumes(void **state)
{
    struct fixture *f = *state;

    feed(f, "version\r\nversion\r\nversion\r\n", 27);
    assert_int_equal(session_process(f->s, &f->in, 2), SESSION_YIELD);
    expect(f, "VERSION 1.6.18\r\nVERSION 1.6.18\r\n");
    assert_int_equal(session_process(f->s, &f->in, 2), SESSION_NEED_INPUT);
    expect(f, "VERSION 1.6.18\r\n");
    assert_int_equal(f->stats.conn_yields, 1);
}

static void
a_value_queued_for_sending_survives_its_replacement(void **state)
{
    struct fixture *f = *state;

    run(f, "set p 0 0 5\r\nfirst\r\n");
    expect(f, "STORED\r\n");
    run(f, "get p\r\nset p 0 0 6\r\nsecond\r\ndelete p\r\n");
    expect(f, "VALUE p 0 5\r\nfirst\r\nEND\r\nSTORED\r\nDELETED\r\n");
}

static void
stops_taking_requests_while_too_much_output_is_queued(void **state)
{
    struct fixture *f = *state;
    size_t n = (size_t)100 * 1024;
    char *val = malloc(n + 64);
    int hdr = snprintf(val, 64, "set big 0 0 %zu\r\n", n);
    enum session_status st = SESSION_NEED_INPUT;

    memset(val + hdr, 'b', n);
    memcpy(val + hdr + n, "\r\n", 2);
    feed(f, val, (size_t)hdr + n + 2);
    assert_int_equal(session_process(f->s, &f->in, 1000), SESSION_NEED_INPUT);
    free(drain(f));
    for (int i = 0; i < 20; i++) {
        feed(f, "get big\r\n", 9);
    }
    st = session_process(f->s, &f->in, 1000);
    assert_int_equal(st, SESSION_BLOCKED);
    assert_true(outq_pending(&f->out) >= SESSION_OUT_HIGH_WATER);
    assert_true(buf_rlen(&f->in) > 0);
    free(drain(f));
    int rounds = 1;
    while (session_process(f->s, &f->in, 1000) == SESSION_BLOCKED) {
        free(drain(f));
        assert_true(++rounds < 20);
    }
    free(drain(f));
    assert_int_equal(buf_rlen(&f->in), 0);
    assert_true(rounds >= 3);
    assert_int_equal(f->stats.get_hits, 20);
    free(val);
}

static void
quit_closes_after_earlier_replies(void **state)
{
    struct fixture *f = *state;

    feed(f, "version\r\nquit\r\nversion\r\n", 24);
    assert_int_equal(session_process(f->s, &f->in, 1000), SESSION_CLOSE);
    expect(f, "VERSION 1.6.18\r\n");
}

static void
counts_commands_in_the_workers_block(void **state)
{
    struct fixture *f = *state;

    run(f, "set c 0 0 1\r\n1\r\nget c d\r\nincr c 5\r\ndecr zz 1\r\n"
           "touch c 0\r\ncas c 0 0 1 999\r\nx\r\n");
    free(drain(f));
    assert_int_equal(f->stats.cmd_set, 2);
    assert_int_equal(f->stats.cmd_get, 2);
    assert_int_equal(f->stats.get_hits, 1);
    assert_int_equal(f->stats.get_misses, 1);
    assert_int_equal(f->stats.incr_hits, 1);
    assert_int_equal(f->stats.decr_misses, 1);
    assert_int_equal(f->stats.touch_hits, 1);
    assert_int_equal(f->stats.cas_badval, 1);
}

static void
meta_commands_split_at_every_byte_give_the_same_replies(void **state)
{
    struct fixture *f = *state;
    const char *req = "ms mk 5 T0 F3 k O1 c\r\nhello\r\nmg mk v f s k\r\n"
                      "set t 0 0 1\r\nx\r\nmn\r\nma n N0 J9 v\r\n";
    size_t len = strlen(req);

    for (size_t i = 0; i < len; i++) {
        feed(f, req + i, 1);
        assert_int_equal(session_process(f->s, &f->in, 1000),
                         SESSION_NEED_INPUT);
    }
    expect(f, "HD kmk O1 c1\r\nVA 5 f3 s5 kmk\r\nhello\r\nSTORED\r\nMN\r\n"
              "VA 1\r\n9\r\n");
}

static void
meta_set_errors_swallow_the_data_block_only_when_memcached_does(void **state)
{
    struct fixture *f = *state;

    /* a flag error swallows the block; a bad datalen does not */
    run(f, "ms a 3 k k\r\nabc\r\nms a -1\r\nmn\r\nms a 2 q\r\nxyz\r\n"
           "mg a v\r\n");
    expect(f, "CLIENT_ERROR duplicate flag\r\n"
              "CLIENT_ERROR bad command line format\r\nMN\r\n"
              "CLIENT_ERROR bad data chunk\r\nERROR\r\nEN\r\n");
    assert_int_equal(f->stats.cmd_set, 1);
}

static void
a_meta_value_queued_for_sending_survives_its_replacement(void **state)
{
    struct fixture *f = *state;

    run(f, "ms v 3\r\nold\r\nmg v v\r\nms v 3\r\nnew\r\nmd v q\r\n");
    expect(f, "HD\r\nVA 3\r\nold\r\nHD\r\n");
    run(f, "mg v v\r\n");
    expect(f, "EN\r\n");
}

/* Chunks in use across every slab class. */
static uint64_t
used_chunks(struct fixture *f)
{
    struct engine_class_stats cs;
    uint64_t used = 0;

    for (unsigned id = 0; id < 256; id++) {
        if (engine_class_stats(f->engine, id, &cs)) {
            used += cs.used_chunks;
        }
    }
    return used;
}

/*
 * The queue holds the value's pin, not just its bytes: with the key
 * deleted, stores of the same size class must not reuse the chunk that
 * the queued bytes still point into, until they are sent.
 */
static void
a_queued_value_keeps_its_chunk_from_reuse_until_sent(void **state)
{
    struct fixture *f = *state;
    char req[256];
    char val[101];
    char got[4096];
    char want[256];
    uint64_t before = 0;

    memset(val, 'A', 100);
    val[100] = '\0';
    snprintf(req, sizeof(req), "set k 0 0 100\r\n%s\r\n", val);
    run(f, req);
    expect(f, "STORED\r\n");
    before = used_chunks(f);
    run(f, "get k\r\nmg k v\r\ndelete k\r\n");
    assert_int_equal(used_chunks(f), before); /* deleted, still pinned */
    memset(val, 'B', 100);
    for (int i = 0; i < 20; i++) { /* keys a to t: k itself is stored anew */
        snprintf(req, sizeof(req), "set %c 0 0 100\r\n%s\r\n", 'a' + i, val);
        run(f, req);
    }
    assert_int_equal(used_chunks(f), before + 20);
    memset(val, 'A', 100);
    int n = snprintf(
        want, sizeof(want),
        "VALUE k 0 100\r\n%s\r\nEND\r\nVA 100\r\n%s\r\nDELETED\r\n", val, val);
    size_t len = outq_gather(&f->out, got, sizeof(got));
    assert_true(len >= (size_t)n);
    assert_memory_equal(got, want, (size_t)n);
    free(drain(f));
    /* Sent: the pins are gone, and with them the deleted item. */
    assert_int_equal(used_chunks(f), before + 20 - 1);
}

static void
a_queue_deinitialized_unsent_releases_its_values(void **state)
{
    struct fixture *f = *state;

    run(f, "set k 0 0 5\r\nvalue\r\n");
    expect(f, "STORED\r\n");
    uint64_t before = used_chunks(f);
    run(f, "get k\r\ndelete k\r\n");
    assert_int_equal(used_chunks(f), before); /* pinned by the queue */
    outq_deinit(&f->out); /* the connection closes with it unsent */
    assert_int_equal(used_chunks(f), before - 1);
}

/* Marks as "kind@position" in one string, then forgets them. */
static void
expect_marks(struct fixture *f, const char *want)
{
    static const char kinds[] = {'R', 'V', 'F'};
    char got[512] = "";
    size_t len = 0;

    for (size_t i = 0; i < f->out.nmarks; i++) {
        len += (size_t)snprintf(got + len, sizeof(got) - len, "%s%c@%llu",
                                i > 0 ? " " : "", kinds[f->out.marks[i].kind],
                                (unsigned long long)f->out.marks[i].pos);
    }
    assert_string_equal(got, want);
    outq_marks_clear(&f->out);
}

static void
marks_nothing_unless_the_queue_is_marking(void **state)
{
    struct fixture *f = *state;
    run(f, "set a 0 0 1\r\nA\r\nget a b\r\nmn\r\n");
    expect_marks(f, "");
    expect(f, "STORED\r\nVALUE a 0 1\r\nA\r\nEND\r\nMN\r\n");
}

static void
marks_each_request_each_get_key_and_the_flushes(void **state)
{
    struct fixture *f = *state;
    f->out.marking = true;
    static const char in[] = "set a 0 0 1\r\nA\r\nget b a\r\nversion\r\n"
                             "mn\r\nbogus\r\nmg a v\r\nquit\r\n";
    feed(f, in, sizeof(in) - 1);
    assert_int_equal(session_process(f->s, &f->in, 1000), SESSION_CLOSE);
    /* STORED (8), VALUE a..END (21), VERSION 1.6.18 (16), MN, ERROR, VA */
    expect_marks(f, "R@0 R@8 V@8 V@8 F@29 R@29 R@45 F@49 R@49 R@56 R@65 F@65");
}

static void
reset_drops_a_data_block_in_progress(void **state)
{
    struct fixture *f = *state;
    run(f, "set a 0 0 5\r\nhel");
    assert_true(session_mid_request(f->s));
    session_reset(f->s);
    assert_false(session_mid_request(f->s));
    buf_consume(&f->in, buf_rlen(&f->in));
    run(f, "get a\r\n");
    expect(f, "END\r\n");
}

/* -Y: a credential table with alice/secret, and a connection under it. */
static void
start_auth(struct fixture *f)
{
    char path[] = "/tmp/memoria-test-auth-XXXXXX";
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, "alice:secret\n", 13), 13);
    close(fd);
    f->srv.auth = cmd_auth_create();
    assert_non_null(f->srv.auth);
    assert_int_equal(cmd_auth_load(f->srv.auth, path), CMD_AUTH_LOADED);
    unlink(path);
    session_set_client(f->s, -1, 0, SESSION_PROTO_ASCII, false);
}

static void
auth_handshake_split_at_every_byte_answers_each_request(void **state)
{
    struct fixture *f = *state;
    const char *in = "get a\r\nset x 0 0 12\r\nalice wrong1\r\n"
                     "set x 0 0 12\r\nalice secret\r\nget a\r\n";
    size_t len = strlen(in);

    start_auth(f);
    for (size_t i = 0; i < len; i++) {
        feed(f, in + i, 1);
        assert_int_equal(session_process(f->s, &f->in, 1000),
                         SESSION_NEED_INPUT);
    }
    expect(f, "CLIENT_ERROR unauthenticated\r\n"
              "CLIENT_ERROR authentication failure\r\nSTORED\r\nEND\r\n");
    assert_int_equal(f->stats.auth_cmds, 2);
    assert_int_equal(f->stats.auth_errors, 1);
    cmd_auth_destroy(f->srv.auth);
}

static void
auth_answers_read_at_once_keep_only_the_last(void **state)
{
    struct fixture *f = *state;

    start_auth(f);
    run(f, "get a\r\nversion\r\n");
    expect(f, "CLIENT_ERROR unauthenticated\r\n");
    run(f, "set x 0 0 12\r\nalice wrong1\r\nset x 0 0 12\r\nalice secret\r\n"
           "get a\r\n");
    expect(f, "STORED\r\nEND\r\n");
    cmd_auth_destroy(f->srv.auth);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(pipelined_requests_are_answered_in_order),
        T(a_set_split_at_every_byte_gives_the_same_reply),
        T(bad_data_chunk_is_refused_and_the_rest_parsed),
        T(too_large_value_is_swallowed_and_old_value_removed),
        T(noreply_suppresses_replies_but_not_the_data_block_error),
        T(yields_after_max_requests_and_resumes),
        T(a_value_queued_for_sending_survives_its_replacement),
        T(stops_taking_requests_while_too_much_output_is_queued),
        T(quit_closes_after_earlier_replies),
        T(counts_commands_in_the_workers_block),
        T(meta_commands_split_at_every_byte_give_the_same_replies),
        T(meta_set_errors_swallow_the_data_block_only_when_memcached_does),
        T(a_meta_value_queued_for_sending_survives_its_replacement),
        T(a_queued_value_keeps_its_chunk_from_reuse_until_sent),
        T(a_queue_deinitialized_unsent_releases_its_values),
        T(marks_nothing_unless_the_queue_is_marking),
        T(marks_each_request_each_get_key_and_the_flushes),
        T(reset_drops_a_data_block_in_progress),
        T(auth_handshake_split_at_every_byte_answers_each_request),
        T(auth_answers_read_at_once_keep_only_the_last),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
