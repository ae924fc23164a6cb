/*
 * net_internal - what listen.c, worker.c and conn.c share. Locking: a
 * worker's hand-off queue is guarded by its mutex `lock`; its connection
 * list by `list_lock`, taken by the worker only to link or unlink a
 * connection and by `stats conns` (report.c, from any worker) to walk the
 * list. What the report reads of another worker's connection is set before
 * the connection is linked and never changes, or is a relaxed atomic;
 * everything else a worker touches belongs to that worker's thread alone.
 *
 * The main thread runs libevent (listeners, signals, the clock tick: cold
 * paths). Workers run a bare epoll loop instead: libevent's per-wakeup
 * bookkeeping (activation queues, time cache, callbacks) measured about
 * 530 user-space instructions per request under callgrind, a quarter of
 * a whole get; the loop in worker.c does the same job in a few dozen.
 */
#pragma once

#include "net/net.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cmd/cmd.h"
#include "lib/buf.h"
#include "lib/outq.h"
#include "net/tls.h"
#include "net/transport.h"

struct session;
struct stats_thread;

/* Signals the main loop handles (listen.c). */
#define NET_NSIGNALS 4

/* Bytes of a connection's input buffer (grown only for long get lines). */
#define NET_READ_BUF 16384

/*
 * Free NET_READ_BUF buffers a worker keeps for its next readers (conn.c).
 * A connection holds a buffer only while it reads or has a request half
 * in: one that gets one request per read takes the buffer it gave back
 * a moment before, so a worker needs one or two; 8 also covers a few
 * clients at a time stopped mid-request, for at most 128 KiB a worker.
 * Buffers given back beyond that are freed: a burst of 10k readers must
 * not pin 160 MB (memcached keeps every read buffer it ever cached).
 */
#define NET_RBUF_CACHE 8

/* A socket the listener hands to a worker, with its listener's protocol. */
struct net_handoff {
    int fd;
    enum net_proto proto;
    bool tls;                     /* the listener speaks TLS */
    struct sockaddr_storage peer; /* from accept (watch's rip/rport) */
};

struct worker {
    struct net *net;
    unsigned id;
    pthread_t thread;
    int epfd;
    int notify_fd; /* eventfd: new sockets queued, or stop */
    bool stop;
    bool inited; /* worker_init got as far as the locks */
    pthread_mutex_t lock;
    pthread_mutex_t list_lock; /* conns: link, unlink, report */
    struct net_handoff *queue; /* sockets to adopt; fd -1 = stop */
    size_t nqueue;
    size_t queue_cap;
    struct stats_thread *stats;
    struct conn *conns;   /* this worker's connections (list) */
    struct conn *ready;   /* yielded connections to run before waiting */
    struct conn *dead;    /* closed during this turn, freed after it */
    struct udp_conn *udp; /* this worker's UDP endpoints (udp.c) */
    /*
     * Input buffers (conn.c). rbuf_hot is the one the next reader takes
     * (NULL: none), rbuf_free[0 .. rbuf_nfree) the other cached ones,
     * which read_buf_bytes_free counts. rbuf_left: what is left of this
     * worker's share of -o read_buf_mem_limit, UINT64_MAX without it.
     */
    char *rbuf_hot;
    char *rbuf_free[NET_RBUF_CACHE - 1];
    unsigned rbuf_nfree;
    uint64_t rbuf_left;
    /*
     * Empty reply blocks idle connections gave back (conn.c, outq_idle);
     * only this worker's connections use it. UDP endpoints keep theirs.
     */
    struct outq_pool opool;
    uint32_t now;        /* seconds, monotonic; kept only with idle_timeout */
    uint32_t last_sweep; /* w->now of the last idle sweep */
    struct tls_wbuf tls_wbuf; /* the TLS connections' record buffer */
};

/*
 * What `stats conns` shows of a connection, by memcached's state names
 * (report.c maps each to its name; docs/COMPAT.md#stats-conns).
 */
