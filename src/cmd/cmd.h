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
#include "proto/reply.h"
#include "proto/text.h"
#include "stats/stats.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd_auth;
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

/*
 * refresh_certs: loads the TLS certificate files again, for connections
 * accepted from now on. True on success; otherwise err holds the text of
 * the failure, without a line end. Callable from any worker; registered
 * by net with -Z, NULL without.
 */
typedef bool (*cmd_refresh_fn)(void *ctx, char *err, size_t errlen);

/* Room for refresh_certs' failure text: a path and OpenSSL's error. */
#define CMD_REFRESH_ERR_MAX 4608

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
    bool sasl;             /* -S: binary connections authenticate */
    struct cmd_auth *auth; /* -Y: the credential table, else NULL */
    bool cas_enabled;      /* false with -C */
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
    cmd_refresh_fn refresh_certs; /* set by net with -Z, else NULL */
    void *refresh_ctx;
    bool tls;               /* -Z: the ssl_* lines of `stats` */
    bool tls_session_cache; /* -o ssl_session_cache: ssl_new_sessions */
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
    struct cmd_sasl *sasl; /* -S: the SASL state, from the first request */
    struct cmd_dump *dump; /* CMD_STREAM: the dump in progress */
    /*
     * out->queued after the last request memcached writes out at once (a
     * get family, mn): replies up to there count as sent for watch and
     * metadump, which refuse to start behind replies still queued.
     */
    uint64_t flushed_at;
};

/* True while replies memcached would still hold are queued (see above). */
bool cmd_replies_waiting(const struct cmd_ctx *c);

/* What the session must do after running a request. */
enum cmd_next {
    CMD_NEXT = 0, /* request done, parse the next one */
    CMD_DATA,     /* a data block follows: stream it into the pending item */
    CMD_SWALLOW,  /* a data block follows: skip pending->swallow bytes */
    CMD_CLOSE,    /* close the connection after flushing replies */
    CMD_WATCH,    /* the connection becomes a watcher of c->watch */
    CMD_STREAM,   /* a dump streams: call cmd_dump_fill until it is done */
};

/* Which protocol's request a pending store finishes. */
enum cmd_store_kind {
    CMD_STORE_TEXT = 0,
    CMD_STORE_META,
    CMD_STORE_BINARY,
};

/*
 * A store waiting for its data block: everything cmd needs to finish it
 * once the value is in, whatever protocol asked (the request's slices die
 * with the input). Owned by cmd; the session keeps one per connection and
 * only streams the value into `item` (nbytes, then nterm terminator
 * bytes) or skips `swallow` bytes.
 */
struct cmd_pending {
    struct item *item; /* CMD_DATA: the reserved item */
    uint32_t nbytes;   /* value bytes */
    uint8_t nterm;     /* bytes after the value: 2 ("\r\n"), binary 0 */
    size_t swallow;    /* CMD_SWALLOW: bytes to skip */
    enum cmd_store_kind kind;
    struct engine_store store;
    bool quiet; /* noreply, meta q, a quiet binary opcode */
    /* meta: the echoes its reply carries */
    bool binary_key;
    uint8_t nechos;
    char echos[3]; /* 'O', 'k', 'c' in request order */
    uint8_t nopaque;
    char opaque[32]; /* the O token, 'O' included */
    /* binary: the header fields its reply echoes */
    uint8_t opcode;
    uint32_t bin_opaque;
};

/*
 * Runs a parsed text request. For a storage verb it reserves the item and
 * returns CMD_DATA with *p filled (the session streams the block and calls
 * cmd_store_finish), or CMD_SWALLOW after queueing an error.
 */
enum cmd_next cmd_text_run(struct cmd_ctx *c, const struct request *req,
                           struct cmd_pending *p);

/*
 * Completes a pending store once its data block has arrived: commits the
 * item if its terminator was right (`terminated`), otherwise aborts it
 * with the protocol's bad data chunk reply. Consumes p->item.
 */
void cmd_store_finish(struct cmd_ctx *c, struct cmd_pending *p,
                      bool terminated);

/*
 * Drops a pending store whose data block will never arrive (connection
 * closed, datagram ended): aborts its item.
 */
void cmd_store_abort(struct cmd_ctx *c, struct cmd_pending *p);

/* Queues the reply to a request that failed to parse. */
void cmd_text_parse_error(struct cmd_ctx *c, enum parse_status st,
                          const struct request *req);

/* ---- lru_crawler (cmd/crawler_cmd.c) --------------------------------- */

struct cmd_dump;

/* lru_crawler <sub>: CMD_STREAM when a metadump or mgdump starts. */
enum cmd_next cmd_crawler_run(struct cmd_ctx *c, const struct request *req);

/*
 * Queues the dump's next lines, one engine batch at a time, until the
 * output queue holds SESSION_OUT_HIGH_WATER bytes (cmd takes it as
 * `high_water`) or the dump ends; at the end queues its terminator,
 * frees the dump and returns true.
 */
bool cmd_dump_fill(struct cmd_ctx *c, size_t high_water);

/* Drops a dump in progress (the client went away). No-op without one. */
void cmd_dump_abort(struct cmd_ctx *c);

/* ---- stats (cmd/stats_run.c) --------------------------------------- */

/* Where stat lines go: a protocol's composer of one (name, value). */
struct cmd_stat_sink {
    cmd_line_fn line;
    void *ctx;
};

/* The groups of stat lines both protocols can ask for. */
enum cmd_stats_group {
    CMD_STATS_GENERAL = 0,
    CMD_STATS_SETTINGS,
    CMD_STATS_CONNS,
    CMD_STATS_ITEMS,
    CMD_STATS_SLABS,
    CMD_STATS_SIZES,
};

