#include "cmd/session.h"

#include "cmd/auth.h"
#include "cmd/cmd.h"
#include "cmd/sasl.h"
#include "lib/buf.h"
#include "lib/outq.h"
#include "proto/ascii_auth.h"
#include "proto/binary.h"
#include "proto/meta.h"
#include "proto/text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum session_state {
    S_CMD = 0, /* between commands: parse the next line */
    S_DATA,    /* copying a data block into the pending store's item */
    S_SWALLOW, /* skipping a refused data block */
    S_STREAM,  /* a dump streams out (cmd_dump_fill); input waits */
    /* -Y: not authenticated yet (process_auth); S_CMD once it is */
    S_AUTH,      /* waiting for the handshake's set line */
    S_AUTH_DATA, /* waiting for its payload (auth_payload bytes) */
};

struct session {
    struct cmd_ctx ctx;
    enum session_state state;
    enum session_proto proto; /* NEGOTIATE until the first byte decides */
    enum session_proto listener_proto; /* what session_reset() goes back to */
    /* Data phase: the store waiting for its block (cmd's), and progress. */
    struct cmd_pending pending;
    size_t value_off;
    size_t term_got;
    char term[2];
    bool seen_command; /* -vv: the "Client using the ascii protocol" line */
    /* -Y, before authentication: see auth_answer() */
    size_t auth_payload;
    bool auth_answered;
    bool auth_yielded; /* the last session_process() yielded */
    enum text_reply auth_reply;
};

/* The output queue's release callback: the pin of a value that is sent. */
static void
release_item(void *engine, void *it)
{
    engine_release(engine, it);
}

struct session *
session_create(struct cmd_server *srv, struct stats_thread *st,
               struct outq *out)
{
    struct session *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->ctx.srv = srv;
    s->ctx.st = st;
    s->ctx.out = out;
    s->ctx.fd = -1;
    outq_set_release(out, release_item, srv->engine);
    return s;
}

void
session_set_client(struct session *s, int fd, size_t worker,
                   enum session_proto proto, bool datagrams)
{
    s->ctx.fd = fd;
    s->ctx.ring = worker;
    s->proto = proto;
    s->listener_proto = proto;
    /* Only a negotiating stream's client logs the protocol it chose. */
    s->seen_command = proto != SESSION_PROTO_NEGOTIATE || datagrams;
    if (s->ctx.srv->auth != NULL && !datagrams) {
        /* conf allows -Y with ascii listeners only; the handshake is text */
        s->state = S_AUTH;
        s->proto = SESSION_PROTO_ASCII;
        s->listener_proto = SESSION_PROTO_ASCII;
    }
}

unsigned
session_watch_types(const struct session *s)
{
    return s->ctx.watch;
}

void
session_destroy(struct session *s)
{
    if (s == NULL) {
        return;
    }
    cmd_store_abort(&s->ctx, &s->pending);
    cmd_dump_abort(&s->ctx);
    cmd_sasl_destroy(s->ctx.sasl);
    free(s);
}

bool
session_mid_request(const struct session *s)
{
    /* memcached waits for a handshake's payload as for a command line */
    return s->state != S_CMD && s->state < S_AUTH;
}

void
session_reset(struct session *s)
{
    cmd_store_abort(&s->ctx, &s->pending);
    cmd_dump_abort(&s->ctx);
    s->state = S_CMD;
    s->ctx.out->held = false;
    s->proto = s->listener_proto;
}

/*
 * Text verbs after which memcached writes out every queued reply before
 * reading on (a successful get family and quit). Datagram transports see
 * it in which reply objects share a burst, and watch and metadump in
 * whether earlier replies are still queued (cmd_replies_waiting).
 */
static bool
flushes(enum verb v)
{
    return v == VERB_GET || v == VERB_GETS || v == VERB_GAT || v == VERB_GATS ||
           v == VERB_QUIT;
}

/*
 * -vv: memcached's dump of a binary header, four bytes a line: a
 * request's ("<fd Read binary protocol data:") or a response's.
 */
static void
trace_header(const struct session *s, bool response, const char *hdr)
{
    if (response) {
        fprintf(stderr, ">%d Writing bin response:", s->ctx.fd);
    } else {
        fprintf(stderr, "<%d Read binary protocol data:", s->ctx.fd);
    }
    for (size_t i = 0; i < BINARY_HEADER_LEN; i++) {
        if (i % 4 == 0) {
            fprintf(stderr, response ? "\n>%d  " : "\n<%d   ", s->ctx.fd);
        }
        fprintf(stderr, " 0x%02x", (unsigned char)hdr[i]);
    }
    fprintf(stderr, "\n");
}

