#include "unit.h"

#include "conf/conf.h"
#include "conf/conf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ARGS 64

/* One conf_parse call with stdout and stderr captured. */
struct run {
    struct config cfg;
    char line[1024]; /* argv's strings: cfg may point into them, as into argv */
    int rc;
    char out[32768];
    char err[4096];
};

static void
slurp(FILE *f, char *dst, size_t cap)
{
    size_t n;

    rewind(f);
    n = fread(dst, 1, cap - 1, f);
    dst[n] = '\0';
    fclose(f);
}

/* Runs conf_parse on argv; the caller owns r->cfg (conf_deinit). */
static void
run_argv(struct run *r, int argc, char **argv)
{
    FILE *out = tmpfile();
    FILE *err = tmpfile();
    int saved_out = dup(STDOUT_FILENO);
    int saved_err = dup(STDERR_FILENO);

    assert_non_null(out);
    assert_non_null(err);
    fflush(stdout);
    fflush(stderr);
    dup2(fileno(out), STDOUT_FILENO);
    dup2(fileno(err), STDERR_FILENO);

    conf_init(&r->cfg);
    r->rc = conf_parse(&r->cfg, argc, argv);

    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    close(saved_out);
    close(saved_err);
    slurp(out, r->out, sizeof(r->out));
    slurp(err, r->err, sizeof(r->err));
}

/* Runs "memoria <args>", args split at spaces. */
static void
run(struct run *r, const char *args)
{
    char *argv[MAX_ARGS + 1] = {"memoria"};
    int argc = 1;
    char *save = NULL;

    assert_true(strlen(args) < sizeof(r->line));
    snprintf(r->line, sizeof(r->line), "%s", args);
    for (char *t = strtok_r(r->line, " ", &save); t != NULL;
         t = strtok_r(NULL, " ", &save)) {
        assert_true(argc < MAX_ARGS);
        argv[argc++] = t;
    }
    argv[argc] = NULL;
    run_argv(r, argc, argv);
}

struct expect {
    const char *args;
    int rc;
    const char *err;
};

/* Each row: parse args, compare return code and the whole of stderr. */
static void
check_table(const struct expect *rows, size_t n)
{
    struct run *r = malloc(sizeof(*r));

    assert_non_null(r);
    for (size_t i = 0; i < n; i++) {
        run(r, rows[i].args);
        conf_deinit(&r->cfg);
        if (r->rc != rows[i].rc || strcmp(r->err, rows[i].err) != 0) {
            print_message("memoria %s\n", rows[i].args);
        }
        assert_int_equal(r->rc, rows[i].rc);
        assert_string_equal(r->err, rows[i].err);
    }
    free(r);
}

#define CHECK_TABLE(rows) check_table(rows, sizeof(rows) / sizeof((rows)[0]))

static struct run *
run_ok(const char *args)
{
    struct run *r = malloc(sizeof(*r));

    assert_non_null(r);
    run(r, args);
    if (r->rc != CONF_RUN) {
        print_message("memoria %s: %s", args, r->err);
    }
    assert_int_equal(r->rc, CONF_RUN);
    return r;
}

static void
finish(struct run *r)
{
    conf_deinit(&r->cfg);
    free(r);
}

/* ---- defaults ---- */

static void
memcached_class_table_only_when_f_or_n_given(void **state)
{
    static const struct {
        const char *args;
        bool memcached_classes;
    } rows[] = {
        {"-m 64", false},
        {"-f 1.25", true},
        {"-n 48", true},
        {"--slab-growth-factor=2", true},
        {"--slab-min-size 100", true},
    };
    struct run *r = malloc(sizeof(*r));
    (void)state;

    assert_non_null(r);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        run(r, rows[i].args);
        assert_int_equal(r->rc, CONF_RUN);
        assert_int_equal(r->cfg.memcached_classes, rows[i].memcached_classes);
        conf_deinit(&r->cfg);
    }
    free(r);
}

static void
defaults_match_memcached_stats_settings(void **state)
{
    struct config c;
    (void)state;

    conf_init(&c);
    assert_int_equal(c.port, 11211);
    assert_int_equal(c.udp_port, 0);
    assert_null(c.listen);
    assert_int_equal(c.maxbytes, 64 * 1024 * 1024);
    assert_int_equal(c.maxconns, 1024);
    assert_int_equal(c.verbose, 0);
    assert_true(c.evictions);
    assert_null(c.unix_socket);
    assert_int_equal(c.unix_mask, 0700);
    assert_false(c.enable_shutdown);
    assert_true(c.factor == 1.25);
    assert_int_equal(c.chunk_size, 48);
    assert_int_equal(c.num_threads, 4);
    assert_int_equal(c.num_threads_per_udp, 4);
    assert_int_equal(c.reqs_per_event, 20);
    assert_true(c.use_cas);
    assert_int_equal(c.backlog, 1024);
    assert_int_equal(c.protocol, CONF_PROTO_AUTO);
    assert_int_equal(c.item_size_max, 1048576);
    assert_true(c.maxconns_fast);
    assert_int_equal(c.hashpower, 0);
    assert_true(c.hash_expand);
    assert_int_equal(c.slab_chunk_max, 524288);
    assert_true(c.flush_enabled);
    assert_true(c.watch_enabled);
    assert_int_equal(c.idle_timeout, 0);
    assert_int_equal(c.watcher_logbuf_size, 262144);
    assert_int_equal(c.worker_logbuf_size, 65536);
    assert_int_equal(c.read_buf_mem_limit, 0);
    assert_null(c.user);
    assert_null(c.pidfile);
    assert_false(c.daemonize);
    assert_int_equal(c.nslab_sizes, 0);
    assert_true(c.dump_enabled);
    assert_int_equal(c.stat_key_prefix, ':');
    assert_false(c.detail_enabled);
    assert_false(c.track_sizes);
    assert_true(c.lru_maintainer);
    assert_true(c.lru_segmented);
    assert_int_equal(c.hot_lru_pct, 20);
    assert_int_equal(c.warm_lru_pct, 40);
    assert_false(c.temp_lru);
    assert_int_equal(c.temporary_ttl, 61);
    assert_true(c.lru_crawler);
    assert_int_equal(c.lru_crawler_sleep, 100);
    assert_true(c.slab_reassign);
    assert_int_equal(c.slab_automove, 1);
    assert_int_equal(c.slab_automove_window, 30);
    assert_int_equal(c.hash_algorithm, CONF_HASH_MURMUR3);
    assert_int_equal(c.ext_item_age, 4294967295u);
    assert_int_equal(c.ext_wbuf_size, 4194304);
    assert_string_equal(c.metrics_listen, "");
    conf_deinit(&c);
}

static void
no_arguments_listen_on_loopback_only(void **state)
{
    struct run *r = run_ok("");
    (void)state;

    assert_null(r->cfg.listen);
    assert_int_equal(r->cfg.nlisteners, 1);
    assert_string_equal(r->cfg.listeners[0].host, "127.0.0.1");
    assert_false(r->cfg.listeners[0].any);
    assert_int_equal(r->cfg.listeners[0].port, -1);
    assert_int_equal(r->cfg.listeners[0].proto, CONF_PROTO_DEFAULT);
    assert_string_equal(r->err, "");
    assert_string_equal(r->out, "");
    finish(r);
}

static void
deinit_after_init_alone_is_safe(void **state)
{
    struct config c;
    (void)state;

    conf_init(&c);
    conf_deinit(&c);
    conf_deinit(&c);
    assert_null(c.listeners);
}

/* ---- every option, short and long ---- */

static void
check_all_options_set(const struct config *c)
{
    assert_int_equal(c->port, 11300);
    assert_int_equal(c->udp_port, 0);
    assert_int_equal(c->unix_mask, 0755);
    assert_true(c->enable_shutdown);
    assert_string_equal(c->listen, "127.0.0.2");
    assert_string_equal(c->listeners[0].host, "127.0.0.2");
    assert_true(c->daemonize);
    assert_true(c->coredumps);
    assert_string_equal(c->user, "nobody");
    assert_int_equal(c->maxbytes, 128 * 1024 * 1024);
    assert_false(c->evictions);
    assert_int_equal(c->maxconns, 50);
    assert_true(c->lock_memory);
    assert_int_equal(c->verbose, 1);
    assert_string_equal(c->pidfile, "/tmp/memoria.pid");
    assert_true(c->factor == 1.5);
    assert_int_equal(c->chunk_size, 64);
    assert_int_equal(c->num_threads, 8);
    assert_int_equal(c->reqs_per_event, 5);
    assert_false(c->use_cas);
    assert_int_equal(c->backlog, 512);
    assert_int_equal(c->protocol, CONF_PROTO_ASCII);
    assert_int_equal(c->item_size_max, 2 * 1024 * 1024);
    assert_false(c->flush_enabled);
    assert_false(c->watch_enabled);
    assert_false(c->maxconns_fast);
    assert_false(c->dump_enabled);
    assert_int_equal(c->num_threads_per_udp, 8);
}

static void
every_short_option_sets_its_field(void **state)
{
    struct run *r = run_ok("-p 11300 -U 0 -a 755 -A -l 127.0.0.2 -d -r "
                           "-u nobody -m 128 -M -c 50 -k -v -P "
                           "/tmp/memoria.pid -f 1.5 -n 64 -t 8 -R 5 -C "
                           "-b 512 -B ascii -I 2m -F -X -W "
                           "-o no_maxconns_fast");
    (void)state;

    check_all_options_set(&r->cfg);
    finish(r);
}

static void
every_long_option_sets_its_field(void **state)
{
    struct run *r =
        run_ok("--port=11300 --udp-port 0 --unix-mask=755 --enable-shutdown "
               "--listen 127.0.0.2 --daemon --enable-coredumps --user=nobody "
               "--memory-limit 128 --disable-evictions --conn-limit=50 "
               "--lock-memory --verbose --pidfile=/tmp/memoria.pid "
               "--slab-growth-factor=1.5 --slab-min-size 64 --threads=8 "
               "--max-reqs-per-event=5 --disable-cas --listen-backlog=512 "
               "--protocol ascii --max-item-size=2m --disable-flush-all "
               "--disable-dumping --disable-watch --extended=no_maxconns_fast");
    (void)state;

    check_all_options_set(&r->cfg);
    finish(r);
}

static void
long_options_may_be_abbreviated(void **state)
{
    struct run *r = run_ok("--thr=6 --memory-l=100");
    (void)state;

    assert_int_equal(r->cfg.num_threads, 6);
    assert_int_equal(r->cfg.maxbytes, 100 * 1024 * 1024);
    finish(r);
}

static void
short_options_cluster_and_take_attached_values(void **state)
{
    struct run *r = run_ok("-vvv -dAt6 -p11400");
    (void)state;

    assert_int_equal(r->cfg.verbose, 3);
    assert_true(r->cfg.daemonize);
    assert_true(r->cfg.enable_shutdown);
    assert_int_equal(r->cfg.num_threads, 6);
    assert_int_equal(r->cfg.port, 11400);
    finish(r);
}

static void
parse_can_run_again_after_a_cluster(void **state)
{
    (void)state;

    for (int i = 0; i < 3; i++) {
        struct run *r = run_ok("-vv");

        assert_int_equal(r->cfg.verbose, 2);
        finish(r);
    }
}

static void
positional_arguments_are_ignored(void **state)
{
    struct run *r = run_ok("foo -t 6 bar");
    (void)state;

    assert_int_equal(r->cfg.num_threads, 6);
    finish(r);
}

