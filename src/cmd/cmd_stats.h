/*
 * cmd_stats - what `stats` and its sub-commands report, as values rather
 * than wire bytes, so that the text protocol's `stats` (cmd.c) and the
 * Prometheus endpoint (net/metrics.c) read the same tables. Callable from
 * any thread: every source is an atomic or a snapshot.
 */
#pragma once

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "stats/stats.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>

enum cmd_stat_kind {
    CMD_STAT_U64 = 0, /* decimal */
    CMD_STAT_TEXT,    /* a string (version, libevent) */
    CMD_STAT_TIMEVAL, /* seconds as sec.usec, six digits (rusage_*) */
};

/* One line of the general `stats`. */
struct cmd_stat {
    const char *name; /* memcached's name */
    enum cmd_stat_kind kind;
    bool counter; /* cumulative since start or `stats reset`; else a gauge */
    uint64_t u;
    struct timeval tv;
    const char *text;
};

typedef void (*cmd_stat_fn)(void *ctx, const struct cmd_stat *st);

/*
 * The general `stats`, in memcached 1.6.18's order, each line present
 * under the same conditions as in memcached (rejected_connections with
 * maxconns_fast, idle_kicks with idle_timeout, ...).
 */
void cmd_stats_general(struct cmd_server *srv, cmd_stat_fn fn, void *ctx);

/* One memcached slab class, for `stats slabs` and `stats items`. */
struct cmd_class_report {
    struct engine_class_stats e;
    uint64_t ops[STATS_NOPS]; /* STATS_CLASS_OPS, since start or reset */
    uint64_t hits_to_hot, hits_to_warm, hits_to_cold, hits_to_temp;
    bool in_slabs; /* a page, an item or a count: listed by `stats slabs` */
    bool in_items; /* has an item: listed by `stats items` */
};

typedef void (*cmd_class_fn)(void *ctx, const struct cmd_class_report *cr);

/* Calls fn for each class with a page, an item or a count, by ascending id. */
void cmd_stats_classes(struct cmd_server *srv, cmd_class_fn fn, void *ctx);

/* `stats slabs` totals: classes with a page, and bytes of pages. */
struct cmd_slab_totals {
    uint64_t active_slabs;
    uint64_t total_malloced;
};

void cmd_stats_slab_totals(struct cmd_server *srv, struct cmd_slab_totals *out);

/*
 * stats reset: zeroes what memcached's zeroes (command counters, the
 * connection counters, the engine's cumulative counters); gauges stay.
 */
void cmd_stats_reset(struct cmd_server *srv);

/* `stats settings`, in memcached's order (through srv->settings). */
void cmd_stats_settings(struct cmd_server *srv, cmd_line_fn fn, void *ctx);
