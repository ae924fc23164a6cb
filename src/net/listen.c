/*
 * listen - the main thread's side of net: listening sockets, accept and
 * the connection limit, signals, the clock tick. Implements net.h.
 */
#include "net/net.h"

#include "cmd/cmd.h"
#include "net/metrics.h"
#include "net/net_internal.h"
#include "net/watch.h"
#include "stats/stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static const char too_many[] = "ERROR Too many open connections\r\n";

const char *
net_libevent_version(void)
{
    return event_get_version();
}

/*
 * The -c arithmetic, as memcached 1.6.18 does it. memcached keeps its own
 * descriptors (the 3 standard ones, its event bases, a notify pipe and
 * more per worker: 6 + 4 per worker, listeners aside) inside an
 * RLIMIT_NOFILE of exactly -c, and turns a client away once listeners +
 * clients + those reach -c - 1 (-o maxconns_fast); without maxconns_fast
 * its accept() fails with EMFILE one client later. Measured on 1.6.18
 * started with no inherited descriptors: -c 50 admits 38 clients with
 * -t 1, 26 with -t 4 and 10 with -t 8; -c 30 -t 4 admits 6 (7 without
 * maxconns_fast). memoria reserves the same number whatever it holds
 * itself (fewer: 2 per worker), so a -c admits the same clients.
 * `stats` reserved_fds is another number: memcached prints 5 per worker
 * there, whatever it holds or sets aside, and so does memoria.
 */
#define NET_RESERVED_BASE       6
#define NET_RESERVED_PER_WORKER 4
#define NET_RESERVED_STAT       5

/* Listeners + clients, as memcached's curr_conns (printed minus one). */
static uint64_t
conns_in_use(struct net *n)
{
    return stats_get(&n->srv->conns->curr_connections) + 1;
}

int
net_verbosity(const struct net *n)
{
    return atomic_load_explicit(&n->srv->verbosity, memory_order_relaxed);
}

static void
reject(struct net *n, int fd)
{
    /* Counted first: a client that saw the answer then finds it counted. */
    atomic_fetch_add(&n->srv->conns->rejected_connections, 1);
    ssize_t w = write(fd, too_many, sizeof(too_many) - 1);

    (void)w;
    close(fd);
}

static uint64_t
now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * -o no_maxconns_fast (or a real EMFILE): stop accepting, with a backlog
 * of 0. A 10 ms timer resumes once a connection has closed.
 */
static void
pause_accept(struct net *n)
{
    struct stats_conns *sc = n->srv->conns;

    if (n->accept_paused) {
        return;
    }
    /* memcached's lines: it gets here through accept4's EMFILE. */
    fprintf(stderr, "accept4(): %s\n", strerror(EMFILE));
    if (net_verbosity(n) > 0) {
        fputs("Too many open connections\n", stderr);
    }
    /*
     * As memcached: the backlog shrinks to 0 while paused, so further
     * clients are refused by the kernel instead of queueing.
     */
    for (size_t i = 0; i < n->nlisten; i++) {
        event_del(n->listen_evs[i]);
        listen(n->listen_fds[i], 0);
    }
    n->accept_paused = true;
    n->paused_at = now_us();
    atomic_store(&sc->accepting_conns, 0);
    atomic_fetch_add(&sc->listen_disabled_num, 1);
    struct timeval ten_ms = {0, 10000};
    event_add(n->resume_ev, &ten_ms);
}

static bool
at_fd_limit(struct net *n)
{
    return conns_in_use(n) + n->reserved >= n->cfg.maxconns;
}

static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
    struct net *n = arg;
    struct stats_conns *sc = n->srv->conns;

    (void)fd;
    (void)what;
    if (at_fd_limit(n)) {
        return; /* EV_PERSIST: look again in 10 ms */
    }
    event_del(n->resume_ev);
    for (size_t i = 0; i < n->nlisten; i++) {
        listen(n->listen_fds[i], n->cfg.backlog);
        event_add(n->listen_evs[i], NULL);
    }
    n->accept_paused = false;
    atomic_fetch_add(&sc->time_in_listen_disabled_us, now_us() - n->paused_at);
    atomic_store(&sc->accepting_conns, 1);
}

/*
 * The index of the listener lfd, for its protocol and TLS flag (a few
 * listeners: a scan is fine).
 */
