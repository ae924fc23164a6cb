/*
 * udp - memcached's UDP transport (-U). Each bound socket is shared by
 * several workers, as in memcached (one endpoint per worker per socket,
 * or one per socket when -l lists several addresses): every worker's
 * epoll set holds the socket with EPOLLEXCLUSIVE, so a datagram wakes one
 * idle worker, not all of them.
 *
 * Each endpoint has its own descriptor, as memcached's do (the first on
 * a socket has the bound one, the others a dup() of it): `stats conns`
 * lists them by it.
 *
 * An endpoint runs one datagram at a time through its own session: strip
 * the 8-byte header (proto/udp.h), run every request in the payload, then
 * cut the replies into datagrams. memcached numbers each reply object
 * separately (one per request, one per key of a get), so the session
 * marks object boundaries in the output queue and this file slices by
 * them. Three more of memcached's habits are kept because a client sees
 * them:
 *   - replies go out in bursts: after a get family, mn or quit, at the
 *     end of the datagram, and every -R requests (the first burst of a
 *     datagram takes one request more). An empty reply object is sent as
 *     a bare header (total 0) only when it opens a burst; memcached drops
 *     the others. All-miss `get a b` therefore answers with an empty
 *     datagram, then END.
 *   - a datagram that ends inside a data block, or a line that closes
 *     the connection, loses the replies of its last burst.
 *   - conn_yields counts as memcached's does for this flow.
 * A request never spans datagrams: the next datagram starts afresh
 * (memcached instead reads it as the rest of the data block).
 *
 * Replies are copied into datagram buffers (at most 1400 bytes each, so
 * the copy is cheap next to the syscall) and sent with sendmmsg(); the
 * queue drops pins as soon as the bytes are copied. When the socket buffer is
 * full the endpoint parks, as memcached's connection does: it waits for
 * EPOLLOUT (re-registering, since EPOLLEXCLUSIVE forbids EPOLL_CTL_MOD)
 * and reads no datagram meanwhile; the worker and the socket's other
 * endpoints go on. What a parked endpoint holds is bounded: one datagram,
 * the replies queued since the last write-out (SESSION_OUT_HIGH_WATER
 * plus one request's), their pins, and one batch.
 */
#include "proto/udp.h"
#include "cmd/cmd.h"
#include "cmd/session.h"
#include "net/net_internal.h"
#include "stats/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The largest datagram the kernel can deliver (memcached reads 64 KiB). */
#define UDP_READ_BUF 65536
/* Datagrams sent per sendmmsg(). */
#define UDP_BATCH    32
/* Datagrams read per wake-up before the worker looks at its other fds. */
#define UDP_READS    16
/* memcached asks for this send buffer; the kernel caps it at wmem_max. */
#define UDP_SNDBUF   (256 * 1024 * 1024)

/* What an endpoint is doing with its current datagram. */
enum udp_phase {
    PHASE_IDLE = 0, /* waiting for a datagram */
    PHASE_RUN,      /* running its requests */
    PHASE_DROP,     /* closed or cut short: lose the last burst */
    PHASE_END,      /* every reply planned: finish once sent */
};

struct udp_conn {
    struct udp_conn *next; /* the worker's endpoints */
    struct worker *w;
    int fd;       /* the bound socket's, or a dup() of it (owns_fd) */
    bool owns_fd; /* a dup: closed with the endpoint */
    /* `stats conns`: set at creation, and the clock of the last datagram. */
    struct sockaddr_storage bound;
    _Atomic uint32_t since;
    struct buf in;
    struct outq out;
    struct session *session;
    struct sockaddr_storage peer;
    socklen_t peerlen;
    uint16_t id; /* the current request's id */
    enum udp_phase phase;
    bool clean;   /* the datagram ended between requests */
    bool parked;  /* the socket was full: waiting for EPOLLOUT */
    bool reg_out; /* registered for EPOLLOUT instead of EPOLLIN */

    /* Cutting the queued replies into datagrams (next_datagram()). */
    size_t nmark;             /* marks of `out` already taken */
    size_t upto;              /* take marks up to this index, */
    bool close_open;          /* then end the open object there */
    enum outq_mark_kind kind; /* kind of the open object */
    uint64_t obj_start;       /* stream position where it starts */
    uint64_t obj_left;        /* bytes of the current message not cut */
    uint16_t obj_seq;
    uint16_t obj_total;
    bool burst_start; /* nothing sent since the last burst began */
    bool pending;     /* requests since the last flush */
    bool discard;     /* consume replies without sending */
    unsigned nreqs_seen;
    int64_t budget; /* memcached's requests left before it yields */
    uint64_t yields;

