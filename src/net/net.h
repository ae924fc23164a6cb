/*
 * net - sockets and libevent. Owns the listening sockets, the worker
 * threads (one event base each) and every connection. The main thread runs
 * the listener's event base: it accepts, enforces the connection limit and
 * hands each new socket to one worker, which owns that connection for its
 * whole life. SIGINT, SIGTERM and SIGUSR1 stop the loop (net_run
 * returns).
 *
 * libevent and socket headers appear only under net/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd_server;
struct net;

struct net_listen {
    const char *host; /* NULL or "*" = all interfaces */
    int port;
};

typedef void (*net_tick_fn)(void *ctx);

struct net_config {
    const struct net_listen *listens;
    size_t nlistens;
    const char *listen_spec; /* the -l text as given, NULL without -l */
    int backlog;             /* -b */
    unsigned maxconns;       /* -c */
    unsigned nthreads;       /* -t */
    unsigned reqs_per_event; /* -R */
    size_t watcher_buf;      /* -o watcher_logbuf_size, in bytes */
    net_tick_fn tick;        /* called once a second on the main thread */
    void *tick_ctx;
};

/*
 * Binds every listener and starts the workers (srv->nthreads of them,
 * worker i counting into srv->threads[i]). On failure prints one line
 * to stderr (like memcached: "failed to listen on TCP port <p>: <why>")
 * and returns NULL.
 */
struct net *net_create(const struct net_config *cfg, struct cmd_server *srv);

/* Runs until SIGINT or SIGTERM. */
void net_run(struct net *n);

/* Stops workers, closes every connection and listener. Accepts NULL. */
void net_destroy(struct net *n);

/* The libevent version string, for `stats`. */
const char *net_libevent_version(void);