static size_t
listener_index(const struct net *n, int lfd)
{
    size_t i = 0;

    while (i + 1 < n->nlisten && n->listen_fds[i] != lfd) {
        i++;
    }
    return i;
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct net *n = arg;
    struct stats_conns *sc = n->srv->conns;

    (void)what;
    for (;;) {
        if (!n->cfg.maxconns_fast && at_fd_limit(n)) {
            /*
             * Where memcached's accept would fail with EMFILE: it pauses
             * only when a client is actually waiting.
             */
            struct pollfd pfd = {.fd = lfd, .events = POLLIN};
            if (poll(&pfd, 1, 0) == 1) {
                pause_accept(n);
            }
            return;
        }
        struct sockaddr_storage peer;
        socklen_t peerlen = sizeof(peer);
        memset(&peer, 0, sizeof(peer));
        int fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                pause_accept(n);
            }
            return;
        }
        if (n->cfg.maxconns_fast &&
            conns_in_use(n) + n->reserved >= n->cfg.maxconns - 1) {
            reject(n, fd);
            continue;
        }
        /*
         * connection_structures: memcached keeps one structure per
         * descriptor ever used, about the most connections open at once
         * (listeners included); only this thread moves it.
         */
        uint64_t live = atomic_fetch_add(&sc->curr_connections, 1) + 2;
        if (live > stats_get(&sc->connection_structures)) {
            atomic_store(&sc->connection_structures, live);
        }
        atomic_fetch_add(&sc->total_connections, 1);
        if (peer.ss_family == AF_UNIX) {
            /* memcached keeps no address for a unix client: "?:<AF 0>". */
            memset(&peer, 0, sizeof(peer));
        }
        struct worker *w = &n->workers[n->next_worker];
        n->next_worker = (n->next_worker + 1) % n->nworkers;
        size_t li = listener_index(n, lfd);
        worker_hand_off(w, fd, n->listen_protos[li], n->listen_tls[li], &peer);
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
    if (n->cfg.sock_cookie_id != 0 &&
        setsockopt(fd, SOL_SOCKET, SO_MARK, &n->cfg.sock_cookie_id,
                   sizeof(n->cfg.sock_cookie_id)) != 0) {
        /* memcached's words; it goes on without the mark (needs root). */
        perror("setsockopt");
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
add_listener(struct net *n, int fd, enum net_proto proto, bool tls)
{
    size_t i = n->nlisten;
    int *fds = realloc(n->listen_fds, (i + 1) * sizeof(*fds));
    struct event **evs = NULL;
    enum net_proto *protos = NULL;
    bool *tlss = NULL;

    if (fds != NULL) {
        n->listen_fds = fds;
        evs = realloc(n->listen_evs, (i + 1) * sizeof(*evs));
    }
    if (evs != NULL) {
        n->listen_evs = evs;
        protos = realloc(n->listen_protos, (i + 1) * sizeof(*protos));
    }
    if (protos != NULL) {
        n->listen_protos = protos;
        tlss = realloc(n->listen_tls, (i + 1) * sizeof(*tlss));
    }
    if (tlss == NULL) {
        close(fd);
        return -1;
    }
    n->listen_tls = tlss;
    protos[i] = proto;
    tlss[i] = tls && n->cfg.tls != NULL;
    struct net_listener_info *li =
        realloc(n->linfo, (n->nlinfo + 1) * sizeof(*li));
    if (li == NULL) {
        close(fd);
        return -1;
    }
    n->linfo = li;
    li += n->nlinfo;
    socklen_t alen = sizeof(li->addr);
    memset(li, 0, sizeof(*li));
    li->fd = fd;
    getsockname(fd, (struct sockaddr *)&li->addr, &alen);
    if (li->addr.ss_family == AF_UNIX) {
        /*
         * memcached 1.6.18 reads a listener's address into a sockaddr_in6,
         * so `stats conns` shows only the first 26 bytes of a unix path.
         */
        struct sockaddr_un *un = (struct sockaddr_un *)&li->addr;
        size_t keep = sizeof(struct sockaddr_in6) -
                      offsetof(struct sockaddr_un, sun_path);
        memset(un->sun_path + keep, 0, sizeof(un->sun_path) - keep);
    }
    evs[i] = event_new(n->base, fd, EV_READ | EV_PERSIST, on_accept, n);
    if (evs[i] == NULL || event_add(evs[i], NULL) != 0) {
        close(fd);
        return -1;
    }
    fds[i] = fd;
    n->nlisten++;
    n->nlinfo++;
    if (net_verbosity(n) >= 2) {
        fprintf(stderr, "<%d server listening (%s)\n", fd,
                proto == NET_PROTO_ASCII    ? "ascii"
                : proto == NET_PROTO_BINARY ? "binary"
                                            : "auto-negotiate");
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
        listen_failed(n, l->port, 0); /* memcached: "...: Success" */
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
        if (add_listener(n, fd, l->proto, l->tls) != 0 ||
            net_note_bound(n, "TCP", fd) != 0) {
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

/*
 * -s: one unix stream socket, and no TCP or UDP at all (memcached's -s
 * "disables network support"). As in memcached 1.6.18: a path longer
 * than sun_path holds is cut to fit; whatever socket file is at the path
 * is removed first, stale or live (another server listening there loses
 * it); the file gets mode -a & 0777; it stays behind at exit.
 */
static int
open_unix(struct net *n)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    const char *path = n->cfg.unix_path;
    struct stat st;
    int one = 1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        perror("socket()");
        return -1;
    }
    strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
    if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(sa.sun_path);
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    mode_t old = umask((mode_t)(~n->cfg.unix_mask & 0777));
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc != 0 || listen(fd, n->cfg.backlog) != 0) {
        perror(rc != 0 ? "bind()" : "listen()");
        close(fd);
        /* 1.6.18 names EINVAL here, whatever bind or listen said. */
        fprintf(stderr, "failed to listen on UNIX socket: %s: %s\n", path,
                strerror(EINVAL));
        return -1;
    }
    return add_listener(n, fd, n->cfg.proto, false); /* unix: never TLS */
}

int
net_note_bound(struct net *n, const char *proto, int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    struct net_bound *b = realloc(n->bound, (n->nbound + 1) * sizeof(*b));

    if (b == NULL) {
        return -1;
    }
    n->bound = b;
    b += n->nbound;
    b->proto = proto;
    b->family = AF_INET;
    b->port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        b->family = ss.ss_family;
        b->port = ntohs(ss.ss_family == AF_INET6
                            ? ((struct sockaddr_in6 *)&ss)->sin6_port
                            : ((struct sockaddr_in *)&ss)->sin_port);
    }
    n->nbound++;
    return 0;
}

