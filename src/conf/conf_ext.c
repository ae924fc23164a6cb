/* The -o options: their table, -h rows and handlers. */
#include "conf/conf.h"
#include "conf/conf_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Why the COMPAT rows change nothing; docs/OPTIONS.md repeats each one. */
#define WHY_MOVER                                                          \
    "memoria's automover compares eviction ages as evictions happen, not " \
    "averaged over a window of samples (docs/ENGINE.md#the-page-mover)"
#define WHY_EXT "extstore tuning; without ext_path memcached ignores it too"

/*
 * The -o options, in memcached's -h order; help NULL hides a row from -h
 * (memcached does not list it, or memoria refuses it). Columns: name, how
 * it takes a value (CONF_VALUE_*), disposition (CONF_*), why (REFUSED:
 * the feature, COMPAT: the reason), a sample value, then the -h text.
 */
/* clang-format off */
#define CONF_EXTENDED(X)                                                       \
    X(maxconns_fast, NONE, APPLIED, NULL, NULL,                                \
      "immediately close new connections after limit (default: enabled)")      \
    X(no_maxconns_fast, NONE, APPLIED, NULL, NULL, NULL)                       \
    X(hashpower, NUMERIC, APPLIED, NULL, "16",                                 \
      "an integer multiplier for how large the hash\n"                         \
      "table should be. normally grows at runtime. (default starts at: 0)\n"   \
      "set based on \"STAT hash_power_level\"")                                \
    X(tail_repair_time, NUMERIC, COMPAT,                                       \
      "memoria's eviction skips pinned items instead of stalling on them at "  \
      "an LRU tail: nothing to repair (docs/ENGINE.md)", "30",                 \
      "time in seconds for how long to wait before\n"                          \
      "forcefully killing LRU tail item.\n"                                    \
      "disabled by default; very dangerous option.")                           \
    X(hash_algorithm, ARG, COMPAT,                                             \
      "memoria's hash table always uses its own hash; the choice changes no " \
      "answer",                                                                \
      "murmur3",                                                               \
      "the hash table algorithm\n"                                             \
      "default is murmur3 hash. options: jenkins, murmur3, xxh3")              \
    X(lru_crawler, NONE, APPLIED, NULL, NULL, NULL)                            \
    X(no_lru_crawler, NONE, APPLIED, NULL, NULL,                               \
      "disable LRU Crawler background thread.")                                \
    X(lru_crawler_sleep, VALUE, APPLIED, NULL, "100",                          \
      "microseconds to sleep between items\n"                                  \
      "default is 100.")                                                       \
    X(lru_crawler_tocrawl, VALUE, APPLIED, NULL, "0",                          \
      "max items to crawl per slab per run\n"                                  \
      "default is 0 (unlimited)")                                              \
    X(read_buf_mem_limit, ARG, APPLIED, NULL, "0",                             \
      "limit in megabytes for connection read/response buffers.\n"             \
      "do not adjust unless you have high (20k+) conn. limits.\n"              \
      "0 means unlimited (default: 0)")                                        \
    X(lru_maintainer, NONE, APPLIED, NULL,    NULL, NULL)                       \
    X(no_lru_maintainer, NONE, APPLIED, NULL,    NULL,                          \
      "disable new LRU system + background thread.")                           \
    X(hot_lru_pct, ARG, APPLIED, NULL,    "20",                                 \
      "pct of slab memory to reserve for hot lru.\n"                           \
      "(requires lru_maintainer, default pct: 20)")                            \
    X(warm_lru_pct, ARG, APPLIED, NULL,    "40",                                \
      "pct of slab memory to reserve for warm lru.\n"                          \
      "(requires lru_maintainer, default pct: 40)")                            \
    X(hot_max_factor, ARG, APPLIED, NULL,    "0.2",                             \
      "items idle > cold lru age * drop from hot lru. (default: 0.20)")        \
    X(warm_max_factor, ARG, APPLIED, NULL,    "2.0",                            \
      "items idle > cold lru age * this drop from warm. (default: 2.00)")      \
    X(temporary_ttl, ARG, APPLIED, NULL,    "61",                               \
      "TTL's below get separate LRU, can't be evicted.\n"                      \
      "(requires lru_maintainer, default: 61)")                                \
    X(idle_timeout, NUMERIC, APPLIED, NULL, "0",                               \
      "timeout for idle connections. (default: 0, no timeout)")                \
    X(slab_chunk_max, ARG, APPLIED, NULL, "524288",                            \
      "(EXPERIMENTAL) maximum slab size in kilobytes. use extreme care. "      \
      "(default: 512)")                                                        \
    X(watcher_logbuf_size, ARG, APPLIED, NULL, "256",                          \
      "size in kilobytes of per-watcher write buffer. (default: 256)")         \
    X(worker_logbuf_size, ARG, APPLIED, NULL, "64",                            \
      "size in kilobytes of per-worker-thread buffer\n"                        \
      "read by background thread, then written to watchers. (default: 64)")    \
    X(track_sizes, NONE, APPLIED, NULL, NULL,                                  \
      "enable dynamic reports for 'stats sizes' command.")                     \
    X(no_hashexpand, NONE, APPLIED, NULL, NULL,                                \
      "disables hash table expansion (dangerous)")                             \
    X(modern, NONE, COMPAT, "a no-op in memcached 1.6.18 too", NULL,           \
      "enables options which will be default in future.\n"                     \
      "currently: nothing")                                                    \
    X(no_modern, NONE, APPLIED, NULL, NULL,                                    \
      "uses defaults of previous major version (1.4.x)")                       \
    X(sock_cookie_id, ARG, APPLIED, NULL, "0",                                 \
      "attributes an ID to a socket for ip filtering/firewalls ")              \
    X(slab_reassign, NONE, APPLIED, NULL, NULL, NULL)                          \
    X(no_slab_reassign, NONE, APPLIED, NULL, NULL, NULL)                       \
    X(slab_automove, OPTIONAL, APPLIED, NULL, "1", NULL)                       \
    X(no_slab_automove, NONE, APPLIED, NULL, NULL, NULL)                       \
    X(slab_automove_ratio, ARG, APPLIED, NULL, "0.8", NULL)                    \
    X(slab_automove_window, ARG, COMPAT, WHY_MOVER, "30", NULL)                \
    X(no_chunked_items, NONE, APPLIED, NULL, NULL, NULL)                       \
    X(slab_sizes, ARG, APPLIED, NULL, "100-200-300", NULL)                     \
    X(inline_ascii_resp, NONE, COMPAT,                                         \
      "no effect in memcached 1.6.18 either", NULL, NULL)                      \
    X(no_inline_ascii_resp, NONE, COMPAT,                                      \
      "no effect in memcached 1.6.18 either", NULL, NULL)                      \
    X(resp_obj_mem_limit, NONE, APPLIED, NULL, NULL, NULL)                     \
    X(drop_privileges, NONE, APPLIED, NULL, NULL,                              \
      "enable dropping extra syscall privileges")                              \
    X(no_drop_privileges, NONE, APPLIED, NULL, NULL,                           \
      "disable drop_privileges in case it causes issues with\n"                \
      "some customisation.\n"                                                  \
      "(default is no_drop_privileges)")                                       \
    X(ext_path, OPTIONAL, REFUSED, "extstore", "/tmp/memoria.ext:1G", NULL)    \
    X(ext_page_size, ARG, COMPAT, WHY_EXT, "64",                               \
      "size in megabytes of storage pages. (default: 64)")                     \
    X(ext_wbuf_size, ARG, COMPAT, WHY_EXT, "4",                                \
      "size in megabytes of page write buffers. (default: 4)")                 \
    X(ext_threads, ARG, COMPAT, WHY_EXT, "1",                                  \
      "number of IO threads to run. (default: 1)")                             \
    X(ext_io_depth, ARG, COMPAT, WHY_EXT, "1", NULL)                           \
    X(ext_item_size, ARG, COMPAT, WHY_EXT, "512",                              \
      "store items larger than this (bytes, default 512)")                     \
    X(ext_item_age, ARG, COMPAT, WHY_EXT, "3600",                              \
      "store items idle at least this long (seconds, default: no age limit)")  \
    X(ext_low_ttl, ARG, COMPAT, WHY_EXT, "0",                                  \
      "consider TTLs lower than this specially (default: 0)")                  \
    X(ext_drop_unread, NONE, COMPAT, WHY_EXT, NULL,                            \
      "don't re-write unread values during compaction (default: disabled)")    \
    X(ext_recache_rate, ARG, COMPAT, WHY_EXT, "2000",                          \
      "recache an item every N accesses (default: 2000)")                      \
    X(ext_compact_under, ARG, COMPAT, WHY_EXT, "4",                            \
      "compact when fewer than this many free pages\n"                         \
      "(default: 1/4th of the assigned storage)")                              \
    X(ext_drop_under, ARG, COMPAT, WHY_EXT, "4",                               \
      "drop COLD items when fewer than this many free pages\n"                 \
      "(default: 1/4th of the assigned storage)")                              \
    X(ext_max_frag, ARG, COMPAT, WHY_EXT, "0.8",                               \
      "max page fragmentation to tolerate (default: 0.80)")                    \
    X(ext_max_sleep, ARG, COMPAT, WHY_EXT, "1000000",                          \
      "max sleep time of background threads in us (default: 1000000)")        \
    X(slab_automove_freeratio, ARG, COMPAT, WHY_EXT, "0.01",                   \
      "ratio of memory to hold free as buffer.\n"                              \
      "(see doc/storage.txt for more info, default: 0.010)")                   \
    X(ssl_chain_cert, ARG, APPLIED, NULL, "/tmp/memoria.crt",                  \
      "certificate chain file in PEM format")                                  \
    X(ssl_key, ARG, APPLIED, NULL, "/tmp/memoria.key",                         \
      "private key, if not part of the -ssl_chain_cert")                       \
    X(ssl_keyformat, ARG, APPLIED, NULL, "1",                                  \
      "private key format (PEM, DER or ENGINE) (default: PEM)")                \
    X(ssl_verify_mode, ARG, APPLIED, NULL, "0",                                \
      "peer certificate verification mode, default is 0(None).\n"              \
      "valid values are 0(None), 1(Request), 2(Require)\n"                     \
      "or 3(Once)")                                                            \
    X(ssl_ciphers, ARG, APPLIED, NULL, "HIGH",                                 \
      "specify cipher list to be used")                                        \
    X(ssl_ca_cert, ARG, APPLIED, NULL, "/tmp/memoria.ca",                      \
      "PEM format file of acceptable client CA's")                             \
    X(ssl_wbuf_size, ARG, APPLIED, NULL, "16",                                 \
      "size in kilobytes of per-connection SSL output buffer\n"                \
      "(default: 16)")                                                         \
    X(ssl_session_cache, NONE, APPLIED, NULL, NULL,                            \
      "enable server-side SSL session cache, to support session\n"             \
      "resumption")                                                            \
    X(ssl_kernel_tls, NONE, APPLIED, NULL, NULL,                               \
      "enable kernel TLS offload")                                             \
    X(ssl_min_version, ARG, APPLIED, NULL, "2",                                \
      "minimum protocol version to accept (default: tlsv1.2)\n"                \
      "valid values are 0(tlsv1.0), 1(tlsv1.1), 2(tlsv1.2), or 3(tlsv1.3).")  \
    /* memoria's own, not in memcached's -h (docs/OPTIONS.md) */               \
    X(metrics_listen, ARG, APPLIED, NULL, "127.0.0.1:9150", NULL)
