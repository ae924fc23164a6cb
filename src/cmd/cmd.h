/*
 * cmd - runs one parsed request against the engine and composes its reply.
 * The only layer that sees both proto/ and engine/. Each worker thread owns
 * its struct cmd_ctx; the struct cmd_server it points to is shared by all
 * workers (read-only after start, except its atomics).
 *
 * Called by cmd/session.c.
 */
#pragma once

#include "cmd/logger.h"
#include "engine/engine.h"
#include "proto/proto.h"
#include "stats/stats.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct outq;

/*
 * Stops the server (the `shutdown` command): graceful for `shutdown
 * graceful`, as SIGUSR1; otherwise as SIGINT. Callable from any worker.
 */
typedef void (*cmd_stop_fn)(void *ctx, bool graceful);

/* One `STAT <name> <value>` pair, for reporters owned by other layers. */
typedef void (*cmd_line_fn)(void *ctx, const char *name, const char *value);

/* The settings `stats settings` shows that commands change at run time. */
struct cmd_settings_live {
    int verbosity;
    bool detail_enabled;
    uint64_t maxbytes;
    uint32_t oldest; /* memcached's flush marker (engine_oldest) */
};

/*
 * stats settings: emits every setting in memcached's order, from the
 * configuration the server started with and the live values. Registered
 * by main, which owns the configuration.
 */
typedef void (*cmd_settings_fn)(void *ctx, const struct cmd_settings_live *live,
                                cmd_line_fn emit, void *emit_ctx);

/*
 * stats conns: emits the lines of every open connection and listener
 * ("<fd>:addr", ...); self_fd is the asking connection's socket, which
 * memcached shows as conn_parse_cmd. Registered by net.
 */
typedef void (*cmd_conns_fn)(void *ctx, int self_fd, cmd_line_fn emit,
                             void *emit_ctx);

/* Server-wide facts and shared counters that replies need. */
struct cmd_server {
    struct engine *engine;
    struct stats_thread **threads; /* one counter block per worker */
    size_t nthreads;
    struct stats_conns *conns;
    _Atomic int verbosity; /* -v, then the verbosity command; net too */
    struct logger *logger; /* watch: the log rings and type mask */
    bool watch_enabled;    /* false with -W */
    const char *version;   /* the memcached version we answer as */
    const char *libevent_version;
    uint64_t max_connections;
    uint64_t maxbytes;
    bool flush_enabled;
    bool shutdown_enabled;
    bool dump_enabled;         /* false with -X: stats cachedump refused */
    char stat_key_prefix;      /* -D: the key prefix delimiter (':') */
    _Atomic bool detail_on;    /* stats detail on|off */
    struct cmd_detail *detail; /* per-prefix counters (cmd/detail.c) */
    int idle_timeout;   /* -o idle_timeout: idle_kicks is printed when set */
    bool maxconns_fast; /* rejected_connections is printed when set */
    /* stat families memcached prints only when their mechanism is on */
    bool lru_crawler;   /* lru_crawler_running, lru_crawler_starts */
    bool lru_segmented; /* maintainer, segment and hits_to_* fields */
    bool temp_lru;      /* items:<id>:number_temp */
    bool slab_reassign; /* slab_reassign_*, slabs_moved */
    /*
     * stats reset: the command counters' sums at the last reset; `stats`
     * reports sums minus these (no store races with the owning workers).
     */
    struct stats_thread reset_base;
    cmd_stop_fn stop; /* set by net before any worker runs */
    void *stop_ctx;
    cmd_settings_fn settings; /* set by main */
    void *settings_ctx;
    cmd_conns_fn conns_report; /* set by net before any worker runs */
    void *conns_ctx;
    int pid;
};

/*
 * Per-connection state cmd needs while running a request: where replies
 * go and whose counters move. A value queued by reference hands its
 * item's pin to `out` as the owner (outq_own); the session registered the
 * queue's release callback.
 */
struct cmd_ctx {
    struct cmd_server *srv;
    struct stats_thread *st;
    struct outq *out;
    int fd;            /* the client socket, for logs (cfd=, <fd) */
    size_t ring;       /* the worker's index: its log ring */
    unsigned watch;    /* CMD_WATCH: the types the new watcher asked for */
    int verbose;       /* the log level, read once per batch of requests */
    unsigned watching; /* the logger's type mask (+ CMD_VVV), with verbose */
};

/* What the session must do after cmd_run(). */
enum cmd_next {
    CMD_NEXT = 0, /* request done, parse the next one */
    CMD_DATA,     /* a data block follows: stream it into *reserved */
    CMD_SWALLOW,  /* a data block follows: skip nbytes + 2 bytes */
    CMD_CLOSE,    /* close the connection after flushing replies */
    CMD_WATCH,    /* the connection becomes a watcher of c->watch */
};

