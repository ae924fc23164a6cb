/*
 * metrics - GET /metrics in Prometheus's text format. Implements
 * metrics.h; the metric list and where it departs from
 * memcached_exporter are in docs/METRICS.md.
 *
 * A scrape reads the same reporters as the text protocol's `stats`,
 * `stats settings`, `stats slabs` and `stats items` (cmd_stats.h) into a
 * snapshot, then writes it out family by family (every sample of a metric
 * together, as the format requires). Like the exporter, a metric whose
 * stat the text protocol would not show (rejected_connections without
 * maxconns_fast, number_hot without the segmented LRU, ...) is left out.
 */
#include "net/metrics.h"

#include "cmd/cmd_stats.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define METRICS_PATH         "/metrics"
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * Open HTTP connections at most; at the cap the listeners stop accepting
 * until one closes (the kernel's backlog holds the rest). A scraper needs
 * one. These descriptors and the listeners' are outside the -c
 * arithmetic (listen.c), so with clients at the -c limit they can make an
 * accept() fail with EMFILE, which pauses accepting as memcached does.
 */
#define METRICS_MAX_CONNS 4

/* Seconds a connection may stall (reading a request, writing a reply). */
#define METRICS_TIMEOUT 10

#define METRICS_MAX_HEADERS  8192
#define METRICS_MAX_REQ_BODY 1024

/*
 * A reply is at most this many bytes, else 500. The real size is far
 * below: under 200 KiB with all 63 classes in use (2.5 KiB a class).
 */
#define METRICS_MAX_REPLY ((size_t)1 << 20)

/* Listeners at most: one per address the host resolves to. */
#define METRICS_MAX_LISTENERS 8

/* clang-format off */
/* The general `stats` values a scrape reads. */
#define METRICS_GENERAL(X)                                                 \
    X(version) X(uptime) X(time) X(rusage_user) X(rusage_system)           \
    X(curr_connections) X(total_connections) X(rejected_connections)       \
    X(cmd_set) X(cmd_flush) X(get_hits) X(get_misses) X(delete_hits)       \
    X(delete_misses) X(incr_hits) X(incr_misses) X(decr_hits)              \
    X(decr_misses) X(cas_hits) X(cas_misses) X(cas_badval) X(touch_hits)   \
    X(touch_misses) X(store_too_large) X(store_no_memory) X(bytes_read)    \
    X(bytes_written) X(limit_maxbytes) X(accepting_conns)                  \
    X(listen_disabled_num) X(conn_yields) X(hash_power_level)              \
    X(hash_bytes) X(lru_crawler_starts) X(bytes) X(curr_items)             \
    X(total_items) X(evictions) X(reclaimed) X(crawler_reclaimed)          \
    X(crawler_items_checked) X(moves_to_cold) X(moves_to_warm)             \
    X(moves_within_lru) X(direct_reclaims)

/* The `stats settings` values a scrape reads. */
#define METRICS_SETTINGS(X)                                                \
    X(maxconns) X(lru_crawler) X(lru_crawler_sleep) X(lru_crawler_tocrawl) \
    X(lru_maintainer_thread) X(hot_lru_pct) X(warm_lru_pct)                \
    X(hot_max_factor) X(warm_max_factor) X(lru_segmented) X(temp_lru)
/* clang-format on */

enum gen_key {
#define GEN_ENUM(name) G_##name,
    METRICS_GENERAL(GEN_ENUM)
#undef GEN_ENUM
        G_COUNT
};

enum set_key {
#define SET_ENUM(name) S_##name,
    METRICS_SETTINGS(SET_ENUM)
#undef SET_ENUM
        S_COUNT
};

static const char *const gen_names[G_COUNT] = {
#define GEN_NAME(name) #name,
    METRICS_GENERAL(GEN_NAME)
#undef GEN_NAME
};

static const char *const set_names[S_COUNT] = {
#define SET_NAME(name) #name,
    METRICS_SETTINGS(SET_NAME)
#undef SET_NAME
};

/* One stat as the text protocol shows it, and as a number when it is one. */
struct value {
    bool has;
    uint64_t u;    /* integer stats (0 for the others) */
    char text[64]; /* the sample value (or the version label) as printed */
};

struct snapshot {
    struct value gen[G_COUNT];
    struct value set[S_COUNT];
    struct cmd_slab_totals totals;
    struct cmd_class_report classes[ENGINE_MAX_CLASS_ID + 1];
    size_t nclasses;
};

struct metrics {
    struct cmd_server *srv;
    struct evhttp *http;
    struct evhttp_bound_socket *bound[METRICS_MAX_LISTENERS];
    size_t nbound;
    unsigned live;          /* open HTTP connections */
    bool paused;            /* listeners off: live reached METRICS_MAX_CONNS */
    bool closing;           /* in metrics_destroy */
    struct event *adopt_ev; /* runs adopt after new_conn */
    struct bufferevent *pending[METRICS_MAX_CONNS]; /* new, not adopted */
    size_t npending;
    struct snapshot snap; /* one scrape's values (main thread only) */
};

/* ---- reading the reporters ------------------------------------------ */

static void
on_general(void *ctx, const struct cmd_stat *st)
{
    struct snapshot *s = ctx;

    for (size_t k = 0; k < G_COUNT; k++) {
        if (strcmp(st->name, gen_names[k]) != 0) {
            continue;
        }
        struct value *v = &s->gen[k];
        v->has = true;
        switch (st->kind) {
        case CMD_STAT_U64:
            v->u = st->u;
            snprintf(v->text, sizeof(v->text), "%" PRIu64, st->u);
            break;
        case CMD_STAT_TIMEVAL:
            snprintf(v->text, sizeof(v->text), "%lld.%06ld",
                     (long long)st->tv.tv_sec, (long)st->tv.tv_usec);
            break;
        case CMD_STAT_TEXT:
            snprintf(v->text, sizeof(v->text), "%s",
                     st->text != NULL ? st->text : "");
            break;
        }
        return;
    }
}

/*
 * A setting as a sample value: "yes"/"no" become 1/0 (as the exporter
 * reads lru_crawler and lru_maintainer_thread); a number stays as
 * printed; anything else is left out.
 */
static void
on_setting(void *ctx, const char *name, const char *value)
{
    struct snapshot *s = ctx;

    for (size_t k = 0; k < S_COUNT; k++) {
        if (strcmp(name, set_names[k]) != 0) {
            continue;
        }
        struct value *v = &s->set[k];
        char *end = NULL;
        if (strcmp(value, "yes") == 0 || strcmp(value, "no") == 0) {
            snprintf(v->text, sizeof(v->text), "%d", value[0] == 'y');
        } else if (value[0] != '\0' && strlen(value) < sizeof(v->text) &&
                   (strtod(value, &end), *end == '\0')) {
            snprintf(v->text, sizeof(v->text), "%s", value);
        } else {
            return;
        }
        v->has = true;
        return;
    }
}

static void
on_class(void *ctx, const struct cmd_class_report *cr)
{
    struct snapshot *s = ctx;

    if (s->nclasses < ENGINE_MAX_CLASS_ID + 1) {
        s->classes[s->nclasses++] = *cr;
    }
}

static void
take_snapshot(struct cmd_server *srv, struct snapshot *s)
{
    memset(s, 0, sizeof(*s));
    cmd_stats_general(srv, on_general, s);
    cmd_stats_settings(srv, on_setting, s);
    cmd_stats_classes(srv, on_class, s);
    cmd_stats_slab_totals(srv, &s->totals);
}

/* ---- writing the exposition ----------------------------------------- */

struct out {
    struct evbuffer *b;
    bool failed; /* out of memory, or past METRICS_MAX_REPLY */
};

__attribute__((format(printf, 2, 3))) static void
put(struct out *o, const char *fmt, ...)
{
    va_list ap;

    if (o->failed) {
        return;
    }
    va_start(ap, fmt);
    if (evbuffer_add_vprintf(o->b, fmt, ap) < 0 ||
        evbuffer_get_length(o->b) > METRICS_MAX_REPLY) {
        o->failed = true;
    }
    va_end(ap);
}

static const char COUNTER[] = "counter";
static const char GAUGE[] = "gauge";

static void
family(struct out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with the format's escapes (backslash, quote, newline). */
static void
put_label_value(struct out *o, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"') {
            put(o, "\\%c", *s);
        } else if (*s == '\n') {
            put(o, "\\n");
        } else {
            put(o, "%c", *s);
        }
    }
}