/* clang-format on */

enum ext_id {
#define EXT_ENUM(name, value, disp, why, sample, help) EXT_##name,
    CONF_EXTENDED(EXT_ENUM)
#undef EXT_ENUM
        EXT_UNKNOWN
};

const struct conf_option conf_ext_options[] = {
#define EXT_ROW(name, value, disp, why, sample, help) \
    {#name, 0, CONF_VALUE_##value, CONF_##disp, why, sample, help},
    CONF_EXTENDED(EXT_ROW)
#undef EXT_ROW
};

const size_t conf_next = EXT_UNKNOWN;

void
conf_ext_print_help(void)
{
    char left[64];
    bool ext_header = false;
    bool tls_header = false;

    for (size_t i = 0; i < EXT_UNKNOWN; i++) {
        const struct conf_option *o = &conf_ext_options[i];

        if (o->help == NULL) {
            continue;
        }
        /* memcached's header names extstore, which memoria lacks. */
        if (!ext_header && strncmp(o->name, "ext_", 4) == 0) {
            printf("\n   - External storage (ext_*) related options "
                   "(accepted, without effect)\n");
            ext_header = true;
        }
        /* ...and the TLS rows follow it there: ours ends that section. */
        if (!tls_header && strncmp(o->name, "ssl_", 4) == 0) {
            printf("   - TLS (ssl_*) options, used with -Z\n");
            tls_header = true;
        }
        snprintf(left, sizeof(left), "   - %s:", o->name);
        conf_print_help_row(left, o->help);
    }
}

/* ---- Elements ---- */

static int say(struct parse *ps, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Keeps the message for the caller to print; returns code. */
static int
say(struct parse *ps, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(ps->msg, sizeof(ps->msg), fmt, ap);
    va_end(ap);
    return code;
}

static enum ext_id
ext_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < EXT_UNKNOWN; i++) {
        if (strlen(conf_ext_options[i].name) == len &&
            memcmp(conf_ext_options[i].name, name, len) == 0) {
            return (enum ext_id)i;
        }
    }
    return EXT_UNKNOWN;
}