static void
numbers_parse_like_atoi(void **state)
{
    struct run *r = run_ok("-p 11211abc -m 100MB -b x");
    (void)state;

    assert_int_equal(r->cfg.port, 11211);
    assert_int_equal(r->cfg.maxbytes, 100 * 1024 * 1024);
    assert_int_equal(r->cfg.backlog, 0);
    finish(r);
}

static void
port_zero_and_udp_zero_are_accepted(void **state)
{
    struct run *r = run_ok("-p 0 -U 0");
    (void)state;

    assert_int_equal(r->cfg.port, 0);
    assert_int_equal(r->cfg.udp_port, 0);
    finish(r);
}

static void
auto_protocol_is_the_default_and_accepted(void **state)
{
    struct run *r = run_ok("-B ascii -B auto");
    (void)state;

    assert_int_equal(r->cfg.protocol, CONF_PROTO_AUTO);
    finish(r);
}

static void
many_threads_only_warn(void **state)
{
    struct run *r = run_ok("-t 65");
    (void)state;

    assert_int_equal(r->cfg.num_threads, 65);
    assert_string_equal(
        r->err, "WARNING: Setting a high number of workerthreads is not "
                "recommended.\n Set this value to the number of cores in "
                "your machine or less.\n");
    finish(r);
}

static void
negative_memory_limit_wraps_like_memcached(void **state)
{
    struct run *r = run_ok("-m -1");
    (void)state;

    assert_int_equal(r->cfg.maxbytes, (size_t)-1 * 1024 * 1024);
    finish(r);
}

/* ---- -I ---- */

static void
item_size_accepts_k_and_m_suffixes(void **state)
{
    static const struct {
        const char *args;
        size_t size;
    } rows[] = {
        {"-I 1048576", 1048576},
        {"-I 1m", 1048576},
        {"-I 1M", 1048576},
        {"-I 2m", 2097152},
        {"-I 1024k", 1048576},
        {"-I 512K", 524288},
        {"-I 3m", 3145728},
        {"-m 4096 -I 1024m", 1073741824},
        {"-I 1.5m", 1048576},
        {"--max-item-size=4M", 4194304},
        {"-m 1 -I 512k", 524288},
        {"-I 4m -m 100 -o slab_chunk_max=1048576", 4194304},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct run *r = run_ok(rows[i].args);

        assert_int_equal(r->cfg.item_size_max, rows[i].size);
        finish(r);
    }
}

static void
item_size_above_a_page_keeps_half_page_chunks(void **state)
{
    struct run *r = run_ok("-o no_chunked_items -I 1536k");
    (void)state;

    assert_int_equal(r->cfg.slab_chunk_max, 524288);
    assert_int_equal(r->cfg.item_size_max, 1572864);
    finish(r);
}