/*
 * Runs a parsed text request. For a storage verb it reserves the item and
 * returns CMD_DATA with *reserved set (the session fills it and calls
 * cmd_store_finish), or CMD_SWALLOW after queueing an error.
 */
enum cmd_next cmd_text_run(struct cmd_ctx *c, const struct request *req,
                           struct item **reserved);

/*
 * Completes a storage command once its data block (value + 2 terminator
 * bytes) has arrived: commits the item if the terminator was "\r\n",
 * otherwise aborts it with CLIENT_ERROR bad data chunk.
 */
void cmd_store_finish(struct cmd_ctx *c, const struct request *req,
                      struct item *it, bool terminated);

/* Queues the reply to a request that failed to parse. */
void cmd_text_parse_error(struct cmd_ctx *c, enum parse_status st,
                          const struct request *req);

/* ---- -vv logs on stderr ----------------------------------------------- */

/*
 * ">fd <reply>" as memcached prints it at -vv ("NOREPLY " before a reply
 * that noreply suppressed); len excludes the CRLF.
 */
void cmd_trace_slow(const struct cmd_ctx *c, bool noreply, const char *line,
                    size_t len);

static inline void
cmd_trace(const struct cmd_ctx *c, bool noreply, const char *line, size_t len)
{
    if (c->verbose >= 2) {
        cmd_trace_slow(c, noreply, line, len);
    }
}

/* "CLIENT_ERROR <msg>" / "SERVER_ERROR <msg>", logged at -vv. */
void cmd_client_error(struct cmd_ctx *c, const char *msg);
void cmd_server_error(struct cmd_ctx *c, const char *msg);

/* ---- watch log producers --------------------------------------------- */

/*
 * Each checks c->watching (the logger's type mask, which the session reads
 * once per batch of requests) before doing anything, so a server without
 * watchers pays a test of a field per call. The session adds CMD_VVV to
 * the mask at -vvv, where every lookup also prints memcached's
 * "> FOUND KEY <key>" or "> NOT FOUND <key>" on stderr.
 */
#define CMD_VVV (1u << 31)

void cmd_log_get_slow(struct cmd_ctx *c, struct slice key, enum engine_status s,
                      const struct item *it);
void cmd_log_lookup_slow(struct cmd_ctx *c, struct slice key);

/* item_get for a fetch that returned s (and it on a hit). */
static inline void
cmd_log_get(struct cmd_ctx *c, struct slice key, enum engine_status s,
            const struct item *it)
{
    if (c->watching & (LOG_fetchers | CMD_VVV)) {
        cmd_log_get_slow(c, key, s, it);
    }
}

/* item_get for a command that looks key up (delete, incr, touch...). */
static inline void
cmd_log_lookup(struct cmd_ctx *c, struct slice key)
{
    if (c->watching & (LOG_fetchers | CMD_VVV)) {
        cmd_log_lookup_slow(c, key);
    }
}

enum engine_status cmd_commit_slow(struct cmd_ctx *c, struct item *it,
                                   const struct engine_store *st,
                                   uint64_t *cas_out);

/* engine_commit_ex, with the item_get and item_store lines it makes. */
static inline enum engine_status
cmd_commit(struct cmd_ctx *c, struct item *it, const struct engine_store *st,
           uint64_t *cas_out)
{
    if (c->watching & (LOG_fetchers | LOG_mutations | CMD_VVV)) {
        return cmd_commit_slow(c, it, st, cas_out);
    }
    return engine_commit_ex(c->srv->engine, it, st, cas_out);
}

/* ---- meta commands (cmd/meta_run.c) --------------------------------- */

struct meta_request;

/*
 * What an ms needs once its data block has arrived; cmd_meta_run() fills
 * it and the session keeps it (the request's slices die with the input).
 */
struct cmd_mset {
    struct engine_store store;
    bool quiet;
    bool binary;
    uint32_t nbytes; /* the data block, CRLF excluded */
    uint8_t nechos;
    char echos[3]; /* 'O', 'k', 'c' in request order */
    uint8_t nopaque;
    char opaque[32]; /* the O token, 'O' included */
};

/*
 * Runs a parsed meta request. For ms it reserves the item and returns
 * CMD_DATA with *reserved and *ms set (the session fills the item and
 * calls cmd_meta_store_finish()), or CMD_SWALLOW with *swallow bytes to
 * skip after queueing an error.
 */
enum cmd_next cmd_meta_run(struct cmd_ctx *c, const struct meta_request *req,
                           struct item **reserved, struct cmd_mset *ms,
                           size_t *swallow);

/* ms once its data block is in: commit, or bad data chunk. */
void cmd_meta_store_finish(struct cmd_ctx *c, const struct cmd_mset *ms,
                           struct item *it, bool terminated);

/*
 * Queues the reply to a meta line that failed to parse; returns the
 * bytes of data block to skip (ms errors memcached swallows), else 0.
 */
size_t cmd_meta_parse_error(struct cmd_ctx *c, enum parse_status st,
                            const struct meta_request *req);