static int
ext_missing(struct parse *ps, enum ext_id id)
{
    const char *name = conf_ext_options[id].name;

    switch (conf_ext_options[id].value) {
    case CONF_VALUE_ARG:
        return say(ps, EXIT_FAILURE, "Missing %s argument\n", name);
    case CONF_VALUE_NUMERIC:
        return say(ps, EXIT_FAILURE, "Missing numeric argument for %s\n", name);
    case CONF_VALUE_VALUE:
        return say(ps, EXIT_FAILURE, "Missing %s value\n", name);
    case CONF_VALUE_NONE:
    case CONF_VALUE_OPTIONAL:
        break;
    }
    return CONF_RUN;
}

static int
cant_parse(struct parse *ps, const char *name)
{
    return say(ps, EXIT_FAILURE, "could not parse argument to %s\n", name);
}

/* A size given in units (KB, MB) of a u32, stored in bytes. */
static int
ext_size(struct parse *ps, uint64_t *field, const char *name, const char *v,
         uint64_t unit)
{
    uint32_t n;

    if (!conf_parse_u32(v, &n)) {
        return cant_parse(ps, name);
    }
    *field = (uint64_t)n * unit;
    return CONF_RUN;
}

static int
set_hashpower(struct config *cfg, struct parse *ps, const char *v)
{
    cfg->hashpower = conf_atoi(v);
    if (cfg->hashpower < 12) {
        return say(ps, EXIT_FAILURE,
                   "Initial hashtable multiplier of %d is too low\n",
                   cfg->hashpower);
    }
    if (cfg->hashpower > 32) {
        return say(ps, EXIT_FAILURE,
                   "Initial hashtable multiplier of %d is too high\n"
                   "Choose a value based on \"STAT hash_power_level\" "
                   "from a running instance\n",
                   cfg->hashpower);
    }
    return CONF_RUN;
}