/*
 * -vv: memcached's lines for every response queued since stream position
 * pos: an error's text ("Writing an error: Not found"), then the header,
 * except for stat packets (memcached builds those without either) and a
 * GETK/GATK miss (its body is the key, not an error text).
 */
static void
trace_responses(const struct session *s, uint64_t pos)
{
    const struct outq *q = s->ctx.out;
    char hdr[BINARY_HEADER_LEN];
    char text[256];

    while (pos + BINARY_HEADER_LEN <= q->queued &&
           outq_peek_at(q, pos, hdr, sizeof(hdr)) == sizeof(hdr)) {
        uint8_t opcode = (uint8_t)hdr[1];
        uint16_t status =
            (uint16_t)((unsigned char)hdr[6] << 8 | (unsigned char)hdr[7]);
        uint32_t body = (uint32_t)(unsigned char)hdr[8] << 24 |
                        (uint32_t)(unsigned char)hdr[9] << 16 |
                        (uint32_t)(unsigned char)hdr[10] << 8 |
                        (uint32_t)(unsigned char)hdr[11];
        enum binary_opcode cmd = binary_loud(opcode);
        bool keyed_miss =
            (cmd == BINARY_OP_GETK || cmd == BINARY_OP_GATK) && status != 0;
        if (status != 0 && status != 0x21 && !keyed_miss) {
            size_t n = body < sizeof(text) ? body : sizeof(text);
            n = outq_peek_at(q, pos + BINARY_HEADER_LEN, text, n);
            fprintf(stderr, ">%d Writing an error: %.*s\n", s->ctx.fd, (int)n,
                    text);
        }
        if (status == 0 && (cmd == BINARY_OP_GET || cmd == BINARY_OP_GETK ||
                            cmd == BINARY_OP_TOUCH || cmd == BINARY_OP_GAT ||
                            cmd == BINARY_OP_GATK)) {
            /* memcached logs a hit's header before it sets the CAS */
            memset(hdr + 16, 0, 8);
        }
        if (cmd != BINARY_OP_STAT || status != 0) {
            trace_header(s, true, hdr);
        }
        pos += BINARY_HEADER_LEN + (uint64_t)body;
    }
}

/* Copies what has arrived of a data block; true once it is complete. */
static bool
feed_data(struct session *s, struct buf *in)
{
    struct cmd_pending *p = &s->pending;

    while (s->value_off < p->nbytes && buf_rlen(in) > 0) {
        struct wslice ws = engine_wslice(p->item, s->value_off);
        size_t n = buf_rlen(in) < ws.len ? buf_rlen(in) : ws.len;
        memcpy(ws.ptr, buf_rptr(in), n);
        buf_consume(in, n);
        s->value_off += n;
    }
    while (s->value_off == p->nbytes && s->term_got < p->nterm &&
           buf_rlen(in) > 0) {
        s->term[s->term_got++] = *buf_rptr(in);
        buf_consume(in, 1);
    }
    if (s->value_off < p->nbytes || s->term_got < p->nterm) {
        return false;
    }
    bool terminated =
        p->nterm == 0 || (s->term[0] == '\r' && s->term[1] == '\n');
    s->state = S_CMD;
    uint64_t queued = s->ctx.out->queued;
    cmd_store_finish(&s->ctx, p, terminated);
    if (s->ctx.verbose >= 2 && s->proto == SESSION_PROTO_BINARY) {
        trace_responses(s, queued);
    }
    return true;
}

static bool
feed_swallow(struct session *s, struct buf *in)
{
    struct cmd_pending *p = &s->pending;
    size_t n = buf_rlen(in) < p->swallow ? buf_rlen(in) : p->swallow;

    buf_consume(in, n);
    p->swallow -= n;
    if (p->swallow > 0) {
        return false;
    }
    s->state = S_CMD;
    s->ctx.out->held = false;
    return true;
}

/* Starts the data phase a request asked for (CMD_DATA or CMD_SWALLOW). */
static void
begin_data(struct session *s, enum cmd_next next)
{
    if (next == CMD_DATA) {
        s->state = S_DATA;
        s->value_off = 0;
        s->term_got = 0;
    } else if (next == CMD_SWALLOW && s->pending.swallow > 0) {
        s->state = S_SWALLOW;
        /*
         * memcached sends nothing on a binary connection (the error
         * included) until the refused value is gone: net sees `held`.
         */
        s->ctx.out->held = s->proto == SESSION_PROTO_BINARY;
    }
}

