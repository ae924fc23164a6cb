/*
 * listen - the main thread's side of net: listening sockets, accept and
 * the connection limit, signals, the clock tick. Implements net.h.
 */
#include "net/net.h"

#include "cmd/cmd.h"
#include "net/net_internal.h"
#include "net/watch.h"
#include "stats/stats.h"

#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char too_many[] = "ERROR Too many open connections\r\n";

const char *
net_libevent_version(void)
{
    return event_get_version();
}

int
net_verbosity(const struct net *n)
{
    return atomic_load_explicit(&n->srv->verbosity, memory_order_relaxed);
}

static void
reject(struct net *n, int fd)
{
    ssize_t w = write(fd, too_many, sizeof(too_many) - 1);

    (void)w;
    close(fd);
    atomic_fetch_add(&n->srv->conns->rejected_connections, 1);
    if (net_verbosity(n) > 0) {
        fprintf(stderr, "Too many open connections\n");
    }
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct net *n = arg;
    struct stats_conns *sc = n->srv->conns;

    (void)what;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                perror("accept()");
            }
            return;
        }
        uint64_t clients = stats_get(&sc->curr_connections) + 1 - n->nlisten;
        if (clients >= n->cfg.maxconns) {
            reject(n, fd);
            continue;
        }
        atomic_fetch_add(&sc->curr_connections, 1);
        atomic_fetch_add(&sc->total_connections, 1);
        struct worker *w = &n->workers[n->next_worker];
        n->next_worker = (n->next_worker + 1) % n->nworkers;
        worker_hand_off(w, fd);
    }
}

static int
open_one(struct net *n, const struct addrinfo *ai)
{
    int one = 1;
    int fd =
        socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
               ai->ai_protocol);

    if (fd < 0) {
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ai->ai_family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
        listen(fd, n->cfg.backlog) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static int
add_listener(struct net *n, int fd)
{
    size_t i = n->nlisten;
    int *fds = realloc(n->listen_fds, (i + 1) * sizeof(*fds));
    struct event **evs = NULL;

    if (fds != NULL) {
        n->listen_fds = fds;
        evs = realloc(n->listen_evs, (i + 1) * sizeof(*evs));
    }
    if (evs == NULL) {
        close(fd);
        return -1;
    }
    n->listen_evs = evs;
    evs[i] = event_new(n->base, fd, EV_READ | EV_PERSIST, on_accept, n);
    if (evs[i] == NULL || event_add(evs[i], NULL) != 0) {
        close(fd);
        return -1;
    }
    fds[i] = fd;
    n->nlisten++;
    if (net_verbosity(n) >= 2) {
        fprintf(stderr, "<%d server listening (auto-negotiate)\n", fd);
    }
    return 0;
}

/* memcached's wording: with -l it names the interfaces, else the port. */
static void
listen_failed(const struct net *n, int port, int err)
{
    if (n->cfg.listen_spec != NULL) {
        fprintf(stderr, "failed to listen on one of interface(s) %s: %s\n",
                n->cfg.listen_spec, strerror(err));
    } else {
        fprintf(stderr, "failed to listen on TCP port %d: %s\n", port,
                strerror(err));
    }
}

/* Binds one -l element: every address its host resolves to. */
static int
open_spec(struct net *n, const struct net_listen *l)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    char port[16];
    const char *host = l->host;
    int bound = 0;

    if (host != NULL && (host[0] == '\0' || strcmp(host, "*") == 0)) {
        host = NULL;
    }
    snprintf(port, sizeof(port), "%d", l->port);
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "getaddrinfo(): %s\n", gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        int fd = open_one(n, ai);
        if (fd < 0) {
            if (errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT) {
                continue;
            }
            listen_failed(n, l->port, errno);
            freeaddrinfo(res);
            return -1;
        }
        if (add_listener(n, fd) != 0) {
            freeaddrinfo(res);
            return -1;
        }
        bound++;
    }
    freeaddrinfo(res);
    if (bound == 0) {
        listen_failed(n, l->port, EADDRNOTAVAIL);
        return -1;
    }
    return 0;
}

