/*
 * net_internal - what listen.c, worker.c and conn.c share. Locking: a
 * worker's hand-off queue is guarded by its mutex; everything else a worker
 * touches belongs to that worker's thread alone.
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
    struct event_base *base;
    struct event *notify_ev;
    int notify_fd; /* eventfd: new sockets queued, or stop */
    pthread_mutex_t lock;
    int *queue; /* fds waiting to become connections; -1 = stop */
    size_t nqueue;
    size_t queue_cap;
    struct stats_thread *stats;
    struct conn *conns; /* this worker's connections (list) */
};

struct conn {
    struct conn *prev;
    struct conn *next;
    struct worker *w;
    int fd;
    struct event *rev; /* readable: the normal wait */
    struct event *wev; /* writable: while replies are stuck in `out` */
    bool writing;      /* waiting on wev instead of rev */
    bool read_more;    /* the last read filled the buffer: read again */
    bool resume;       /* yielded after -R requests: run before reading */
    bool closing;      /* flush the output queue, then close */
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
};

int listen_open(struct net *n);
void listen_close(struct net *n);

int worker_start_all(struct net *n);
void worker_stop_all(struct net *n);
void worker_hand_off(struct worker *w, int fd);

struct conn *conn_create(struct worker *w, int fd);
void conn_destroy(struct conn *c);