/*
 * MEMCACHED_PORT_FILENAME: memcached's format and steps. The lines go to
 * "<file>.lck" (appended to, as memcached opens it), which is then renamed
 * over <file>; a file that cannot be opened is reported and skipped.
 */
static void
write_port_file(const struct net *n)
{
    const char *path = n->cfg.port_file;
    size_t len = strlen(path) + sizeof(".lck");
    char *tmp = malloc(len);

    if (tmp == NULL) {
        return;
    }
    snprintf(tmp, len, "%s.lck", path);
    FILE *f = fopen(tmp, "a");
    if (f == NULL) {
        fprintf(stderr, "Failed to open \"%s\": %s\n", tmp, strerror(errno));
        free(tmp);
        return;
    }
    for (size_t i = 0; i < n->nbound; i++) {
        const struct net_bound *b = &n->bound[i];
        fprintf(f, "%s INET%s: %d\n", b->proto,
                b->family == AF_INET6 ? "6" : "", b->port);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "Failed to write \"%s\": %s\n", path, strerror(errno));
    }
    free(tmp);
}

int
listen_open(struct net *n)
{
    if (n->cfg.unix_path != NULL) {
        return open_unix(n);
    }
    if (n->cfg.tcp_off) {
        return 0; /* -p 0 turns TCP off even for -l host:port */
    }
    for (size_t i = 0; i < n->cfg.nlistens; i++) {
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
    free(n->listen_protos);
    free(n->listen_tls);
    n->listen_tls = NULL;
    free(n->bound);
    n->bound = NULL;
    n->nbound = 0;
    n->listen_evs = NULL;
    n->listen_fds = NULL;
    n->listen_protos = NULL;
    n->nlisten = 0;
}

/*
 * Ends net_run with memcached's words: "Gracefully stopping" always for a
 * graceful stop, "Exiting normally" with -v for the others. Both then
 * close every connection and join the workers (net_destroy).
 */
static void
stop_loop(struct net *n, bool graceful)
{
    if (graceful) {
        fputs("Gracefully stopping\n", stderr);
    } else if (net_verbosity(n) > 0) {
        fputs("Exiting normally\n", stderr);
    }
    event_base_loopbreak(n->base);
}

/*
 * SIGINT and SIGTERM stop, SIGUSR1 stops gracefully; SIGHUP is caught
 * (its default would kill us) and runs the reload hook, if any (main's:
 * the -Y file and the TLS certificates).
 */
static void
on_signal(evutil_socket_t sig, short what, void *arg)
{
    struct net *n = arg;

    (void)what;
    if (sig != SIGHUP) {
        stop_loop(n, sig == SIGUSR1);
    } else if (n->cfg.hup != NULL) {
        n->cfg.hup(n->cfg.hup_ctx);
    }
}

/* refresh_certs (cmd_server.refresh_certs), from any worker. */
static bool
refresh_certs(void *ctx, char *err, size_t errlen)
{
    return tls_reload(ctx, err, errlen);
}

/* The shutdown command, from a worker: see net_stop. */
static void
on_stop_request(evutil_socket_t fd, short what, void *arg)
{
    struct net *n = arg;
    uint64_t v;

    (void)what;
    if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
        perror("stop request read");
    }
    stop_loop(n, atomic_exchange(&n->stop_request, 0) == 2);
}

