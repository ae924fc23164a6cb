#include "net/watch.h"

#include "cmd/cmd.h"
#include "cmd/logger.h"
#include "cmd/session.h"
#include "net/net_internal.h"
#include "stats/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* How often the rings are drained while someone watches. */
#define WATCH_TICK_MS 5

struct watcher {
    int fd;
    struct transport tp; /* tp.fd is fd; a TLS one writes records */
    unsigned types;
    struct sockaddr_storage peer; /* for `stats conns` */
    uint32_t since;
    char *buf;
    size_t len;       /* bytes in buf not yet written */
    uint64_t skipped; /* entries lost since the last "skipped=" line */
};

struct watch {
    struct logger *lg;
    struct stats_conns *conns; /* a watcher still counts as a connection */
    size_t buf_cap;
    int wake_fd;
    pthread_t thread;
    pthread_mutex_t lock; /* guards the hand-off fields below */
    bool stop;
    size_t nnew;
    struct watcher new_w[LOGGER_MAX_WATCHERS]; /* fd, types, peer, since */
    /* The watch thread's own; nw and the entries change under lock. */
    size_t nw;
    struct watcher w[LOGGER_MAX_WATCHERS];
    char line[LOGBUF_ENTRY_MAX]; /* the entry being delivered */
    struct tls_wbuf tls_wbuf;    /* TLS watchers' record buffer */
};

/*
 * A conn_new (reason NULL) or conn_close line for socket fd, whose peer
 * is *peer (as accept gave it: a reset socket no longer knows it), or
 * asked of the socket when peer is NULL.
 */
static void
conn_event_line(struct logger *lg, size_t ring, int fd,
                const struct sockaddr_storage *peer, const char *reason)
{
    struct sockaddr_storage sa;
    socklen_t salen = sizeof(sa);
    char ip[INET6_ADDRSTRLEN] = "";
    int port = 0;
    const char *transport = "tcp";

    memset(&sa, 0, sizeof(sa));
    if (peer != NULL) {
        sa = *peer;
    } else {
        getpeername(fd, (struct sockaddr *)&sa, &salen);
    }
    if (sa.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&sa;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        port = ntohs(in->sin_port);
    } else if (sa.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        port = ntohs(in6->sin6_port);
    } else {
        transport = "local";
    }
    logger_conn_event(lg, ring, ip, port, transport, reason, fd);
}

static void
set_mask(struct watch *wt)
{
    unsigned mask = 0;

    for (size_t i = 0; i < wt->nw; i++) {
        mask |= wt->w[i].types;
    }
    atomic_store_explicit(&wt->lg->mask, mask, memory_order_relaxed);
}

/* memcached reports a watcher's end as a connection closed by an error. */
static void
drop_watcher(struct watch *wt, size_t i)
{
    int fd = wt->w[i].fd;

    wt->w[i].types = 0; /* not told about its own end */
    set_mask(wt);
    if (logger_wants(wt->lg, LOG_connevents)) {
        conn_event_line(wt->lg, wt->lg->nrings - 1, fd, NULL, "error");
    }
    pthread_mutex_lock(&wt->lock); /* unlisted before the fd closes */
    transport_close(&wt->w[i].tp);
    free(wt->w[i].buf);
    wt->w[i] = wt->w[--wt->nw];
    pthread_mutex_unlock(&wt->lock);
    atomic_fetch_sub(&wt->lg->nwatchers, 1);
    atomic_fetch_sub(&wt->conns->curr_connections, 1);
    set_mask(wt);
}

static bool
append(struct watch *wt, struct watcher *w, const char *line, size_t len)
{
    if (wt->buf_cap - w->len < len) {
        return false;
    }
    memcpy(w->buf + w->len, line, len);
    w->len += len;
    return true;
}