int
listen_open(struct net *n)
{
    for (size_t i = 0; i < n->cfg.nlistens; i++) {
        if (n->cfg.listens[i].port == 0) {
            continue; /* -p 0: no TCP listener */
        }
        if (open_spec(n, &n->cfg.listens[i]) != 0) {
            return -1;
        }
    }
    return 0;
}

void
listen_close(struct net *n)
{
    for (size_t i = 0; i < n->nlisten; i++) {
        event_free(n->listen_evs[i]);
        close(n->listen_fds[i]);
    }
    free(n->listen_evs);
    free(n->listen_fds);
    n->listen_evs = NULL;
    n->listen_fds = NULL;
    n->nlisten = 0;
}

static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct net *n = arg;

    (void)what;
    if (net_verbosity(n) > 0) {
        fputs(sig == SIGUSR1 ? "Gracefully stopping\n" : "Exiting normally\n",
              stderr);
    }
    event_base_loopbreak(n->base);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct net *n = arg;

    (void)fd;
    (void)what;
    n->cfg.tick(n->cfg.tick_ctx);
}

static int
add_main_events(struct net *n)
{
    struct timeval one_second = {1, 0};

    n->sigint_ev = evsignal_new(n->base, SIGINT, on_signal, n);
    n->sigterm_ev = evsignal_new(n->base, SIGTERM, on_signal, n);
    n->sigusr1_ev = evsignal_new(n->base, SIGUSR1, on_signal, n);
    n->tick_ev = event_new(n->base, -1, EV_PERSIST, on_tick, n);
    if (n->sigint_ev == NULL || n->sigterm_ev == NULL ||
        n->sigusr1_ev == NULL || n->tick_ev == NULL) {
        return -1;
    }
    if (event_add(n->sigint_ev, NULL) != 0 ||
        event_add(n->sigterm_ev, NULL) != 0 ||
        event_add(n->sigusr1_ev, NULL) != 0 ||
        event_add(n->tick_ev, &one_second) != 0) {
        return -1;
    }
    return 0;
}

struct net *
net_create(const struct net_config *cfg, struct cmd_server *srv)
{
    struct net *n = calloc(1, sizeof(*n));

    /*
     * No evthread_use_pthreads(): libevent runs on the main thread only
     * (workers have their own epoll loops and are reached through their
     * queue and eventfd), so libevent's internal locks would be pure cost.
     */
    if (n == NULL) {
        goto fail;
    }
    n->cfg = *cfg;
    n->srv = srv;
    signal(SIGPIPE, SIG_IGN);
    n->base = event_base_new();
    if (n->base == NULL || add_main_events(n) != 0) {
        goto fail;
    }
    if (listen_open(n) != 0) {
        goto fail;
    }
    /* memcached counts listeners among connections; so do we. */
    atomic_store(&srv->conns->curr_connections,
                 n->nlisten > 0 ? n->nlisten - 1 : 0);
    atomic_store(&srv->conns->total_connections, n->nlisten);
    atomic_store(&srv->conns->connection_structures, n->nlisten);
    if (srv->logger != NULL) {
        n->watch = watch_create(srv->logger, srv->conns, cfg->watcher_buf);
        if (n->watch == NULL) {
            goto fail;
        }
    }
    if (worker_start_all(n) != 0) {
        goto fail;
    }
    return n;

fail:
    net_destroy(n);
    return NULL;
}

void
net_run(struct net *n)
{
    event_base_dispatch(n->base);
}

void
net_destroy(struct net *n)
{
    if (n == NULL) {
        return;
    }
    listen_close(n);
    worker_stop_all(n);
    watch_destroy(n->watch);
    if (n->sigint_ev != NULL) {
        event_free(n->sigint_ev);
    }
    if (n->sigterm_ev != NULL) {
        event_free(n->sigterm_ev);
    }
    if (n->sigusr1_ev != NULL) {
        event_free(n->sigusr1_ev);
    }
    if (n->tick_ev != NULL) {
        event_free(n->tick_ev);
    }
    if (n->base != NULL) {
        event_base_free(n->base);
    }
    free(n);
}