/*
 * -o slab_sizes=a-b-c: kept as numbers (0 for a token that is none) and
 * checked once -n and slab_chunk_max are final. One past the limit is
 * kept so that the check can say "too many".
 */
static int
set_slab_sizes(struct parse *ps, const char *v)
{
    const char *p = v;

    ps->slab_sizes_given = true;
    ps->slab_sizes_empty = *v == '\0';
    ps->nslab_sizes = 0;
    while (*p != '\0' && ps->nslab_sizes <= CONF_MAX_SLAB_SIZES) {
        size_t len = strcspn(p, "-");
        char num[32];
        uint32_t size = 0;

        if (len > 0) {
            if (len < sizeof(num)) {
                memcpy(num, p, len);
                num[len] = '\0';
                if (!conf_parse_u32(num, &size)) {
                    size = 0;
                }
            }
            ps->slab_sizes[ps->nslab_sizes++] = size;
        }
        p += len + (p[len] == '-');
    }
    return CONF_RUN;
}

/* A port for metrics_listen: decimal digits only, 1 to 65535. */
static bool
is_port(const char *s)
{
    uint32_t n;

    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s) &&
           conf_parse_u32(s, &n) && n >= 1 && n <= 65535;
}

/*
 * -o metrics_listen: "host:port", "[v6]:port", ":port" or "port" (an
 * empty host is 127.0.0.1 and "*" every address, for net to resolve).
 * Kept as given; a bare IPv6 address, which has no room for a port, and
 * anything without a port are refused.
 */
static int
set_metrics_listen(struct config *cfg, struct parse *ps, const char *v)
{
    const char *port = v;
    size_t len = strlen(v);

    if (v[0] == '[') {
        const char *close = strchr(v, ']');

        port =
            close != NULL && close > v + 1 && close[1] == ':' ? close + 2 : "";
    } else if (strchr(v, ':') != NULL) {
        port = strchr(v, ':') + 1;
    }
    if (len >= sizeof(cfg->metrics_listen) || !is_port(port)) {
        return say(ps, EXIT_FAILURE,
                   "metrics_listen takes host:port, [ipv6]:port or a port "
                   "(1-65535), not \"%s\"\n",
                   v);
    }
    memcpy(cfg->metrics_listen, v, len + 1);
    return CONF_RUN;
}

