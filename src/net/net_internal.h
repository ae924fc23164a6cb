/*
 * net_internal - what listen.c, worker.c and conn.c share. Locking: a
 * worker's hand-off queue is guarded by its mutex; everything else a worker
 * touches belongs to that worker's thread alone.
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
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/outq.h"

struct session;
struct stats_thread;

/* Bytes of a connection's input buffer (grown only for long get lines). */
#define NET_READ_BUF 16384

struct worker {
    struct net *net;
    unsigned id;
    pthread_t thread;
    int epfd;
    int notify_fd; /* eventfd: new sockets queued, or stop */
    bool stop;
    pthread_mutex_t lock;
    int *queue; /* fds waiting to become connections; -1 = stop */
    size_t nqueue;
    size_t queue_cap;
    struct stats_thread *stats;
    struct conn *conns; /* this worker's connections (list) */
    struct conn *ready; /* yielded connections to run before waiting */
    struct conn *dead;  /* closed during this turn, freed after it */
};

struct conn {
    struct conn *prev;
    struct conn *next;
    struct worker *w;
    int fd;
    struct conn *ready_next; /* on the worker's ready list */
    bool writing;            /* epoll waits for EPOLLOUT instead of EPOLLIN */
    bool read_more;          /* the last read filled the buffer: read again */
    bool queued;             /* on the worker's ready list (yielded after -R) */
    bool closing;            /* flush the output queue, then close */
    bool dead;               /* closed; memory freed at the end of the turn */
    struct buf in;
    struct outq out;
    struct session *session;
};

struct net {
    struct net_config cfg;
    struct cmd_server *srv;
    struct event_base *base; /* the main thread's: listeners, signals */
    struct event **listen_evs;
    int *listen_fds;
    size_t nlisten;
    struct event *sigint_ev;
    struct event *sigterm_ev;
    struct event *sigusr1_ev;
    struct event *tick_ev;
    struct worker *workers;
    unsigned nworkers;
    unsigned next_worker;
    struct watch *watch; /* NULL with -W */
};

/*
 * The log level: -v at start, then whatever `verbosity` set (one value,
 * in cmd_server, read by cmd and net alike).
 */
int net_verbosity(const struct net *n);

int listen_open(struct net *n);
void listen_close(struct net *n);

int worker_start_all(struct net *n);
void worker_stop_all(struct net *n);
void worker_hand_off(struct worker *w, int fd);

struct conn *conn_create(struct worker *w, int fd);
/* Closes the socket now; the memory goes at the end of the loop turn. */
void conn_close(struct conn *c);
/* Frees a closed connection (worker.c, after a turn or at exit). */
void conn_free(struct conn *c);
/* Handles epoll events (EPOLLIN, EPOLLOUT, errors) for c. */
void conn_event(struct conn *c, uint32_t events);
/* Runs a yielded connection again. */
void conn_resume(struct conn *c);