/* Metrics with no labels, one stat each. */
struct simple_metric {
    const char *name;
    const char *type;
    unsigned key; /* enum gen_key or enum set_key */
    const char *help;
};

/* clang-format off */
static const struct simple_metric general_metrics[] = {
    {"memcached_uptime_seconds", COUNTER, G_uptime,
     "Seconds since the server started."},
    {"memcached_time_seconds", GAUGE, G_time,
     "The server's clock, as a Unix time."},
    {"memcached_process_user_cpu_seconds_total", COUNTER, G_rusage_user,
     "User CPU time the process has used."},
    {"memcached_process_system_cpu_seconds_total", COUNTER, G_rusage_system,
     "System CPU time the process has used."},
    {"memcached_current_bytes", GAUGE, G_bytes,
     "Bytes of the items stored now."},
    {"memcached_limit_bytes", GAUGE, G_limit_maxbytes,
     "Bytes the server may use for items (-m)."},
    {"memcached_current_items", GAUGE, G_curr_items,
     "Items stored now."},
    {"memcached_items_total", COUNTER, G_total_items,
     "Items stored since the server started."},
    {"memcached_read_bytes_total", COUNTER, G_bytes_read,
     "Bytes the server has read from the network."},
    {"memcached_written_bytes_total", COUNTER, G_bytes_written,
     "Bytes the server has sent to the network."},
    {"memcached_current_connections", GAUGE, G_curr_connections,
     "Open connections."},
    {"memcached_connections_total", COUNTER, G_total_connections,
     "Connections opened since the server started."},
    {"memcached_connections_rejected_total", COUNTER,
     G_rejected_connections,
     "Connections turned away at the -c limit (maxconns_fast)."},
    {"memcached_connections_yielded_total", COUNTER, G_conn_yields,
     "Times a connection gave way to others after -R requests."},
    {"memcached_connections_listener_disabled_total", COUNTER,
     G_listen_disabled_num,
     "Times the server stopped accepting at its connection limit."},
    {"memcached_items_evicted_total", COUNTER, G_evictions,
     "Live items evicted to make room for new ones."},
    {"memcached_items_reclaimed_total", COUNTER, G_reclaimed,
     "Stores that reused the memory of an expired item."},
    {"memcached_item_too_large_total", COUNTER, G_store_too_large,
     "Stores refused because the item was larger than -I."},
    {"memcached_item_no_memory_total", COUNTER, G_store_no_memory,
     "Stores refused for lack of memory."},
    {"memcached_lru_crawler_starts_total", COUNTER, G_lru_crawler_starts,
     "Times the LRU crawler was started."},
    {"memcached_direct_reclaims_total", COUNTER, G_direct_reclaims,
     "Times a worker reclaimed or evicted items itself to store one."},
    {"memcached_lru_crawler_items_checked_total", COUNTER,
     G_crawler_items_checked,
     "Items the LRU crawler has examined."},
    {"memcached_lru_crawler_reclaimed_total", COUNTER, G_crawler_reclaimed,
     "Items the LRU crawler has freed."},
    {"memcached_lru_crawler_moves_to_cold_total", COUNTER, G_moves_to_cold,
     "Items moved from HOT or WARM to COLD."},
    {"memcached_lru_crawler_moves_to_warm_total", COUNTER, G_moves_to_warm,
     "Items moved from COLD to WARM."},
    {"memcached_lru_crawler_moves_within_lru_total", COUNTER,
     G_moves_within_lru,
     "Items bumped within HOT or WARM."},
    {"memcached_accepting_connections", GAUGE, G_accepting_conns,
     "1 while the server accepts new connections."},
};