/* -vv: "<fd <command line>" (the line without its end of line). */
static void
trace_line(struct session *s, const char *line, size_t used)
{
    const char *nl = memchr(line, '\n', used);
    size_t len = nl != NULL ? (size_t)(nl - line) : used;
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    fprintf(stderr, "<%d %.*s\n", s->ctx.fd, (int)len, line);
}

/*
 * What a request costs beyond running it, when asked for: the mark where
 * its reply starts (datagram transports) and its -vv line.
 */
static void
request_extras(struct session *s, const char *line, size_t used)
{
    outq_mark(s->ctx.out, OUTQ_MARK_REPLY);
    if (s->ctx.verbose >= 2) {
        trace_line(s, line, used);
    }
}

/*
 * What every request does once run, whatever its protocol: the
 * connection closes or becomes a watcher (false, *stop set), or a data
 * block follows, or the next request.
 */
static inline bool
request_ends(struct session *s, enum cmd_next next, enum session_status *stop)
{
    if (next == CMD_CLOSE || next == CMD_WATCH) {
        *stop = next == CMD_CLOSE ? SESSION_CLOSE : SESSION_WATCH;
        return false;
    }
    if (next == CMD_STREAM) {
        s->state = S_STREAM;
        return true;
    }
    begin_data(s, next);
    return true;
}

/*
 * A negotiating listener's client: memcached's binary protocol when the
 * first byte is its request magic, else the ascii one (text and meta).
 */
static void
negotiate(struct session *s, unsigned char first)
{
    s->proto =
        first == BINARY_REQ_MAGIC ? SESSION_PROTO_BINARY : SESSION_PROTO_ASCII;
    if (!s->seen_command && s->ctx.verbose >= 2) {
        fprintf(stderr, "%d: Client using the %s protocol\n", s->ctx.fd,
                s->proto == SESSION_PROTO_BINARY ? "binary" : "ascii");
    }
    s->seen_command = true;
}

/* Runs one binary request; returns as process_meta(). */
static bool
process_binary(struct session *s, struct buf *in, bool extras, unsigned *nreq,
               enum session_status *stop)
{
    struct binary_request req;
    size_t used = 0;
    enum parse_status st =
        binary_parse(buf_rptr(in), buf_rlen(in), &req, &used);

    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        /* a bad magic: memcached closes before writing what is queued */
        *stop = st == PARSE_AGAIN ? SESSION_NEED_INPUT : SESSION_ABORT;
        return false;
    }
    struct slice value = slice_make(NULL, 0);
    if (cmd_binary_wants_value(&s->ctx, &req)) {
        /* bounded by cmd_binary_wants_value() */
        if (buf_rlen(in) - used < req.vlen) {
            *stop = SESSION_NEED_INPUT;
            return false;
        }
        value = slice_make(buf_rptr(in) + used, req.vlen);
    }
    (*nreq)++;
    uint64_t queued = s->ctx.out->queued;
    if (extras) {
        /* each request is a reply object, sent even when empty (quiet) */
        outq_mark(s->ctx.out, OUTQ_MARK_REPLY);
        outq_mark(s->ctx.out, OUTQ_MARK_VALUE);
        if (s->ctx.verbose >= 2) {
            trace_header(s, false, buf_rptr(in));
        }
    }
    enum cmd_next next = cmd_binary_run(&s->ctx, &req, value, &s->pending);
    /* The request's slices point into `in`: consume only now. */
    buf_consume(in, used + value.len);
    if (s->ctx.verbose >= 2) {
        trace_responses(s, queued);
    }
    if (extras && s->ctx.out->marking && s->ctx.out->queued != queued) {
        /* memcached writes a binary reply out at once; quiet ones wait */
        outq_mark_add(s->ctx.out, OUTQ_MARK_FLUSH);
    }
    return request_ends(s, next, stop);
}

/*
 * Runs one meta command line. Returns false, with *stop set, when
 * session_process() must return (the line is incomplete, or the
 * connection closes); true to go on with the next request.
 */
static bool
process_meta(struct session *s, struct buf *in, bool extras, unsigned *nreq,
             enum session_status *stop)
{
    struct meta_request req;
    size_t used = 0;
    enum parse_status st = meta_parse(buf_rptr(in), buf_rlen(in), &req, &used);

    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        *stop = st == PARSE_AGAIN ? SESSION_NEED_INPUT : SESSION_CLOSE;
        return false;
    }
    (*nreq)++;
    if (extras) {
        request_extras(s, buf_rptr(in), used);
    }
    if (st != PARSE_OK) {
        s->pending.swallow = cmd_meta_parse_error(&s->ctx, st, &req);
        buf_consume(in, used);
        begin_data(s, CMD_SWALLOW);
        return true;
    }
    enum cmd_next next = cmd_meta_run(&s->ctx, &req, &s->pending);
    /* The request's slices point into `in`: consume only now. */
    buf_consume(in, used);
    if (req.cmd == META_NOOP) {
        outq_mark(s->ctx.out, OUTQ_MARK_FLUSH); /* see session_reset() */
        s->ctx.flushed_at = s->ctx.out->queued;
    }
    return request_ends(s, next, stop);
}

