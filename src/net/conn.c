/*
 * conn - one client connection on its worker's epoll loop: reads into the
 * input buffer, lets the session run what arrived, and writes the queued
 * replies with as few transport writes as possible (one per batch of
 * requests). Input is not read while too many reply bytes are queued, so
 * a slow reader never makes us buffer without bound.
 *
 * Bytes move only through the connection's transport (transport.h). What
 * epoll waits for follows from the state: while replies are queued, the
 * transport's write_wants (the socket must drain first); otherwise its
 * read_wants.
 */
#include "cmd/cmd.h"
#include "cmd/session.h"
#include "net/net_internal.h"
#include "net/watch.h"
#include "stats/stats.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>

/* iovecs per write; the kernel's limit is IOV_MAX (1024). */
#define CONN_IOV_BATCH 256
/* Free input space below which we make room before the next read. */
#define CONN_MIN_READ  2048

/*
 * Makes epoll wait for `events` on c. On failure the connection is
 * closed (it could never be woken again) and false returned.
 */
static bool
set_events(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};

    if (c->events == events) {
        return true;
    }
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->tp.fd, &ev) != 0) {
        conn_close(c);
        return false;
    }
    c->events = events;
    return true;
}

/* count_in's work, when the buffer's size did change. */
static void
count_in_changed(struct conn *c)
{
    struct stats_conns *sc = c->w->net->srv->conns;
    size_t now = c->in.cap;

    if (c->in_counted == 0) {
        atomic_fetch_add_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
    } else if (now == 0) {
        atomic_fetch_sub_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
    }
    if (now > c->in_counted) {
        atomic_fetch_add_explicit(&sc->read_buf_bytes, now - c->in_counted,
                                  memory_order_relaxed);
    } else {
        atomic_fetch_sub_explicit(&sc->read_buf_bytes, c->in_counted - now,
                                  memory_order_relaxed);
    }
    c->in_counted = now;
}

/*
 * Keeps read_buf_count and read_buf_bytes in step with what c->in holds
 * now. Called where the buffer may have been allocated, grown, shrunk or
 * freed (after each batch of requests, where it is shrunk back): a
 * comparison, and the atomics only when the size changed.
 */
static inline void
count_in(struct conn *c)
{
    if (c->in.cap != c->in_counted) {
        count_in_changed(c);
    }
}

static enum session_proto
session_proto_of(enum net_proto p)
{
    switch (p) {
    case NET_PROTO_ASCII:
        return SESSION_PROTO_ASCII;
    case NET_PROTO_BINARY:
        return SESSION_PROTO_BINARY;
    default:
        return SESSION_PROTO_NEGOTIATE;
    }
}

struct conn *
conn_create(struct worker *w, const struct net_handoff *h)
{
    int fd = h->fd;
    enum net_proto proto = h->proto;
    struct stats_conns *sc = w->net->srv->conns;
    struct conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {.events = EPOLLIN};

    if (c == NULL) {
        return NULL;
    }
    c->w = w;
    c->proto = proto;
    c->peer = h->peer;
    c->fd = fd;
    outq_init(&c->out);
    outq_set_gauges(&c->out, &sc->response_obj_count, &sc->response_obj_bytes);
    /* Under a read buffer limit the buffer comes with the first read. */
    if (!w->rbuf_limited && buf_init(&c->in, NET_READ_BUF) != BUF_OK) {
        goto fail;
    }
    count_in(c);
    c->session = session_create(w->net->srv, w->stats, &c->out);
    if (c->session == NULL) {
        goto fail;
    }
    /* TLS last: its handshake's buffers come and go after ours are in. */
    if (!h->tls) {
        transport_plain_init(&c->tp, fd);
    } else if (transport_tls_init(&c->tp, fd, w->net->cfg.tls, &w->tls_wbuf) !=
               0) {
        goto fail; /* the caller closes fd */
    }
    ev.events = c->tp.read_wants;
    ev.data.ptr = c;
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        goto fail;
    }
    c->events = ev.events;
    c->last_active = w->now;
    c->st = NET_ST_NEW_CMD;
    c->published = net_clock(w->net) << NET_ST_BITS | (uint32_t)NET_ST_NEW_CMD;
    atomic_init(&c->activity, c->published);
    pthread_mutex_lock(&w->list_lock);
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    pthread_mutex_unlock(&w->list_lock);
    session_set_client(c->session, fd, w->id, session_proto_of(proto), false);
    watch_log_conn(c, NULL);
    return c;

fail:
    if (c->tp.state != NULL) {
        c->tp.fd = -1; /* the caller closes fd */
        transport_close(&c->tp);
    }
    session_destroy(c->session);
    buf_deinit(&c->in);
    count_in(c);
    outq_deinit(&c->out);
    free(c);
    return NULL;
}