    /* Datagrams cut and not yet sent: [bhead, nbatch). */
    unsigned bhead;
    unsigned nbatch;
    struct mmsghdr msgs[UDP_BATCH];
    struct iovec iov[UDP_BATCH];
    char dgram[UDP_BATCH][UDP_DATAGRAM_MAX];
};

/* ---- cutting replies into datagrams -------------------------------- */

/* Cuts one datagram: header, then len bytes taken from the queue. */
static void
add_datagram(struct udp_conn *c, uint16_t seq, uint16_t total, size_t len)
{
    if (c->discard) {
        outq_sent(&c->out, len);
        return;
    }
    unsigned i = c->nbatch++;
    struct udp_header h = {.id = c->id, .seq = seq, .total = total};
    char *d = c->dgram[i];
    udp_compose(d, &h);
    size_t got = outq_peek(&c->out, d + UDP_HEADER_LEN, len);
    outq_sent(&c->out, got);
    c->iov[i].iov_base = d;
    c->iov[i].iov_len = UDP_HEADER_LEN + got;
    memset(&c->msgs[i], 0, sizeof(c->msgs[i]));
    c->msgs[i].msg_hdr.msg_name = &c->peer;
    c->msgs[i].msg_hdr.msg_namelen = c->peerlen;
    c->msgs[i].msg_hdr.msg_iov = &c->iov[i];
    c->msgs[i].msg_hdr.msg_iovlen = 1;
}

/*
 * Starts a reply object of len queued bytes as its own message. An empty
 * one is sent as a bare header (total 0) only if it is a get's and opens
 * a burst; true when it cut that datagram.
 */
static bool
start_object(struct udp_conn *c, uint64_t len, enum outq_mark_kind kind)
{
    if (len == 0) {
        if (kind == OUTQ_MARK_VALUE && c->burst_start) {
            add_datagram(c, 0, 0, 0);
            c->burst_start = false;
            return true;
        }
        return false;
    }
    c->obj_left = len;
    c->obj_seq = 0;
    c->obj_total = udp_total(len);
    c->burst_start = false;
    return false;
}

/* A request starts: memcached's -R budget, and its yield bursts. */
static void
count_request(struct udp_conn *c)
{
    c->pending = true;
    if (++c->nreqs_seen == 1) {
        return; /* the first request of a wake-up is free */
    }
    if (--c->budget < 0) {
        c->yields++;
        c->burst_start = true;
        c->budget = (int64_t)c->w->net->cfg.reqs_per_event - 1;
    }
}

/* Takes the next mark: ends the open object there, opens the next. */
static bool
take_mark(struct udp_conn *c)
{
    const struct outq_mark *m = &c->out.marks[c->nmark++];
    bool cut = start_object(c, m->pos - c->obj_start, c->kind);

    c->obj_start = m->pos;
    c->kind = OUTQ_MARK_REPLY;
    switch (m->kind) {
    case OUTQ_MARK_REPLY:
        count_request(c);
        break;
    case OUTQ_MARK_VALUE:
        c->kind = OUTQ_MARK_VALUE;
        break;
    case OUTQ_MARK_FLUSH:
        c->burst_start = true;
        c->pending = false;
        break;
    }
    return cut;
}

/* Cuts the next datagram into the batch; false when nothing is left. */
static bool
next_datagram(struct udp_conn *c)
{
    for (;;) {
        if (c->obj_left > 0) {
            size_t n = c->obj_left < UDP_PAYLOAD_MAX ? (size_t)c->obj_left
                                                     : UDP_PAYLOAD_MAX;
            add_datagram(c, c->obj_seq++, c->obj_total, n);
            c->obj_left -= n;
            return true;
        }
        if (c->nmark < c->upto) {
            if (take_mark(c)) {
                return true;
            }
            continue;
        }
        if (!c->close_open) {
            return false;
        }
        c->close_open = false;
        uint64_t len = c->out.queued - c->obj_start;
        bool cut = start_object(c, len, c->kind);
        c->obj_start = c->out.queued;
        c->kind = OUTQ_MARK_REPLY;
        if (cut) {
            return true;
        }
    }
}