/* The exporter shows these only when `stats settings` says lru_crawler yes. */
static const struct simple_metric crawler_settings[] = {
    {"memcached_lru_crawler_enabled", GAUGE, S_lru_crawler,
     "1 when the LRU crawler is enabled."},
    {"memcached_lru_crawler_sleep", GAUGE, S_lru_crawler_sleep,
     "Microseconds the LRU crawler sleeps between items."},
    {"memcached_lru_crawler_to_crawl", GAUGE, S_lru_crawler_tocrawl,
     "Items the LRU crawler checks per class and run (0: all)."},
    {"memcached_lru_crawler_maintainer_thread", GAUGE,
     S_lru_maintainer_thread,
     "1 when the segmented LRU's maintainer thread runs."},
    {"memcached_lru_crawler_hot_percent", GAUGE, S_hot_lru_pct,
     "Percent of a class's memory for the HOT LRU."},
    {"memcached_lru_crawler_warm_percent", GAUGE, S_warm_lru_pct,
     "Percent of a class's memory for the WARM LRU."},
    {"memcached_lru_crawler_hot_max_factor", GAUGE, S_hot_max_factor,
     "HOT items idle longer than COLD's age times this move on."},
    {"memcached_lru_crawler_warm_max_factor", GAUGE, S_warm_max_factor,
     "WARM items idle longer than COLD's age times this move on."},
};
/* clang-format on */

static void
simple(struct out *o, const struct simple_metric *m, const struct value *v)
{
    if (v->has) {
        family(o, m->name, m->type, m->help);
        put(o, "%s %s\n", m->name, v->text);
    }
}