/*
 * -o read_buf_mem_limit, as memcached: each worker may hold limit / -t
 * bytes of read buffers (at least one), NET_READ_BUF per connection that
 * has unprocessed input; a connection gives its buffer back whenever its
 * input is drained. No lock: the budget is the worker's own.
 */
static bool
rbuf_take(struct conn *c)
{
    struct worker *w = c->w;

    if (c->rbuf_held) {
        return true;
    }
    if (w->rbuf_left < NET_READ_BUF) {
        return false;
    }
    w->rbuf_left -= NET_READ_BUF;
    c->rbuf_held = true;
    return true;
}

static void
rbuf_give_back(struct conn *c)
{
    buf_deinit(&c->in);
    if (c->rbuf_held) {
        c->w->rbuf_left += NET_READ_BUF;
        c->rbuf_held = false;
    }
}

void
conn_close(struct conn *c)
{
    struct worker *w = c->w;

    if (w->rbuf_limited) {
        rbuf_give_back(c);
        count_in(c);
    }
    watch_log_conn(c, c->close_reason != NULL ? c->close_reason : "normal");
    /* Unlinked before the socket closes: a listed fd is an open one. */
    pthread_mutex_lock(&w->list_lock);
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    pthread_mutex_unlock(&w->list_lock);
    transport_close(&c->tp); /* also leaves the epoll set */
    c->dead = true;
    c->prev = NULL;
    c->next = w->dead;
    w->dead = c;
    atomic_fetch_sub(&w->net->srv->conns->curr_connections, 1);
}

void
conn_free(struct conn *c)
{
    session_destroy(c->session);
    buf_deinit(&c->in);
    count_in(c);
    outq_deinit(&c->out);
    free(c);
}

/* Writes queued replies: 0 when all sent, 1 when the socket is full. */
static int
flush(struct conn *c)
{
    struct iovec iov[CONN_IOV_BATCH];

    while (outq_pending(&c->out) > 0) {
        int n = outq_iov(&c->out, iov, CONN_IOV_BATCH);
        ssize_t w = transport_writev(&c->tp, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
        }
        outq_sent(&c->out, (size_t)w);
        stats_add(&c->w->stats->bytes_written, (uint64_t)w);
    }
    return 0;
}

/* Puts a connection that used up its -R requests on the ready list. */
static void
yield(struct conn *c)
{
    struct worker *w = c->w;

    if (c->queued) {
        return;
    }
    c->queued = true;
    c->ready_next = NULL;
    if (w->ready == NULL) {
        w->ready = c;
        return;
    }
    struct conn *t = w->ready;
    while (t->ready_next != NULL) {
        t = t->ready_next;
    }
    t->ready_next = c;
}

enum read_result {
    READ_CLOSED = 0, /* peer gone, error, or no buffer: close */
    READ_DRAINED,    /* nothing more until the transport's read_wants */
    READ_MORE,       /* more input may be there already: read again */
};

/*
 * Reads once. A connection that cannot get a read buffer (out of memory,
 * or over read_buf_mem_limit) is closed without a word and counted in
 * read_buf_oom, as memcached does.
 */
static enum read_result
read_input(struct conn *c)
{
    if (c->w->rbuf_limited && !rbuf_take(c)) {
        STATS_INCR(c->w->stats, read_buf_oom);
        return READ_CLOSED;
    }
    if (buf_wlen(&c->in) < CONN_MIN_READ) {
        enum buf_status bs = buf_reserve(&c->in, NET_READ_BUF);
        count_in(c);
        if (bs != BUF_OK) {
            STATS_INCR(c->w->stats, read_buf_oom);
            return READ_CLOSED;
        }
    }
    size_t room = buf_wlen(&c->in);
    ssize_t n = transport_read(&c->tp, buf_wptr(&c->in), room);
    if (n > 0) {
        buf_commit(&c->in, (size_t)n);
        stats_add(&c->w->stats->bytes_read, (uint64_t)n);
        c->last_active = c->w->now;
        /* A short read drains a socket, not necessarily a transport. */
        return (size_t)n == room || transport_pending(&c->tp) > 0
                   ? READ_MORE
                   : READ_DRAINED;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return READ_DRAINED;
    }
    if (n < 0) {
        c->close_reason = "error"; /* a reset, as memcached reports it */
    }
    return READ_CLOSED;
}

#ifndef NDEBUG
/*
 * Fault injection for the wire tests, compiled out of release builds:
 * with MEMORIA_FAULT_OOM_KEY set (net_create reads it), a batch whose
 * input holds that text behaves as if a reply allocation had failed.
 */
static void
inject_oom(struct conn *c)
{
    const char *key = c->w->net->fault_oom_key;

    if (key != NULL && buf_rlen(&c->in) > 0 &&
        memmem(buf_rptr(&c->in), buf_rlen(&c->in), key, strlen(key)) != NULL) {
        c->out.oom = true;
    }
}
#endif