void
net_stop(void *ctx, bool graceful)
{
    struct net *n = ctx;
    uint64_t one = 1;

    atomic_store(&n->stop_request, graceful ? 2 : 1);
    if (write(n->stop_fd, &one, sizeof(one)) < 0) {
        perror("stop request write");
    }
}

static uint64_t
mono_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct net *n = arg;

    (void)fd;
    (void)what;
    atomic_store_explicit(&n->clock, (uint32_t)(mono_seconds() - n->start_sec),
                          memory_order_relaxed);
    n->cfg.tick(n->cfg.tick_ctx);
}

static const int handled_signals[NET_NSIGNALS] = {SIGINT, SIGTERM, SIGUSR1,
                                                  SIGHUP};

static int
add_main_events(struct net *n)
{
    struct timeval one_second = {1, 0};

    n->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->stop_fd < 0) {
        return -1;
    }
    n->stop_ev = event_new(n->base, n->stop_fd, EV_READ | EV_PERSIST,
                           on_stop_request, n);
    n->tick_ev = event_new(n->base, -1, EV_PERSIST, on_tick, n);
    n->resume_ev = event_new(n->base, -1, EV_PERSIST, on_resume, n);
    if (n->stop_ev == NULL || n->tick_ev == NULL || n->resume_ev == NULL ||
        event_add(n->stop_ev, NULL) != 0 ||
        event_add(n->tick_ev, &one_second) != 0) {
        return -1;
    }
    for (int i = 0; i < NET_NSIGNALS; i++) {
        n->sig_evs[i] = evsignal_new(n->base, handled_signals[i], on_signal, n);
        if (n->sig_evs[i] == NULL || event_add(n->sig_evs[i], NULL) != 0) {
            return -1;
        }
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
    n->stop_fd = -1;
    n->start_sec = mono_seconds();
    srv->stop = net_stop;
    if (n->cfg.tls != NULL) {
        srv->refresh_certs = refresh_certs;
        srv->refresh_ctx = n->cfg.tls;
    }
    srv->stop_ctx = n;
    srv->conns_report = net_conns_report;
    srv->conns_ctx = n;
#ifndef NDEBUG
    n->fault_oom_key = getenv("MEMORIA_FAULT_OOM_KEY");
#endif
    signal(SIGPIPE, SIG_IGN);
    n->base = event_base_new();
    if (n->base == NULL || add_main_events(n) != 0) {
        goto fail;
    }
    /*
     * The endpoint first: once the memcached port accepts, a scraper
     * finds it too.
     */
    if (cfg->metrics_listen != NULL) {
        n->metrics = metrics_create(n->base, cfg->metrics_listen, srv);
        if (n->metrics == NULL) {
            goto fail;
        }
    }
    if (listen_open(n) != 0 || udp_open(n) != 0) {
        goto fail;
    }
    n->reserved =
        NET_RESERVED_BASE + NET_RESERVED_PER_WORKER * (uint64_t)cfg->nthreads;
    atomic_store(&srv->conns->reserved_fds,
                 NET_RESERVED_STAT * (uint64_t)cfg->nthreads);
    atomic_store(&srv->conns->accepting_conns, 1);
    /* memcached counts listeners and UDP endpoints among connections. */
    size_t nbase = n->nlisten + n->nudp_conns;
    atomic_store(&srv->conns->curr_connections, nbase > 0 ? nbase - 1 : 0);
    atomic_store(&srv->conns->total_connections, nbase);
    atomic_store(&srv->conns->connection_structures, nbase);
    if (srv->logger != NULL) {
        n->watch = watch_create(srv->logger, srv->conns, cfg->watcher_buf);
        if (n->watch == NULL) {
            goto fail;
        }
    }
    if (worker_start_all(n) != 0) {
        goto fail;
    }
    /* Last, once every listener (UDP ones included) is bound. */
    if (cfg->port_file != NULL && cfg->unix_path == NULL) {
        write_port_file(n);
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
    metrics_destroy(n->metrics);
    worker_stop_all(n);
    free(n->linfo); /* after the workers: their reports read it */
    udp_close(n);
    watch_destroy(n->watch);
    for (int i = 0; i < NET_NSIGNALS; i++) {
        if (n->sig_evs[i] != NULL) {
            event_free(n->sig_evs[i]);
        }
    }
    if (n->stop_ev != NULL) {
        event_free(n->stop_ev);
    }
    if (n->stop_fd >= 0) {
        close(n->stop_fd);
    }
    if (n->tick_ev != NULL) {
        event_free(n->tick_ev);
    }
    if (n->resume_ev != NULL) {
        event_free(n->resume_ev);
    }
    if (n->base != NULL) {
        event_base_free(n->base);
    }
    free(n);
}