/*
 * no_modern: memcached 1.4's defaults. memoria applies the chunk size,
 * maxconns_fast, slab_reassign and slab_automove (no page moves, no
 * rebalancing), the LRU crawler's (off) and the LRU part (flat mode:
 * plain CLOCK, see docs/ENGINE.md#eviction); the hash name is kept for
 * `stats settings`, as the COMPAT hash_algorithm option is.
 */
static void
set_no_modern(struct config *cfg, struct parse *ps)
{
    if (!ps->chunk_max_changed) {
        ps->slab_chunk_max = CONF_PAGE_SIZE;
    }
    cfg->maxconns_fast = false;
    cfg->slab_reassign = false;
    cfg->slab_automove = 0;
    cfg->hash_algorithm = CONF_HASH_JENKINS;
    cfg->lru_crawler = false;
    cfg->lru_maintainer = false;
    cfg->lru_segmented = false;
}

static int
apply_flag(struct config *cfg, struct parse *ps, enum ext_id id)
{
    switch (id) {
    case EXT_maxconns_fast:
    case EXT_no_maxconns_fast:
        cfg->maxconns_fast = id == EXT_maxconns_fast;
        break;
    case EXT_drop_privileges:
    case EXT_no_drop_privileges:
        cfg->drop_privileges = id == EXT_drop_privileges;
        break;
    case EXT_no_hashexpand:
        cfg->hash_expand = false;
        break;
    case EXT_track_sizes:
        cfg->track_sizes = true;
        /*
         * memcached takes the histogram's CAS boundary as it parses this
         * option: 0 if -C came first (every item counts), else a real
         * CAS (items stored without CAS never count).
         */
        cfg->track_sizes_all = !cfg->use_cas;
        break;
    case EXT_no_chunked_items:
        ps->slab_chunk_max = CONF_PAGE_SIZE;
        break;
    case EXT_no_modern:
        set_no_modern(cfg, ps);
        break;
    case EXT_resp_obj_mem_limit:
        /* Applied as memcached applies it: a warning, then nothing. */
        return say(ps, CONF_RUN,
                   "DEPRECATED: resp_obj_mem_limit no longer used. "
                   "See read_buf_mem_limit,\n");
    default:
        break;
    }
    return CONF_RUN;
}

static int set_mover(struct config *cfg, struct parse *ps, enum ext_id id,
                     const char *v);
static int set_crawler(struct config *cfg, struct parse *ps, enum ext_id id,
                       const char *v);
static int set_lru(struct config *cfg, struct parse *ps, enum ext_id id,
                   const char *v);

/* Replaces an owned string option with a copy of v. */
static int
set_string(struct parse *ps, char **field, const char *v)
{
    char *copy = strdup(v);

    if (copy == NULL) {
        return say(ps, EXIT_FAILURE, "Failed to allocate memory\n");
    }
    free(*field);
    *field = copy;
    return CONF_RUN;
}

/*
 * The TLS options, checked as memcached checks them; net/tls.c turns
 * them into an OpenSSL context (and reports bad files) at startup.
 */
static int
set_tls(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    const char *name = conf_ext_options[id].name;
    uint32_t n;
    int i;

    switch (id) {
    case EXT_ssl_chain_cert:
        return set_string(ps, &cfg->ssl_chain_cert, v);
    case EXT_ssl_key:
        return set_string(ps, &cfg->ssl_key, v);
    case EXT_ssl_ciphers:
        return set_string(ps, &cfg->ssl_ciphers, v);
    case EXT_ssl_ca_cert:
        return set_string(ps, &cfg->ssl_ca_cert, v);
    case EXT_ssl_session_cache:
        cfg->ssl_session_cache = true;
        return CONF_RUN;
    case EXT_ssl_kernel_tls:
        cfg->ssl_kernel_tls = true;
        return CONF_RUN;
    case EXT_ssl_keyformat:
    case EXT_ssl_verify_mode:
    case EXT_ssl_min_version:
        if (!conf_parse_i32(v, &i)) {
            return cant_parse(ps, name);
        }
        if (id != EXT_ssl_keyformat && (i < 0 || i > 3)) {
            return say(ps, EXIT_FAILURE,
                       "Invalid %s. Use help to see valid options.\n", name);
        }
        *(id == EXT_ssl_keyformat     ? &cfg->ssl_keyformat
          : id == EXT_ssl_verify_mode ? &cfg->ssl_verify_mode
                                      : &cfg->ssl_min_version) = i;
        return CONF_RUN;
    case EXT_ssl_wbuf_size:
        if (!conf_parse_u32(v, &n)) {
            return cant_parse(ps, name);
        }
        cfg->ssl_wbuf_size = n * (uint32_t)CONF_KB; /* 32 bits, as memcached */
        return CONF_RUN;
    default:
        break;
    }
    return CONF_RUN;
}