/* One entry for one watcher: a skipped line first if it lost some. */
static void
count(_Atomic uint64_t *v)
{
    atomic_store_explicit(v, atomic_load_explicit(v, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static void
deliver(struct watch *wt, struct watcher *w, const char *line, size_t len)
{
    if (w->skipped > 0) {
        char note[40];
        int n = snprintf(note, sizeof(note), "skipped=%llu\n",
                         (unsigned long long)w->skipped);
        if (!append(wt, w, note, (size_t)n)) {
            w->skipped++;
            count(&wt->lg->watcher_skipped);
            return;
        }
        w->skipped = 0;
    }
    if (!append(wt, w, line, len)) {
        w->skipped++;
        count(&wt->lg->watcher_skipped);
    } else {
        count(&wt->lg->watcher_sent);
    }
}

static void
drain_rings(struct watch *wt)
{
    char *line = wt->line;
    uint16_t type;
    size_t len;

    for (size_t r = 0; r < wt->lg->nrings; r++) {
        while ((len = logbuf_take(&wt->lg->rings[r], &type, line)) > 0) {
            for (size_t i = 0; i < wt->nw; i++) {
                if (wt->w[i].types & type) {
                    deliver(wt, &wt->w[i], line, len);
                }
            }
        }
    }
}

/* Writes what it can; false if the watcher is gone. */
static bool
flush_watcher(struct watcher *w)
{
    size_t off = 0;

    while (off < w->len) {
        struct iovec iov = {.iov_base = w->buf + off, .iov_len = w->len - off};
        ssize_t n = transport_writev(&w->tp, &iov, 1);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                return false;
            }
            break;
        }
        off += (size_t)n;
    }
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return true;
}

/* A watcher sends nothing we act on; EOF or an error means it left. */
static bool
still_there(struct watcher *w)
{
    char junk[512];

    for (;;) {
        ssize_t n = transport_read(&w->tp, junk, sizeof(junk));
        if (n > 0) {
            continue;
        }
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
}

/* Takes the watchers handed over since the last turn; false on stop. */
static bool
take_new(struct watch *wt)
{
    uint64_t v;
    bool stop;

    if (read(wt->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        perror("watch wake read");
    }
    pthread_mutex_lock(&wt->lock);
    stop = wt->stop;
    for (size_t i = 0; i < wt->nnew; i++) {
        struct watcher *w = &wt->w[wt->nw];
        *w = wt->new_w[i];
        w->buf = malloc(wt->buf_cap);
        if (w->buf == NULL) {
            transport_close(&w->tp);
            atomic_fetch_sub(&wt->lg->nwatchers, 1);
            atomic_fetch_sub(&wt->conns->curr_connections, 1);
            continue;
        }
        w->len = 0;
        w->skipped = 0;
        append(wt, w, "OK\r\n", 4);
        wt->nw++;
    }
    wt->nnew = 0;
    pthread_mutex_unlock(&wt->lock);
    /* The mask is set before the OK goes out: no line after it is lost. */
    set_mask(wt);
    return !stop;
}

static void *
watch_main(void *arg)
{
    struct watch *wt = arg;
    struct pollfd pfd[LOGGER_MAX_WATCHERS + 1];

    for (;;) {
        pfd[0] = (struct pollfd){.fd = wt->wake_fd, .events = POLLIN};
        for (size_t i = 0; i < wt->nw; i++) {
            pfd[i + 1] = (struct pollfd){.fd = wt->w[i].fd, .events = POLLIN};
        }
        int n = poll(pfd, wt->nw + 1, wt->nw > 0 ? WATCH_TICK_MS : -1);
        if (n < 0 && errno != EINTR) {
            perror("watch poll");
            break;
        }
        size_t nw = wt->nw;
        for (size_t i = nw; i-- > 0;) {
            if (pfd[i + 1].revents != 0 && !still_there(&wt->w[i])) {
                drop_watcher(wt, i);
            }
        }
        if ((pfd[0].revents & POLLIN) && !take_new(wt)) {
            break;
        }
        drain_rings(wt);
        for (size_t i = wt->nw; i-- > 0;) {
            if (!flush_watcher(&wt->w[i])) {
                drop_watcher(wt, i);
            }
        }
    }
    while (wt->nw > 0) {
        drop_watcher(wt, wt->nw - 1);
    }
    return NULL;
}

struct watch *
watch_create(struct logger *lg, struct stats_conns *conns, size_t watcher_buf)
{
    struct watch *wt = calloc(1, sizeof(*wt));

    if (wt == NULL) {
        return NULL;
    }
    wt->lg = lg;
    wt->conns = conns;
    /* Room for at least one entry and its skipped line. */
    wt->buf_cap =
        watcher_buf > 2 * LOGBUF_ENTRY_MAX ? watcher_buf : 2 * LOGBUF_ENTRY_MAX;
    wt->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wt->wake_fd < 0 || pthread_mutex_init(&wt->lock, NULL) != 0) {
        goto fail;
    }
    if (pthread_create(&wt->thread, NULL, watch_main, wt) != 0) {
        pthread_mutex_destroy(&wt->lock);
        goto fail;
    }
    return wt;

fail:
    if (wt->wake_fd >= 0) {
        close(wt->wake_fd);
    }
    free(wt);
    return NULL;
}

static void
wake(struct watch *wt)
{
    uint64_t one = 1;

    if (write(wt->wake_fd, &one, sizeof(one)) < 0) {
        perror("watch wake write");
    }
}

void
watch_destroy(struct watch *wt)
{
    if (wt == NULL) {
        return;
    }
    pthread_mutex_lock(&wt->lock);
    wt->stop = true;
    pthread_mutex_unlock(&wt->lock);
    wake(wt);
    pthread_join(wt->thread, NULL);
    for (size_t i = 0; i < wt->nnew; i++) {
        transport_close(&wt->new_w[i].tp);
        atomic_fetch_sub(&wt->conns->curr_connections, 1);
    }
    pthread_mutex_destroy(&wt->lock);
    close(wt->wake_fd);
    tls_wbuf_deinit(&wt->tls_wbuf);
    free(wt);
}

void
watch_adopt(struct watch *wt, const struct transport *tp, unsigned types,
            const struct sockaddr_storage *peer, uint32_t since)
{
    int fd = tp->fd;
    bool queued = false;

    if (fd >= 0) {
        pthread_mutex_lock(&wt->lock);
        /* Slots are counted by the watch command: never more than fit. */
        if (wt->nnew < LOGGER_MAX_WATCHERS) {
            struct watcher *w = &wt->new_w[wt->nnew++];
            memset(w, 0, sizeof(*w));
            w->fd = fd;
            w->tp = *tp;
            /* From now on the watch thread writes: its own buffer. */
            transport_tls_lend(&w->tp, &wt->tls_wbuf);
            w->types = types;
            w->peer = *peer;
            w->since = since;
            queued = true;
        }
        pthread_mutex_unlock(&wt->lock);
    }
    if (!queued) {
        struct transport left = *tp;
        transport_close(&left);
        atomic_fetch_sub(&wt->lg->nwatchers, 1);
        atomic_fetch_sub(&wt->conns->curr_connections, 1);
        return;
    }
    wake(wt);
}

void
watch_log_conn(struct conn *c, const char *reason)
{
    struct logger *lg = c->w->net->srv->logger;

    if (c->tp.fd < 0) {
        return;
    }
    if (net_verbosity(c->w->net) >= 2) {
        if (reason == NULL && c->proto == NET_PROTO_ASCII) {
            fprintf(stderr, "<%d new ascii client connection.\n", c->tp.fd);
        } else if (reason == NULL && c->proto == NET_PROTO_BINARY) {
            fprintf(stderr, "<%d new binary client connection.\n", c->tp.fd);
        } else if (reason == NULL) {
            fprintf(stderr, "<%d new auto-negotiating client connection\n",
                    c->tp.fd);
        } else {
            fprintf(stderr, "<%d connection closed.\n", c->tp.fd);
        }
    }
    if (!logger_wants(lg, LOG_connevents)) {
        return;
    }
    conn_event_line(lg, c->w->id, c->tp.fd, &c->peer, reason);
}

void
watch_take_conn(struct conn *c)
{
    struct watch *wt = c->w->net->watch;
    struct transport tp = c->tp;
    unsigned types = session_watch_types(c->session);

    /*
     * The socket (and its TLS state) outlives the connection: conn_close
     * must not close it.
     */
    epoll_ctl(c->w->epfd, EPOLL_CTL_DEL, tp.fd, NULL);
    c->tp.fd = -1;
    c->tp.state = NULL;
    conn_close(c);
    atomic_fetch_add(&c->w->net->srv->conns->curr_connections, 1);
    watch_adopt(wt, &tp, types, &c->peer, net_clock(c->w->net));
}

/* One row; the socket is open while the lock is held. */
static bool
add_row(struct net_rows *rows, const struct watcher *w)
{
    struct net_row *r = net_rows_add(rows);
    socklen_t len = sizeof(r->local);

    if (r == NULL) {
        return false;
    }
    r->fd = w->fd;
    r->kind = NET_ROW_CLIENT;
    r->state = NET_ST_WATCH;
    r->since = w->since;
    r->addr = w->peer;
    getsockname(w->fd, (struct sockaddr *)&r->local, &len);
    return true;
}

bool
watch_report(struct watch *wt, struct net_rows *rows)
{
    bool ok = true;

    if (wt == NULL) {
        return true;
    }
    pthread_mutex_lock(&wt->lock);
    for (size_t i = 0; ok && i < wt->nw; i++) {
        ok = add_row(rows, &wt->w[i]);
    }
    for (size_t i = 0; ok && i < wt->nnew; i++) {
        ok = add_row(rows, &wt->new_w[i]);
    }
    pthread_mutex_unlock(&wt->lock);
    return ok;
}