/* memcached_commands_total: the exporter's command/status pairs. */
static void
commands(struct out *o, const struct snapshot *s)
{
    static const struct {
        const char *command;
        const char *status;
        unsigned key;
    } pairs[] = {
        {"get", "hit", G_get_hits},       {"get", "miss", G_get_misses},
        {"delete", "hit", G_delete_hits}, {"delete", "miss", G_delete_misses},
        {"incr", "hit", G_incr_hits},     {"incr", "miss", G_incr_misses},
        {"decr", "hit", G_decr_hits},     {"decr", "miss", G_decr_misses},
        {"cas", "hit", G_cas_hits},       {"cas", "miss", G_cas_misses},
        {"touch", "hit", G_touch_hits},   {"touch", "miss", G_touch_misses},
        {"cas", "badval", G_cas_badval},  {"flush", "hit", G_cmd_flush},
    };
    const char *name = "memcached_commands_total";

    family(o, name, COUNTER,
           "Requests by command (get, set, ...) and outcome.");
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        const struct value *v = &s->gen[pairs[i].key];
        if (v->has) {
            put(o, "%s{command=\"%s\",status=\"%s\"} %s\n", name,
                pairs[i].command, pairs[i].status, v->text);
        }
    }
    /*
     * cmd_set counts cas commands too; the exporter subtracts them. The
     * counters are read one after the other while workers run, so the
     * difference can dip below zero for a moment: it reads 0 then.
     */
    const struct value *set = &s->gen[G_cmd_set];
    if (set->has && s->gen[G_cas_hits].has && s->gen[G_cas_misses].has &&
        s->gen[G_cas_badval].has) {
        uint64_t cas = s->gen[G_cas_hits].u + s->gen[G_cas_misses].u +
                       s->gen[G_cas_badval].u;
        put(o, "%s{command=\"set\",status=\"hit\"} %" PRIu64 "\n", name,
            set->u > cas ? set->u - cas : 0);
    }
}

/* ---- per class -------------------------------------------------------- */

/* When `stats items` shows a field (engine.h's ENGINE_ITEM_STATS). */
enum shown { SHOWN_ALL, SHOWN_SEG, SHOWN_TEMP };

struct class_metric {
    const char *name;
    const char *type;
    size_t off; /* of the uint64_t in struct cmd_class_report */
    enum shown shown;
    const char *help;
};

#define CR(field) offsetof(struct cmd_class_report, e.field)

/* clang-format off */
/* From `stats items`, for classes holding an item. */
static const struct class_metric item_metrics[] = {
    {"memcached_slab_current_items", GAUGE, CR(number), SHOWN_ALL,
     "Items stored now in this class."},
    {"memcached_slab_items_age_seconds", GAUGE, CR(age), SHOWN_ALL,
     "Seconds since the oldest item of this class was last accessed."},
    {"memcached_slab_items_crawler_reclaimed_total", COUNTER,
     CR(crawler_reclaimed), SHOWN_ALL,
     "Items of this class the LRU crawler has freed."},
    {"memcached_slab_items_evicted_total", COUNTER, CR(evicted), SHOWN_ALL,
     "Items of this class evicted before they expired."},
    {"memcached_slab_items_evicted_nonzero_total", COUNTER,
     CR(evicted_nonzero), SHOWN_ALL,
     "Items of this class with an expiry time evicted before it."},
    {"memcached_slab_items_evicted_time_seconds", COUNTER, CR(evicted_time),
     SHOWN_ALL,
     "Seconds since the last access of the last item evicted here."},
    {"memcached_slab_items_evicted_unfetched_total", COUNTER,
     CR(evicted_unfetched), SHOWN_ALL,
     "Items of this class evicted without ever being read."},
    {"memcached_slab_items_expired_unfetched_total", COUNTER,
     CR(expired_unfetched), SHOWN_ALL,
     "Items of this class that expired without ever being read."},
    {"memcached_slab_items_outofmemory_total", COUNTER, CR(outofmemory),
     SHOWN_ALL,
     "Stores in this class that failed for lack of memory."},
    {"memcached_slab_items_reclaimed_total", COUNTER, CR(reclaimed),
     SHOWN_ALL,
     "Stores in this class that reused an expired item's memory."},
    {"memcached_slab_items_tailrepairs_total", COUNTER, CR(tailrepairs),
     SHOWN_ALL,
     "Times an item stuck at this class's LRU tail was freed by force."},
    {"memcached_slab_mem_requested_bytes", COUNTER, CR(mem_requested),
     SHOWN_ALL,
     "Bytes the items of this class need (headers, keys and values)."},
    {"memcached_slab_items_moves_to_cold", COUNTER, CR(moves_to_cold),
     SHOWN_SEG,
     "Items of this class moved from HOT or WARM to COLD."},
    {"memcached_slab_items_moves_to_warm", COUNTER, CR(moves_to_warm),
     SHOWN_SEG,
     "Items of this class moved from COLD to WARM."},
    {"memcached_slab_items_moves_within_lru", COUNTER, CR(moves_within_lru),
     SHOWN_SEG,
     "Items of this class bumped within HOT or WARM."},
    {"memcached_slab_hot_items", GAUGE, CR(number_hot), SHOWN_SEG,
     "Items of this class in the HOT LRU."},
    {"memcached_slab_warm_items", GAUGE, CR(number_warm), SHOWN_SEG,
     "Items of this class in the WARM LRU."},
    {"memcached_slab_cold_items", GAUGE, CR(number_cold), SHOWN_SEG,
     "Items of this class in the COLD LRU."},
    {"memcached_slab_temporary_items", GAUGE, CR(number_temp), SHOWN_TEMP,
     "Items of this class in the TEMP LRU."},
    {"memcached_slab_hot_age_seconds", GAUGE, CR(age_hot), SHOWN_SEG,
     "Age of the oldest item in this class's HOT LRU."},
    {"memcached_slab_warm_age_seconds", GAUGE, CR(age_warm), SHOWN_SEG,
     "Age of the oldest item in this class's WARM LRU."},
};