enum net_state {
    NET_ST_LISTENING = 0,
    NET_ST_NEW_CMD, /* no input yet, or yielded after -R requests */
    NET_ST_READ,    /* waiting for a command */
    NET_ST_PARSE,   /* running the asking request */
    NET_ST_NREAD,   /* waiting for the rest of a data block */
    NET_ST_MWRITE,  /* waiting for the socket to take its replies */
    NET_ST_CLOSING, /* flushing its last replies before closing */
    NET_ST_WATCH,   /* a watcher (watch.c) */
};

/* conn.activity: the clock (net_clock) << NET_ST_BITS | enum net_state. */
#define NET_ST_BITS 4

struct conn {
    struct conn *prev;
    struct conn *next;
    struct worker *w;
    struct transport tp;
    enum net_proto proto;    /* its listener's: -B / proto[...] */
    struct conn *ready_next; /* on the worker's ready list */
    uint32_t events;         /* what epoll waits for now (registered) */
    bool queued;             /* on the worker's ready list (yielded after -R) */
    bool closing;            /* flush the output queue, then close */
    bool dead;               /* closed; memory freed at the end of the turn */
    uint32_t last_active;    /* w->now when input last arrived */
    bool consumed;           /* the session took input since the last publish */
    uint8_t st;              /* enum net_state: what drive() stopped for */
    uint32_t published;      /* the value last stored in activity */
    /*
     * Input not yet run. Memory only while reading or mid-request; else
     * cap 0, the buffer back with the worker (conn.c, rbuf_take).
     */
    struct buf in;
    struct outq out;
    struct session *session;
    /* Read by `stats conns` from other workers (see the top). */
    _Atomic uint32_t activity; /* last command's clock and state */
    int fd;                    /* the socket; tp.fd may become -1 first */
    /* Cold: for watch's connevents lines and `stats conns`. */
    const char *close_reason;     /* conn_close's reason; NULL: "normal" */
    struct sockaddr_storage peer; /* the client's address, from accept */
};

/* One bound socket, for MEMCACHED_PORT_FILENAME. */
struct net_bound {
    const char *proto; /* "TCP" or "UDP" */
    int family;        /* AF_INET or AF_INET6 */
    int port;
};

struct net {
    struct net_config cfg;
    struct cmd_server *srv;
    struct event_base *base; /* the main thread's: listeners, signals */
    struct event **listen_evs;
    int *listen_fds;
    enum net_proto *listen_protos; /* what each listener's clients speak */
    bool *listen_tls;              /* and whether through TLS */
    size_t nlisten;
    struct net_bound *bound; /* sockets bound so far, in bind order */
    size_t nbound;
    /* The listeners as `stats conns` shows them; kept until net_destroy. */
    struct net_listener_info *linfo;
    size_t nlinfo;
    _Atomic uint32_t clock; /* seconds since net_create, set by the tick */
    uint64_t start_sec;     /* monotonic seconds at net_create */
    struct event *sig_evs[NET_NSIGNALS]; /* INT, TERM, USR1, HUP */
    struct event *stop_ev;               /* stop_fd readable */
    int stop_fd;                         /* eventfd: net_stop was called */
    _Atomic int stop_request;            /* 1 stop, 2 graceful stop */
    struct event *tick_ev;
    struct event *resume_ev; /* while accepting is paused: every 10 ms */
    bool accept_paused;
    uint64_t paused_at; /* monotonic us */
    uint64_t reserved;  /* descriptors counted against -c, see listen.c */
    struct worker *workers;
    unsigned nworkers;
    unsigned next_worker;
    int *udp_fds; /* bound UDP sockets, shared by the workers */
    size_t nudp_fds;
    unsigned nudp_conns; /* UDP endpoints; memcached counts them as conns */
#ifndef NDEBUG
    const char *fault_oom_key; /* MEMORIA_FAULT_OOM_KEY, see conn.c */
#endif
    struct watch *watch;     /* NULL with -W */
    struct metrics *metrics; /* -o metrics_listen, else NULL */
};

/* A listener for `stats conns`: its socket and bound address. */
struct net_listener_info {
    int fd;
    struct sockaddr_storage addr;
};