/* Emits a group's lines, in memcached's order, without a terminator. */
void cmd_stats_group(struct cmd_ctx *c, enum cmd_stats_group g,
                     const struct cmd_stat_sink *k);

/* sizes_enable / sizes_disable: switches and emits sizes_status. */
void cmd_stats_sizes_switch(struct cmd_ctx *c, bool on,
                            const struct cmd_stat_sink *k);

/* stats reset: the counters and the detail table. */
void cmd_stats_reset_all(struct cmd_ctx *c);

/* The text `stats [<sub-command>]`. */
void cmd_text_stats(struct cmd_ctx *c, const struct request *req);

/* slabs reassign / automove and cache_memlimit (cmd/slabs_cmd.c). */
void cmd_text_slabs(struct cmd_ctx *c, const struct request *req);
void cmd_text_memlimit(struct cmd_ctx *c, const struct request *req);
/* lru tune|mode|temp_ttl (lru_cmd.c). */
void cmd_run_lru(struct cmd_ctx *c, const struct request *req);

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

/*
 * Queues an outcome's text line (an error, for meta and text alike), and
 * logs it at -vv; noreply logs it as suppressed and queues nothing.
 */
void cmd_text_result(struct cmd_ctx *c, bool noreply, enum reply_status st);

/*
 * -vv: memcached's "CAS:  failure: expected <live>, got <asked>" after a
 * compare-and-swap store found another CAS (any protocol).
 */
void cmd_trace_cas_failure_slow(const struct engine_store *store,
                                uint64_t live_cas);

static inline void
cmd_trace_cas_failure(const struct cmd_ctx *c, enum engine_status s,
                      const struct engine_store *store, uint64_t live_cas)
{
    if (c->verbose >= 2 && s == ENGINE_EXISTS) {
        cmd_trace_cas_failure_slow(store, live_cas);
    }
}

/* One of the text protocol's own lines, logged at -vv as cmd_text_result. */
void cmd_text_reply(struct cmd_ctx *c, bool noreply, enum text_reply r);

/* "CLIENT_ERROR <msg>" for a message the parser chose, logged at -vv. */
void cmd_client_error(struct cmd_ctx *c, bool noreply, const char *msg);

/* ---- outcomes --------------------------------------------------------- */

/* What an engine answer was an answer to, for counting it. */
enum cmd_op {
    CMD_OP_GET,     /* a fetch: get family, mg, binary get */
    CMD_OP_GAT,     /* a fetch that touches: gat, mg T (hit), binary gat */
    CMD_OP_TOUCH,   /* touch, binary touch */
    CMD_OP_RESERVE, /* allocating a store's item */
    CMD_OP_RESERVE_BINARY, /* the same for binary: memcached counts nothing */
    CMD_OP_STORE,          /* committing a set/add/replace/append/prepend */
    CMD_OP_CAS,            /* committing a compare-and-swap store */
    CMD_OP_DELETE,         /* delete, md */
    CMD_OP_DELETE_BINARY,  /* binary delete: a cas mismatch counts nothing */
    CMD_OP_INVALIDATE,     /* md I: memcached counts no hit */
    CMD_OP_INCR,           /* incr, ma, binary increment */
    CMD_OP_DECR,           /* decr, ma MD, binary decrement */
    CMD_OP_CREATE,         /* incr/decr that created the item: counts nothing */
};

/*
 * cmd_result(c, op, s, cls) in cmd/result.h is the one mapping from an
 * engine answer to the counters it moves and the outcome every protocol
 * replies with; cls is the item's class when s is ENGINE_OK.
 */

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
 * Runs a parsed meta request. For ms it reserves the item and returns
 * CMD_DATA with *p filled, or CMD_SWALLOW with p->swallow bytes to skip
 * after queueing an error.
 */
enum cmd_next cmd_meta_run(struct cmd_ctx *c, const struct meta_request *req,
                           struct cmd_pending *p);

/* ms once its data block is in (cmd_store_finish for CMD_STORE_META). */
void cmd_meta_store_finish(struct cmd_ctx *c, struct cmd_pending *p,
                           bool terminated);

/* ---- binary protocol (cmd/binary_run.c) ------------------------------ */

struct binary_request;

/*
 * True when the session must buffer the request's whole value before
 * running it (an acceptable SASL_AUTH / SASL_STEP on a -S server); it
 * then passes the value to cmd_binary_run() and consumes it after.
 */
bool cmd_binary_wants_value(const struct cmd_ctx *c,
                            const struct binary_request *req);

/*
 * Runs a parsed binary request (any fault included: memcached's order of
 * checks is applied here). `value` is its value when
 * cmd_binary_wants_value() said so, else empty. Storage commands return
 * CMD_DATA with *p filled (nterm 0); refused values and unknown opcodes
 * return CMD_SWALLOW; errors that end the connection return CMD_CLOSE.
 */
enum cmd_next cmd_binary_run(struct cmd_ctx *c,
                             const struct binary_request *req,
                             struct slice value, struct cmd_pending *p);

/* A binary store once its value is in (cmd_store_finish). */
void cmd_binary_store_finish(struct cmd_ctx *c, struct cmd_pending *p,
                             bool terminated);

/*
 * Queues the reply to a meta line that failed to parse; returns the
 * bytes of data block to skip (ms errors memcached swallows), else 0.
 */
size_t cmd_meta_parse_error(struct cmd_ctx *c, enum parse_status st,
                            const struct meta_request *req);