/* From `stats slabs`, for classes holding a page. */
static const struct class_metric slab_metrics[] = {
    {"memcached_slab_chunk_size_bytes", GAUGE, CR(chunk_size), SHOWN_ALL,
     "Bytes of each chunk of this class."},
    {"memcached_slab_chunks_per_page", GAUGE, CR(chunks_per_page), SHOWN_ALL,
     "Chunks in one page of this class."},
    {"memcached_slab_current_pages", GAUGE, CR(total_pages), SHOWN_ALL,
     "Pages this class holds."},
    {"memcached_slab_current_chunks", GAUGE, CR(total_chunks), SHOWN_ALL,
     "Chunks in the pages of this class."},
    {"memcached_slab_chunks_used", GAUGE, CR(used_chunks), SHOWN_ALL,
     "Chunks of this class holding an item."},
    {"memcached_slab_chunks_free", GAUGE, CR(free_chunks), SHOWN_ALL,
     "Chunks of this class free for an item."},
    {"memcached_slab_chunks_free_end", GAUGE, CR(free_chunks_end), SHOWN_ALL,
     "Free chunks at the end of this class's newest page."},
};
/* clang-format on */

#undef CR

static uint64_t
field(const struct cmd_class_report *cr, size_t off)
{
    uint64_t v;

    memcpy(&v, (const char *)cr + off, sizeof(v));
    return v;
}

static bool
setting_on(const struct snapshot *s, enum set_key k)
{
    return s->set[k].has && strcmp(s->set[k].text, "1") == 0;
}

/*
 * Whether any class is listed by `stats items` (items) or `stats slabs`.
 * A family with no sample is left out, as the exporter's client library
 * leaves it out.
 */
static bool
any_class(const struct snapshot *s, bool items)
{
    for (size_t i = 0; i < s->nclasses; i++) {
        if (items ? s->classes[i].in_items : s->classes[i].in_slabs) {
            return true;
        }
    }
    return false;
}

static void
class_family(struct out *o, const struct snapshot *s,
             const struct class_metric *m, bool items)
{
    if (!any_class(s, items)) {
        return;
    }
    family(o, m->name, m->type, m->help);
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct cmd_class_report *cr = &s->classes[i];
        if (items ? cr->in_items : cr->in_slabs) {
            put(o, "%s{slab=\"%u\"} %" PRIu64 "\n", m->name, cr->e.id,
                field(cr, m->off));
        }
    }
}

static void
items(struct out *o, const struct snapshot *s)
{
    /* `stats items` shows the SEG fields with the segmented LRU, and
     * number_temp only with the TEMP LRU too, as memcached does. */
    bool seg = setting_on(s, S_lru_segmented);
    bool temp = seg && setting_on(s, S_temp_lru);

    for (size_t i = 0; i < sizeof(item_metrics) / sizeof(item_metrics[0]);
         i++) {
        const struct class_metric *m = &item_metrics[i];
        if (m->shown == SHOWN_ALL || (m->shown == SHOWN_SEG && seg) ||
            (m->shown == SHOWN_TEMP && temp)) {
            class_family(o, s, m, true);
        }
    }

    static const struct {
        const char *lru;
        size_t off;
    } lrus[] = {
        {"hot", offsetof(struct cmd_class_report, hits_to_hot)},
        {"warm", offsetof(struct cmd_class_report, hits_to_warm)},
        {"cold", offsetof(struct cmd_class_report, hits_to_cold)},
        {"temporary", offsetof(struct cmd_class_report, hits_to_temp)},
    };
    /* Shown with the segmented LRU only, like the moves_* fields. */
    const char *name = "memcached_slab_lru_hits_total";
    if (!seg || !any_class(s, true)) {
        return;
    }
    family(o, name, COUNTER, "Hits on the items of this class, by LRU.");
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct cmd_class_report *cr = &s->classes[i];
        for (size_t l = 0; cr->in_items && l < 4; l++) {
            put(o, "%s{slab=\"%u\",lru=\"%s\"} %" PRIu64 "\n", name, cr->e.id,
                lrus[l].lru, field(cr, lrus[l].off));
        }
    }
}

