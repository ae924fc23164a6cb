#include "unit.h"

#include "outq_gather.h"

#include "cmd/detail.h"
#include "lib/outq.h"
#include "proto/text.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* A dump as the wire shows it, through the same composer. */
struct dump {
    struct outq q;
    char text[512 * 1024];
    size_t len;
};

static void
compose(void *ctx, const struct cmd_detail_line *l)
{
    text_compose_prefix(ctx, l->prefix, l->gets, l->hits, l->sets, l->dels);
}

static const char *
dump_text(struct cmd_detail *d, struct dump *out)
{
    outq_init(&out->q);
    cmd_detail_dump(d, compose, &out->q);
    out->len = outq_gather(&out->q, out->text, sizeof(out->text) - 1);
    out->text[out->len] = '\0';
    outq_deinit(&out->q);
    return out->text;
}

static void
record(struct cmd_detail *d, const char *key, enum cmd_detail_op op)
{
    cmd_detail_record(d, slice_make(key, strlen(key)), op);
}

static struct dump dbuf;

static void
counts_each_op_under_the_prefix_before_the_first_delimiter(void **state)
{
    struct cmd_detail *d = cmd_detail_create(':');
    (void)state;

    assert_non_null(d);
    record(d, "a:1", CMD_DETAIL_GET);
    record(d, "a:2:3", CMD_DETAIL_HIT);
    record(d, "a:", CMD_DETAIL_HIT);
    record(d, "a:x", CMD_DETAIL_SET);
    record(d, "a:y", CMD_DETAIL_DEL);
    record(d, "a:y", CMD_DETAIL_DEL);
    assert_string_equal(dump_text(d, &dbuf),
                        "PREFIX a get 3 hit 2 set 1 del 2\r\n");
    cmd_detail_destroy(d);
}

static void
skips_keys_without_the_delimiter_and_keeps_an_empty_prefix(void **state)
{
    struct cmd_detail *d = cmd_detail_create(':');
    (void)state;

    record(d, "nodelimiter", CMD_DETAIL_GET);
    record(d, "", CMD_DETAIL_GET);
    assert_string_equal(dump_text(d, &dbuf), "");
    record(d, ":x", CMD_DETAIL_GET);
    record(d, "::", CMD_DETAIL_SET);
    assert_string_equal(dump_text(d, &dbuf),
                        "PREFIX  get 1 hit 0 set 1 del 0\r\n");
    cmd_detail_destroy(d);
}

static void
uses_the_configured_delimiter(void **state)
{
    struct cmd_detail *d = cmd_detail_create('/');
    (void)state;

    record(d, "a:b", CMD_DETAIL_GET);
    record(d, "x/y:z", CMD_DETAIL_GET);
    assert_string_equal(dump_text(d, &dbuf),
                        "PREFIX x get 1 hit 0 set 0 del 0\r\n");
    cmd_detail_destroy(d);
}

/*
 * The order memcached 1.6.18 dumps in, as observed: by murmur3 bucket
 * (b 3, z 23, x 27, c 95, a 178), and newest first within one bucket
 * (p0, p191 and p256 all fall in bucket 63).
 */
static void
dumps_in_memcacheds_order(void **state)
{
    struct cmd_detail *d = cmd_detail_create(':');
    (void)state;

    const char *keys[] = {"a:1", "b:1", "c:1", "x:1", "z:1"};
    for (size_t i = 0; i < 5; i++) {
        record(d, keys[i], CMD_DETAIL_GET);
    }
    assert_string_equal(dump_text(d, &dbuf),
                        "PREFIX b get 1 hit 0 set 0 del 0\r\n"
                        "PREFIX z get 1 hit 0 set 0 del 0\r\n"
                        "PREFIX x get 1 hit 0 set 0 del 0\r\n"
                        "PREFIX c get 1 hit 0 set 0 del 0\r\n"
                        "PREFIX a get 1 hit 0 set 0 del 0\r\n");
    cmd_detail_reset(d);
    record(d, "p0:x", CMD_DETAIL_GET);
    record(d, "p191:x", CMD_DETAIL_GET);
    record(d, "p256:x", CMD_DETAIL_GET);
    record(d, "p0:y", CMD_DETAIL_GET);
    assert_string_equal(dump_text(d, &dbuf),
                        "PREFIX p256 get 1 hit 0 set 0 del 0\r\n"
                        "PREFIX p191 get 1 hit 0 set 0 del 0\r\n"
                        "PREFIX p0 get 2 hit 0 set 0 del 0\r\n");

    /* longer prefixes: whole blocks, tails of 1 to 3 bytes */
    char lp[CMD_DETAIL_PREFIX_MAX + 3];
    memset(lp, 'L', CMD_DETAIL_PREFIX_MAX);
    memcpy(lp + CMD_DETAIL_PREFIX_MAX, ":x", 3);
    cmd_detail_reset(d);
    record(d, "abc:1", CMD_DETAIL_GET);          /* bucket 250 */
    record(d, "hello:1", CMD_DETAIL_GET);        /* 71 */
    record(d, "prefix7:1", CMD_DETAIL_GET);      /* 234 */
    record(d, "user_profile:1", CMD_DETAIL_GET); /* 43 */
    record(d, lp, CMD_DETAIL_GET);               /* 7 */
    dump_text(d, &dbuf);
    const char *order[] = {"PREFIX LLL", "PREFIX user_profile ",
                           "PREFIX hello ", "PREFIX prefix7 ", "PREFIX abc "};
    const char *at = dbuf.text;
    for (size_t i = 0; i < 5; i++) {
        at = strstr(at, order[i]);
        assert_non_null(at);
    }
    cmd_detail_destroy(d);
}