static void
item_size_errors_match_memcached(void **state)
{
    static const struct expect rows[] = {
        {"-I 100", 64, "Item max size cannot be less than 1024 bytes.\n"},
        {"-I 1023", 64, "Item max size cannot be less than 1024 bytes.\n"},
        {"-I abc", 64, "Item max size cannot be less than 1024 bytes.\n"},
        {"-I k", 64, "Item max size cannot be less than 1024 bytes.\n"},
        /* atoi stops at g: 2 bytes */
        {"-I 2g", 64, "Item max size cannot be less than 1024 bytes.\n"},
        /* int overflow: 2048m wraps negative, 4096m to zero */
        {"-m 4096 -I 2048m", 64,
         "Item max size cannot be less than 1024 bytes.\n"},
        {"-m 8192 -I 4096m", 64,
         "Item max size cannot be less than 1024 bytes.\n"},
        {"-I 33m", 64,
         "Cannot set item size limit higher than 1/2 of memory max.\n"},
        {"-m 1", 64,
         "Cannot set item size limit higher than 1/2 of memory max.\n"},
        {"-m 0", 64,
         "Cannot set item size limit higher than 1/2 of memory max.\n"},
        {"-m 4096 -I 1025m", 64,
         "Cannot set item size limit higher than a gigabyte.\n"},
        {"-m 4096 -I 1073741825", 64,
         "Cannot set item size limit higher than a gigabyte.\n"},
        {"-I 1025", 64,
         "slab_chunk_max (bytes: 524288) cannot be larger than -I "
         "(item_size_max 1025)\n"},
        {"-I 1500k", 64,
         "-I (item_size_max: 1536000) must be evenly divisible by "
         "slab_chunk_max (bytes: 524288)\n"},
        {"-o slab_chunk_max=1024 -I 1025", 64,
         "-I (item_size_max: 1025) must be evenly divisible by "
         "slab_chunk_max (bytes: 1024)\n"},
        {"-o slab_chunk_max=1000", 64,
         "-I (item_size_max: 1048576) must be evenly divisible by "
         "slab_chunk_max (bytes: 1000)\n"},
        {"-o slab_chunk_max=2097152 -I 2m", 64,
         "slab_chunk_max (bytes: 2097152) must divide evenly into 1048576 "
         "(slab_page_size)\n"},
        /* memcached dies of SIGFPE on 0 and takes negative sizes */
        {"-o slab_chunk_max=0", 64,
         "slab_chunk_max (bytes: 0) must divide evenly into 1048576 "
         "(slab_page_size)\n"},
        {"-o slab_chunk_max=-16384", 64,
         "slab_chunk_max (bytes: -16384) must divide evenly into 1048576 "
         "(slab_page_size)\n"},
        /* memcached faults on the first store below 64 */
        {"-o slab_chunk_max=32", 64,
         "slab_chunk_max (bytes: 32) cannot be smaller than 64\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

/* ---- errors of single options ---- */

static void
bad_values_exit_1_with_memcached_messages(void **state)
{
    static const struct expect rows[] = {
        {"-t 0", 1, "Number of threads must be greater than 0\n"},
        {"-t -1", 1, "Number of threads must be greater than 0\n"},
        {"--threads=abc", 1, "Number of threads must be greater than 0\n"},
        {"--threads 0", 1, "Number of threads must be greater than 0\n"},
        {"-R 0", 1, "Number of requests per event must be greater than 0\n"},
        {"--max-reqs-per-event=x", 1,
         "Number of requests per event must be greater than 0\n"},
        {"-c 0", 1, "Maximum connections must be greater than 0\n"},
        {"--conn-limit=-5", 1, "Maximum connections must be greater than 0\n"},
        {"-f 1", 1, "Factor must be greater than 1\n"},
        {"-f abc", 1, "Factor must be greater than 1\n"},
        {"--slab-growth-factor=0.5", 1, "Factor must be greater than 1\n"},
        {"-n 0", 1, "Chunk size must be greater than 0\n"},
        {"--slab-min-size=abc", 1, "Chunk size must be greater than 0\n"},
        {"-N 0", 1, "Maximum number of NAPI IDs must be greater than 0\n"},
        {"--napi-ids=-1", 1,
         "Maximum number of NAPI IDs must be greater than 0\n"},
        /* an error stops parsing: later options are not looked at */
        {"-t 0 -h", 1, "Number of threads must be greater than 0\n"},
        {"-vvvt0", 1, "Number of threads must be greater than 0\n"},
        /* memcached takes these; its messages say they are wrong */
        {"-R -1", 1, "Number of requests per event must be greater than 0\n"},
        {"-n -1", 1, "Chunk size must be greater than 0\n"},
        {"-f nan", 1, "Factor must be greater than 1\n"},
        {"-f inf", 1, "Factor must be greater than 1\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

static void
getopt_errors_are_illegal_arguments(void **state)
{
    static const struct expect rows[] = {
        {"-q", 1, "memoria: invalid option -- 'q'\nIllegal argument \"?\"\n"},
        {"--bogus", 1,
         "memoria: unrecognized option '--bogus'\nIllegal argument \"?\"\n"},
        {"--napi_ids=1", 1,
         "memoria: unrecognized option '--napi_ids=1'\n"
         "Illegal argument \"?\"\n"},
        {"-t", 1,
         "memoria: option requires an argument -- 't'\n"
         "Illegal argument \"?\"\n"},
        {"-D", 1,
         "memoria: option requires an argument -- 'D'\n"
         "Illegal argument \"?\"\n"},
        {"--threads", 1,
         "memoria: option '--threads' requires an argument\n"
         "Illegal argument \"?\"\n"},
        {"--help=x", 1,
         "memoria: option '--help' doesn't allow an argument\n"
         "Illegal argument \"?\"\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

static void
ambiguous_long_option_is_an_illegal_argument(void **state)
{
    struct run *r = malloc(sizeof(*r));
    (void)state;

    assert_non_null(r);
    run(r, "--p=5");
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 1);
    assert_non_null(strstr(r->err, "'--p=5' is ambiguous"));
    assert_non_null(strstr(r->err, "\nIllegal argument \"?\"\n"));
    free(r);
}

static void
empty_delimiter_is_refused(void **state)
{
    struct run *r = malloc(sizeof(*r));
    char *argv[] = {"memoria", "-D", "", NULL};
    (void)state;

    assert_non_null(r);
    run_argv(r, 3, argv);
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 1);
    assert_string_equal(r->err, "No delimiter specified\n");
    free(r);
}

/* ---- cross-option checks, in memcached's order ---- */

static void
bad_combinations_exit_64_with_memcached_messages(void **state)
{
    static const struct expect rows[] = {
        {"-p 65536", 64, "ERROR: Invalid port number 65536.\n"},
        {"--port=70000", 64, "ERROR: Invalid port number 70000.\n"},
        {"-p 99999999999", 64, "ERROR: Invalid port number 1215752191.\n"},
        /* memcached binds an ephemeral port instead */
        {"-p -5", 64, "ERROR: Invalid port number -5.\n"},
        /* -U alone also sets the TCP port */
        {"-U 70000", 64, "ERROR: Invalid port number 70000.\n"},
        {"-B foo", 64,
         "Invalid value for binding protocol: foo\n"
         " -- should be one of auto, binary, or ascii\n"},
        {"--protocol=x -t 0", 64,
         "Invalid value for binding protocol: x\n"
         " -- should be one of auto, binary, or ascii\n"},
        {"-N 8", 64,
         "Number of napi_ids(8) cannot be greater than number of "
         "threads(4)\n"},
        {"-N 8 -I 100 -p 70000", 64,
         "Number of napi_ids(8) cannot be greater than number of "
         "threads(4)\n"},
        {"-p 70000 -I 100 -o hot_lru_pct=40,warm_lru_pct=41", 64,
         "Item max size cannot be less than 1024 bytes.\n"},
        {"-o hot_lru_pct=40,warm_lru_pct=41", 64,
         "hot_lru_pct + warm_lru_pct cannot be more than 80% combined\n"},
        {"-p 70000 -o hot_lru_pct=40,warm_lru_pct=41,no_lru_maintainer,"
         "temporary_ttl=5",
         64, "hot_lru_pct + warm_lru_pct cannot be more than 80% combined\n"},
        {"-o temporary_ttl=10,no_lru_maintainer", 64,
         "temporary_ttl requires lru_maintainer to be enabled\n"},
        {"-o no_lru_maintainer,temporary_ttl=10", 64,
         "temporary_ttl requires lru_maintainer to be enabled\n"},
        {"-o no_modern,temporary_ttl=10", 64,
         "temporary_ttl requires lru_maintainer to be enabled\n"},
        {"-p 70000 -S -B ascii", 64,
         "ERROR: You cannot allow the ASCII protocol while using SASL.\n"},
        {"-S -B auto", 64,
         "ERROR: You cannot allow the ASCII protocol while using SASL.\n"},
        {"-S -U 5", 64,
         "ERROR: Cannot enable UDP while using binary SASL "
         "authentication.\n"},
        {"-S -B binary -U 5", 64,
         "ERROR: Cannot enable UDP while using binary SASL "
         "authentication.\n"},
        {"-Y /x -U 5 -S", 64,
         "ERROR: Cannot enable UDP while using binary SASL "
         "authentication.\n"},
        {"-S -B ascii -Y /x", 64,
         "ERROR: You cannot allow the ASCII protocol while using SASL.\n"},
        {"-p 70000 -Y /x -B binary", 64,
         "ERROR: You cannot allow the BINARY protocol while using ascii "
         "authentication tokens.\n"},
        {"-Y /x -B auto", 64,
         "ERROR: You cannot allow the BINARY protocol while using ascii "
         "authentication tokens.\n"},
        /* memcached 1.6.18 serves these listeners unauthenticated */
        {"-Y /x -l proto[binary]:127.0.0.1", 64,
         "ERROR: You cannot allow the BINARY protocol while using ascii "
         "authentication tokens.\n"},
        {"-Y /x -l 127.0.0.1,proto[negotiating]:127.0.0.1:11212", 64,
         "ERROR: You cannot allow the BINARY protocol while using ascii "
         "authentication tokens.\n"},
        {"-p 70000 -Y /x -U 5", 64, "ERROR: Invalid port number 70000.\n"},
        {"-Y /x -U 5", 64,
         "Cannot use UDP with ascii authentication enabled (-U 0 to "
         "disable)\n"},
        {"-Z -p 0", 64, "ERROR: You cannot enable SSL without a TCP port.\n"},
        {"-Z -p 0 -Y /x -U 5", 64,
         "ERROR: You cannot enable SSL without a TCP port.\n"},
        {"-p 70000 -Z", 64, "ERROR: Invalid port number 70000.\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

static void
hashpower_must_exceed_the_item_lock_table(void **state)
{
    static const struct expect rows[] = {
        {"-o hashpower=12", 1,
         "Hash table power size (12) cannot be equal to or less than item "
         "lock table (12)\n"
         "Item lock table grows with `-t N` (worker threadcount)\n"
         "Hash table grows with `-o hashpower=N` \n"},
        {"-o hashpower=13 -t 5", 1,
         "Hash table power size (13) cannot be equal to or less than item "
         "lock table (13)\n"
         "Item lock table grows with `-t N` (worker threadcount)\n"
         "Hash table grows with `-o hashpower=N` \n"},
        {"-o hashpower=14 -t 11", 1,
         "Hash table power size (14) cannot be equal to or less than item "
         "lock table (14)\n"
         "Item lock table grows with `-t N` (worker threadcount)\n"
         "Hash table grows with `-o hashpower=N` \n"},
        {"-o hashpower=14 -t 20", 1,
         "Hash table power size (14) cannot be equal to or less than item "
         "lock table (14)\n"
         "Item lock table grows with `-t N` (worker threadcount)\n"
         "Hash table grows with `-o hashpower=N` \n"},
        {"-o hashpower=15 -t 21", 1,
         "Hash table power size (15) cannot be equal to or less than item "
         "lock table (15)\n"
         "Item lock table grows with `-t N` (worker threadcount)\n"
         "Hash table grows with `-o hashpower=N` \n"},
        /* checked after the ports, before the listeners */
        {"-o hashpower=12 -p 70000", 64, "ERROR: Invalid port number 70000.\n"},
        {"-o hashpower=12 -l proto[ascii", 1,
         "Hash table power size (12) cannot be equal to or less than item "
         "lock table (12)\n"
         "Item lock table grows with `-t N` (worker threadcount)\n"
         "Hash table grows with `-o hashpower=N` \n"},
        {"-o hashpower=12 -t 2", CONF_RUN, ""},
        {"-o hashpower=12 -t 3", CONF_RUN, ""},
        {"-o hashpower=14 -t 10", CONF_RUN, ""},
        {"-o hashpower=16 -t 21", CONF_RUN, ""},
        {"-o hashpower=32 -t 64", CONF_RUN, ""},
    };
    (void)state;

    CHECK_TABLE(rows);
}

/* ---- help, version, license ---- */

static void
help_prints_usage_to_stdout_and_exits_0(void **state)
{
    struct run *r = malloc(sizeof(*r));
    (void)state;

    assert_non_null(r);
    run(r, "-h -t 0");
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->err, "");
    assert_true(strncmp(r->out, "memcached 1.6.18\nmemoria 0.1.0\n", 30) == 0);
    assert_non_null(strstr(r->out, "\n-p, --port=<num>          TCP port"));
    assert_non_null(strstr(r->out, "(default: 127.0.0.1)\n"));
    assert_non_null(strstr(r->out, "\n   - hashpower:           "));
    assert_non_null(strstr(r->out, "\n-s, --unix-socket=<file>  "));
    assert_non_null(strstr(r->out, "\n-D <char>     Use <char> as the "
                                   "delimiter between key prefixes and IDs.\n"
                                   "              This is used"));
    /* memoria's own -o metrics_listen is not: -h is memcached's text */
    assert_null(strstr(r->out, "metrics"));
    /* refused options are not listed */
    assert_null(strstr(r->out, "napi"));
    /* TLS is applied: -Z and the ssl_* rows are listed */
    assert_non_null(
        strstr(r->out, "\n-Z, --enable-ssl          enable TLS/SSL\n"));
    assert_non_null(
        strstr(r->out, "\n   - ssl_min_version:     minimum protocol"));
    assert_non_null(strstr(r->out, "\n-S, --enable-sasl         turn on Sasl "
                                   "authentication\n"));
    assert_null(strstr(r->out, "ext_path"));
    assert_non_null(strstr(r->out, "\n-Y, --auth-file=<file>    (EXPERIMENTAL) "
                                   "enable ASCII protocol authentication. "
                                   "format:\n                          "
                                   "user:pass\\nuser2:pass2\\n\n"));
    assert_null(strstr(r->out, "memory-file"));
    /* the binary protocol is */
    assert_non_null(strstr(r->out, "\n-B, --protocol=<name>     protocol - "
                                   "one of ascii, binary, or auto (default: "
                                   "auto-negotiate)\n"));
    free(r);
}

static void
version_prints_memcached_version_first(void **state)
{
    struct run *r = malloc(sizeof(*r));
    (void)state;

    assert_non_null(r);
    run(r, "--version");
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out, "memcached 1.6.18\nmemoria 0.1.0\n");
    assert_string_equal(r->err, "");
    run(r, "-p 70000 -V");
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 0);
    assert_string_equal(r->out, "memcached 1.6.18\nmemoria 0.1.0\n");
    free(r);
}

static void
license_prints_to_stdout_and_exits_0(void **state)
{
    struct run *r = malloc(sizeof(*r));
    (void)state;

    assert_non_null(r);
    run(r, "-i");
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 0);
    assert_non_null(strstr(r->out, "memoria 0.1.0"));
    assert_string_equal(r->err, "");
    free(r);
}

/* ---- -l ---- */

struct listen_case {
    const char *spec;
    const char *host;
    bool any;
    int port;
    enum conf_proto proto;
    bool notls;
    const char *tag;
};

static void
listen_elements_parse(void **state)
{
    static const struct listen_case rows[] = {
        {"127.0.0.1", "127.0.0.1", false, -1, CONF_PROTO_DEFAULT, false, ""},
        {"127.0.0.1:11212", "127.0.0.1", false, 11212, 0, false, ""},
        {"localhost:0", "localhost", false, 0, 0, false, ""},
        {"cache.example.com", "cache.example.com", false, -1, 0, false, ""},
        {"[::1]:11213", "::1", false, 11213, 0, false, ""},
        {"[::1]", "::1", false, -1, 0, false, ""},
        {"::1", "::1", false, -1, 0, false, ""},
        {"fe80::1:2", "fe80::1:2", false, -1, 0, false, ""},
        {"[fe80::1%eth0]:5", "fe80::1%eth0", false, 5, 0, false, ""},
        {"*", "", true, -1, 0, false, ""},
        {"*:11214", "", true, 11214, 0, false, ""},
        {"[*]:11214", "", true, 11214, 0, false, ""},
        {"0.0.0.0", "0.0.0.0", false, -1, 0, false, ""},
        {"127.0.0.1:12 ", "127.0.0.1", false, 12, 0, false, ""},
        {"proto[ascii]:127.0.0.1:22141", "127.0.0.1", false, 22141,
         CONF_PROTO_ASCII, false, ""},
        {"proto[binary]:h", "h", false, -1, CONF_PROTO_BINARY, false, ""},
        {"proto[negotiating]:h", "h", false, -1, CONF_PROTO_AUTO, false, ""},
        {"proto[proxy]:h", "h", false, -1, CONF_PROTO_PROXY, false, ""},
        /* memcached matches the protocol name by prefix */
        {"proto[a]:h", "h", false, -1, CONF_PROTO_ASCII, false, ""},
        {"proto[neg]:h", "h", false, -1, CONF_PROTO_AUTO, false, ""},
        /* the colon after "]" is optional */
        {"proto[ascii]h:1", "h", false, 1, CONF_PROTO_ASCII, false, ""},
        {"tag[web]:h", "h", false, -1, 0, false, "web"},
        {"tag[12345678]:h", "h", false, -1, 0, false, "12345678"},
        {"notls:h:7", "h", false, 7, 0, true, ""},
        {"notls:proto[ascii]:tag[t]:[::1]:9", "::1", false, 9, CONF_PROTO_ASCII,
         true, "t"},
        /* unlike memcached, names starting with a prefix word work */
        {"protohost:11", "protohost", false, 11, 0, false, ""},
        {"tagger", "tagger", false, -1, 0, false, ""},
        {"notlsbox", "notlsbox", false, -1, 0, false, ""},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *spec = rows[i].spec;
        struct conf_listener l;
        char err[128] = "";
        char want[512];
        char got[512];
        enum conf_listen_status st =
            conf_listen_next(&spec, &l, err, sizeof(err));

        snprintf(want, sizeof(want), "%s -> 0 [%s] %d %d %d %d [%s]",
                 rows[i].spec, rows[i].host, rows[i].any, rows[i].port,
                 rows[i].proto, rows[i].notls, rows[i].tag);
        snprintf(got, sizeof(got), "%s -> %d [%s] %d %d %d %d [%s]%s",
                 rows[i].spec, st, l.host, l.any, l.port, l.proto, l.notls,
                 l.tag, err);
        assert_string_equal(got, want);
        assert_int_equal(conf_listen_next(&spec, &l, err, sizeof(err)),
                         CONF_LISTEN_END);
    }
}

static void
listen_errors_carry_memcached_messages(void **state)
{
    static const struct {
        const char *spec;
        const char *err;
    } rows[] = {
        {"127.0.0.1:abc", "Invalid port number: \"abc\""},
        {"127.0.0.1:", "Invalid port number: \"\""},
        {"[::1]:abc", "Invalid port number: \"abc\""},
        {"proto[ascii", "Invalid protocol spec: \"[ascii\""},
        {"tag[abc:127.0.0.1",
         "Invalid tag in socket config: \"[abc:127.0.0.1\""},
        {"tag[123456789]:h",
         "Listener tags must be between 1 and 8 characters: \"123456789\""},
        {"tag[]:h", "Listener tags must be between 1 and 8 characters: \"\""},
        {"[::1", "Invalid IPV6 address: \"[::1\""},
        /* memcached accepts these, then ignores or misuses them */
        {"proto[foo]:h", "Invalid protocol spec: \"foo\""},
        {"proto[]:h", "Invalid protocol spec: \"\""},
        {"[::1]x", "Invalid IPV6 address: \"[::1]x\""},
        {"h:70000", "Invalid port number: \"70000\""},
        {"h:-1", "Invalid port number: \"-1\""},
        {":11211", "Invalid listen address: \"\""},
        {"[]:1", "Invalid listen address: \"\""},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const char *spec = rows[i].spec;
        struct conf_listener l;
        char err[128] = "";

        char want[256];
        char got[256];
        enum conf_listen_status st =
            conf_listen_next(&spec, &l, err, sizeof(err));

        snprintf(want, sizeof(want), "%s -> %d %s", rows[i].spec,
                 CONF_LISTEN_BAD, rows[i].err);
        snprintf(got, sizeof(got), "%s -> %d %s", rows[i].spec, st, err);
        assert_string_equal(got, want);
    }
}

static void
listen_splits_at_commas_and_semicolons_skipping_empty(void **state)
{
    const char *spec = ",,a;b:1,,[::1]:2;;";
    struct conf_listener l;
    char err[64];
    (void)state;

    assert_int_equal(conf_listen_next(&spec, &l, err, sizeof(err)),
                     CONF_LISTEN_OK);
    assert_string_equal(l.host, "a");
    assert_int_equal(conf_listen_next(&spec, &l, err, sizeof(err)),
                     CONF_LISTEN_OK);
    assert_string_equal(l.host, "b");
    assert_int_equal(l.port, 1);
    assert_int_equal(conf_listen_next(&spec, &l, err, sizeof(err)),
                     CONF_LISTEN_OK);
    assert_string_equal(l.host, "::1");
    assert_int_equal(l.port, 2);
    assert_int_equal(conf_listen_next(&spec, &l, err, sizeof(err)),
                     CONF_LISTEN_END);
    assert_int_equal(conf_listen_next(&spec, &l, err, sizeof(err)),
                     CONF_LISTEN_END);
}

static void
listen_rejects_a_host_too_long_to_hold(void **state)
{
    char spec[CONF_HOST_MAX + 8];
    const char *p = spec;
    struct conf_listener l;
    char err[CONF_HOST_MAX + 64];
    (void)state;

    memset(spec, 'h', CONF_HOST_MAX);
    spec[CONF_HOST_MAX] = '\0';
    assert_int_equal(conf_listen_next(&p, &l, err, sizeof(err)),
                     CONF_LISTEN_BAD);
    spec[CONF_HOST_MAX - 1] = '\0';
    p = spec;
    assert_int_equal(conf_listen_next(&p, &l, err, sizeof(err)),
                     CONF_LISTEN_OK);
    assert_int_equal(strlen(l.host), CONF_HOST_MAX - 1);
}

static void
repeated_listen_options_join_with_commas(void **state)
{
    struct run *r = run_ok("-l 127.0.0.1 -l [::1]:11212 --listen=*:11213");
    (void)state;

    assert_string_equal(r->cfg.listen, "127.0.0.1,[::1]:11212,*:11213");
    assert_int_equal(r->cfg.nlisteners, 3);
    assert_string_equal(r->cfg.listeners[1].host, "::1");
    assert_int_equal(r->cfg.listeners[1].port, 11212);
    assert_true(r->cfg.listeners[2].any);
    assert_int_equal(r->cfg.num_threads_per_udp, 1);
    finish(r);
}

static void
listen_contained_in_the_list_is_ignored(void **state)
{
    struct run *r = run_ok("-l 127.0.0.1:11212 -l 127.0.0.1 -l 0.0.1");
    (void)state;

    assert_string_equal(r->cfg.listen, "127.0.0.1:11212");
    assert_int_equal(r->cfg.nlisteners, 1);
    assert_int_equal(r->cfg.num_threads_per_udp, 4);
    finish(r);
}

static void
listen_with_semicolons_keeps_threads_per_udp(void **state)
{
    struct run *r = run_ok("-l 127.0.0.1;127.0.0.2 -t 6");
    (void)state;

    assert_int_equal(r->cfg.nlisteners, 2);
    assert_int_equal(r->cfg.num_threads_per_udp, 6);
    finish(r);
}

static void
empty_listen_opens_no_listener(void **state)
{
    struct run *r = malloc(sizeof(*r));
    char *argv[] = {"memoria", "-l", "", NULL};
    (void)state;

    assert_non_null(r);
    run_argv(r, 3, argv);
    assert_int_equal(r->rc, CONF_RUN);
    assert_string_equal(r->cfg.listen, "");
    assert_int_equal(r->cfg.nlisteners, 0);
    finish(r);
}

static void
bad_listen_exits_71_as_a_failed_listen(void **state)
{
    static const struct expect rows[] = {
        {"-l notls:127.0.0.1", 71,
         "'notls' option is valid only when SSL is enabled\n"
         "failed to listen on one of interface(s) notls:127.0.0.1: Success\n"},
        {"-l 127.0.0.1,notls:127.0.0.2", 71,
         "'notls' option is valid only when SSL is enabled\n"
         "failed to listen on one of interface(s) "
         "127.0.0.1,notls:127.0.0.2: Success\n"},
        {"-l proto[ascii", 71,
         "Invalid protocol spec: \"[ascii\"\n"
         "failed to listen on one of interface(s) proto[ascii: Success\n"},
        {"-l tag[123456789]:127.0.0.1", 71,
         "Listener tags must be between 1 and 8 characters: \"123456789\"\n"
         "failed to listen on one of interface(s) "
         "tag[123456789]:127.0.0.1: Success\n"},
        {"-l 127.0.0.1 -l 127.0.0.2:abc", 71,
         "Invalid port number: \"abc\"\n"
         "failed to listen on one of interface(s) 127.0.0.1,127.0.0.2:abc: "
         "Success\n"},
        /* without a TCP or UDP port, or with -s, -l is never read */
        {"-l 127.0.0.1:abc -p 0", CONF_RUN, ""},
        {"-l proto[ascii -p 0 -U 0", CONF_RUN, ""},
        {"-l notls:127.0.0.1 -s /tmp/memoria.sock", CONF_RUN, ""},
        {"-l 127.0.0.1:abc -p 0 -U 11211", 71,
         "Invalid port number: \"abc\"\n"
         "failed to listen on one of interface(s) 127.0.0.1:abc: Success\n"},
        /* -l is checked after everything else, as memcached binds last */
        {"-l 127.0.0.1:abc -t 0", 1,
         "Number of threads must be greater than 0\n"},
        {"-l 127.0.0.1:abc -p 70000", 64,
         "ERROR: Invalid port number 70000.\n"},
        {"-l 127.0.0.1:abc -S", 71,
         "Invalid port number: \"abc\"\n"
         "failed to listen on one of interface(s) 127.0.0.1:abc: Success\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

/* ---- -o ---- */

static void
extended_flags_set_their_fields(void **state)
{
    struct run *r =
        run_ok("-o no_maxconns_fast,no_hashexpand,no_slab_reassign,"
               "no_slab_automove,no_lru_crawler,track_sizes,drop_privileges,"
               "modern,inline_ascii_resp,no_inline_ascii_resp,ext_drop_unread");
    (void)state;

    assert_false(r->cfg.maxconns_fast);
    assert_false(r->cfg.hash_expand);
    assert_string_equal(r->err, "");
    finish(r);

    r = run_ok("-o no_maxconns_fast,maxconns_fast,no_slab_reassign,"
               "slab_reassign,no_lru_crawler,lru_crawler,no_lru_maintainer,"
               "lru_maintainer,drop_privileges,no_drop_privileges,"
               "no_slab_automove,slab_automove");
    assert_true(r->cfg.maxconns_fast);
    finish(r);
}

static void
extended_values_are_stored_in_bytes(void **state)
{
    struct run *r = run_ok(
        "-o hashpower=20,slab_automove=2,slab_automove_ratio=0.5,"
        "slab_automove_window=10,tail_repair_time=30,hash_algorithm=xxh3,"
        "lru_crawler_sleep=50,lru_crawler_tocrawl=1000,hot_lru_pct=30,"
        "warm_lru_pct=50,hot_max_factor=0.5,warm_max_factor=3,"
        "temporary_ttl=120,idle_timeout=600,watcher_logbuf_size=512,"
        "worker_logbuf_size=128,read_buf_mem_limit=32,sock_cookie_id=7 "
        "--extended=slab_chunk_max=262144,slab_sizes=100-200-300");
    (void)state;

    assert_int_equal(r->cfg.hashpower, 20);
    assert_int_equal(r->cfg.idle_timeout, 600);
    assert_int_equal(r->cfg.watcher_logbuf_size, 512 * 1024);
    assert_int_equal(r->cfg.worker_logbuf_size, 128 * 1024);
    assert_int_equal(r->cfg.read_buf_mem_limit, 32 * 1024 * 1024);
    assert_int_equal(r->cfg.sock_cookie_id, 7);
    assert_int_equal(r->cfg.slab_chunk_max, 262144);
    assert_int_equal(r->cfg.nslab_sizes, 3);
    assert_int_equal(r->cfg.slab_sizes[0], 100);
    assert_int_equal(r->cfg.slab_sizes[2], 300);
    finish(r);
}

static void
extstore_tuning_numbers_are_accepted(void **state)
{
    struct run *r = run_ok(
        "-o ext_page_size=32,ext_wbuf_size=8,ext_threads=2,ext_io_depth=3,"
        "ext_item_size=1024,ext_item_age=100,ext_low_ttl=5,"
        "ext_recache_rate=10,ext_compact_under=4,ext_drop_under=2,"
        "ext_max_sleep=500,ext_max_frag=0.5,slab_automove_freeratio=0.02");
    (void)state;

    finish(r);
}

static void
every_hash_algorithm_is_accepted(void **state)
{
    struct run *r = run_ok("-o hash_algorithm=jenkins");
    (void)state;

    finish(r);
    r = run_ok("-o hash_algorithm=jenkins,hash_algorithm=murmur3");
    finish(r);
}

static void
no_modern_restores_1_4_defaults(void **state)
{
    struct run *r = run_ok("-o no_modern");
    (void)state;

    assert_int_equal(r->cfg.slab_chunk_max, 1048576);
    assert_false(r->cfg.maxconns_fast);
    finish(r);
}

static void
slab_chunk_max_given_before_no_modern_is_kept(void **state)
{
    struct run *r = run_ok("-o slab_chunk_max=16384,no_modern");
    (void)state;

    assert_int_equal(r->cfg.slab_chunk_max, 16384);
    finish(r);
    r = run_ok("-o no_modern,slab_chunk_max=16384");
    assert_int_equal(r->cfg.slab_chunk_max, 16384);
    finish(r);
}

static void
no_chunked_items_makes_chunks_a_page(void **state)
{
    struct run *r = run_ok("-o no_chunked_items");
    (void)state;

    assert_int_equal(r->cfg.slab_chunk_max, 1048576);
    finish(r);
}

static void
slab_sizes_are_checked_after_all_options(void **state)
{
    struct run *r = run_ok("-o slab_sizes=60-100 -n 50");
    (void)state;

    assert_int_equal(r->cfg.nslab_sizes, 2);
    finish(r);

    /* empty tokens are skipped, trailing space is allowed */
    r = run_ok("-o slab_sizes=-100--200-,slab_automove");
    assert_int_equal(r->cfg.nslab_sizes, 2);
    assert_int_equal(r->cfg.slab_sizes[1], 200);
    finish(r);
}

static void
slab_sizes_hold_at_most_62_classes(void **state)
{
    char args[1024] = "-o slab_sizes=";
    struct run *r;
    (void)state;

    for (int i = 0; i < 62; i++) {
        snprintf(args + strlen(args), sizeof(args) - strlen(args), "%s%d",
                 i ? "-" : "", 100 + 16 * i);
    }
    r = run_ok(args);
    assert_int_equal(r->cfg.nslab_sizes, 62);
    assert_int_equal(r->cfg.slab_sizes[61], 100 + 16 * 61);
    finish(r);

    snprintf(args + strlen(args), sizeof(args) - strlen(args), "-%d",
             100 + 16 * 62);
    r = malloc(sizeof(*r));
    assert_non_null(r);
    run(r, args);
    conf_deinit(&r->cfg);
    assert_int_equal(r->rc, 64);
    assert_string_equal(r->err, "too many slab classes specified\n");
    free(r);
}

static void
worker_logbuf_size_does_not_set_slab_sizes(void **state)
{
    struct run *r = run_ok("-o worker_logbuf_size=10");
    (void)state;

    assert_int_equal(r->cfg.nslab_sizes, 0);
    assert_int_equal(r->cfg.worker_logbuf_size, 10240);
    finish(r);
}

static void
flag_suboptions_ignore_a_value(void **state)
{
    struct run *r = run_ok("-o maxconns_fast=7,ext_drop_unread=5");
    (void)state;

    assert_true(r->cfg.maxconns_fast);
    finish(r);
}

static void
empty_extended_list_is_accepted(void **state)
{
    struct run *r = malloc(sizeof(*r));
    char *argv[] = {"memoria", "-o", "", "-o", "track_sizes,", NULL};
    (void)state;

    assert_non_null(r);
    run_argv(r, 5, argv);
    assert_int_equal(r->rc, CONF_RUN);
    finish(r);
}

static void
resp_obj_mem_limit_is_deprecated(void **state)
{
    struct run *r = run_ok("-o resp_obj_mem_limit");
    (void)state;

    assert_string_equal(r->err, "DEPRECATED: resp_obj_mem_limit no longer "
                                "used. See read_buf_mem_limit,\n");
    finish(r);
}

static void
extended_errors_match_memcached(void **state)
{
    static const struct expect rows[] = {
        {"-o bogus", 1, "Illegal suboption \"bogus\"\n"},
        {"-o bogus=3", 1, "Illegal suboption \"bogus=3\"\n"},
        {"-o proxy_config=x", 1, "Illegal suboption \"proxy_config=x\"\n"},
        {"-o relaxed_privileges", 1,
         "Illegal suboption \"relaxed_privileges\"\n"},
        {"-o maxconns_fast,,no_hashexpand", 1, "Illegal suboption \"\"\n"},
        {"-o ,", 1, "Illegal suboption \"\"\n"},
        {"-o =3", 1, "Illegal suboption \"=3\"\n"},
        {"-o hashpower", 1, "Missing numeric argument for hashpower\n"},
        {"-o hashpower=11", 1,
         "Initial hashtable multiplier of 11 is too low\n"},
        {"-o hashpower=0", 1, "Initial hashtable multiplier of 0 is too low\n"},
        {"-o hashpower=abc", 1,
         "Initial hashtable multiplier of 0 is too low\n"},
        {"-o hashpower=33", 1,
         "Initial hashtable multiplier of 33 is too high\n"
         "Choose a value based on \"STAT hash_power_level\" from a running "
         "instance\n"},
        {"-o slab_automove=3", 1, "slab_automove must be between 0 and 2\n"},
        {"-o slab_automove=-1", 1, "slab_automove must be between 0 and 2\n"},
        {"-o slab_automove_ratio", 1, "Missing slab_automove_ratio argument\n"},
        {"-o slab_automove_ratio=0", 1,
         "slab_automove_ratio must be > 0 and < 1\n"},
        {"-o slab_automove_ratio=1.1", 1,
         "slab_automove_ratio must be > 0 and < 1\n"},
        {"-o slab_automove_window", 1,
         "Missing slab_automove_window argument\n"},
        {"-o slab_automove_window=2", 1, "slab_automove_window must be > 2\n"},
        {"-o tail_repair_time", 1,
         "Missing numeric argument for tail_repair_time\n"},
        {"-o tail_repair_time=9", 1,
         "Cannot set tail_repair_time to less than 10 seconds\n"},
        {"-o hash_algorithm", 1, "Missing hash_algorithm argument\n"},
        {"-o hash_algorithm=foo", 1,
         "Unknown hash_algorithm option (jenkins, murmur3, xxh3)\n"},
        {"-o lru_crawler_sleep", 1, "Missing lru_crawler_sleep value\n"},
        {"-o lru_crawler_sleep=1000001", 1,
         "LRU crawler sleep must be between 0 and 1 second\n"},
        {"-o lru_crawler_sleep=-1", 1,
         "LRU crawler sleep must be between 0 and 1 second\n"},
        {"-o lru_crawler_tocrawl", 1, "Missing lru_crawler_tocrawl value\n"},
        {"-o lru_crawler_tocrawl=abc", 1,
         "lru_crawler_tocrawl takes a numeric 32bit value\n"},
        {"-o lru_crawler_tocrawl=-1", 1,
         "lru_crawler_tocrawl takes a numeric 32bit value\n"},
        /* memcached keeps the low 32 bits */
        {"-o lru_crawler_tocrawl=4294967296", 1,
         "lru_crawler_tocrawl takes a numeric 32bit value\n"},
        {"-o hot_lru_pct", 1, "Missing hot_lru_pct argument\n"},
        {"-o hot_lru_pct=0", 1, "hot_lru_pct must be > 1 and < 80\n"},
        {"-o hot_lru_pct=80", 1, "hot_lru_pct must be > 1 and < 80\n"},
        {"-o warm_lru_pct", 1, "Missing warm_lru_pct argument\n"},
        {"-o warm_lru_pct=80", 1, "warm_lru_pct must be > 1 and < 80\n"},
        {"-o hot_max_factor", 1, "Missing hot_max_factor argument\n"},
        {"-o hot_max_factor=0", 1, "hot_max_factor must be > 0\n"},
        {"-o warm_max_factor=-1", 1, "warm_max_factor must be > 0\n"},
        {"-o warm_max_factor", 1, "Missing warm_max_factor argument\n"},
        {"-o temporary_ttl", 1, "Missing temporary_ttl argument\n"},
        {"-o idle_timeout", 1, "Missing numeric argument for idle_timeout\n"},
        {"-o watcher_logbuf_size", 1, "Missing watcher_logbuf_size argument\n"},
        {"-o watcher_logbuf_size=abc", 1,
         "could not parse argument to watcher_logbuf_size\n"},
        {"-o worker_logbuf_size", 1, "Missing worker_logbuf_size argument\n"},
        {"-o worker_logbuf_size=abc", 1,
         "could not parse argument to worker_logbuf_size\n"},
        {"-o read_buf_mem_limit", 1, "Missing read_buf_mem_limit argument\n"},
        {"-o read_buf_mem_limit=abc", 1,
         "could not parse argument to read_buf_mem_limit\n"},
        /* memcached crashes on these three */
        {"-o slab_chunk_max", 1, "Missing slab_chunk_max argument\n"},
        {"-o slab_chunk_max=abc", 1,
         "could not parse argument to slab_chunk_max\n"},
        {"-o sock_cookie_id", 1, "Missing sock_cookie_id argument\n"},
        {"-o slab_sizes", 1, "Missing slab_sizes argument\n"},
        {"-o ext_page_size", 1, "Missing ext_page_size argument\n"},
        {"-o ext_page_size=abc", 1,
         "could not parse argument to ext_page_size\n"},
        {"-o ext_page_size=-1", 1,
         "could not parse argument to ext_page_size\n"},
        {"-o ext_wbuf_size=abc", 1,
         "could not parse argument to ext_wbuf_size\n"},
        {"-o ext_threads=abc", 1, "could not parse argument to ext_threads\n"},
        {"-o ext_io_depth", 1, "Missing ext_io_depth argument\n"},
        {"-o ext_item_size=abc", 1,
         "could not parse argument to ext_item_size\n"},
        {"-o ext_item_age=abc", 1,
         "could not parse argument to ext_item_age\n"},
        {"-o ext_low_ttl=abc", 1, "could not parse argument to ext_low_ttl\n"},
        {"-o ext_recache_rate=abc", 1,
         "could not parse argument to ext_recache_rate\n"},
        {"-o ext_compact_under=abc", 1,
         "could not parse argument to ext_compact_under\n"},
        {"-o ext_drop_under=abc", 1,
         "could not parse argument to ext_drop_under\n"},
        {"-o ext_max_sleep=abc", 1,
         "could not parse argument to ext_max_sleep\n"},
        {"-o ext_max_frag=abc", 1,
         "could not parse argument to ext_max_frag\n"},
        {"-o ext_max_frag", 1, "Missing ext_max_frag argument\n"},
        {"-o slab_automove_freeratio=abc", 1,
         "could not parse argument to slab_automove_freeratio\n"},
        {"-o ext_path", 1,
         "missing argument to ext_path, ie: ext_path=/d/file:5G\n"},
        /* the first error stops the list */
        {"-o hashpower=11,bogus", 1,
         "Initial hashtable multiplier of 11 is too low\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

static void
slab_size_errors_match_memcached(void **state)
{
    static const struct expect rows[] = {
        {"-o slab_sizes=", 64, "Missing slab_sizes argument\n"},
        {"-o slab_sizes=abc", 64, "slab size 0 is out of valid range\n"},
        {"-o slab_sizes=100-abc", 64, "slab size 0 is out of valid range\n"},
        {"-o slab_sizes=47", 64, "slab size 47 is out of valid range\n"},
        {"-o slab_sizes=100-524289", 64,
         "slab size 524289 is out of valid range\n"},
        {"-o slab_sizes=100-100", 64,
         "slab size 100 cannot be lower than or equal to a previous class "
         "size\n"},
        {"-o slab_sizes=100-90", 64,
         "slab size 90 cannot be lower than or equal to a previous class "
         "size\n"},
        {"-o slab_sizes=100-108", 64,
         "slab size 108 must be at least 8 bytes larger than previous "
         "class\n"},
        /* the range uses the final -n and slab_chunk_max */
        {"-o slab_sizes=60 -n 64", 64, "slab size 60 is out of valid range\n"},
        {"-o slab_sizes=100-600000,no_chunked_items", CONF_RUN, ""},
        {"-o slab_sizes=100-109-524288", CONF_RUN, ""},
    };
    (void)state;

    CHECK_TABLE(rows);
}

/* ---- features memoria does not have yet ---- */

static void
unsupported_features_are_refused_not_ignored(void **state)
{
    static const struct expect rows[] = {
        /* the first refused option given is named */
        {"-N 1 -e /x", 64, "memoria: -N (NAPI ids) is not supported yet\n"},
        /* memcached's checks of the TLS options' values */
        {"-o ssl_verify_mode=abc", 1,
         "could not parse argument to ssl_verify_mode\n"},
        {"-o ssl_verify_mode=4", 1,
         "Invalid ssl_verify_mode. Use help to see valid options.\n"},
        {"-o ssl_min_version=-1", 1,
         "Invalid ssl_min_version. Use help to see valid options.\n"},
        {"-o ssl_keyformat=PEM", 1,
         "could not parse argument to ssl_keyformat\n"},
        {"-o ssl_wbuf_size=-1", 1,
         "could not parse argument to ssl_wbuf_size\n"},
        {"-o ssl_key", 1, "Missing ssl_key argument\n"},
        {"-o ext_path=", 1, "failed to parse ext_path argument\n"},
        {"-e /tmp/memoria.mem", 64,
         "memoria: -e (memory file) is not supported yet\n"},
        {"-N 2", 64, "memoria: -N (NAPI ids) is not supported yet\n"},
        {"-o ext_path=/tmp/ext:1G", 64,
         "memoria: -o ext_path (extstore) is not supported yet\n"},
        {"-l 127.0.0.1,proto[proxy]:127.0.0.2", 64,
         "memoria: -l proto[proxy] is not supported yet\n"},
        /* memcached's own checks come first */
        {"-S -t 0", 1, "Number of threads must be greater than 0\n"},
        {"-U 5 -I 100", 64, "Item max size cannot be less than 1024 bytes.\n"},
        {"-S -B ascii", 64,
         "ERROR: You cannot allow the ASCII protocol while using SASL.\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

static void
tuning_knobs_are_accepted(void **state)
{
    static const struct expect rows[] = {
        {"-k -r -b 64 -a 777 -M -C -F -X -W -A", CONF_RUN, ""},
        {"-o lru_crawler_sleep=0,hot_lru_pct=1,warm_lru_pct=79", CONF_RUN, ""},
        {"-o slab_automove,slab_automove_ratio=1,slab_automove_window=3",
         CONF_RUN, ""},
        {"-o idle_timeout=abc,sock_cookie_id=x", CONF_RUN, ""},
        {"-o ext_max_frag=2,ext_page_size=0,ext_threads=0", CONF_RUN, ""},
        {"-o modern,no_modern,inline_ascii_resp", CONF_RUN, ""},
        {"-B ascii -l proto[ascii]:127.0.0.1,proto[negotiating]:127.0.0.2",
         CONF_RUN, ""},
        {"-U 0 -p 11211 -l 127.0.0.1", CONF_RUN, ""},
    };
    (void)state;

    CHECK_TABLE(rows);
}

/* ---- -D, -X, track_sizes, metrics_listen, compat values ---- */

static void
delimiter_is_one_character_and_turns_detail_on(void **state)
{
    struct run *r = run_ok("-D #");
    (void)state;

    assert_int_equal(r->cfg.stat_key_prefix, '#');
    assert_true(r->cfg.detail_enabled);
    finish(r);
    /* memcached keeps the first character of a longer one */
    r = run_ok("-D abc");
    assert_int_equal(r->cfg.stat_key_prefix, 'a');
    assert_true(r->cfg.detail_enabled);
    finish(r);
}

static void
track_sizes_and_disable_dumping_are_kept(void **state)
{
    struct run *r = run_ok("-o track_sizes -X");
    (void)state;

    assert_true(r->cfg.track_sizes);
    assert_false(r->cfg.dump_enabled);
    finish(r);
}

static void
compat_values_are_kept_for_stats_settings(void **state)
{
    struct run *r = run_ok(
        "-o tail_repair_time=30,hash_algorithm=xxh3,no_lru_crawler,"
        "lru_crawler_sleep=50,lru_crawler_tocrawl=7,hot_lru_pct=10,"
        "warm_lru_pct=30,hot_max_factor=0.5,warm_max_factor=3,"
        "temporary_ttl=100,no_slab_reassign,slab_automove=2,"
        "slab_automove_ratio=0.5,slab_automove_window=7,"
        "slab_automove_freeratio=0.02,ext_item_size=1024,ext_item_age=100,"
        "ext_low_ttl=5,ext_recache_rate=10,ext_wbuf_size=8,"
        "ext_compact_under=3,ext_drop_under=2,ext_max_sleep=5000,"
        "ext_max_frag=0.5,ext_drop_unread");
    (void)state;

    assert_int_equal(r->cfg.tail_repair_time, 30);
    assert_int_equal(r->cfg.hash_algorithm, CONF_HASH_XXH3);
    assert_false(r->cfg.lru_crawler);
    assert_int_equal(r->cfg.lru_crawler_sleep, 50);
    assert_int_equal(r->cfg.lru_crawler_tocrawl, 7);
    assert_int_equal(r->cfg.hot_lru_pct, 10);
    assert_int_equal(r->cfg.warm_lru_pct, 30);
    assert_true(r->cfg.hot_max_factor == 0.5);
    assert_true(r->cfg.warm_max_factor == 3.0);
    assert_true(r->cfg.temp_lru);
    assert_int_equal(r->cfg.temporary_ttl, 100);
    assert_false(r->cfg.slab_reassign);
    assert_int_equal(r->cfg.slab_automove, 2);
    assert_true(r->cfg.slab_automove_ratio == 0.5);
    assert_int_equal(r->cfg.slab_automove_window, 7);
    assert_true(r->cfg.slab_automove_freeratio == 0.02);
    assert_int_equal(r->cfg.ext_item_size, 1024);
    assert_int_equal(r->cfg.ext_item_age, 100);
    assert_int_equal(r->cfg.ext_low_ttl, 5);
    assert_int_equal(r->cfg.ext_recache_rate, 10);
    assert_int_equal(r->cfg.ext_wbuf_size, 8 * 1024 * 1024);
    assert_int_equal(r->cfg.ext_compact_under, 3);
    assert_int_equal(r->cfg.ext_drop_under, 2);
    assert_int_equal(r->cfg.ext_max_sleep, 5000);
    assert_true(r->cfg.ext_max_frag == 0.5);
    assert_true(r->cfg.ext_drop_unread);
    finish(r);
}

static void
lru_maintainer_switches_segments_with_it(void **state)
{
    struct run *r = run_ok("-o no_lru_maintainer");
    (void)state;

    assert_false(r->cfg.lru_maintainer);
    assert_false(r->cfg.lru_segmented);
    finish(r);
    r = run_ok("-o no_modern,lru_maintainer");
    assert_true(r->cfg.lru_maintainer);
    assert_true(r->cfg.lru_segmented);
    finish(r);
}

static void
slab_automove_without_value_is_1(void **state)
{
    struct run *r = run_ok("-o slab_automove=0,slab_automove");
    (void)state;

    assert_int_equal(r->cfg.slab_automove, 1);
    finish(r);
    r = run_ok("-o no_slab_automove");
    assert_int_equal(r->cfg.slab_automove, 0);
    finish(r);
}

static void
metrics_listen_takes_an_address_with_a_port(void **state)
{
    static const char *const good[] = {
        "127.0.0.1:9150", "[::1]:9150", ":9150",
        "9150",           "*:1",        "localhost:65535",
    };
    char args[128];
    (void)state;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct run *r;

        snprintf(args, sizeof(args), "-o metrics_listen=%s", good[i]);
        r = run_ok(args);
        assert_string_equal(r->cfg.metrics_listen, good[i]);
        finish(r);
    }
}

static void
metrics_listen_errors_exit_1(void **state)
{
    static const struct expect rows[] = {
        {"-o metrics_listen", 1, "Missing metrics_listen argument\n"},
        {"-o metrics_listen=", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"\"\n"},
        {"-o metrics_listen=127.0.0.1", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"127.0.0.1\"\n"},
        {"-o metrics_listen=::1", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"::1\"\n"},
        {"-o metrics_listen=[::1]", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"[::1]\"\n"},
        {"-o metrics_listen=[]:80", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"[]:80\"\n"},
        {"-o metrics_listen=host:0", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"host:0\"\n"},
        {"-o metrics_listen=host:65536", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"host:65536\"\n"},
        {"-o metrics_listen=host:+80", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"host:+80\"\n"},
        {"-o metrics_listen=host:http", 1,
         "metrics_listen takes host:port, [ipv6]:port or a port (1-65535), "
         "not \"host:http\"\n"},
    };
    (void)state;

    CHECK_TABLE(rows);
}

/* ---- stats settings ---- */

/* memcached's `stats settings` for no options ("STAT " and CRLF cut). */
static const char default_settings[] = "maxbytes 67108864\n"
                                       "maxconns 1024\n"
                                       "tcpport 11211\n"
                                       "udpport 0\n"
                                       "inter NULL\n"
                                       "verbosity 0\n"
                                       "oldest 0\n"
                                       "evictions on\n"
                                       "domain_socket NULL\n"
                                       "umask 700\n"
                                       "shutdown_command no\n"
                                       "growth_factor 1.25\n"
                                       "chunk_size 48\n"
                                       "num_threads 4\n"
                                       "num_threads_per_udp 4\n"
                                       "stat_key_prefix :\n"
                                       "detail_enabled no\n"
                                       "reqs_per_event 20\n"
                                       "cas_enabled yes\n"
                                       "tcp_backlog 1024\n"
                                       "binding_protocol auto-negotiate\n"
                                       "auth_enabled_sasl no\n"
                                       "auth_enabled_ascii no\n"
                                       "item_size_max 1048576\n"
                                       "maxconns_fast yes\n"
                                       "hashpower_init 0\n"
                                       "slab_reassign yes\n"
                                       "slab_automove 1\n"
                                       "slab_automove_ratio 0.80\n"
                                       "slab_automove_window 30\n"
                                       "slab_chunk_max 524288\n"
                                       "lru_crawler yes\n"
                                       "lru_crawler_sleep 100\n"
                                       "lru_crawler_tocrawl 0\n"
                                       "tail_repair_time 0\n"
                                       "flush_enabled yes\n"
                                       "dump_enabled yes\n"
                                       "hash_algorithm murmur3\n"
                                       "lru_maintainer_thread yes\n"
                                       "lru_segmented yes\n"
                                       "hot_lru_pct 20\n"
                                       "warm_lru_pct 40\n"
                                       "hot_max_factor 0.20\n"
                                       "warm_max_factor 2.00\n"
                                       "temp_lru no\n"
                                       "temporary_ttl 61\n"
                                       "idle_timeout 0\n"
                                       "watcher_logbuf_size 262144\n"
                                       "worker_logbuf_size 65536\n"
                                       "read_buf_mem_limit 0\n"
                                       "track_sizes no\n"
                                       "inline_ascii_response no\n"
                                       "ext_item_size 512\n"
                                       "ext_item_age 4294967295\n"
                                       "ext_low_ttl 0\n"
                                       "ext_recache_rate 2000\n"
                                       "ext_wbuf_size 4194304\n"
                                       "ext_compact_under 0\n"
                                       "ext_drop_under 0\n"
                                       "ext_max_sleep 1000000\n"
                                       "ext_max_frag 0.80\n"
                                       "slab_automove_freeratio 0.010\n"
                                       "ext_drop_unread no\n"
                                       "ssl_enabled no\n"
                                       "ssl_chain_cert (null)\n"
                                       "ssl_key (null)\n"
                                       "ssl_verify_mode 0\n"
                                       "ssl_keyformat 1\n"
                                       "ssl_ciphers NULL\n"
                                       "ssl_ca_cert NULL\n"
                                       "ssl_wbuf_size 16384\n"
                                       "ssl_session_cache no\n"
                                       "ssl_kernel_tls no\n"
                                       "ssl_min_version tlsv1.2\n"
                                       "num_napi_ids (null)\n"
                                       "memory_file (null)\n";

struct capture {
    char text[8192];
    size_t len;
    size_t lines;
};

static void
capture_line(void *ctx, const char *name, const char *value)
{
    struct capture *c = ctx;
    int n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s %s\n",
                     name, value);

    assert_true(n > 0 && (size_t)n < sizeof(c->text) - c->len);
    c->len += (size_t)n;
    c->lines++;
}

/* The live values a server has just after starting with cfg. */
static void
settings_of(const struct config *cfg, struct capture *c)
{
    const struct conf_settings_live live = {
        .verbosity = cfg->verbose,
        .detail_enabled = cfg->detail_enabled,
        .track_sizes = cfg->track_sizes,
        .maxbytes = cfg->maxbytes,
        .oldest = 0,
        .slab_automove = cfg->slab_automove,
        .slab_automove_ratio = cfg->slab_automove_ratio,
        .lru_crawler = cfg->lru_crawler,
        .lru_crawler_sleep = (uint32_t)cfg->lru_crawler_sleep,
        .lru_crawler_tocrawl = cfg->lru_crawler_tocrawl,
        .lru_segmented = cfg->lru_maintainer && cfg->lru_segmented,
        .hot_lru_pct = (unsigned)cfg->hot_lru_pct,
        .warm_lru_pct = (unsigned)cfg->warm_lru_pct,
        .hot_max_factor = cfg->hot_max_factor,
        .warm_max_factor = cfg->warm_max_factor,
        .temp_lru = cfg->temp_lru,
        .temporary_ttl = cfg->temporary_ttl,
    };

    memset(c, 0, sizeof(*c));
    conf_settings(cfg, &live, capture_line, c);
}

/* The line of text that starts with the len bytes at prefix, or NULL. */
static const char *
find_line(const char *text, const char *prefix, size_t len)
{
    for (const char *l = text; *l != '\0'; l = strchr(l, '\n') + 1) {
        if (strncmp(l, prefix, len) == 0) {
            return l;
        }
    }
    return NULL;
}

/*
 * default_settings with each "name value" line of changes in place of the
 * default line of that name; every name in changes must be one.
 */
static void
expected_settings(const char *changes, char *out, size_t cap)
{
    size_t len = 0;

    for (const char *l = changes; *l != '\0'; l = strchr(l, '\n') + 1) {
        if (find_line(default_settings, l, strcspn(l, " ") + 1) == NULL) {
            print_message("no setting %s", l);
            fail();
        }
    }
    for (const char *l = default_settings; *l != '\0';
         l = strchr(l, '\n') + 1) {
        const char *use = find_line(changes, l, strcspn(l, " ") + 1);

        if (use == NULL) {
            use = l;
        }
        len += (size_t)snprintf(out + len, cap - len, "%.*s",
                                (int)(strchr(use, '\n') + 1 - use), use);
    }
}

static void
settings_are_memcached_lines_in_memcached_order(void **state)
{
    struct config c;
    struct capture *cap = malloc(sizeof(*cap));
    (void)state;

    assert_non_null(cap);
    conf_init(&c);
    settings_of(&c, cap);
    assert_string_equal(cap->text, default_settings);
    assert_int_equal(cap->lines, 76);
    conf_deinit(&c);
    free(cap);
}

/*
 * Command lines and the lines that change, as memcached 1.6.18 prints
 * them for the same options (checked against the running reference).
 */
static const struct {
    const char *args;
    const char *changes;
} settings_rows[] = {
    {"-m 48 -c 500 -t 2 -R 7 -C -M -I 2m -f 1.5 -n 64",
     "maxbytes 50331648\nmaxconns 500\nevictions off\ngrowth_factor 1.50\n"
     "chunk_size 64\nnum_threads 2\nnum_threads_per_udp 2\n"
     "reqs_per_event 7\ncas_enabled no\nitem_size_max 2097152\n"},
    {"-b 77 -B ascii -A -F -X -W",
     "shutdown_command yes\ntcp_backlog 77\nbinding_protocol ascii\n"
     "flush_enabled no\ndump_enabled no\n"},
    {"-B auto -b -7 -f 1.333 -n 100",
     "tcp_backlog -7\ngrowth_factor 1.33\nchunk_size 100\n"},
    {"-p 5555 -U 12345", "tcpport 5555\nudpport 12345\n"},
    {"-U 6666", "tcpport 6666\nudpport 6666\n"},
    {"-p 0", "tcpport 0\n"},
    {"-l 127.0.0.1,127.0.0.2",
     "inter 127.0.0.1,127.0.0.2\nnum_threads_per_udp 1\n"},
    {"-l 127.0.0.1;127.0.0.2", "inter 127.0.0.1;127.0.0.2\n"},
    {"-l 127.0.0.1 -l 127.0.0.1", "inter 127.0.0.1\n"},
    {"-s /tmp/memoria.sock -l 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,"
     "127.0.0.5,127.0.0.6,127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10,"
     "127.0.0.11,127.0.0.12,127.0.0.13,127.0.0.14,127.0.0.15",
     "inter 127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6,"
     "127.0.0.7,127.0.0.8,127.0.0.9,127.0.0.10,127.0.0.11,127.0.0.12,127\n"
     "domain_socket /tmp/memoria.sock\nnum_threads_per_udp 1\n"},
    {"-t 1 -l 127.0.0.1 -l 127.0.0.1:5555",
     "inter 127.0.0.1,127.0.0.1:5555\nnum_threads 1\n"
     "num_threads_per_udp 1\n"},
    {"-s /tmp/memoria.sock -a 644 -p 5555 -U 6666 -l 127.0.0.9",
     "tcpport 5555\nudpport 6666\ninter 127.0.0.9\n"
     "domain_socket /tmp/memoria.sock\numask 644\n"},
    {"-s /tmp/memoria.sock -a 7777", "domain_socket /tmp/memoria.sock\n"
                                     "umask 7777\n"},
    {"-a 999", "umask 0\n"},
    {"-a -5", "umask 37777777773\n"},
    {"-D abc", "stat_key_prefix a\ndetail_enabled yes\n"},
    {"-vv", "verbosity 2\n"},
    {"-m 100000", "maxbytes 104857600000\n"},
    {"-I 4m", "item_size_max 4194304\n"},
    {"-I 2m -o slab_chunk_max=1048576",
     "item_size_max 2097152\nslab_chunk_max 1048576\n"},
    {"-o no_chunked_items", "slab_chunk_max 1048576\n"},
    {"-o track_sizes,idle_timeout=30,slab_automove=2",
     "slab_automove 2\nidle_timeout 30\ntrack_sizes yes\n"},
    {"-o idle_timeout=-5,hashpower=20,tail_repair_time=30",
     "hashpower_init 20\ntail_repair_time 30\nidle_timeout -5\n"},
    {"-o no_modern",
     "maxconns_fast no\nslab_reassign no\nslab_automove 0\n"
     "slab_chunk_max 1048576\nlru_crawler no\nhash_algorithm jenkins\n"
     "lru_maintainer_thread no\nlru_segmented no\n"},
    {"-o slab_chunk_max=16384,no_modern",
     "maxconns_fast no\nslab_reassign no\nslab_automove 0\n"
     "slab_chunk_max 16384\nlru_crawler no\nhash_algorithm jenkins\n"
     "lru_maintainer_thread no\nlru_segmented no\n"},
    {"-o no_modern,lru_maintainer,slab_reassign,lru_crawler,maxconns_fast,"
     "hash_algorithm=xxh3",
     "slab_automove 0\nslab_chunk_max 1048576\nhash_algorithm xxh3\n"},
    {"-o slab_automove=2,no_modern,modern",
     "maxconns_fast no\nslab_reassign no\nslab_automove 0\n"
     "slab_chunk_max 1048576\nlru_crawler no\nhash_algorithm jenkins\n"
     "lru_maintainer_thread no\nlru_segmented no\n"},
    {"-o no_lru_maintainer", "lru_maintainer_thread no\nlru_segmented no\n"},
    {"-o no_lru_maintainer,lru_maintainer", ""},
    {"-o no_slab_reassign,no_lru_crawler,no_slab_automove",
     "slab_reassign no\nslab_automove 0\nlru_crawler no\n"},
    {"-o slab_automove=0,slab_automove", ""},
    {"-o lru_crawler_sleep=50,lru_crawler_tocrawl=4294967295,hot_lru_pct=10,"
     "warm_lru_pct=30,hot_max_factor=0.333,warm_max_factor=3.14159,"
     "temporary_ttl=100",
     "lru_crawler_sleep 50\nlru_crawler_tocrawl 4294967295\n"
     "hot_lru_pct 10\nwarm_lru_pct 30\nhot_max_factor 0.33\n"
     "warm_max_factor 3.14\ntemp_lru yes\ntemporary_ttl 100\n"},
    {"-o temporary_ttl=-5", "temp_lru yes\ntemporary_ttl 4294967291\n"},
    {"-o temporary_ttl=abc", "temp_lru yes\ntemporary_ttl 0\n"},
    {"-o slab_automove_ratio=0.555,slab_automove_window=7,"
     "slab_automove_freeratio=0.0125",
     "slab_automove_ratio 0.56\nslab_automove_window 7\n"
     "slab_automove_freeratio 0.013\n"},
    {"-o slab_automove_ratio=1e-7x,slab_automove_freeratio=-1.5",
     "slab_automove_ratio 0.00\nslab_automove_freeratio -1.500\n"},
    {"-o watcher_logbuf_size=10,read_buf_mem_limit=3,worker_logbuf_size=128",
     "watcher_logbuf_size 10240\nworker_logbuf_size 131072\n"
     "read_buf_mem_limit 3145728\n"},
    /* memcached multiplies these in 32 bits */
    {"-o watcher_logbuf_size=5000000,read_buf_mem_limit=5000,"
     "ext_wbuf_size=5000",
     "watcher_logbuf_size 825032704\nread_buf_mem_limit 947912704\n"
     "ext_wbuf_size 947912704\n"},
    {"-o ext_item_size=1024,ext_item_age=100,ext_low_ttl=5,"
     "ext_recache_rate=10,ext_wbuf_size=8,ext_compact_under=3,"
     "ext_drop_under=2,ext_max_sleep=5000,ext_max_frag=0.555,"
     "ext_drop_unread,ext_page_size=32,ext_threads=3,ext_io_depth=2",
     "ext_item_size 1024\next_item_age 100\next_low_ttl 5\n"
     "ext_recache_rate 10\next_wbuf_size 8388608\next_compact_under 3\n"
     "ext_drop_under 2\next_max_sleep 5000\next_max_frag 0.56\n"
     "ext_drop_unread yes\n"},
    {"-o ext_max_frag=-3", "ext_max_frag -3.00\n"},
    /* memcached cuts a value at 126 characters */
    {"-o hot_max_factor=1e-9,warm_max_factor=1e300",
     "hot_max_factor 0.00\n"
     "warm_max_factor 1000000000000000052504760255204420248704468581108159154"
     "915854115511802457988908195786371375080447864043704443832883878176942"
     "52\n"},
    /* not memcached's: no line of its own */
    {"-o metrics_listen=127.0.0.1:9150", ""},
    {"-k -L -d -r -P /tmp/memoria.pid -u nobody -o no_hashexpand,"
     "sock_cookie_id=5,inline_ascii_resp,drop_privileges,"
     "slab_sizes=100-200-300,resp_obj_mem_limit",
     ""},
    /* TLS, as memcached 1.6.18 -Z prints them: the mode as OpenSSL flags */
    {"-Z -o ssl_chain_cert=/c,ssl_key=/k,ssl_verify_mode=2,ssl_ciphers=HIGH,"
     "ssl_ca_cert=/ca,ssl_wbuf_size=8,ssl_session_cache,ssl_kernel_tls,"
     "ssl_min_version=3,ssl_keyformat=2",
     "ssl_enabled yes\nssl_chain_cert /c\nssl_key /k\nssl_verify_mode 3\n"
     "ssl_keyformat 2\nssl_ciphers HIGH\nssl_ca_cert /ca\n"
     "ssl_wbuf_size 8192\nssl_session_cache yes\nssl_kernel_tls yes\n"
     "ssl_min_version tlsv1.3\n"},
    {"-o ssl_verify_mode=3,ssl_min_version=0", "ssl_verify_mode 7\n"
                                               "ssl_min_version tlsv1.0\n"},
};

static void
settings_follow_the_command_line(void **state)
{
    struct capture *cap = malloc(sizeof(*cap));
    char *want = malloc(sizeof(cap->text));
    (void)state;

    assert_non_null(cap);
    assert_non_null(want);
    for (size_t i = 0; i < sizeof(settings_rows) / sizeof(settings_rows[0]);
         i++) {
        struct run *r = run_ok(settings_rows[i].args);

        settings_of(&r->cfg, cap);
        expected_settings(settings_rows[i].changes, want, sizeof(cap->text));
        if (strcmp(cap->text, want) != 0) {
            print_message("memoria %s\n", settings_rows[i].args);
        }
        assert_string_equal(cap->text, want);
        assert_int_equal(cap->lines, 76);
        finish(r);
    }
    free(want);
    free(cap);
}

static void
settings_show_the_live_values(void **state)
{
    struct config c;
    struct capture *cap = malloc(sizeof(*cap));
    char *want = malloc(sizeof(cap->text));
    const struct conf_settings_live live = {
        .verbosity = 2,
        .detail_enabled = true,
        .track_sizes = true,
        .maxbytes = 104857600,
        .oldest = 62,
        .slab_automove = 1,
        .slab_automove_ratio = 0.8,
        .lru_crawler = false,
        .lru_crawler_sleep = 7,
        .lru_crawler_tocrawl = 9,
        /* as after lru mode flat, lru tune 10 30 0.5 3, lru temp_ttl 30 */
        .lru_segmented = false,
        .hot_lru_pct = 10,
        .warm_lru_pct = 30,
        .hot_max_factor = 0.5,
        .warm_max_factor = 3,
        .temp_lru = true,
        .temporary_ttl = 30,
    };
    (void)state;

    assert_non_null(cap);
    assert_non_null(want);
    conf_init(&c);
    memset(cap, 0, sizeof(*cap));
    conf_settings(&c, &live, capture_line, cap);
    expected_settings("maxbytes 104857600\nverbosity 2\noldest 62\n"
                      "detail_enabled yes\ntrack_sizes yes\nlru_crawler no\n"
                      "lru_crawler_sleep 7\nlru_crawler_tocrawl 9\n"
                      "lru_segmented no\nhot_lru_pct 10\nwarm_lru_pct 30\n"
                      "hot_max_factor 0.50\nwarm_max_factor 3.00\n"
                      "temp_lru yes\ntemporary_ttl 30\n",
                      want, sizeof(cap->text));
    assert_string_equal(cap->text, want);
    conf_deinit(&c);
    free(want);
    free(cap);
}

/* ---- every option has a disposition ---- */

/* What names o on the command line: "-X" or "-o name". */
static void
option_name(const struct conf_option *o, char *buf, size_t len)
{
    if (o->letter != 0) {
        snprintf(buf, len, "-%c", o->letter);
    } else {
        snprintf(buf, len, "-o %s", o->name);
    }
}

/* The option given with its sample value: "-p 11211", "-o hashpower=16". */
static void
option_args(const struct conf_option *o, char *buf, size_t len)
{
    if (o->letter != 0) {
        snprintf(buf, len, "-%c%s%s", o->letter, o->sample != NULL ? " " : "",
                 o->sample != NULL ? o->sample : "");
    } else {
        snprintf(buf, len, "-o %s%s%s", o->name, o->sample != NULL ? "=" : "",
                 o->sample != NULL ? o->sample : "");
    }
}

static void
check_row(struct run *r, const struct conf_option *o)
{
    char args[128];
    char name[64];
    char want[192];
    int want_rc = CONF_RUN;

    option_name(o, name, sizeof(name));
    option_args(o, args, sizeof(args));
    assert_true(o->disposition == CONF_APPLIED ||
                o->disposition == CONF_REFUSED ||
                o->disposition == CONF_COMPAT);
    /* REFUSED names its feature, COMPAT its reason, APPLIED neither */
    assert_true((o->why != NULL) == (o->disposition != CONF_APPLIED));
    /* -h lists what memoria has, never what it refuses */
    if (o->disposition == CONF_REFUSED) {
        assert_null(o->help);
    }
    /* a value-taking -o option has a sample, a flag none */
    if (o->letter == 0) {
        assert_true((o->sample == NULL) == (o->value == CONF_VALUE_NONE));
    }
    run(r, args);
    conf_deinit(&r->cfg);
    if (o->disposition == CONF_REFUSED) {
        want_rc = 64;
        snprintf(want, sizeof(want), "memoria: %s (%s) is not supported yet\n",
                 name, o->why);
    } else if (o->letter == 'h' || o->letter == 'i' || o->letter == 'V') {
        want_rc = 0;
    }
    if (r->rc != want_rc || (want_rc == 64 && strcmp(r->err, want) != 0)) {
        print_message("memoria %s: %d %s", args, r->rc, r->err);
    }
    assert_int_equal(r->rc, want_rc);
    if (want_rc == 64) {
        assert_string_equal(r->err, want);
    }
}

static void
every_option_parses_with_its_sample_or_is_refused(void **state)
{
    struct run *r = malloc(sizeof(*r));
    (void)state;

    assert_non_null(r);
    assert_true(conf_ncli > 0 && conf_next > 0);
    for (size_t i = 0; i < conf_ncli; i++) {
        check_row(r, &conf_cli_options[i]);
    }
    for (size_t i = 0; i < conf_next; i++) {
        check_row(r, &conf_ext_options[i]);
    }
    free(r);
}

/* True when one line of text holds all of a, b and c. */
static bool
line_has(const char *text, const char *a, const char *b, const char *c)
{
    for (const char *line = text; *line != '\0';) {
        const char *end = strchr(line, '\n');
        size_t len = end != NULL ? (size_t)(end - line) : strlen(line);
        char buf[1024];

        if (len < sizeof(buf)) {
            memcpy(buf, line, len);
            buf[len] = '\0';
            if (strstr(buf, a) != NULL && strstr(buf, b) != NULL &&
                strstr(buf, c) != NULL) {
                return true;
            }
        }
        line += len + (end != NULL);
    }
    return false;
}

static void
check_documented(const char *text, const struct conf_option *o)
{
    static const char *const words[] = {"applied", "refused", "compat"};
    char name[64];
    char quoted[72];

    option_name(o, name, sizeof(name));
    snprintf(quoted, sizeof(quoted), "`%s`", name);
    if (!line_has(text, quoted, words[o->disposition],
                  o->disposition == CONF_COMPAT ? o->why : "")) {
        print_message("docs/OPTIONS.md has no line with %s, %s%s%s\n", quoted,
                      words[o->disposition],
                      o->disposition == CONF_COMPAT ? " and: " : "",
                      o->disposition == CONF_COMPAT ? o->why : "");
        fail();
    }
}

static void
every_option_is_documented_with_its_disposition(void **state)
{
    char *text = unit_read_file("docs/OPTIONS.md");
    (void)state;

    for (size_t i = 0; i < conf_ncli; i++) {
        check_documented(text, &conf_cli_options[i]);
    }
    for (size_t i = 0; i < conf_next; i++) {
        check_documented(text, &conf_ext_options[i]);
    }
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_match_memcached_stats_settings),
        cmocka_unit_test(memcached_class_table_only_when_f_or_n_given),
        cmocka_unit_test(no_arguments_listen_on_loopback_only),
        cmocka_unit_test(deinit_after_init_alone_is_safe),
        cmocka_unit_test(every_short_option_sets_its_field),
        cmocka_unit_test(every_long_option_sets_its_field),
        cmocka_unit_test(long_options_may_be_abbreviated),
        cmocka_unit_test(short_options_cluster_and_take_attached_values),
        cmocka_unit_test(parse_can_run_again_after_a_cluster),
        cmocka_unit_test(positional_arguments_are_ignored),
        cmocka_unit_test(numbers_parse_like_atoi),
        cmocka_unit_test(port_zero_and_udp_zero_are_accepted),
        cmocka_unit_test(auto_protocol_is_the_default_and_accepted),
        cmocka_unit_test(many_threads_only_warn),
        cmocka_unit_test(negative_memory_limit_wraps_like_memcached),
        cmocka_unit_test(item_size_accepts_k_and_m_suffixes),
        cmocka_unit_test(item_size_above_a_page_keeps_half_page_chunks),
        cmocka_unit_test(item_size_errors_match_memcached),
        cmocka_unit_test(bad_values_exit_1_with_memcached_messages),
        cmocka_unit_test(getopt_errors_are_illegal_arguments),
        cmocka_unit_test(ambiguous_long_option_is_an_illegal_argument),
        cmocka_unit_test(empty_delimiter_is_refused),
        cmocka_unit_test(bad_combinations_exit_64_with_memcached_messages),
        cmocka_unit_test(hashpower_must_exceed_the_item_lock_table),
        cmocka_unit_test(help_prints_usage_to_stdout_and_exits_0),
        cmocka_unit_test(version_prints_memcached_version_first),
        cmocka_unit_test(license_prints_to_stdout_and_exits_0),
        cmocka_unit_test(listen_elements_parse),
        cmocka_unit_test(listen_errors_carry_memcached_messages),
        cmocka_unit_test(listen_splits_at_commas_and_semicolons_skipping_empty),
        cmocka_unit_test(listen_rejects_a_host_too_long_to_hold),
        cmocka_unit_test(repeated_listen_options_join_with_commas),
        cmocka_unit_test(listen_contained_in_the_list_is_ignored),
        cmocka_unit_test(listen_with_semicolons_keeps_threads_per_udp),
        cmocka_unit_test(empty_listen_opens_no_listener),
        cmocka_unit_test(bad_listen_exits_71_as_a_failed_listen),
        cmocka_unit_test(extended_flags_set_their_fields),
        cmocka_unit_test(extended_values_are_stored_in_bytes),
        cmocka_unit_test(extstore_tuning_numbers_are_accepted),
        cmocka_unit_test(every_hash_algorithm_is_accepted),
        cmocka_unit_test(no_modern_restores_1_4_defaults),
        cmocka_unit_test(slab_chunk_max_given_before_no_modern_is_kept),
        cmocka_unit_test(no_chunked_items_makes_chunks_a_page),
        cmocka_unit_test(slab_sizes_are_checked_after_all_options),
        cmocka_unit_test(slab_sizes_hold_at_most_62_classes),
        cmocka_unit_test(worker_logbuf_size_does_not_set_slab_sizes),
        cmocka_unit_test(flag_suboptions_ignore_a_value),
        cmocka_unit_test(empty_extended_list_is_accepted),
        cmocka_unit_test(resp_obj_mem_limit_is_deprecated),
        cmocka_unit_test(extended_errors_match_memcached),
        cmocka_unit_test(slab_size_errors_match_memcached),
        cmocka_unit_test(unsupported_features_are_refused_not_ignored),
        cmocka_unit_test(tuning_knobs_are_accepted),
        cmocka_unit_test(delimiter_is_one_character_and_turns_detail_on),
        cmocka_unit_test(track_sizes_and_disable_dumping_are_kept),
        cmocka_unit_test(compat_values_are_kept_for_stats_settings),
        cmocka_unit_test(lru_maintainer_switches_segments_with_it),
        cmocka_unit_test(slab_automove_without_value_is_1),
        cmocka_unit_test(metrics_listen_takes_an_address_with_a_port),
        cmocka_unit_test(metrics_listen_errors_exit_1),
        cmocka_unit_test(settings_are_memcached_lines_in_memcached_order),
        cmocka_unit_test(settings_follow_the_command_line),
        cmocka_unit_test(settings_show_the_live_values),
        cmocka_unit_test(every_option_parses_with_its_sample_or_is_refused),
        cmocka_unit_test(every_option_is_documented_with_its_disposition),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