static void
slabs(struct out *o, const struct snapshot *s)
{
    static const struct {
        const char *command;
        const char *status;
        enum stats_class_op op;
    } ops[] = {
        {"get", "hit", STATS_OP_get_hits},
        {"delete", "hit", STATS_OP_delete_hits},
        {"incr", "hit", STATS_OP_incr_hits},
        {"decr", "hit", STATS_OP_decr_hits},
        {"cas", "hit", STATS_OP_cas_hits},
        {"touch", "hit", STATS_OP_touch_hits},
        {"cas", "badval", STATS_OP_cas_badval},
    };
    const char *name = "memcached_slab_commands_total";

    if (!any_class(s, false)) {
        return;
    }
    family(o, name, COUNTER,
           "Hits on the items of this class by command and outcome.");
    for (size_t i = 0; i < s->nclasses; i++) {
        const struct cmd_class_report *cr = &s->classes[i];
        if (!cr->in_slabs) {
            continue;
        }
        for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            put(o, "%s{slab=\"%u\",command=\"%s\",status=\"%s\"} %" PRIu64 "\n",
                name, cr->e.id, ops[k].command, ops[k].status,
                cr->ops[ops[k].op]);
        }
        /* As in memcached_commands_total, less the cas that stored. */
        uint64_t set = cr->ops[STATS_OP_cmd_set];
        uint64_t cas =
            cr->ops[STATS_OP_cas_hits] + cr->ops[STATS_OP_cas_badval];
        put(o, "%s{slab=\"%u\",command=\"set\",status=\"hit\"} %" PRIu64 "\n",
            name, cr->e.id, set > cas ? set - cas : 0);
    }
    for (size_t i = 0; i < sizeof(slab_metrics) / sizeof(slab_metrics[0]);
         i++) {
        class_family(o, s, &slab_metrics[i], false);
    }
}

/* ---- memoria's own ---------------------------------------------------- */

static void
ratio(struct out *o, const char *name, const char *help, uint64_t num,
      uint64_t den)
{
    family(o, name, GAUGE, help);
    put(o, "%s %.6g\n", name, den > 0 ? (double)num / (double)den : 0.0);
}

static void
memoria_gauges(struct out *o, const struct snapshot *s)
{
    const struct value *g = s->gen;

    if (g[G_bytes].has && g[G_curr_items].has) {
        ratio(o, "memoria_bytes_per_item",
              "Mean bytes of a stored item (memcached's size: header, key, "
              "value); 0 when empty.",
              g[G_bytes].u, g[G_curr_items].u);
    }
    if (g[G_limit_maxbytes].has) {
        ratio(o, "memoria_memory_limit_ratio",
              "Slab pages allocated over the -m limit.",
              s->totals.total_malloced, g[G_limit_maxbytes].u);
    }
    if (g[G_hash_bytes].has) {
        const char *name = "memoria_memory_allocated_bytes";
        family(o, name, GAUGE,
               "Bytes allocated for the cache: slab pages plus the hash "
               "table.");
        put(o, "%s %" PRIu64 "\n", name,
            s->totals.total_malloced + g[G_hash_bytes].u);
    }
    if (g[G_curr_items].has && g[G_hash_power_level].has &&
        g[G_hash_power_level].u < 64) {
        ratio(o, "memoria_hash_load_factor",
              "Items stored per hash table bucket.", g[G_curr_items].u,
              (uint64_t)1 << g[G_hash_power_level].u);
    }
}