/* The coarse clock: seconds since net_create, at most a second behind. */
static inline uint32_t
net_clock(const struct net *n)
{
    return atomic_load_explicit(&n->clock, memory_order_relaxed);
}

/*
 * One line group of `stats conns`, gathered under the owner's lock and
 * printed once every group is in, ordered by fd as memcached prints them.
 */
enum net_row_kind {
    NET_ROW_LISTEN = 0, /* addr is the bound address */
    NET_ROW_CLIENT,     /* addr is the peer, local the socket's own */
    NET_ROW_UDP,        /* an endpoint: addr bound, or the asker's peer */
};

struct net_row {
    int fd;
    enum net_row_kind kind;
    enum net_state state;
    uint32_t since; /* net_clock of the last command */
    struct sockaddr_storage addr;
    struct sockaddr_storage local; /* clients' and the asking endpoint's */
};

struct net_rows {
    struct net_row *v;
    size_t n;
    size_t cap;
};

/* A new zeroed row, or NULL when out of memory (report.c). */
struct net_row *net_rows_add(struct net_rows *r);

/* `stats conns` (report.c): srv->conns_report, ctx the struct net. */
void net_conns_report(void *ctx, int self_fd, cmd_line_fn emit, void *emit_ctx);

/*
 * The log level: -v at start, then whatever `verbosity` set (one value,
 * in cmd_server, read by cmd and net alike).
 */
int net_verbosity(const struct net *n);

int listen_open(struct net *n);
/*
 * Records a bound socket for the port file (listen.c calls it for TCP;
 * UDP sockets go through it too). fd is the bound socket, proto "TCP" or
 * "UDP". Returns -1 when out of memory.
 */
int net_note_bound(struct net *n, const char *proto, int fd);
void listen_close(struct net *n);

int worker_start_all(struct net *n);
void worker_stop_all(struct net *n);
void worker_hand_off(struct worker *w, int fd, enum net_proto proto, bool tls,
                     const struct sockaddr_storage *peer);

struct conn *conn_create(struct worker *w, const struct net_handoff *h);
/* Closes the socket now; the memory goes at the end of the loop turn. */
void conn_close(struct conn *c);
/* Frees a closed connection (worker.c, after a turn or at exit). */
void conn_free(struct conn *c);
/* Handles epoll events (EPOLLIN, EPOLLOUT, errors) for c. */
void conn_event(struct conn *c, uint32_t events);
/* Runs a yielded connection again. */
void conn_resume(struct conn *c);
/* Frees the worker's cached input buffers (at exit). */
void conn_rbuf_drain(struct worker *w);

/*
 * UDP (udp.c). A UDP endpoint sits in its worker's epoll set with this bit
 * set in data.ptr, which tells it from a struct conn.
 */
#define NET_UDP_TAG ((uintptr_t)1)

struct udp_conn;

static inline bool
net_is_udp(const void *ptr)
{
    return ((uintptr_t)ptr & NET_UDP_TAG) != 0;
}

static inline struct udp_conn *
net_udp_conn(void *ptr)
{
    return (struct udp_conn *)((uintptr_t)ptr & ~NET_UDP_TAG);
}

/* Binds the UDP sockets of every listener with a UDP port (main thread). */
int udp_open(struct net *n);
/* Closes them; the workers must have stopped. */
void udp_close(struct net *n);
/* Creates w's endpoints and adds them to its epoll set (before it runs). */
int udp_attach(struct worker *w);
/* Frees w's endpoints (after it stopped). */
void udp_detach(struct worker *w);
/* Reads and answers datagrams. */
void udp_event(struct udp_conn *c, uint32_t events);
/*
 * Adds a row per endpoint of w (`stats conns`); self_fd is the asking
 * connection's socket. Returns false when out of memory.
 */
bool udp_report(struct worker *w, int self_fd, struct net_rows *rows);
/*
 * -o idle_timeout: closes c if it has been idle longer than timeout
 * seconds between requests (not inside a data block, nothing queued).
 */
void conn_kick_if_idle(struct conn *c, uint32_t now, uint32_t timeout);