static int
apply(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    const char *name = conf_ext_options[id].name;

    switch (id) {
    case EXT_lru_crawler:
    case EXT_no_lru_crawler:
    case EXT_lru_crawler_sleep:
    case EXT_lru_crawler_tocrawl:
        return set_crawler(cfg, ps, id, v);
    case EXT_hashpower:
        return set_hashpower(cfg, ps, v);
    case EXT_idle_timeout:
        cfg->idle_timeout = conf_atoi(v);
        return CONF_RUN;
    case EXT_sock_cookie_id:
        cfg->sock_cookie_id = conf_atoi(v);
        return CONF_RUN;
    case EXT_read_buf_mem_limit:
        return ext_size(ps, &cfg->read_buf_mem_limit, name, v, CONF_MB);
    case EXT_watcher_logbuf_size:
        return ext_size(ps, &cfg->watcher_logbuf_size, name, v, CONF_KB);
    case EXT_worker_logbuf_size:
        /* memcached falls through into slab_sizes here; we do not. */
        return ext_size(ps, &cfg->worker_logbuf_size, name, v, CONF_KB);
    case EXT_slab_chunk_max:
        if (!conf_parse_i32(v, &ps->slab_chunk_max)) {
            return cant_parse(ps, name);
        }
        ps->chunk_max_changed = true;
        return CONF_RUN;
    case EXT_slab_sizes:
        return set_slab_sizes(ps, v);
    case EXT_metrics_listen:
        return set_metrics_listen(cfg, ps, v);
    case EXT_ssl_chain_cert:
    case EXT_ssl_key:
    case EXT_ssl_keyformat:
    case EXT_ssl_verify_mode:
    case EXT_ssl_ciphers:
    case EXT_ssl_ca_cert:
    case EXT_ssl_wbuf_size:
    case EXT_ssl_session_cache:
    case EXT_ssl_kernel_tls:
    case EXT_ssl_min_version:
        return set_tls(cfg, ps, id, v);
    case EXT_slab_reassign:
    case EXT_no_slab_reassign:
    case EXT_slab_automove:
    case EXT_no_slab_automove:
    case EXT_slab_automove_ratio:
        return set_mover(cfg, ps, id, v);
    case EXT_lru_maintainer:
    case EXT_no_lru_maintainer:
    case EXT_hot_lru_pct:
    case EXT_warm_lru_pct:
    case EXT_hot_max_factor:
    case EXT_warm_max_factor:
    case EXT_temporary_ttl:
        /* the eviction policy's settings (engine_config.lru, main.c) */
        return set_lru(cfg, ps, id, v);
    default:
        break;
    }
    return apply_flag(cfg, ps, id);
}

/* hot_lru_pct and warm_lru_pct share memcached's bounds and message. */
static int
set_lru_pct(struct parse *ps, int *field, const char *name, const char *v)
{
    *field = conf_atoi(v);
    if (*field < 1 || *field >= 80) {
        return say(ps, EXIT_FAILURE, "%s must be > 1 and < 80\n", name);
    }
    return CONF_RUN;
}

/* hot_max_factor and warm_max_factor: atof, above zero. */
static int
set_max_factor(struct parse *ps, double *field, const char *name, const char *v)
{
    *field = strtod(v, NULL);
    if (!(*field > 0)) {
        return say(ps, EXIT_FAILURE, "%s must be > 0\n", name);
    }
    return CONF_RUN;
}

static int
set_hash_algorithm(struct config *cfg, struct parse *ps, const char *v)
{
    if (strcmp(v, "jenkins") == 0) {
        cfg->hash_algorithm = CONF_HASH_JENKINS;
    } else if (strcmp(v, "murmur3") == 0) {
        cfg->hash_algorithm = CONF_HASH_MURMUR3;
    } else if (strcmp(v, "xxh3") == 0) {
        cfg->hash_algorithm = CONF_HASH_XXH3;
    } else {
        return say(ps, EXIT_FAILURE,
                   "Unknown hash_algorithm option (jenkins, murmur3, xxh3)\n");
    }
    return CONF_RUN;
}

