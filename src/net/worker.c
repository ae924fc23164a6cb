/*
 * worker - worker threads. Each runs its own epoll event loop and owns the
 * connections handed to it. The listener passes sockets through a small
 * mutex-guarded queue and an eventfd; the same path carries the stop
 * request. One loop turn: wait for events (or not at all when a yielded
 * connection is ready to run), handle them, run the ready list, then free
 * the connections closed during the turn (a later event of the same batch
 * may still name them).
 */
#include "cmd/cmd.h"
#include "net/net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* epoll events taken per wait. */
#define WORKER_EVENTS 64

static void
drain_queue(struct worker *w, struct net_handoff **fds, size_t *n)
{
    pthread_mutex_lock(&w->lock);
    *fds = w->queue;
    *n = w->nqueue;
    w->queue = NULL;
    w->nqueue = 0;
    w->queue_cap = 0;
    pthread_mutex_unlock(&w->lock);
}

static void
on_notify(struct worker *w)
{
    uint64_t v;
    struct net_handoff *fds = NULL;
    size_t n = 0;

    if (read(w->notify_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        perror("worker notify read");
    }
    drain_queue(w, &fds, &n);
    for (size_t i = 0; i < n; i++) {
        if (fds[i].fd < 0) {
            w->stop = true;
            continue;
        }
        if (conn_create(w, &fds[i]) == NULL) {
            close(fds[i].fd);
            atomic_fetch_sub(&w->net->srv->conns->curr_connections, 1);
        }
    }
    free(fds);
}

void
worker_hand_off(struct worker *w, int fd, enum net_proto proto, bool tls,
                const struct sockaddr_storage *peer)
{
    uint64_t one = 1;
    bool queued = false;

    pthread_mutex_lock(&w->lock);
    if (w->nqueue == w->queue_cap) {
        size_t cap = w->queue_cap != 0 ? w->queue_cap * 2 : 16;
        struct net_handoff *q = realloc(w->queue, cap * sizeof(*q));
        if (q != NULL) {
            w->queue = q;
            w->queue_cap = cap;
        }
    }
    if (w->nqueue < w->queue_cap) {
        struct net_handoff *h = &w->queue[w->nqueue++];
        h->fd = fd;
        h->proto = proto;
        h->tls = tls;
        if (peer != NULL) {
            h->peer = *peer;
        } else {
            memset(&h->peer, 0, sizeof(h->peer));
        }
        queued = true;
    }
    pthread_mutex_unlock(&w->lock);
    if (!queued) {
        if (fd >= 0) {
            close(fd);
            atomic_fetch_sub(&w->net->srv->conns->curr_connections, 1);
        }
        return;
    }
    if (write(w->notify_fd, &one, sizeof(one)) < 0) {
        perror("worker notify write");
    }
}

/* Runs the connections that yielded after -R requests, oldest first. */
static void
run_ready(struct worker *w)
{
    struct conn *c = w->ready;

    w->ready = NULL;
    while (c != NULL) {
        struct conn *next = c->ready_next;
        c->ready_next = NULL;
        c->queued = false;
        if (!c->dead) {
            conn_resume(c);
        }
        c = next;
    }
}

static void
free_dead(struct worker *w)
{
    while (w->dead != NULL) {
        struct conn *c = w->dead;
        w->dead = c->next;
        conn_free(c);
    }
}

static uint32_t
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint32_t)ts.tv_sec;
}

/*
 * -o idle_timeout: once a second (the loop wakes at least that often)
 * close the connections idle for longer than the timeout. No extra
 * thread: each worker sweeps its own list.
 */