/* Runs one text command line; returns as process_meta(). */
static bool
process_text(struct session *s, struct buf *in, bool extras, unsigned *nreq,
             enum session_status *stop)
{
    struct request req;
    size_t used = 0;
    enum parse_status st = text_parse(buf_rptr(in), buf_rlen(in), &req, &used);

    if (st == PARSE_AGAIN || st == PARSE_CLOSE) {
        *stop = st == PARSE_AGAIN ? SESSION_NEED_INPUT : SESSION_CLOSE;
        return false;
    }
    (*nreq)++;
    if (extras) {
        request_extras(s, buf_rptr(in), used);
    }
    if (st != PARSE_OK) {
        cmd_text_parse_error(&s->ctx, st, &req);
        buf_consume(in, used);
        return true;
    }
    enum cmd_next next = cmd_text_run(&s->ctx, &req, &s->pending);
    /* The request's slices point into `in`: consume only now. */
    buf_consume(in, used);
    if (flushes(req.verb)) {
        s->ctx.flushed_at = s->ctx.out->queued;
        if (extras && s->ctx.out->marking) {
            outq_mark_add(s->ctx.out, OUTQ_MARK_FLUSH); /* session_reset() */
        }
    }
    return request_ends(s, next, stop);
}

/*
 * -Y: an unauthenticated connection's answer. memcached writes each into
 * one reply buffer that the next answer overwrites until the buffer is
 * sent (when it needs more input or yields), so of several answers read
 * in one go the client gets only the last; -vv logs every one. Each
 * answer counts as a request for -R.
 */
static void
auth_answer(struct session *s, enum text_reply r, unsigned *nreq)
{
    struct slice line = text_reply_line(r);

    cmd_trace(&s->ctx, false, line.ptr, line.len - 2);
    s->auth_reply = r;
    s->auth_answered = true;
    (*nreq)++;
}

/* Queues the answer auth_answer() kept, if any. */
static void
auth_flush(struct session *s)
{
    if (s->auth_answered) {
        text_compose_reply(s->ctx.out, s->auth_reply);
        s->auth_answered = false;
    }
}

/* The handshake's payload: all of it has arrived. */
static void
auth_token(struct session *s, struct buf *in, unsigned *nreq)
{
    struct slice user;
    struct slice pass;
    enum ascii_auth_token t =
        ascii_auth_parse_token(buf_rptr(in), s->auth_payload, &user, &pass);

    if (t == ASCII_AUTH_TOKEN_BAD_END) {
        auth_answer(s, TEXT_AUTH_BAD_END, nreq);
    } else if (t == ASCII_AUTH_TOKEN_BAD_FORMAT) {
        auth_answer(s, TEXT_AUTH_BAD_FORMAT, nreq);
    } else if (cmd_auth_check(&s->ctx, user, pass)) {
        auth_answer(s, TEXT_AUTH_OK, nreq);
        auth_flush(s); /* before the replies of the commands after it */
        s->state = S_CMD;
    } else {
        auth_answer(s, TEXT_AUTH_FAILURE, nreq);
    }
    buf_consume(in, s->auth_payload);
}

/*
 * -Y: runs an unauthenticated connection's input, memcached's handshake
 * (proto/ascii_auth.h). Returns true once the connection is
 * authenticated (state S_CMD: what follows runs as usual); false, with
 * *stop set and the kept answer queued, when session_process() must
 * return. Kept out of line (noinline, cold): inlined into
 * session_process it cost every request of every server 14 to 44
 * instructions (callgrind, set and get), -Y or not, through the loop's
 * register allocation.
 */