/* The page mover's knobs, checked and kept as memcached does. */
static int
set_mover(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    switch (id) {
    case EXT_slab_reassign:
    case EXT_no_slab_reassign:
        cfg->slab_reassign = id == EXT_slab_reassign;
        return CONF_RUN;
    case EXT_slab_automove:
        /* Without a value: 1, memcached's default. */
        cfg->slab_automove = v != NULL ? conf_atoi(v) : 1;
        if (cfg->slab_automove < 0 || cfg->slab_automove > 2) {
            return say(ps, EXIT_FAILURE,
                       "slab_automove must be between 0 and 2\n");
        }
        return CONF_RUN;
    case EXT_no_slab_automove:
        cfg->slab_automove = 0;
        return CONF_RUN;
    case EXT_slab_automove_ratio:
        cfg->slab_automove_ratio = strtod(v, NULL);
        if (!(cfg->slab_automove_ratio > 0) || cfg->slab_automove_ratio > 1) {
            return say(ps, EXIT_FAILURE,
                       "slab_automove_ratio must be > 0 and < 1\n");
        }
        return CONF_RUN;
    case EXT_slab_automove_window:
        cfg->slab_automove_window = conf_atoi(v);
        if (cfg->slab_automove_window < 3) {
            return say(ps, EXIT_FAILURE, "slab_automove_window must be > 2\n");
        }
        return CONF_RUN;
    case EXT_slab_automove_freeratio:
        return conf_parse_double(v, &cfg->slab_automove_freeratio)
                   ? CONF_RUN
                   : cant_parse(ps, "slab_automove_freeratio");
    default:
        break;
    }
    return CONF_RUN;
}

/* The crawler's knobs, checked and kept as memcached does. */
static int
set_crawler(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    switch (id) {
    case EXT_lru_crawler:
    case EXT_no_lru_crawler:
        cfg->lru_crawler = id == EXT_lru_crawler;
        return CONF_RUN;
    case EXT_lru_crawler_sleep:
        cfg->lru_crawler_sleep = conf_atoi(v);
        if (cfg->lru_crawler_sleep < 0 || cfg->lru_crawler_sleep > 1000000) {
            return say(ps, EXIT_FAILURE,
                       "LRU crawler sleep must be between 0 and 1 second\n");
        }
        return CONF_RUN;
    case EXT_lru_crawler_tocrawl:
        if (!conf_parse_u32(v, &cfg->lru_crawler_tocrawl)) {
            return say(ps, EXIT_FAILURE,
                       "lru_crawler_tocrawl takes a numeric 32bit value\n");
        }
        return CONF_RUN;
    default:
        break;
    }
    return set_mover(cfg, ps, id, v);
}

/* The LRU knobs, checked and kept as memcached does. */
static int
set_lru(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    switch (id) {
    case EXT_tail_repair_time:
        cfg->tail_repair_time = conf_atoi(v);
        if (cfg->tail_repair_time < 10) {
            return say(ps, EXIT_FAILURE,
                       "Cannot set tail_repair_time to less than 10 "
                       "seconds\n");
        }
        return CONF_RUN;
    case EXT_hot_lru_pct:
        return set_lru_pct(ps, &cfg->hot_lru_pct, "hot_lru_pct", v);
    case EXT_warm_lru_pct:
        return set_lru_pct(ps, &cfg->warm_lru_pct, "warm_lru_pct", v);
    case EXT_hot_max_factor:
        return set_max_factor(ps, &cfg->hot_max_factor, "hot_max_factor", v);
    case EXT_warm_max_factor:
        return set_max_factor(ps, &cfg->warm_max_factor, "warm_max_factor", v);
    case EXT_temporary_ttl:
        /* atoi into memcached's unsigned field: -5 is 4294967291. */
        cfg->temp_lru = true;
        cfg->temporary_ttl = (uint32_t)conf_atoi(v);
        return CONF_RUN;
    case EXT_lru_maintainer:
    case EXT_no_lru_maintainer:
        cfg->lru_maintainer = id == EXT_lru_maintainer;
        cfg->lru_segmented = cfg->lru_maintainer;
        return CONF_RUN;
    default:
        break;
    }
    return set_crawler(cfg, ps, id, v);
}

