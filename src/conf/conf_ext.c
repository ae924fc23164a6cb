/* The -o options: their table, -h rows and handlers. */
#include "conf/conf.h"
#include "conf/conf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * How an extended option takes its value, and what memcached says when it
 * is missing.
 */
enum ext_value {
    EXT_FLAG,     /* a value, if any, is ignored */
    EXT_OPTIONAL, /* the handler copes with a missing value */
    EXT_ARG,      /* "Missing <name> argument" */
    EXT_NUMERIC,  /* "Missing numeric argument for <name>" */
    EXT_VALUE,    /* "Missing <name> value" */
};

/*
 * The -o options, in -h order; help NULL hides one from -h (the no_
 * forms, and those memcached does not list). ssl_* and ext_path are
 * recognised so that they can be refused by name.
 */
/* clang-format off */
/*      name, how it takes a value, then help */
#define CONF_EXTENDED(X)                                                      \
    X(maxconns_fast, EXT_FLAG,                                                \
      "immediately close new connections after limit\n"                       \
      "(default: enabled)")                                                   \
    X(no_maxconns_fast, EXT_FLAG, NULL)                                       \
    X(hashpower, EXT_NUMERIC,                                                 \
      "an integer multiplier for how large the hash\n"                        \
      "table should be. normally grows at runtime.\n"                         \
      "(default starts at: 0, meaning 16; range 12-32)")                      \
    X(no_hashexpand, EXT_FLAG,                                                \
      "disables hash table expansion (dangerous)")                            \
    X(slab_reassign, EXT_FLAG,                                                \
      "allow moving slab pages between classes\n"                             \
      "(default: enabled)")                                                   \
    X(no_slab_reassign, EXT_FLAG, NULL)                                       \
    X(slab_automove, EXT_OPTIONAL,                                            \
      "page mover: 0 off, 1 (default) or 2 (aggressive)")                     \
    X(no_slab_automove, EXT_FLAG, NULL)                                       \
    X(slab_automove_ratio, EXT_ARG,                                           \
      "free ratio that triggers a move (default: 0.80)")                      \
    X(slab_automove_window, EXT_ARG,                                          \
      "windows of stats the mover looks at (default: 30)")                    \
    X(tail_repair_time, EXT_NUMERIC,                                          \
      "time in seconds for how long to wait before\n"                         \
      "forcefully killing LRU tail item.\n"                                   \
      "disabled by default; very dangerous option.")                          \
    X(hash_algorithm, EXT_ARG,                                                \
      "the hash table algorithm\n"                                            \
      "default: murmur3. options: jenkins, murmur3, xxh3")             \
    X(lru_crawler, EXT_FLAG, NULL)                                            \
    X(no_lru_crawler, EXT_FLAG,                                               \
      "disable LRU Crawler background thread.")                               \
    X(lru_crawler_sleep, EXT_VALUE,                                           \
      "microseconds to sleep between items\n"                                 \
      "default is 100.")                                                      \
    X(lru_crawler_tocrawl, EXT_VALUE,                                         \
      "max items to crawl per slab per run\n"                                 \
      "default is 0 (unlimited)")                                             \
    X(read_buf_mem_limit, EXT_ARG,                                            \
      "limit in megabytes for connection read/response\n"                     \
      "buffers. 0 means unlimited (default: 0)")                              \
    X(lru_maintainer, EXT_FLAG, NULL)                                         \
    X(no_lru_maintainer, EXT_FLAG,                                            \
      "disable new LRU system + background thread.")                          \
    X(hot_lru_pct, EXT_ARG,                                                   \
      "pct of slab memory to reserve for hot lru.\n"                          \
      "(requires lru_maintainer, default pct: 20)")                           \
    X(warm_lru_pct, EXT_ARG,                                                  \
      "pct of slab memory to reserve for warm lru.\n"                         \
      "(requires lru_maintainer, default pct: 40)")                           \
    X(hot_max_factor, EXT_ARG,                                                \
      "items idle > cold lru age * drop from hot lru.\n"                      \
      "(default: 0.20)")                                                      \
    X(warm_max_factor, EXT_ARG,                                               \
      "items idle > cold lru age * this drop from warm.\n"                    \
      "(default: 2.00)")                                                      \
    X(temporary_ttl, EXT_ARG,                                                 \
      "TTL's below get separate LRU, can't be evicted.\n"                     \
      "(requires lru_maintainer, default: 61)")                               \
    X(idle_timeout, EXT_NUMERIC,                                              \
      "timeout for idle connections. (default: 0, none)")                     \
    X(slab_chunk_max, EXT_ARG,                                                \
      "(EXPERIMENTAL) maximum slab chunk size in bytes.\n"                    \
      "use extreme care. (default: 524288)")                                  \
    X(no_chunked_items, EXT_FLAG,                                             \
      "slab_chunk_max is the page size (1 MiB)")                              \
    X(slab_sizes, EXT_ARG,                                                    \
      "explicit chunk sizes, dash separated, ascending")                      \
    X(watcher_logbuf_size, EXT_ARG,                                           \
      "size in kilobytes of per-watcher write buffer.\n"                      \
      "(default: 256)")                                                       \
    X(worker_logbuf_size, EXT_ARG,                                            \
      "size in kilobytes of per-worker-thread buffer\n"                       \
      "read by background thread. (default: 64)")                             \
    X(track_sizes, EXT_FLAG,                                                  \
      "enable dynamic reports for 'stats sizes' command.")                    \
    X(modern, EXT_FLAG,                                                       \
      "enables options which will be default in future.\n"                    \
      "currently: nothing")                                                   \
    X(no_modern, EXT_FLAG,                                                    \
      "uses defaults of previous major version (1.4.x)")                      \
    X(inline_ascii_resp, EXT_FLAG, NULL)                                      \
    X(no_inline_ascii_resp, EXT_FLAG, NULL)                                   \
    X(resp_obj_mem_limit, EXT_FLAG, NULL)                                     \
    X(drop_privileges, EXT_FLAG, NULL)                                        \
    X(no_drop_privileges, EXT_FLAG, NULL)                                     \
    X(sock_cookie_id, EXT_ARG,                                                \
      "attributes an ID to a socket for ip\n"                                 \
      "filtering/firewalls")                                                  \
    X(ext_path, EXT_OPTIONAL,                                                 \
      "extstore file (not supported yet); the other\n"                        \
      "ext_* options are accepted for compatibility")                         \
    X(ext_page_size, EXT_ARG, NULL)                                           \
    X(ext_wbuf_size, EXT_ARG, NULL)                                           \
    X(ext_threads, EXT_ARG, NULL)                                             \
    X(ext_io_depth, EXT_ARG, NULL)                                            \
    X(ext_item_size, EXT_ARG, NULL)                                           \
    X(ext_item_age, EXT_ARG, NULL)                                            \
    X(ext_low_ttl, EXT_ARG, NULL)                                             \
    X(ext_recache_rate, EXT_ARG, NULL)                                        \
    X(ext_compact_under, EXT_ARG, NULL)                                       \
    X(ext_drop_under, EXT_ARG, NULL)                                          \
    X(ext_max_sleep, EXT_ARG, NULL)                                           \
    X(ext_max_frag, EXT_ARG, NULL)                                            \
    X(ext_drop_unread, EXT_FLAG, NULL)                                        \
    X(slab_automove_freeratio, EXT_ARG, NULL)                                 \
    X(ssl_chain_cert, EXT_FLAG, NULL)                                         \
    X(ssl_key, EXT_FLAG, NULL)                                                \
    X(ssl_keyformat, EXT_FLAG, NULL)                                          \
    X(ssl_verify_mode, EXT_FLAG, NULL)                                        \
    X(ssl_ciphers, EXT_FLAG, NULL)                                            \
    X(ssl_ca_cert, EXT_FLAG, NULL)                                            \
    X(ssl_wbuf_size, EXT_FLAG, NULL)                                          \
    X(ssl_session_cache, EXT_FLAG, NULL)                                      \
    X(ssl_kernel_tls, EXT_FLAG, NULL)                                         \
    X(ssl_min_version, EXT_FLAG, NULL)
