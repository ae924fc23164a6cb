/*
 * worker - worker threads. Each runs its own event base and owns the
 * connections handed to it. The listener passes sockets through a small
 * mutex-guarded queue and an eventfd; the same path carries the stop
 * request, so no other cross-thread call into libevent is needed.
 */
#include "cmd/cmd.h"
#include "net/net_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void
drain_queue(struct worker *w, int **fds, size_t *n)
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
on_notify(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    uint64_t v;
    int *fds = NULL;
    size_t n = 0;

    (void)what;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        perror("worker notify read");
    }
    drain_queue(w, &fds, &n);
    for (size_t i = 0; i < n; i++) {
        if (fds[i] < 0) {
            event_base_loopbreak(w->base);
            continue;
        }
        if (conn_create(w, fds[i]) == NULL) {
            close(fds[i]);
            atomic_fetch_sub(&w->net->srv->conns->curr_connections, 1);
        }
    }
    free(fds);
}

void
worker_hand_off(struct worker *w, int fd)
{
    uint64_t one = 1;
    bool queued = false;

    pthread_mutex_lock(&w->lock);
    if (w->nqueue == w->queue_cap) {
        size_t cap = w->queue_cap != 0 ? w->queue_cap * 2 : 16;
        int *q = realloc(w->queue, cap * sizeof(*q));
        if (q != NULL) {
            w->queue = q;
            w->queue_cap = cap;
        }
    }
    if (w->nqueue < w->queue_cap) {
        w->queue[w->nqueue++] = fd;
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

static void *
worker_main(void *arg)
{
    struct worker *w = arg;

    event_base_dispatch(w->base);
    while (w->conns != NULL) {
        conn_destroy(w->conns);
    }
    return NULL;
}

static int
worker_init(struct net *n, struct worker *w, unsigned id)
{
    w->net = n;
    w->id = id;
    w->stats = n->srv->threads[id];
    w->notify_fd = -1;
    if (pthread_mutex_init(&w->lock, NULL) != 0) {
        return -1;
    }
    w->base = event_base_new();
    w->notify_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->base == NULL || w->notify_fd < 0) {
        return -1;
    }
    w->notify_ev =
        event_new(w->base, w->notify_fd, EV_READ | EV_PERSIST, on_notify, w);
    if (w->notify_ev == NULL || event_add(w->notify_ev, NULL) != 0) {
        return -1;
    }
    return 0;
}

static void
worker_deinit(struct worker *w)
{
    if (w->notify_ev != NULL) {
        event_free(w->notify_ev);
    }
    if (w->base != NULL) {
        event_base_free(w->base);
    }
    if (w->notify_fd >= 0) {
        close(w->notify_fd);
    }
    free(w->queue);
    pthread_mutex_destroy(&w->lock);
}

int
worker_start_all(struct net *n)
{
    n->workers = calloc(n->cfg.nthreads, sizeof(*n->workers));
    if (n->workers == NULL) {
        return -1;
    }
    for (unsigned i = 0; i < n->cfg.nthreads; i++) {
        struct worker *w = &n->workers[i];
        if (worker_init(n, w, i) != 0 ||
            pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            worker_deinit(w);
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
        worker_hand_off(&n->workers[i], -1);
    }
    for (unsigned i = 0; i < n->nworkers; i++) {
        pthread_join(n->workers[i].thread, NULL);
        worker_deinit(&n->workers[i]);
    }
    free(n->workers);
    n->workers = NULL;
    n->nworkers = 0;
}