/* Returns false if the reply could not be built (memory, size cap). */
static bool
render(struct metrics *m, struct evbuffer *b)
{
    struct snapshot *s = &m->snap;
    struct out o = {.b = b};

    take_snapshot(m->srv, s);

    family(&o, "memcached_up", GAUGE,
           "1: the server answered (it always does from inside).");
    put(&o, "memcached_up 1\n");
    if (s->gen[G_version].has) {
        family(&o, "memcached_version", GAUGE,
               "Always 1; the label is the memcached version served.");
        put(&o, "memcached_version{version=\"");
        put_label_value(&o, s->gen[G_version].text);
        put(&o, "\"} 1\n");
    }
    commands(&o, s);
    for (size_t i = 0; i < sizeof(general_metrics) / sizeof(general_metrics[0]);
         i++) {
        simple(&o, &general_metrics[i], &s->gen[general_metrics[i].key]);
    }
    family(&o, "memcached_malloced_bytes", GAUGE,
           "Bytes of slab pages allocated (stats slabs total_malloced).");
    put(&o, "memcached_malloced_bytes %" PRIu64 "\n", s->totals.total_malloced);
    simple(&o,
           &(const struct simple_metric){"memcached_max_connections", GAUGE,
                                         S_maxconns,
                                         "Connections the server allows (-c)."},
           &s->set[S_maxconns]);
    if (setting_on(s, S_lru_crawler)) {
        for (size_t i = 0;
             i < sizeof(crawler_settings) / sizeof(crawler_settings[0]); i++) {
            simple(&o, &crawler_settings[i], &s->set[crawler_settings[i].key]);
        }
    }
    items(&o, s);
    slabs(&o, s);
    memoria_gauges(&o, s);
    return !o.failed;
}

/* ---- HTTP --------------------------------------------------------------- */

static void
on_request(struct evhttp_request *req, void *arg)
{
    struct metrics *m = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    struct evkeyvalq *headers = evhttp_request_get_output_headers(req);

    if (path == NULL || strcmp(path, METRICS_PATH) != 0) {
        evhttp_send_error(req, HTTP_NOTFOUND, NULL);
        return;
    }
    struct evbuffer *body = evbuffer_new();
    if (body != NULL && evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
        /* Not evhttp_send_error, which drops our Allow header. */
        evhttp_add_header(headers, "Allow", "GET");
        evhttp_add_header(headers, "Content-Type", "text/plain");
        evbuffer_add_printf(body, "only GET\n");
        evhttp_send_reply(req, HTTP_BADMETHOD, "Method Not Allowed", body);
        evbuffer_free(body);
        return;
    }
    if (body == NULL || !render(m, body)) {
        if (body != NULL) {
            evbuffer_free(body);
        }
        evhttp_send_error(req, HTTP_INTERNAL, NULL);
        return;
    }
    evhttp_add_header(headers, "Content-Type", METRICS_CONTENT_TYPE);
    evhttp_send_reply(req, HTTP_OK, "OK", body);
    evbuffer_free(body);
}

static void
set_accepting(struct metrics *m, bool on)
{
    for (size_t i = 0; i < m->nbound; i++) {
        struct evconnlistener *l =
            evhttp_bound_socket_get_listener(m->bound[i]);
        if (on) {
            evconnlistener_enable(l);
        } else {
            evconnlistener_disable(l);
        }
    }
    m->paused = !on;
}

/* evhttp closed a connection (any way: reply done, error, timeout). */
static void
conn_closed(struct evhttp_connection *evcon, void *arg)
{
    struct metrics *m = arg;

    (void)evcon;
    m->live--;
    if (m->paused && !m->closing && m->live < METRICS_MAX_CONNS) {
        set_accepting(m, true);
    }
}

/*
 * Right after new_conn, once evhttp has set the connections up (the
 * connection is then its bufferevent's callback argument): from here each
 * one's close callback counts it out. One that evhttp dropped meanwhile
 * has its callbacks cleared and is counted out here. The reference
 * new_conn took kept each bufferevent (and its socket) alive until now.
 */
static void
adopt(evutil_socket_t fd, short what, void *arg)
{
    struct metrics *m = arg;

    (void)fd;
    (void)what;
    for (size_t i = 0; i < m->npending; i++) {
        bufferevent_event_cb eventcb = NULL;
        void *evcon = NULL;
        bufferevent_getcb(m->pending[i], NULL, NULL, &eventcb, &evcon);
        if (eventcb != NULL && evcon != NULL) {
            evhttp_connection_set_closecb(evcon, conn_closed, m);
        } else {
            conn_closed(NULL, m);
        }
        bufferevent_decref(m->pending[i]);
    }
    m->npending = 0;
}

/*
 * evhttp's hook for a new connection's bufferevent: the one place that
 * hears of every connection. libevent 2.1 has no connection cap
 * (evhttp_set_max_connections came in 2.2) and no "new connection"
 * callback, so new_conn counts the connection and adopt, as soon as
 * evhttp is done with it, gives evhttp a close callback that counts it
 * out. At the cap the listeners pause (they accept no more in the same
 * turn), so at most METRICS_MAX_CONNS wait for adopt.
 */
static struct bufferevent *
new_conn(struct event_base *base, void *arg)
{
    struct metrics *m = arg;
    struct bufferevent *bev =
        bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);

    if (bev == NULL || m->npending == METRICS_MAX_CONNS) {
        return bev; /* NULL: evhttp tries itself; else served, uncounted */
    }
    bufferevent_incref(bev);
    m->pending[m->npending++] = bev;
    event_active(m->adopt_ev, EV_TIMEOUT, 0);
    m->live++;
    if (m->live >= METRICS_MAX_CONNS) {
        set_accepting(m, false);
    }
    return bev;
}