/* clang-format on */

enum ext_id {
#define EXT_ENUM(name, value, help) EXT_##name,
    CONF_EXTENDED(EXT_ENUM)
#undef EXT_ENUM
        EXT_UNKNOWN
};

struct ext_option {
    const char *name;
    enum ext_value value;
    const char *help;
};

static const struct ext_option ext_options[] = {
#define EXT_ROW(name, value, help) {#name, value, help},
    CONF_EXTENDED(EXT_ROW)
#undef EXT_ROW
};

void
conf_ext_print_help(void)
{
    char left[64];

    for (size_t i = 0; i < EXT_UNKNOWN; i++) {
        if (ext_options[i].help != NULL) {
            snprintf(left, sizeof(left), "   - %s:", ext_options[i].name);
            conf_print_help_row(left, ext_options[i].help);
        }
    }
}

/* ---- -o ---- */

static enum ext_id
ext_lookup(const char *name)
{
    for (size_t i = 0; i < EXT_UNKNOWN; i++) {
        if (strcmp(ext_options[i].name, name) == 0) {
            return (enum ext_id)i;
        }
    }
    return EXT_UNKNOWN;
}

static int
ext_missing(enum ext_id id)
{
    const char *name = ext_options[id].name;

    switch (ext_options[id].value) {
    case EXT_ARG:
        return conf_fail(EXIT_FAILURE, "Missing %s argument\n", name);
    case EXT_NUMERIC:
        return conf_fail(EXIT_FAILURE, "Missing numeric argument for %s\n",
                         name);
    case EXT_VALUE:
        return conf_fail(EXIT_FAILURE, "Missing %s value\n", name);
    case EXT_FLAG:
    case EXT_OPTIONAL:
        break;
    }
    return CONF_RUN;
}

