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

/*
 * read_buf_count and read_buf_bytes count each input buffer from its
 * allocation to its free, whether a connection holds it or its worker
 * caches it (as memcached counts its read buffer caches);
 * read_buf_bytes_free the cached ones (see rbuf_take). count_in follows a
 * change of c->in's memory from `before` bytes (0: none) to what it holds now;
 * moving a buffer between a connection and the cache changes neither.
 */
static void
count_in(struct conn *c, size_t before)
{
    struct stats_conns *sc = c->w->net->srv->conns;
    size_t now = c->in.cap;

    if (before == 0 && now != 0) {
        atomic_fetch_add_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
    } else if (before != 0 && now == 0) {
        atomic_fetch_sub_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
    }
    if (now > before) {
        atomic_fetch_add_explicit(&sc->read_buf_bytes, now - before,
                                  memory_order_relaxed);
    } else if (now < before) {
        atomic_fetch_sub_explicit(&sc->read_buf_bytes, before - now,
                                  memory_order_relaxed);
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
    /* Reply blocks come from the worker's pool, and go back when idle. */
    outq_set_pool(&c->out, &w->opool);
    /* No input buffer: one comes with each read (rbuf_take). */
    c->session = session_create(w->net->srv, w->stats, &c->out);
    if (c->session == NULL) {
        goto fail;
    }
    /* TLS last: its handshake's buffers come and go after the session's. */
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
    outq_deinit(&c->out);
    free(c);
    return NULL;
}

/*
 * Input buffers. A connection takes one when it is about to read and
 * gives it back once its input is all run and it is not mid-request
 * (memcached likewise releases its read buffer only between requests),
 * so an idle connection holds none. The worker keeps up to
 * NET_RBUF_CACHE given-back buffers for its next readers; buffers grown
 * past NET_READ_BUF for a long line are freed, never cached. No lock: a
 * buffer never leaves its worker.
 *
 * One cached buffer, w->rbuf_hot, is the one a client sending a request
 * per read takes and gives back each time: a pointer moved each way, no
 * count kept. The others (rbuf_free) serve clients holding a buffer
 * across reads, and read_buf_bytes_free counts them as they come and go:
 * a relaxed atomic, off the path of a request per read. So the gauge
 * leaves out each worker's hot buffer (memcached counts every cached
 * one), and the reader of `stats` never sees its own buffer as free.
 *
 * -o read_buf_mem_limit, as memcached: each worker may have limit / -t
 * bytes of read buffers allocated (at least one), cached ones included,
 * NET_READ_BUF for each whatever it grew to; w->rbuf_left is what is
 * left of it (UINT64_MAX without the option). A cached buffer can always
 * be taken, so the budget is charged only where a buffer is allocated
 * or freed.
 */
static bool
rbuf_take_cold(struct conn *c)
{
    struct worker *w = c->w;

    if (w->rbuf_nfree > 0) {
        c->in.data = w->rbuf_free[--w->rbuf_nfree];
        c->in.cap = NET_READ_BUF;
        atomic_fetch_sub_explicit(&w->net->srv->conns->read_buf_bytes_free,
                                  NET_READ_BUF, memory_order_relaxed);
        return true;
    }
    if (w->rbuf_left < NET_READ_BUF ||
        buf_init(&c->in, NET_READ_BUF) != BUF_OK) {
        return false;
    }
    w->rbuf_left -= NET_READ_BUF;
    count_in(c, 0);
    return true;
}

/* For a connection with no buffer (cap 0); false: it can get none. */
static inline bool
rbuf_take(struct conn *c, struct worker *w)
{
    char *hot = w->rbuf_hot;

    if (hot == NULL) {
        return rbuf_take_cold(c);
    }
    /* An empty buf's positions are 0 (buf_consume resets them). */
    w->rbuf_hot = NULL;
    c->in.data = hot;
    c->in.cap = NET_READ_BUF;
    return true;
}

static void
rbuf_give_back_cold(struct conn *c)
{
    struct worker *w = c->w;
    size_t before = c->in.cap;

    if (before == NET_READ_BUF && w->rbuf_nfree < NET_RBUF_CACHE - 1) {
        w->rbuf_free[w->rbuf_nfree++] = c->in.data;
        c->in.data = NULL;
        c->in.cap = 0;
        atomic_fetch_add_explicit(&w->net->srv->conns->read_buf_bytes_free,
                                  NET_READ_BUF, memory_order_relaxed);
        return;
    }
    if (before == 0) {
        return; /* holds none */
    }
    w->rbuf_left += NET_READ_BUF;
    buf_deinit(&c->in);
    count_in(c, before);
}

/* Only for a connection with no unread input. */
static inline void
rbuf_give_back(struct conn *c, struct worker *w)
{
    if (c->in.cap != NET_READ_BUF || w->rbuf_hot != NULL) {
        rbuf_give_back_cold(c);
        return;
    }
    w->rbuf_hot = c->in.data;
    c->in.data = NULL;
    c->in.cap = 0;
}

/* Frees one cached buffer at exit. */
static void
rbuf_drop(struct worker *w, char *p)
{
    struct stats_conns *sc = w->net->srv->conns;

    free(p);
    w->rbuf_left += NET_READ_BUF;
    atomic_fetch_sub_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&sc->read_buf_bytes, NET_READ_BUF,
                              memory_order_relaxed);
}