/*
 * A batch whose replies could not all be queued (outq out of memory) is
 * never sent: part of a reply may be missing (a VALUE header without its
 * value), so the stream can no longer be trusted. The connection closes
 * and response_obj_oom counts it, as memcached counts a response object
 * it cannot allocate. Returns false when it closed c.
 */
static bool
batch_complete(struct conn *c)
{
    /* The flag first: the common case costs one load, no call. */
    if (c->out.oom && outq_failed(&c->out)) {
        STATS_INCR(c->w->stats, response_obj_oom);
        conn_close(c);
        return false;
    }
    return true;
}

/*
 * Runs requests and writes replies until the connection must wait:
 * for input, for the socket to drain, or for its next turn (-R).
 */
static void
drive(struct conn *c, bool do_read)
{
    unsigned max_reqs = c->w->net->cfg.reqs_per_event;
    enum read_result rr = READ_DRAINED;

    for (;;) {
        if (do_read && !c->closing) {
            rr = read_input(c);
            if (rr == READ_CLOSED) {
                conn_close(c);
                return;
            }
        }
        enum session_status st = SESSION_CLOSE;
        if (!c->closing) {
#ifndef NDEBUG
            inject_oom(c);
#endif
            size_t before = buf_rlen(&c->in);
            st = session_process(c->session, &c->in, max_reqs);
            c->consumed |= buf_rlen(&c->in) != before;
            if (!batch_complete(c)) {
                return;
            }
        }
        if (st == SESSION_ABORT) {
            conn_close(c);
            return;
        }
        if (st == SESSION_CLOSE) {
            c->closing = true;
            c->st = NET_ST_CLOSING;
        }
        int fr = c->out.held && !c->closing ? 0 : flush(c);
        if (fr < 0 || (fr == 0 && c->closing)) {
            conn_close(c);
            return;
        }
        if (st == SESSION_WATCH) {
            watch_take_conn(c); /* replies still unsent are dropped */
            return;
        }
        if (fr > 0) {
            if (!c->closing) {
                c->st = NET_ST_MWRITE;
            }
            set_events(c, c->tp.write_wants);
            return;
        }
        if (!set_events(c, c->tp.read_wants)) {
            return;
        }
        switch (st) {
        case SESSION_NEED_INPUT:
            /* read_input asked the transport about pending bytes. */
            if (rr != READ_MORE) {
                c->st = session_mid_request(c->session) ? NET_ST_NREAD
                                                        : NET_ST_READ;
                if (buf_rlen(&c->in) == 0) {
                    if (c->w->rbuf_limited) {
                        rbuf_give_back(c);
                    } else {
                        buf_shrink(&c->in, NET_READ_BUF);
                    }
                    count_in(c);
                }
                return;
            }
            do_read = true;
            break;
        case SESSION_YIELD:
            /* Let other connections run; come back without a read. */
            c->st = NET_ST_NEW_CMD; /* as memcached's yielded connection */
            yield(c);
            return;
        default:
            do_read = false; /* BLOCKED, now drained: carry on */
            break;
        }
    }
}

/*
 * Publishes what `stats conns` shows of c (from any worker): the clock
 * of its last command, taken as the last turn in which the session took
 * input, and its state, which drive() records where it stops (waiting
 * for input, mid data block, for the socket, closing, or yielded). One
 * relaxed store, and only when either changed.
 */
static void
publish(struct conn *c)
{
    uint32_t since = c->published >> NET_ST_BITS;

    if (c->dead) {
        return;
    }
    if (c->consumed) {
        since = net_clock(c->w->net);
        c->consumed = false;
    }
    uint32_t now = since << NET_ST_BITS | c->st;
    if (now != c->published) {
        c->published = now;
        atomic_store_explicit(&c->activity, now, memory_order_relaxed);
    }
}

void
conn_resume(struct conn *c)
{
    drive(c, false);
    publish(c);
}

void
conn_event(struct conn *c, uint32_t events)
{
    if (outq_pending(&c->out) > 0 && !c->out.held) {
        /* Blocked on output: only the socket draining (or an error). */
        int fr = flush(c);
        if (fr < 0 || (fr == 0 && c->closing)) {
            conn_close(c);
        } else if (fr == 0) {
            drive(c, false);
        }
        publish(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        drive(c, true);
        publish(c);
    }
}

void
conn_kick_if_idle(struct conn *c, uint32_t now, uint32_t timeout)
{
    /*
     * As memcached: a client idle between commands goes, even one that
     * has sent part of a command line; one inside a data block, or
     * waiting for its replies to drain, stays.
     */
    if (now - c->last_active <= timeout || outq_pending(&c->out) > 0 ||
        session_mid_request(c->session)) {
        return;
    }
    STATS_INCR(c->w->stats, idle_kicks);
    c->close_reason = "idle_timeout";
    conn_close(c);
}