static int
cant_parse(const char *name)
{
    return conf_fail(EXIT_FAILURE, "could not parse argument to %s\n", name);
}

/* A size given in units (KB, MB) of a u32, stored in bytes. */
static int
ext_size(uint64_t *field, const char *name, const char *v, uint64_t unit)
{
    uint32_t n;

    if (!conf_parse_u32(v, &n)) {
        return cant_parse(name);
    }
    *field = (uint64_t)n * unit;
    return CONF_RUN;
}

static int
ext_u32(uint32_t *field, const char *name, const char *v)
{
    return conf_parse_u32(v, field) ? CONF_RUN : cant_parse(name);
}

static int
ext_double(double *field, const char *name, const char *v)
{
    return conf_parse_double(v, field) ? CONF_RUN : cant_parse(name);
}

static int
set_hashpower(struct config *cfg, const char *v)
{
    cfg->hashpower = conf_atoi(v);
    if (cfg->hashpower < 12) {
        return conf_fail(EXIT_FAILURE,
                         "Initial hashtable multiplier of %d is too low\n",
                         cfg->hashpower);
    }
    if (cfg->hashpower > 32) {
        return conf_fail(EXIT_FAILURE,
                         "Initial hashtable multiplier of %d is too high\n"
                         "Choose a value based on \"STAT hash_power_level\" "
                         "from a running instance\n",
                         cfg->hashpower);
    }
    return CONF_RUN;
}

static int
set_hash_algorithm(struct config *cfg, const char *v)
{
    if (strcmp(v, "jenkins") == 0) {
        cfg->hash_algorithm = CONF_HASH_JENKINS;
    } else if (strcmp(v, "murmur3") == 0) {
        cfg->hash_algorithm = CONF_HASH_MURMUR3;
    } else if (strcmp(v, "xxh3") == 0) {
        cfg->hash_algorithm = CONF_HASH_XXH3;
    } else {
        return conf_fail(
            EXIT_FAILURE,
            "Unknown hash_algorithm option (jenkins, murmur3, xxh3)\n");
    }
    return CONF_RUN;
}

/* hot_lru_pct and warm_lru_pct share memcached's bounds and message. */
static int
set_lru_pct(int *field, const char *name, const char *v)
{
    *field = conf_atoi(v);
    if (*field < 1 || *field >= 80) {
        return conf_fail(EXIT_FAILURE, "%s must be > 1 and < 80\n", name);
    }
    return CONF_RUN;
}

static int
set_max_factor(double *field, const char *name, const char *v)
{
    *field = strtod(v, NULL);
    if (!(*field > 0)) {
        return conf_fail(EXIT_FAILURE, "%s must be > 0\n", name);
    }
    return CONF_RUN;
}

/* no_modern: memcached 1.4's defaults. */
static void
set_no_modern(struct config *cfg, struct parse *ps)
{
    if (!ps->chunk_max_changed) {
        ps->slab_chunk_max = CONF_PAGE_SIZE;
    }
    cfg->slab_reassign = false;
    cfg->slab_automove = 0;
    cfg->maxconns_fast = false;
    cfg->lru_maintainer = false;
    cfg->hash_algorithm = CONF_HASH_JENKINS;
    cfg->lru_crawler = false;
}