/* ---- listening ---------------------------------------------------------- */

/*
 * Splits spec into host and port; host NULL means every interface.
 * Returns false on a malformed spec.
 */
static bool
split_spec(const char *spec, char *host, size_t hostlen, const char **port,
           bool *any)
{
    const char *colon;
    size_t n;

    *any = false;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        n = (size_t)(close - spec - 1);
        colon = close + 1;
        spec++;
    } else {
        colon = strrchr(spec, ':');
        n = colon != NULL ? (size_t)(colon - spec) : 0;
    }
    *port = colon != NULL ? colon + 1 : spec;
    if (**port == '\0' || strspn(*port, "0123456789") != strlen(*port) ||
        n >= hostlen) {
        return false;
    }
    memcpy(host, spec, n);
    host[n] = '\0';
    if (n == 0) {
        snprintf(host, hostlen, "127.0.0.1"); /* loopback unless told */
    } else if (strcmp(host, "*") == 0) {
        *any = true;
    }
    return true;
}

static int
open_socket(const struct addrinfo *ai)
{
    int one = 1;
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /*
     * Accepted sockets inherit it: evhttp writes a reply's head and body
     * separately, and Nagle would hold the body for the client's delayed
     * ACK (40 ms a keep-alive scrape).
     */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static bool
bind_all(struct metrics *m, const char *spec)
{
    char host[256];
    const char *port;
    bool any;
    struct addrinfo hints = {.ai_flags = AI_PASSIVE,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;

    if (!split_spec(spec, host, sizeof(host), &port, &any)) {
        fprintf(stderr, "failed to listen on metrics address %s: %s\n", spec,
                "expected host:port");
        return false;
    }
    int rc = getaddrinfo(any ? NULL : host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "failed to listen on metrics address %s: %s\n", spec,
                gai_strerror(rc));
        return false;
    }
    int err = EADDRNOTAVAIL;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (m->nbound == METRICS_MAX_LISTENERS) {
            break;
        }
        int fd = open_socket(ai);
        if (fd < 0) {
            err = errno;
            if (err == EADDRNOTAVAIL || err == EAFNOSUPPORT) {
                continue;
            }
            m->nbound = 0;
            break;
        }
        struct evhttp_bound_socket *b =
            evhttp_accept_socket_with_handle(m->http, fd);
        if (b == NULL) {
            close(fd);
            err = ENOMEM;
            m->nbound = 0;
            break;
        }
        m->bound[m->nbound++] = b;
    }
    freeaddrinfo(res);
    if (m->nbound == 0) {
        fprintf(stderr, "failed to listen on metrics address %s: %s\n", spec,
                strerror(err));
        return false;
    }
    return true;
}

struct metrics *
metrics_create(struct event_base *base, const char *spec,
               struct cmd_server *srv)
{
    struct metrics *m = calloc(1, sizeof(*m));

    if (m == NULL || (m->http = evhttp_new(base)) == NULL) {
        fprintf(stderr, "failed to listen on metrics address %s: %s\n", spec,
                strerror(ENOMEM));
        goto fail;
    }
    m->srv = srv;
    m->adopt_ev = event_new(base, -1, 0, adopt, m);
    if (m->adopt_ev == NULL) {
        fprintf(stderr, "failed to listen on metrics address %s: %s\n", spec,
                strerror(ENOMEM));
        goto fail;
    }
    evhttp_set_timeout(m->http, METRICS_TIMEOUT);
    evhttp_set_max_headers_size(m->http, METRICS_MAX_HEADERS);
    evhttp_set_max_body_size(m->http, METRICS_MAX_REQ_BODY);
    /* Every method reaches on_request, which answers 405 (not 501). */
    evhttp_set_allowed_methods(
        m->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                     EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                     EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    evhttp_set_gencb(m->http, on_request, m);
    evhttp_set_bevcb(m->http, new_conn, m);
    if (!bind_all(m, spec)) {
        goto fail;
    }
    return m;

fail:
    metrics_destroy(m);
    return NULL;
}

void
metrics_destroy(struct metrics *m)
{
    if (m == NULL) {
        return;
    }
    m->closing = true;
    for (size_t i = 0; i < m->npending; i++) {
        bufferevent_decref(m->pending[i]); /* evhttp_free frees the rest */
    }
    if (m->adopt_ev != NULL) {
        event_free(m->adopt_ev);
    }
    if (m->http != NULL) {
        evhttp_free(m->http); /* closes listeners, then connections */
    }
    free(m);
}