/* Sends the batch. False if the socket is full (the rest stays). */
static bool
send_batch(struct udp_conn *c)
{
    while (c->bhead < c->nbatch && !c->discard) {
        int n = sendmmsg(c->fd, c->msgs + c->bhead, c->nbatch - c->bhead, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                return false;
            }
            c->discard = true; /* failing: drop the rest of the reply */
            break;
        }
        for (int i = 0; i < n; i++) {
            stats_add(&c->w->stats->bytes_written,
                      c->msgs[c->bhead + (unsigned)i].msg_len);
        }
        c->bhead += (unsigned)n;
    }
    c->bhead = 0;
    c->nbatch = 0;
    return true;
}

/* Cuts and sends what is planned; false if parked on a full socket. */
static bool
pump(struct udp_conn *c)
{
    for (;;) {
        while (c->nbatch < UDP_BATCH && next_datagram(c)) {
        }
        if (c->nbatch == 0) {
            return true;
        }
        if (!send_batch(c)) {
            return false;
        }
    }
}

static void
plan(struct udp_conn *c, size_t upto, bool close_open)
{
    c->upto = upto;
    c->close_open = close_open;
}

/* Index just past the last flush mark not yet taken, or c->nmark. */
static size_t
last_flush(const struct udp_conn *c)
{
    for (size_t i = c->out.nmarks; i > c->nmark; i--) {
        if (c->out.marks[i - 1].kind == OUTQ_MARK_FLUSH) {
            return i;
        }
    }
    return c->nmark;
}

/*
 * A clean end costs memcached one or two more steps of its budget (its
 * next-command state runs once more, and again after writing out).
 */
static void
count_end(struct udp_conn *c)
{
    if (c->nreqs_seen == 0) {
        return;
    }
    if (--c->budget >= 0) {
        if (c->pending && --c->budget < 0) {
            c->yields++;
        }
    } else {
        c->yields++;
    }
}

static void
finish(struct udp_conn *c)
{
    if (c->clean) {
        count_end(c);
    }
    outq_sent(&c->out, outq_pending(&c->out));
    outq_marks_clear(&c->out);
    c->nmark = 0;
    c->upto = 0;
    if (c->yields > 0) {
        stats_add(&c->w->stats->conn_yields, c->yields);
    }
    session_reset(c->session);
    buf_consume(&c->in, buf_rlen(&c->in));
    c->phase = PHASE_IDLE;
}

/*
 * Runs the datagram's requests and sends their replies until done or the
 * socket is full (then c->parked is set and EPOLLOUT brings us back).
 */
static void
drive(struct udp_conn *c)
{
    for (;;) {
        if (!pump(c)) {
            c->parked = true;
            return;
        }
        switch (c->phase) {
        case PHASE_RUN: {
            enum session_status st =
                session_process(c->session, &c->in, UINT_MAX);
            if (st == SESSION_BLOCKED) {
                /* Bounded memory: write out what is queued, then go on. */
                plan(c, c->out.nmarks, true);
                break;
            }
            c->clean = st != SESSION_CLOSE && st != SESSION_ABORT &&
                       !session_mid_request(c->session);
            if (c->clean) {
                plan(c, c->out.nmarks, true);
                c->phase = PHASE_END;
            } else {
                plan(c, last_flush(c), false);
                c->phase = PHASE_DROP;
            }
            break;
        }
        case PHASE_DROP:
            c->discard = true;
            plan(c, c->out.nmarks, true);
            c->phase = PHASE_END;
            break;
        case PHASE_END:
            finish(c);
            return;
        case PHASE_IDLE:
            return;
        }
    }
}

static void
run_datagram(struct udp_conn *c)
{
    uint32_t now = net_clock(c->w->net);

    if (atomic_load_explicit(&c->since, memory_order_relaxed) != now) {
        atomic_store_explicit(&c->since, now, memory_order_relaxed);
    }
    session_reset(c->session);
    c->phase = PHASE_RUN;
    c->kind = OUTQ_MARK_REPLY;
    c->obj_start = c->out.queued;
    c->obj_left = 0;
    c->nmark = 0;
    plan(c, 0, false);
    c->burst_start = true;
    c->pending = false;
    c->discard = false;
    c->nreqs_seen = 0;
    c->budget = (int64_t)c->w->net->cfg.reqs_per_event;
    c->yields = 0;
    drive(c);
}