static int
set_slab_option(struct config *cfg, struct parse *ps, enum ext_id id,
                const char *v)
{
    switch (id) {
    case EXT_slab_automove:
        cfg->slab_automove = v == NULL ? 1 : conf_atoi(v);
        if (cfg->slab_automove < 0 || cfg->slab_automove > 2) {
            return conf_fail(EXIT_FAILURE,
                             "slab_automove must be between 0 and 2\n");
        }
        return CONF_RUN;
    case EXT_slab_automove_ratio:
        cfg->slab_automove_ratio = strtod(v, NULL);
        if (!(cfg->slab_automove_ratio > 0) || cfg->slab_automove_ratio > 1) {
            return conf_fail(EXIT_FAILURE,
                             "slab_automove_ratio must be > 0 and < 1\n");
        }
        return CONF_RUN;
    case EXT_slab_automove_window:
        cfg->slab_automove_window = conf_atoi(v);
        if (cfg->slab_automove_window < 3) {
            return conf_fail(EXIT_FAILURE,
                             "slab_automove_window must be > 2\n");
        }
        return CONF_RUN;
    case EXT_slab_chunk_max:
        if (!conf_parse_i32(v, &ps->slab_chunk_max)) {
            return cant_parse("slab_chunk_max");
        }
        ps->chunk_max_changed = true;
        return CONF_RUN;
    case EXT_slab_sizes:
        free(ps->slab_sizes);
        ps->slab_sizes = strdup(v);
        return ps->slab_sizes != NULL
                   ? CONF_RUN
                   : conf_fail(EXIT_FAILURE, "Failed to allocate memory\n");
    default:
        break;
    }
    return CONF_RUN;
}

static int
set_lru_option(struct config *cfg, enum ext_id id, const char *v)
{
    switch (id) {
    case EXT_tail_repair_time:
        cfg->tail_repair_time = conf_atoi(v);
        if (cfg->tail_repair_time < 10) {
            return conf_fail(EXIT_FAILURE,
                             "Cannot set tail_repair_time to less than 10 "
                             "seconds\n");
        }
        return CONF_RUN;
    case EXT_lru_crawler_sleep:
        cfg->lru_crawler_sleep = conf_atoi(v);
        if (cfg->lru_crawler_sleep < 0 || cfg->lru_crawler_sleep > 1000000) {
            return conf_fail(EXIT_FAILURE,
                             "LRU crawler sleep must be between 0 and 1 "
                             "second\n");
        }
        return CONF_RUN;
    case EXT_lru_crawler_tocrawl:
        if (!conf_parse_u32(v, &cfg->lru_crawler_tocrawl)) {
            return conf_fail(
                EXIT_FAILURE,
                "lru_crawler_tocrawl takes a numeric 32bit value\n");
        }
        return CONF_RUN;
    case EXT_hot_lru_pct:
        return set_lru_pct(&cfg->hot_lru_pct, "hot_lru_pct", v);
    case EXT_warm_lru_pct:
        return set_lru_pct(&cfg->warm_lru_pct, "warm_lru_pct", v);
    case EXT_hot_max_factor:
        return set_max_factor(&cfg->hot_max_factor, "hot_max_factor", v);
    case EXT_warm_max_factor:
        return set_max_factor(&cfg->warm_max_factor, "warm_max_factor", v);
    case EXT_temporary_ttl:
        cfg->temp_lru = true;
        cfg->temporary_ttl = conf_atoi(v);
        return CONF_RUN;
    default:
        break;
    }
    return CONF_RUN;
}

/* Extstore's numbers are stored (stats settings shows them) but unused. */
static int
set_ext_option(struct config *cfg, struct parse *ps, enum ext_id id,
               const char *v)
{
    const char *name = ext_options[id].name;

    switch (id) {
    case EXT_ext_path:
        if (v == NULL) {
            return conf_fail(EXIT_FAILURE, "missing argument to ext_path, ie: "
                                           "ext_path=/d/file:5G\n");
        }
        ps->ext_path = true;
        return CONF_RUN;
    case EXT_ext_page_size:
        return ext_size(&cfg->ext_page_size, name, v, CONF_MB);
    case EXT_ext_wbuf_size:
        return ext_size(&cfg->ext_wbuf_size, name, v, CONF_MB);
    case EXT_ext_threads:
        return ext_u32(&cfg->ext_threads, name, v);
    case EXT_ext_io_depth:
        return ext_u32(&cfg->ext_io_depth, name, v);
    case EXT_ext_item_size:
        return ext_u32(&cfg->ext_item_size, name, v);
    case EXT_ext_item_age:
        return ext_u32(&cfg->ext_item_age, name, v);
    case EXT_ext_low_ttl:
        return ext_u32(&cfg->ext_low_ttl, name, v);
    case EXT_ext_recache_rate:
        return ext_u32(&cfg->ext_recache_rate, name, v);
    case EXT_ext_compact_under:
        return ext_u32(&cfg->ext_compact_under, name, v);
    case EXT_ext_drop_under:
        return ext_u32(&cfg->ext_drop_under, name, v);
    case EXT_ext_max_sleep:
        return ext_u32(&cfg->ext_max_sleep, name, v);
    case EXT_ext_max_frag:
        return ext_double(&cfg->ext_max_frag, name, v);
    case EXT_slab_automove_freeratio:
        return ext_double(&cfg->slab_automove_freeratio, name, v);
    default:
        break;
    }
    return CONF_RUN;
}