void
conn_rbuf_drain(struct worker *w)
{
    struct stats_conns *sc = w->net->srv->conns;

    while (w->rbuf_nfree > 0) {
        rbuf_drop(w, w->rbuf_free[--w->rbuf_nfree]);
        atomic_fetch_sub_explicit(&sc->read_buf_bytes_free, NET_READ_BUF,
                                  memory_order_relaxed);
    }
    if (w->rbuf_hot != NULL) {
        rbuf_drop(w, w->rbuf_hot);
        w->rbuf_hot = NULL;
    }
}

void
conn_close(struct conn *c)
{
    struct worker *w = c->w;

    buf_consume(&c->in, buf_rlen(&c->in));
    rbuf_give_back(c, w);
    /*
     * On the worker's thread, watch_take_conn's close included (a watcher
     * takes the socket, never the queue): the pool is the worker's.
     */
    if (outq_pending(&c->out) == 0) {
        outq_idle_to(&c->out, &w->opool); /* else conn_free frees it */
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
read_input(struct conn *c, struct worker *w)
{
    if (c->in.cap == 0) {
        if (!rbuf_take(c, w)) { /* a fresh buffer: room enough */
            STATS_INCR(w->stats, read_buf_oom);
            return READ_CLOSED;
        }
        outq_take_hot(&c->out, &w->opool); /* both were given back */
    } else if (buf_wlen(&c->in) < CONN_MIN_READ) {
        size_t before = c->in.cap;
        enum buf_status bs = buf_reserve(&c->in, NET_READ_BUF);
        count_in(c, before);
        if (bs != BUF_OK) {
            STATS_INCR(w->stats, read_buf_oom);
            return READ_CLOSED;
        }
    }
    size_t room = buf_wlen(&c->in);
    ssize_t n = transport_read(&c->tp, buf_wptr(&c->in), room);
    if (n > 0) {
        buf_commit(&c->in, (size_t)n);
        stats_add(&w->stats->bytes_read, (uint64_t)n);
        c->last_active = w->now;
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
 * for input, for the socket to drain, or for its next turn (-R). Reads
 * first if do_read; rr is what the transport said last (READ_MORE: it
 * may hold input already, so read before waiting for an event).
 */
static void
drive(struct conn *c, bool do_read, enum read_result rr)
{
    struct worker *w = c->w;
    unsigned max_reqs = w->net->cfg.reqs_per_event;

    for (;;) {
        if (do_read && !c->closing) {
            rr = read_input(c, w);
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
                bool mid = session_mid_request(c->session);
                c->st = mid ? NET_ST_NREAD : NET_ST_READ;
                if (buf_rlen(&c->in) != 0) {
                    return; /* a partial request: keep the buffer */
                }
                if (!mid) {
                    /*
                     * Idle, its replies all sent (only a request's
                     * refused value holds them, mid-request; else flush
                     * ran): it holds no input buffer and no reply block.
                     * Always both, so one without the other has none.
                     */
                    assert(!c->out.held);
                    rbuf_give_back(c, w);
                    outq_idle_to(&c->out, &w->opool);
                } else if (c->in.cap > NET_READ_BUF) {
                    /* grown for a long line; the data block goes past it */
                    size_t before = c->in.cap;
                    buf_shrink(&c->in, NET_READ_BUF);
                    count_in(c, before);
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

/*
 * For a connection run without a read (yielded, or the socket took its
 * replies): a TLS transport may hold decrypted input that no epoll event
 * will announce, so drive must read it before waiting, with or without
 * a buffer (one given back is taken again).
 */
static enum read_result
input_left(const struct conn *c)
{
    return transport_pending(&c->tp) > 0 ? READ_MORE : READ_DRAINED;
}

void
conn_resume(struct conn *c)
{
    drive(c, false, input_left(c));
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
            drive(c, false, input_left(c));
        }
        publish(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        drive(c, true, READ_DRAINED);
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