/* Keeps the counts of one prefix, and how many prefixes there were. */
struct find {
    const char *prefix;
    struct cmd_detail_line found;
    size_t n;
    bool seen;
};

static void
find_prefix(void *ctx, const struct cmd_detail_line *l)
{
    struct find *f = ctx;
    f->n++;
    if (slice_eq_str(l->prefix, f->prefix)) {
        f->found = *l;
        f->seen = true;
    }
}

static struct find
find(struct cmd_detail *d, const char *prefix)
{
    struct find f = {.prefix = prefix};
    size_t n = cmd_detail_dump(d, find_prefix, &f);
    assert_int_equal(n, f.n);
    return f;
}

static void
stops_adding_prefixes_at_the_cap_and_counts_the_drops(void **state)
{
    struct cmd_detail *d = cmd_detail_create(':');
    char key[32];
    (void)state;

    for (int i = 0; i < CMD_DETAIL_PREFIXES_MAX; i++) {
        snprintf(key, sizeof(key), "k%d:x", i);
        record(d, key, CMD_DETAIL_SET);
    }
    assert_int_equal(find(d, "k7").n, CMD_DETAIL_PREFIXES_MAX);
    assert_int_equal(cmd_detail_dropped(d), 0);
    record(d, "new:x", CMD_DETAIL_SET);
    record(d, "new:y", CMD_DETAIL_GET);
    record(d, "nodelimiter", CMD_DETAIL_GET); /* not a drop: not counted */
    assert_int_equal(cmd_detail_dropped(d), 2);
    record(d, "k7:again", CMD_DETAIL_HIT); /* a known prefix still counts */
    struct find f = find(d, "k7");
    assert_true(f.seen);
    assert_int_equal(f.n, CMD_DETAIL_PREFIXES_MAX);
    assert_int_equal(f.found.gets, 1);
    assert_int_equal(f.found.hits, 1);
    assert_int_equal(f.found.sets, 1);
    assert_false(find(d, "new").seen);

    cmd_detail_reset(d);
    assert_int_equal(cmd_detail_dropped(d), 0);
    record(d, "new:x", CMD_DETAIL_SET);
    assert_string_equal(dump_text(d, &dbuf),
                        "PREFIX new get 0 hit 0 set 1 del 0\r\n");
    cmd_detail_destroy(d);
}

static void
longest_line_fits_its_bound(void **state)
{
    struct outq q;
    char prefix[CMD_DETAIL_PREFIX_MAX];
    char out[CMD_DETAIL_LINE_MAX + 1];
    (void)state;

    memset(prefix, 'p', sizeof(prefix));
    outq_init(&q);
    text_compose_prefix(&q, slice_make(prefix, sizeof(prefix)), UINT64_MAX,
                        UINT64_MAX, UINT64_MAX, UINT64_MAX);
    size_t n = outq_gather(&q, out, sizeof(out));
    assert_int_equal(n, CMD_DETAIL_LINE_MAX);
    assert_int_equal(n, 358);
    assert_memory_equal(out + 7 + sizeof(prefix),
                        " get 18446744073709551615 hit 18446744073709551615"
                        " set 18446744073709551615 del 18446744073709551615"
                        "\r\n",
                        n - 7 - sizeof(prefix));
    outq_deinit(&q);
}