/* Options that only switch something on or off. */
static void
set_flag(struct config *cfg, struct parse *ps, enum ext_id id)
{
    switch (id) {
    case EXT_maxconns_fast:
    case EXT_no_maxconns_fast:
        cfg->maxconns_fast = id == EXT_maxconns_fast;
        break;
    case EXT_no_hashexpand:
        cfg->hash_expand = false;
        break;
    case EXT_slab_reassign:
    case EXT_no_slab_reassign:
        cfg->slab_reassign = id == EXT_slab_reassign;
        break;
    case EXT_no_slab_automove:
        cfg->slab_automove = 0;
        break;
    case EXT_lru_crawler:
    case EXT_no_lru_crawler:
        cfg->lru_crawler = id == EXT_lru_crawler;
        break;
    case EXT_lru_maintainer:
    case EXT_no_lru_maintainer:
        cfg->lru_maintainer = id == EXT_lru_maintainer;
        break;
    case EXT_no_chunked_items:
        ps->slab_chunk_max = CONF_PAGE_SIZE;
        break;
    case EXT_track_sizes:
        cfg->track_sizes = true;
        break;
    case EXT_ext_drop_unread:
        cfg->ext_drop_unread = true;
        break;
    case EXT_no_modern:
        set_no_modern(cfg, ps);
        break;
    case EXT_drop_privileges:
    case EXT_no_drop_privileges:
        cfg->drop_privileges = id == EXT_drop_privileges;
        break;
    case EXT_resp_obj_mem_limit:
        fprintf(stderr, "DEPRECATED: resp_obj_mem_limit no longer used. "
                        "See read_buf_mem_limit,\n");
        break;
    default: /* modern, inline_ascii_resp: accepted, no effect */
        break;
    }
}

static int
apply_extended(struct config *cfg, struct parse *ps, enum ext_id id,
               const char *v)
{
    switch (id) {
    case EXT_hashpower:
        return set_hashpower(cfg, v);
    case EXT_hash_algorithm:
        return set_hash_algorithm(cfg, v);
    case EXT_idle_timeout:
        cfg->idle_timeout = conf_atoi(v);
        return CONF_RUN;
    case EXT_sock_cookie_id:
        cfg->sock_cookie_id = conf_atoi(v);
        return CONF_RUN;
    case EXT_read_buf_mem_limit:
        return ext_size(&cfg->read_buf_mem_limit, "read_buf_mem_limit", v,
                        CONF_MB);
    case EXT_watcher_logbuf_size:
        return ext_size(&cfg->watcher_logbuf_size, "watcher_logbuf_size", v,
                        CONF_KB);
    case EXT_worker_logbuf_size:
        /* memcached falls through into slab_sizes here; we do not. */
        return ext_size(&cfg->worker_logbuf_size, "worker_logbuf_size", v,
                        CONF_KB);
    default:
        break;
    }
    if (strncmp(ext_options[id].name, "ssl_", 4) == 0) {
        if (ps->ssl_option[0] == '\0') {
            snprintf(ps->ssl_option, sizeof(ps->ssl_option), "-o %s (TLS)",
                     ext_options[id].name);
        }
        return CONF_RUN;
    }
    if (ext_options[id].value == EXT_FLAG) {
        set_flag(cfg, ps, id);
        return CONF_RUN;
    }
    int rc = set_slab_option(cfg, ps, id, v);
    if (rc == CONF_RUN) {
        rc = set_lru_option(cfg, id, v);
    }
    return rc == CONF_RUN ? set_ext_option(cfg, ps, id, v) : rc;
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
        char *token = p;
        char *comma = strchr(p, ',');
        char *eq;
        enum ext_id id;

        p = comma != NULL ? comma + 1 : p + strlen(p);
        if (comma != NULL) {
            *comma = '\0';
        }
        eq = strchr(token, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        id = ext_lookup(token);
        if (id == EXT_UNKNOWN) {
            if (eq != NULL) {
                *eq = '=';
            }
            rc = conf_fail(EXIT_FAILURE, "Illegal suboption \"%s\"\n", token);
        } else if (eq != NULL) {
            rc = apply_extended(cfg, ps, id, eq + 1);
        } else {
            rc = ext_missing(id);
            if (rc == CONF_RUN) {
                rc = apply_extended(cfg, ps, id, NULL);
            }
        }
    }
    free(copy);
    return rc;
}
