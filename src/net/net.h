/*
 * net - sockets and event loops. Owns the listening sockets, the worker
 * threads (each runs a bare epoll loop, see net_internal.h) and every
 * connection. The main thread runs a libevent base for the cold paths: it
 * accepts, enforces the connection limit and hands each new socket to one
 * worker, which owns that connection for its whole life; it also handles
 * the signals and the clock tick. Connections move bytes through a
 * transport (transport.h).
 *
 * libevent and socket headers appear only under net/.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cmd_server;
struct net;
struct tls;

/*
 * What a listener's connections speak: negotiated by the first byte (0x80:
 * binary, else text and meta), or forced by -B / proto[...].
 */
enum net_proto {
    NET_PROTO_NEGOTIATE = 0, /* -B auto, proto[negotiating] */
    NET_PROTO_ASCII,         /* -B ascii, proto[ascii] */
    NET_PROTO_BINARY,        /* -B binary (-S), proto[binary] */
};

struct net_listen {
    const char *host; /* NULL or "*" = all interfaces */
    int port;         /* 0: any free port (see port_file) */
    int udp_port;     /* -1: no UDP socket for this element; 0: any free port */
    enum net_proto proto;
    bool tls; /* -Z and not notls: (TCP only; UDP is never TLS) */
};

typedef void (*net_tick_fn)(void *ctx);

struct net_config {
    const struct net_listen *listens;
    size_t nlistens;
    const char *listen_spec; /* the -l text as given, NULL without -l */
    enum net_proto proto;    /* -B: the unix socket's (and the default) */
    bool tcp_off;            /* -p 0: no TCP listener, whatever -l says */
    const char *port_file;   /* MEMCACHED_PORT_FILENAME, or NULL */
    int sock_cookie_id;      /* -o sock_cookie_id: SO_MARK, 0 = none */
    const char *unix_path;   /* -s: listen there only (no TCP, no UDP) */
    int unix_mask;           /* -a: the socket file's mode bits */
    int backlog;             /* -b */
    unsigned maxconns;       /* -c */
    bool maxconns_fast;      /* -o maxconns_fast: reject, else pause accept */
    int idle_timeout;        /* -o idle_timeout: seconds, 0 = never */
    uint64_t read_buf_limit; /* -o read_buf_mem_limit: bytes, 0 = none */
    unsigned nthreads;       /* -t */
    unsigned reqs_per_event; /* -R */
    unsigned udp_per_socket; /* workers sharing each UDP socket */
    size_t watcher_buf;      /* -o watcher_logbuf_size, in bytes */
    /*
     * -o metrics_listen (memoria extension): "host:port" of the HTTP
     * listener serving /metrics on the main thread, NULL when off.
     */
    const char *metrics_listen;
    net_tick_fn tick; /* called once a second on the main thread */
    void *tick_ctx;
    /*
     * Called on the main thread when SIGHUP arrives (main's reloads: the
     * -Y file, the TLS certificates); NULL: SIGHUP changes nothing.
     */
    net_tick_fn hup;
    void *hup_ctx;
    /*
     * -Z: the TLS context (net/tls.h), owned by the caller, which keeps
     * it until net_destroy returned; listeners with `tls` set use it.
     * SIGHUP also reloads its certificates (a memoria extension) and the
     * refresh_certs command reaches it through cmd_server. NULL without.
     */
    struct tls *tls;
};

/*
 * Binds every listener and starts the workers (srv->nthreads of them,
 * worker i counting into srv->threads[i]). With port_file set, writes
 * the ports it bound there once all are bound, as memcached does: one
 * line per socket ("TCP INET: 11211", "TCP INET6: ...", then the UDP
 * ones), into "<port_file>.lck" renamed to port_file at the end. On
 * failure prints memcached's line to stderr ("failed to listen on TCP
 * port <p>: <why>") and returns NULL.
 */
struct net *net_create(const struct net_config *cfg, struct cmd_server *srv);

/*
 * Runs until SIGINT or SIGTERM (stop now), or SIGUSR1 (graceful stop);
 * the `shutdown` command raises one of those.
 */
void net_run(struct net *n);

/*
 * Makes net_run return, from any thread: the `shutdown` command's way
 * (net_create hands it to cmd as srv->stop). ctx is the struct net.
 */
void net_stop(void *ctx, bool graceful);

/* Stops workers, closes every connection and listener. Accepts NULL. */
void net_destroy(struct net *n);

/* The libevent version string, for `stats`. */
const char *net_libevent_version(void);