__attribute__((noinline, cold)) static bool
process_auth(struct session *s, struct buf *in, unsigned max_reqs,
             unsigned *nreq, enum session_status *stop)
{
    *stop = SESSION_NEED_INPUT;
    while (s->state != S_CMD) {
        size_t have = buf_rlen(in);
        if (s->state == S_AUTH_DATA) {
            if (have < s->auth_payload ||
                s->auth_payload > ASCII_AUTH_PAYLOAD_MAX) {
                /*
                 * A payload larger than memcached's read buffer never
                 * completes there: it closes once the buffer is full and
                 * more is coming.
                 */
                *stop = have > ASCII_AUTH_PAYLOAD_MAX ? SESSION_ABORT
                                                      : SESSION_NEED_INPUT;
                break;
            }
            s->state = S_AUTH;
            auth_token(s, in, nreq);
            continue;
        }
        /*
         * memcached answers -R + 1 requests after a read but -R after a
         * yield; with answers overwriting each other, clients see where
         * it yields.
         */
        if (*nreq > max_reqs || (*nreq == max_reqs && s->auth_yielded)) {
            STATS_INCR(s->ctx.st, conn_yields);
            *stop = SESSION_YIELD;
            break;
        }
        size_t used = 0;
        enum ascii_auth_line l =
            ascii_auth_parse_line(buf_rptr(in), have, &s->auth_payload, &used);
        if (l == ASCII_AUTH_LINE_AGAIN || l == ASCII_AUTH_LINE_CLOSE) {
            /* memcached closes without sending what it kept */
            *stop =
                l == ASCII_AUTH_LINE_AGAIN ? SESSION_NEED_INPUT : SESSION_ABORT;
            break;
        }
        buf_consume(in, used);
        if (l == ASCII_AUTH_LINE_REFUSED) {
            auth_answer(s, TEXT_AUTH_REFUSED, nreq);
        } else {
            s->state = S_AUTH_DATA;
        }
    }
    if (s->state == S_CMD) {
        return true;
    }
    s->auth_yielded = *stop == SESSION_YIELD;
    if (*stop != SESSION_ABORT) {
        auth_flush(s);
    }
    return false;
}

enum session_status
session_process(struct session *s, struct buf *in, unsigned max_reqs)
{
    unsigned nreq = 0;

    s->ctx.verbose =
        atomic_load_explicit(&s->ctx.srv->verbosity, memory_order_relaxed);
    s->ctx.watching = s->ctx.srv->logger == NULL
                          ? 0
                          : atomic_load_explicit(&s->ctx.srv->logger->mask,
                                                 memory_order_relaxed);
    if (s->ctx.verbose >= 3) {
        s->ctx.watching |= CMD_VVV;
    }
    /* Per request, one test of a local says whether request_extras() runs. */
    bool extras = s->ctx.out->marking || s->ctx.verbose >= 2;

    for (;;) {
        /* one test on the common path: between commands */
        if (s->state != S_CMD) {
            if (s->state == S_STREAM) {
                /*
                 * One fill per turn: when it leaves the dump unfinished,
                 * net writes it out and lets the worker's other
                 * connections run (a yield when the socket took it all)
                 * before the next.
                 */
                if (!cmd_dump_fill(&s->ctx, SESSION_OUT_HIGH_WATER)) {
                    /* a datagram transport sends what is queued, goes on */
                    return outq_pending(s->ctx.out) >= SESSION_OUT_HIGH_WATER ||
                                   s->ctx.out->marking
                               ? SESSION_BLOCKED
                               : SESSION_YIELD;
                }
                s->state = S_CMD;
            } else if (s->state >= S_AUTH) {
                enum session_status stop;
                if (!process_auth(s, in, max_reqs, &nreq, &stop)) {
                    return stop;
                }
            } else if ((s->state == S_DATA && !feed_data(s, in)) ||
                       (s->state == S_SWALLOW && !feed_swallow(s, in))) {
                return SESSION_NEED_INPUT;
            }
        }
        if (buf_rlen(in) == 0) {
            return SESSION_NEED_INPUT;
        }
        if (outq_pending(s->ctx.out) >= SESSION_OUT_HIGH_WATER) {
            return SESSION_BLOCKED;
        }
        if (nreq >= max_reqs) { /* >: a -Y handshake may run one more */
            STATS_INCR(s->ctx.st, conn_yields);
            return SESSION_YIELD;
        }
        if (s->proto == SESSION_PROTO_NEGOTIATE) {
            negotiate(s, (unsigned char)*buf_rptr(in));
        }
        enum session_status stop;
        bool go_on;
        if (s->proto == SESSION_PROTO_BINARY) {
            go_on = process_binary(s, in, extras, &nreq, &stop);
        } else if (meta_is_meta(buf_rptr(in), buf_rlen(in))) {
            go_on = process_meta(s, in, extras, &nreq, &stop);
        } else {
            go_on = process_text(s, in, extras, &nreq, &stop);
        }
        if (!go_on) {
            return stop;
        }
    }
}