/* Waits for EPOLLOUT (out) or EPOLLIN: EPOLLEXCLUSIVE rules out a MOD. */
static void
listen_for(struct udp_conn *c, bool out)
{
    struct epoll_event ev = {
        .events = out ? EPOLLOUT : EPOLLIN | EPOLLEXCLUSIVE,
        .data.ptr = (void *)((uintptr_t)c | NET_UDP_TAG),
    };

    if (c->reg_out == out) {
        return;
    }
    epoll_ctl(c->w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    if (epoll_ctl(c->w->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        perror("epoll_ctl (udp)");
    }
    c->reg_out = out;
}

/* ---- receiving ------------------------------------------------------ */

void
udp_event(struct udp_conn *c, uint32_t events)
{
    if (c->parked) {
        if ((events & (EPOLLOUT | EPOLLERR)) == 0) {
            return;
        }
        c->parked = false;
        drive(c);
    }
    for (int i = 0; i < UDP_READS && !c->parked; i++) {
        struct udp_header h;
        c->peerlen = sizeof(c->peer);
        ssize_t n = recvfrom(c->fd, buf_wptr(&c->in), buf_wlen(&c->in), 0,
                             (struct sockaddr *)&c->peer, &c->peerlen);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            break; /* EAGAIN: another worker took it, or none left */
        }
        enum udp_status st = udp_parse(buf_wptr(&c->in), (size_t)n, &h);
        if (st == UDP_SHORT) {
            continue;
        }
        stats_add(&c->w->stats->bytes_read, (uint64_t)n);
        if (st != UDP_OK) {
            continue;
        }
        c->id = h.id;
        buf_commit(&c->in, (size_t)n);
        buf_consume(&c->in, UDP_HEADER_LEN);
        run_datagram(c);
    }
    listen_for(c, c->parked);
}

/* ---- sockets and endpoints ----------------------------------------- */

static void
conn_destroy_one(struct udp_conn *c)
{
    struct stats_conns *sc = c->w->net->srv->conns;

    session_destroy(c->session);
    if (c->in.cap > 0) {
        atomic_fetch_sub_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&sc->read_buf_bytes, c->in.cap,
                                  memory_order_relaxed);
    }
    buf_deinit(&c->in);
    outq_deinit(&c->out);
    if (c->owns_fd) {
        close(c->fd);
    }
    free(c);
}

/* The endpoint's own descriptor: fd itself for the first, else a dup. */
static struct udp_conn *
conn_create_one(struct worker *w, int fd, bool dup_fd)
{
    struct stats_conns *sc = w->net->srv->conns;
    struct udp_conn *c = calloc(1, sizeof(*c));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
    socklen_t len = sizeof(c->bound);

    if (c == NULL) {
        return NULL;
    }
    c->w = w;
    c->fd = fd;
    outq_init(&c->out);
    outq_set_gauges(&c->out, &sc->response_obj_count, &sc->response_obj_bytes);
    c->out.marking = true;
    if (dup_fd) {
        c->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (c->fd < 0) {
            goto fail;
        }
        c->owns_fd = true;
    }
    getsockname(c->fd, (struct sockaddr *)&c->bound, &len);
    atomic_init(&c->since, net_clock(w->net));
    if (buf_init(&c->in, UDP_READ_BUF) != BUF_OK) {
        goto fail;
    }
    atomic_fetch_add_explicit(&sc->read_buf_count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&sc->read_buf_bytes, c->in.cap,
                              memory_order_relaxed);
    c->session = session_create(w->net->srv, w->stats, &c->out);
    ev.data.ptr = (void *)((uintptr_t)c | NET_UDP_TAG);
    if (c->session == NULL || epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        goto fail;
    }
    session_set_client(c->session, c->fd, w->id, SESSION_PROTO_NEGOTIATE, true);
    if (net_verbosity(w->net) > 1) {
        fprintf(stderr, "<%d server listening (udp)\n", c->fd);
    }
    return c;

fail:
    conn_destroy_one(c);
    return NULL;
}

int
udp_attach(struct worker *w)
{
    struct net *n = w->net;
    unsigned per = n->cfg.udp_per_socket;

    for (size_t s = 0; s < n->nudp_fds; s++) {
        for (unsigned k = 0; k < per; k++) {
            if ((s * per + k) % n->cfg.nthreads != w->id) {
                continue;
            }
            struct udp_conn *c = conn_create_one(w, n->udp_fds[s], k > 0);
            if (c == NULL) {
                return -1;
            }
            /* Under the lock: other workers' reports read the list. */
            pthread_mutex_lock(&w->list_lock);
            c->next = w->udp;
            w->udp = c;
            pthread_mutex_unlock(&w->list_lock);
        }
    }
    return 0;
}