static void
hook_records_only_while_on_and_tolerates_no_table(void **state)
{
    struct cmd_server srv = {0};
    (void)state;

    cmd_detail_count(&srv, slice_make("a:1", 3), CMD_DETAIL_GET);
    atomic_store(&srv.detail_on, true);
    cmd_detail_count(&srv, slice_make("a:1", 3), CMD_DETAIL_GET); /* NULL */
    srv.detail = cmd_detail_create(':');
    cmd_detail_count(&srv, slice_make("a:1", 3), CMD_DETAIL_GET);
    atomic_store(&srv.detail_on, false);
    cmd_detail_count(&srv, slice_make("a:1", 3), CMD_DETAIL_GET);
    assert_string_equal(dump_text(srv.detail, &dbuf),
                        "PREFIX a get 1 hit 0 set 0 del 0\r\n");
    cmd_detail_destroy(srv.detail);
    cmd_detail_destroy(NULL);
    cmd_detail_reset(NULL);
    assert_int_equal(cmd_detail_dump(NULL, compose, NULL), 0);
    assert_int_equal(cmd_detail_dropped(NULL), 0);
}

static const char *
run(struct cmd_ctx *c, const char *rest)
{
    outq_init(c->out);
    cmd_detail_run(c, slice_make(rest, strlen(rest)));
    dbuf.len = outq_gather(c->out, dbuf.text, sizeof(dbuf.text) - 1);
    dbuf.text[dbuf.len] = '\0';
    outq_deinit(c->out);
    return dbuf.text;
}

static void
stats_detail_sub_command_answers_like_memcached(void **state)
{
    struct cmd_server srv = {0};
    struct outq q;
    struct cmd_ctx c = {.srv = &srv, .out = &q};
    static const char usage[] =
        "CLIENT_ERROR usage: stats detail on|off|dump\r\n";
    (void)state;

    srv.detail = cmd_detail_create(':');
    assert_string_equal(run(&c, ""), usage);
    assert_string_equal(run(&c, "  "), usage);
    assert_string_equal(run(&c, " ON"), usage);
    assert_string_equal(run(&c, " onx"), usage);
    assert_string_equal(run(&c, " dump"), "END\r\n");
    assert_string_equal(run(&c, " on"), "OK\r\n");
    assert_true(atomic_load(&srv.detail_on));
    cmd_detail_count(&srv, slice_make("a:1", 3), CMD_DETAIL_HIT);
    assert_string_equal(run(&c, " off extra tokens"), "OK\r\n");
    assert_false(atomic_load(&srv.detail_on));
    assert_string_equal(run(&c, "  dump  x"),
                        "PREFIX a get 1 hit 1 set 0 del 0\r\nEND\r\n");
    cmd_detail_destroy(srv.detail);
}

#define NTHREADS 4
#define NRECORDS 20000

static void *
record_many(void *arg)
{
    struct cmd_detail *d = arg;
    char key[32];

    for (int i = 0; i < NRECORDS; i++) {
        snprintf(key, sizeof(key), "t%d:%d", i % 8, i);
        record(d, key, (enum cmd_detail_op)(i % 4));
    }
    return NULL;
}

struct totals {
    size_t n;
    uint64_t gets, hits, sets, dels;
};

static void
add_up(void *ctx, const struct cmd_detail_line *l)
{
    struct totals *t = ctx;
    t->n++;
    t->gets += l->gets;
    t->hits += l->hits;
    t->sets += l->sets;
    t->dels += l->dels;
}

static void
workers_record_concurrently(void **state)
{
    struct cmd_detail *d = cmd_detail_create(':');
    pthread_t th[NTHREADS];
    struct totals t = {0};
    (void)state;

    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, record_many, d), 0);
    }
    for (int i = 0; i < 200; i++) { /* dumps and resets race the records */
        struct totals scratch = {0};
        cmd_detail_dump(d, add_up, &scratch);
        if (i == 100) {
            cmd_detail_reset(d);
        }
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
    }
    cmd_detail_reset(d);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_create(&th[i], NULL, record_many, d), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
    }
    assert_int_equal(cmd_detail_dump(d, add_up, &t), 8);
    /* ops cycle GET HIT SET DEL: a quarter each; a HIT is also a get */
    assert_int_equal(t.gets, NTHREADS * NRECORDS / 2);
    assert_int_equal(t.hits, NTHREADS * NRECORDS / 4);
    assert_int_equal(t.sets, NTHREADS * NRECORDS / 4);
    assert_int_equal(t.dels, NTHREADS * NRECORDS / 4);
    cmd_detail_destroy(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(
            counts_each_op_under_the_prefix_before_the_first_delimiter),
        cmocka_unit_test(
            skips_keys_without_the_delimiter_and_keeps_an_empty_prefix),
        cmocka_unit_test(uses_the_configured_delimiter),
        cmocka_unit_test(dumps_in_memcacheds_order),
        cmocka_unit_test(stops_adding_prefixes_at_the_cap_and_counts_the_drops),
        cmocka_unit_test(longest_line_fits_its_bound),
        cmocka_unit_test(hook_records_only_while_on_and_tolerates_no_table),
        cmocka_unit_test(stats_detail_sub_command_answers_like_memcached),
        cmocka_unit_test(workers_record_concurrently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