static void
sweep_idle(struct worker *w, uint32_t timeout)
{
    w->now = now_seconds();
    if (w->now == w->last_sweep) {
        return;
    }
    w->last_sweep = w->now;
    struct conn *c = w->conns;
    while (c != NULL) {
        struct conn *next = c->next;
        conn_kick_if_idle(c, w->now, timeout);
        c = next;
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[WORKER_EVENTS];
    uint32_t idle = (uint32_t)w->net->cfg.idle_timeout;
    int wait_ms = idle > 0 ? 1000 : -1;

    if (idle > 0) {
        w->now = now_seconds();
        w->last_sweep = w->now;
    }
    while (!w->stop) {
        /* syscall(): no cancellation wrapper (see transport.c). */
        int n = (int)syscall(SYS_epoll_wait, w->epfd, evs, WORKER_EVENTS,
                             w->ready != NULL ? 0 : wait_ms);
        if (n < 0 && errno != EINTR) {
            perror("epoll_wait");
            break;
        }
        if (idle > 0) {
            sweep_idle(w, idle);
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c == NULL) {
                on_notify(w);
            } else if (net_is_udp(c)) {
                udp_event(net_udp_conn(c), evs[i].events);
            } else if (!c->dead) {
                conn_event(c, evs[i].events);
            }
        }
        run_ready(w);
        free_dead(w);
    }
    while (w->conns != NULL) {
        conn_close(w->conns);
    }
    free_dead(w);
    conn_rbuf_drain(w);
    outq_pool_drain(&w->opool);
    return NULL;
}

static int
worker_init(struct net *n, struct worker *w, unsigned id)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};

    w->net = n;
    w->id = id;
    w->stats = n->srv->threads[id];
    outq_pool_init(&w->opool, &n->srv->conns->response_obj_count,
                   &n->srv->conns->response_obj_bytes);
    w->rbuf_left = UINT64_MAX; /* no limit */
    if (n->cfg.read_buf_limit > 0) {
        /* memcached splits the limit between workers, one buffer each at least.
         */
        w->rbuf_left = n->cfg.read_buf_limit / n->cfg.nthreads;
        if (w->rbuf_left < NET_READ_BUF) {
            w->rbuf_left = NET_READ_BUF;
        }
    }
    w->notify_fd = -1;
    w->epfd = -1;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        return -1;
    }
    if (pthread_mutex_init(&w->list_lock, NULL) != 0) {
        pthread_mutex_destroy(&w->lock);
        return -1;
    }
    w->inited = true;
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->epfd < 0 || w->notify_fd < 0 ||
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->notify_fd, &ev) != 0) {
        return -1;
    }
    return udp_attach(w);
}

static void
worker_deinit(struct worker *w)
{
    if (!w->inited) {
        return;
    }
    if (w->epfd >= 0) {
        close(w->epfd);
    }
    if (w->notify_fd >= 0) {
        close(w->notify_fd);
    }
    udp_detach(w);
    free(w->queue);
    tls_wbuf_deinit(&w->tls_wbuf);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->list_lock);
    w->inited = false;
}

int
worker_start_all(struct net *n)
{
    n->workers = calloc(n->cfg.nthreads, sizeof(*n->workers));
    if (n->workers == NULL) {
        return -1;
    }
    /*
     * Every worker is set up before the first thread starts: a worker's
     * `stats conns` reads the others' lists and locks.
     */
    for (unsigned i = 0; i < n->cfg.nthreads; i++) {
        if (worker_init(n, &n->workers[i], i) != 0) {
            return -1;
        }
    }
    for (unsigned i = 0; i < n->cfg.nthreads; i++) {
        struct worker *w = &n->workers[i];
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            return -1;
        }
        n->nworkers++;
    }
    return 0;
}

void
worker_stop_all(struct net *n)
{
    for (unsigned i = 0; i < n->nworkers; i++) {
        worker_hand_off(&n->workers[i], -1, NET_PROTO_NEGOTIATE, false, NULL);
    }
    for (unsigned i = 0; i < n->nworkers; i++) {
        pthread_join(n->workers[i].thread, NULL);
    }
    for (unsigned i = 0; n->workers != NULL && i < n->cfg.nthreads; i++) {
        worker_deinit(&n->workers[i]);
    }
    free(n->workers);
    n->workers = NULL;
    n->nworkers = 0;
}