/* Where an ext_* number goes; NULL: `stats settings` does not show it. */
static uint32_t *
ext_field(struct config *cfg, enum ext_id id)
{
    switch (id) {
    case EXT_ext_item_size:
        return &cfg->ext_item_size;
    case EXT_ext_item_age:
        return &cfg->ext_item_age;
    case EXT_ext_low_ttl:
        return &cfg->ext_low_ttl;
    case EXT_ext_recache_rate:
        return &cfg->ext_recache_rate;
    case EXT_ext_wbuf_size:
        return &cfg->ext_wbuf_size;
    case EXT_ext_compact_under:
        return &cfg->ext_compact_under;
    case EXT_ext_drop_under:
        return &cfg->ext_drop_under;
    case EXT_ext_max_sleep:
        return &cfg->ext_max_sleep;
    default:
        break;
    }
    return NULL;
}

/*
 * The extstore knobs: u32s (ext_max_frag a double) as in memcached, kept
 * for `stats settings`; ext_wbuf_size is in megabytes, multiplied in 32
 * bits as memcached does.
 */
static int
set_ext(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    const char *name = conf_ext_options[id].name;
    uint32_t *field = ext_field(cfg, id);
    uint32_t n;

    if (id == EXT_ext_drop_unread) {
        cfg->ext_drop_unread = true;
        return CONF_RUN;
    }
    if (id == EXT_ext_max_frag) {
        return conf_parse_double(v, &cfg->ext_max_frag) ? CONF_RUN
                                                        : cant_parse(ps, name);
    }
    if (!conf_parse_u32(v, &n)) {
        return cant_parse(ps, name);
    }
    if (id == EXT_ext_wbuf_size) {
        n *= (uint32_t)CONF_MB;
    }
    if (field != NULL) {
        *field = n;
    }
    return CONF_RUN;
}

/*
 * A COMPAT option: memcached's checks of its value, then its value kept
 * where memcached's `stats settings` shows one.
 */
static int
set_compat(struct config *cfg, struct parse *ps, enum ext_id id, const char *v)
{
    if (id == EXT_hash_algorithm) {
        return set_hash_algorithm(cfg, ps, v);
    }
    if (strncmp(conf_ext_options[id].name, "ext_", 4) == 0) {
        return set_ext(cfg, ps, id, v);
    }
    return set_lru(cfg, ps, id, v);
}

static int
check_refused(struct parse *ps, enum ext_id id, const char *v)
{
    if (id == EXT_ext_path) {
        if (v == NULL) {
            return say(ps, EXIT_FAILURE,
                       "missing argument to ext_path, ie: "
                       "ext_path=/d/file:5G\n");
        }
        if (*v == '\0') {
            return say(ps, EXIT_FAILURE, "failed to parse ext_path argument\n");
        }
    }
    conf_note_refused(ps, &conf_ext_options[id]);
    return CONF_RUN;
}

int
conf_ext_element(struct config *cfg, struct parse *ps, const char *elem)
{
    const char *eq = strchr(elem, '=');
    size_t len = eq != NULL ? (size_t)(eq - elem) : strlen(elem);
    enum ext_id id = ext_lookup(elem, len);
    const char *v = eq != NULL ? eq + 1 : NULL;
    int rc;

    ps->msg[0] = '\0';
    if (id == EXT_UNKNOWN) {
        return say(ps, EXIT_FAILURE, "Illegal suboption \"%s\"\n", elem);
    }
    if (v == NULL && (rc = ext_missing(ps, id)) != CONF_RUN) {
        return rc;
    }
    if (conf_ext_options[id].value == CONF_VALUE_NONE) {
        v = NULL; /* a flag ignores its value, as in memcached */
    }
    switch (conf_ext_options[id].disposition) {
    case CONF_REFUSED:
        return check_refused(ps, id, v);
    case CONF_COMPAT:
        return set_compat(cfg, ps, id, v);
    case CONF_APPLIED:
        break;
    }
    return apply(cfg, ps, id, v);
}

/*
 * One -o argument: "name[=value],..." as getsubopt(3) splits it. An empty
 * name (",," or a leading ",") is an illegal suboption, as in memcached.
 */
int
conf_ext_parse(struct config *cfg, struct parse *ps, const char *arg)
{
    char *copy = strdup(arg);
    char *p = copy;
    int rc = CONF_RUN;

    if (copy == NULL) {
        return conf_fail(EXIT_FAILURE, "Failed to allocate memory\n");
    }
    while (rc == CONF_RUN && *p != '\0') {
        char *elem = p;
        char *comma = strchr(p, ',');

        p = comma != NULL ? comma + 1 : p + strlen(p);
        if (comma != NULL) {
            *comma = '\0';
        }
        rc = conf_ext_element(cfg, ps, elem);
        fputs(ps->msg, stderr);
    }
    free(copy);
    return rc;
}
