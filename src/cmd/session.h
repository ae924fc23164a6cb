/*
 * session - one connection's protocol state: loops parse -> run -> compose
 * over the connection's input buffer and output queue, and streams data
 * blocks into reserved items. Owns any reservation; borrows the buffers
 * (net owns them). Used by exactly one worker thread.
 *
 * Values go out by reference, each with its item's pin handed to the
 * output queue as the owner (cmd.c); session_create registers the queue's
 * release callback, which drops the pin through the engine once the
 * bytes are sent, or when the queue is deinitialized. So the engine must
 * outlive the queue; the session need not.
 *
 * Sockets never appear here: tests drive a session with in-memory buffers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct outq;
struct cmd_server;
struct stats_thread;
struct session;

enum session_status {
    SESSION_NEED_INPUT = 0, /* consumed what it could; read more */
    SESSION_YIELD,          /* ran max_reqs requests; input is left */
    SESSION_BLOCKED,        /* too many reply bytes queued; write first */
    SESSION_CLOSE,          /* flush what is queued, then close */
    SESSION_ABORT,          /* close now, dropping what is queued */
    SESSION_WATCH,          /* `watch`: hand the socket to the watch thread */
};

/* Queued reply bytes above which a session stops taking requests. */
#define SESSION_OUT_HIGH_WATER ((size_t)512 * 1024)

/* The protocol a connection speaks (memcached's -B and proto[...]). */
enum session_proto {
    SESSION_PROTO_NEGOTIATE = 0, /* decided by the first byte received */
    SESSION_PROTO_ASCII,         /* text and meta */
    SESSION_PROTO_BINARY,        /* memcached's binary protocol */
};

/*
 * Also registers out's release callback (outq_set_release): the pins
 * handed to out as owners are dropped through srv's engine.
 */
struct session *session_create(struct cmd_server *srv, struct stats_thread *st,
                               struct outq *out);
/*
 * Who the session serves: the client socket (memcached's "cfd" and "<fd"
 * in -vv lines), its worker's index (its log ring), and the protocol its
 * listener speaks. On a datagram socket each datagram negotiates anew
 * (session_reset), and -vv logs no protocol choice, as memcached. On a
 * -Y server (srv->auth set) a stream connection speaks ascii and must
 * first pass memcached's authentication handshake (docs/AUTH.md).
 */
void session_set_client(struct session *s, int fd, size_t worker,
                        enum session_proto proto, bool datagrams);

/* After SESSION_WATCH: the log types the watcher asked for. */
unsigned session_watch_types(const struct session *s);

/*
 * Aborts any reservation. Accepts NULL. Pins stay with the output queue
 * (outq_deinit releases them).
 */
void session_destroy(struct session *s);

/* Runs at most max_reqs requests from `in`. */
enum session_status session_process(struct session *s, struct buf *in,
                                    unsigned max_reqs);

/* True while the session is inside a data block (not between commands). */
bool session_mid_request(const struct session *s);

/*
 * Drops a data block in progress (aborting its reservation) so that the
 * next input starts with a command: datagram transports call it before
 * each datagram, since a request never spans two.
 *
 * With its output queue's `marking` on, a session records reply-object
 * boundaries there for a datagram transport: OUTQ_MARK_REPLY as each
 * request starts, OUTQ_MARK_VALUE before each key of a get (cmd.c), and
 * OUTQ_MARK_FLUSH after a request memcached flushes its replies behind
 * (a get family, mn, quit).
 */
void session_reset(struct session *s);