bool
udp_report(struct worker *w, int self_fd, struct net_rows *rows)
{
    for (struct udp_conn *c = w->udp; c != NULL; c = c->next) {
        struct net_row *r = net_rows_add(rows);
        if (r == NULL) {
            return false;
        }
        r->fd = c->fd;
        r->kind = NET_ROW_UDP;
        r->state = NET_ST_READ;
        r->since = atomic_load_explicit(&c->since, memory_order_relaxed);
        r->addr = c->bound;
        if (c->fd == self_fd) {
            /* The asker, on this very thread: its peer is safe to read. */
            r->state = NET_ST_PARSE;
            r->addr = c->peer;
            r->local = c->bound;
        }
    }
    return true;
}

void
udp_detach(struct worker *w)
{
    while (w->udp != NULL) {
        struct udp_conn *c = w->udp;
        w->udp = c->next;
        conn_destroy_one(c);
    }
}

static int
add_fd(struct net *n, int fd)
{
    int *fds = realloc(n->udp_fds, (n->nudp_fds + 1) * sizeof(*fds));

    if (fds == NULL) {
        close(fd);
        return -1;
    }
    n->udp_fds = fds;
    fds[n->nudp_fds++] = fd;
    return net_note_bound(n, "UDP", fd);
}

/* memcached asks for a large send buffer so bursts of replies fit. */
static void
grow_sndbuf(const struct net *n, int fd)
{
    int old = 0;
    int want = UDP_SNDBUF;
    socklen_t len = sizeof(old);

    getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &old, &len);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof(want));
    if (net_verbosity(n) > 1) {
        fprintf(stderr, "<%d send buffer was %d, now %d\n", fd, old, want);
    }
}

/* memcached's wording: with -l it names the interfaces, else the port. */
static void
failed(const struct net *n, int port, int err)
{
    if (n->cfg.listen_spec != NULL) {
        fprintf(stderr, "failed to listen on one of interface(s) %s: %s\n",
                n->cfg.listen_spec, strerror(err));
    } else {
        fprintf(stderr, "failed to listen on UDP port %d: %s\n", port,
                strerror(err));
    }
}

/*
 * Binds one address. 1 when bound, 0 when skipped as memcached skips it
 * (a socket that cannot be created, an address in use), -1 on failure
 * (after printing memcached's "bind(): ..." line).
 */
static int
bind_one(struct net *n, const struct addrinfo *ai)
{
    int one = 1;
    int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);

    if (fd < 0) {
        return errno == EMFILE ? -1 : 0;
    }
    if (ai->ai_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) != 0) {
        close(fd);
        return 0;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    grow_sndbuf(n, fd);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int err = errno;
        close(fd);
        if (err == EADDRINUSE) {
            errno = err;
            return 0;
        }
        fprintf(stderr, "bind(): %s\n", strerror(err));
        return -1;
    }
    return add_fd(n, fd) == 0 ? 1 : -1;
}

/* Binds every address of one -l element; memcached needs one to work. */
static int
open_spec(struct net *n, const struct net_listen *l)
{
    struct addrinfo hints = {.ai_flags = AI_PASSIVE,
                             .ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res = NULL;
    char port[16];
    const char *host = l->host;
    int bound = 0;
    int err = EADDRNOTAVAIL;

    if (host != NULL && (host[0] == '\0' || strcmp(host, "*") == 0)) {
        host = NULL;
    }
    snprintf(port, sizeof(port), "%d", l->udp_port);
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "getaddrinfo(): %s\n", gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        errno = 0;
        rc = bind_one(n, ai);
        if (rc < 0) {
            /* memcached's errno is EINVAL by the time it reports. */
            err = EINVAL;
            bound = 0;
            break;
        }
        if (rc == 0 && errno != 0) {
            err = errno;
        }
        bound += rc;
    }
    freeaddrinfo(res);
    if (bound == 0) {
        failed(n, l->udp_port, err);
        return -1;
    }
    return 0;
}

int
udp_open(struct net *n)
{
    for (size_t i = 0; i < n->cfg.nlistens; i++) {
        if (n->cfg.listens[i].udp_port < 0) {
            continue;
        }
        if (open_spec(n, &n->cfg.listens[i]) != 0) {
            return -1;
        }
    }
    n->nudp_conns = (unsigned)n->nudp_fds * n->cfg.udp_per_socket;
    return 0;
}

void
udp_close(struct net *n)
{
    for (size_t i = 0; i < n->nudp_fds; i++) {
        close(n->udp_fds[i]);
    }
    free(n->udp_fds);
    n->udp_fds = NULL;
    n->nudp_fds = 0;
}
