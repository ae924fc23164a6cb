/*
 * conn - one client connection on its worker's epoll loop: reads into the
 * input buffer, lets the session run what arrived, and writes the queued
 * replies with as few writev() calls as possible (one per batch of
 * requests). Input is not read while too many reply bytes are queued, so
 * a slow reader never makes us buffer without bound.
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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/*
 * read, writev and epoll_wait go through syscall(): glibc's wrappers of
 * these cancellation points toggle asynchronous cancellation around every
 * call (about 90 instructions per request), and our threads are never
 * cancelled.
 */

/* iovecs per writev(); the kernel's limit is IOV_MAX (1024). */
#define CONN_IOV_BATCH 256
/* Free input space below which we make room before the next read. */
#define CONN_MIN_READ  2048

static void
set_events(struct conn *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = c};

    epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

struct conn *
conn_create(struct worker *w, int fd)
{
    struct conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {.events = EPOLLIN};

    if (c == NULL) {
        return NULL;
    }
    c->w = w;
    c->fd = fd;
    outq_init(&c->out);
    if (buf_init(&c->in, NET_READ_BUF) != BUF_OK) {
        goto fail;
    }
    c->session = session_create(w->net->srv, w->stats, &c->out);
    ev.data.ptr = c;
    if (c->session == NULL || epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        goto fail;
    }
    c->next = w->conns;
    if (w->conns != NULL) {
        w->conns->prev = c;
    }
    w->conns = c;
    atomic_fetch_add(&w->net->srv->conns->connection_structures, 1);
    session_set_client(c->session, fd, w->id);
    watch_log_conn(c, NULL);
    return c;

fail:
    session_destroy(c->session);
    buf_deinit(&c->in);
    outq_deinit(&c->out);
    free(c);
    return NULL;
}

void
conn_close(struct conn *c)
{
    struct worker *w = c->w;

    watch_log_conn(c, "normal");
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        w->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    close(c->fd); /* also leaves the epoll set */
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
    outq_deinit(&c->out);
    free(c);
}

/*
 * The socket calls, not read/writev: those go through the VFS layer
 * (fdget_pos, rw_verify_area, the iter wrappers) before reaching the
 * socket, about 100 ns more per request on loopback. One contiguous
 * reply, the common case, goes out with sendto(), which also skips
 * sendmsg's copy of the msghdr.
 */
static ssize_t
send_iov(int fd, const struct iovec *iov, int n)
{
    if (n == 1) {
        return syscall(SYS_sendto, fd, iov[0].iov_base, iov[0].iov_len,
                       MSG_NOSIGNAL, NULL, 0);
    }
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)n};
    return syscall(SYS_sendmsg, fd, &msg, MSG_NOSIGNAL);
}

/* Writes queued replies: 0 when all sent, 1 when the socket is full. */
static int
flush(struct conn *c)
{
    struct iovec iov[CONN_IOV_BATCH];

    while (outq_pending(&c->out) > 0) {
        int n = outq_iov(&c->out, iov, CONN_IOV_BATCH);
        ssize_t w = send_iov(c->fd, iov, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 1 : -1;
        }
        outq_sent(&c->out, (size_t)w);
        stats_add(&c->w->stats->bytes_written, (uint64_t)w);
        session_sent(c->session);
    }
    return 0;
}

/* Waits for the socket to drain instead of reading more requests. */
static void
wait_writable(struct conn *c)
{
    if (!c->writing) {
        set_events(c, EPOLLOUT);
        c->writing = true;
    }
}

static void
wait_readable(struct conn *c)
{
    if (c->writing) {
        set_events(c, EPOLLIN);
        c->writing = false;
    }
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

/* Reads once. Returns false if the connection is finished. */
static bool
read_input(struct conn *c)
{
    if (buf_wlen(&c->in) < CONN_MIN_READ &&
        buf_reserve(&c->in, NET_READ_BUF) != BUF_OK) {
        STATS_INCR(c->w->stats, conn_oom);
        return false;
    }
    size_t room = buf_wlen(&c->in);
    ssize_t n =
        syscall(SYS_recvfrom, c->fd, buf_wptr(&c->in), room, 0, NULL, NULL);
    if (n > 0) {
        buf_commit(&c->in, (size_t)n);
        stats_add(&c->w->stats->bytes_read, (uint64_t)n);
        c->read_more = (size_t)n == room;
        return true;
    }
    c->read_more = false;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;
    }
    return false;
}

/*
 * Runs requests and writes replies until the connection must wait:
 * for input, for the socket to drain, or for its next turn (-R).
 */
static void
drive(struct conn *c, bool do_read)
{
    unsigned max_reqs = c->w->net->cfg.reqs_per_event;

    for (;;) {
        if (do_read && !c->closing && !read_input(c)) {
            conn_close(c);
            return;
        }
        enum session_status st = SESSION_CLOSE;
        if (!c->closing) {
            st = session_process(c->session, &c->in, max_reqs);
        }
        if (st == SESSION_CLOSE) {
            c->closing = true;
        }
        int fr = flush(c);
        if (fr < 0 || (fr == 0 && c->closing)) {
            conn_close(c);
            return;
        }
        if (st == SESSION_WATCH) {
            watch_take_conn(c); /* replies still unsent are dropped */
            return;
        }
        if (fr > 0) {
            wait_writable(c);
            return;
        }
        wait_readable(c);
        switch (st) {
        case SESSION_NEED_INPUT:
            if (!c->read_more) {
                if (buf_rlen(&c->in) == 0) {
                    buf_shrink(&c->in, NET_READ_BUF);
                }
                return;
            }
            do_read = true;
            break;
        case SESSION_YIELD:
            /* Let other connections run; come back without a read. */
            yield(c);
            return;
        default:
            do_read = false; /* BLOCKED, now drained: carry on */
            break;
        }
    }
}

void
conn_resume(struct conn *c)
{
    drive(c, false);
}

void
conn_event(struct conn *c, uint32_t events)
{
    if (c->writing) {
        /* Only EPOLLOUT (or an error) is expected while blocked. */
        int fr = flush(c);
        if (fr < 0 || (fr == 0 && c->closing)) {
            conn_close(c);
        } else if (fr == 0) {
            drive(c, false);
        }
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        drive(c, true);
    }
}
