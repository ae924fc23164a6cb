/*
 * report - `stats conns`: a group of lines per listener, UDP endpoint,
 * client and watcher, ordered by descriptor as memcached prints them
 * (docs/COMPAT.md#stats-conns). Runs on the asking worker's thread; the
 * other workers' lists are read under their list_lock, the watchers
 * under the watch thread's lock (see net_internal.h). The rows are
 * gathered first, then sorted and printed, so no lock is held while
 * lines are composed.
 */
#include "cmd/cmd.h"
#include "net/net_internal.h"
#include "net/watch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* "<proto>:<text>:<port>": a unix path is the longest text. */
#define REPORT_ADDR_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) + 32)

struct net_row *
net_rows_add(struct net_rows *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap != 0 ? r->cap * 2 : 64;
        struct net_row *v = realloc(r->v, cap * sizeof(*v));
        if (v == NULL) {
            return NULL;
        }
        r->v = v;
        r->cap = cap;
    }
    struct net_row *row = &r->v[r->n++];
    memset(row, 0, sizeof(*row));
    return row;
}

static const char *const state_names[] = {
    [NET_ST_LISTENING] = "conn_listening", [NET_ST_NEW_CMD] = "conn_new_cmd",
    [NET_ST_READ] = "conn_read",           [NET_ST_PARSE] = "conn_parse_cmd",
    [NET_ST_NREAD] = "conn_nread",         [NET_ST_MWRITE] = "conn_mwrite",
    [NET_ST_CLOSING] = "conn_closing",     [NET_ST_WATCH] = "conn_watch",
};

/*
 * memcached's address text: "tcp:1.2.3.4:5", "udp6:[::1]:5",
 * "unix:<path>"; a port of 0 is left out, and an address that reads as
 * less than two characters (a unix client has none) as "<AF n>" with
 * "?" for an unknown family.
 */
static void
addr_text(const struct sockaddr_storage *ss, bool udp, char *out, size_t len)
{
    char text[REPORT_ADDR_MAX] = "";
    const char *proto = "?";
    unsigned port = 0;

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, text, sizeof(text));
        port = ntohs(in->sin_port);
        proto = udp ? "udp" : "tcp";
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        char ip[INET6_ADDRSTRLEN] = "";
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(text, sizeof(text), "[%s]", ip);
        port = ntohs(in6->sin6_port);
        proto = udp ? "udp6" : "tcp6";
    } else if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
        snprintf(text, sizeof(text), "%.*s", (int)sizeof(un->sun_path),
                 un->sun_path);
        proto = "unix";
    }
    if (strlen(text) < 2) {
        snprintf(text, sizeof(text), "<AF %d>", (int)ss->ss_family);
    }
    if (port != 0) {
        snprintf(out, len, "%s:%s:%u", proto, text, port);
    } else {
        snprintf(out, len, "%s:%s", proto, text);
    }
}

/* A worker's clients, under its list lock. False when out of memory. */
static bool
worker_rows(struct worker *w, int self_fd, struct net_rows *rows)
{
    bool ok = true;

    pthread_mutex_lock(&w->list_lock);
    for (struct conn *c = w->conns; ok && c != NULL; c = c->next) {
        struct net_row *r = net_rows_add(rows);
        if (r == NULL) {
            ok = false;
            break;
        }
        uint32_t a = atomic_load_explicit(&c->activity, memory_order_relaxed);
        socklen_t len = sizeof(r->local);
        r->fd = c->fd;
        r->kind = NET_ROW_CLIENT;
        r->state = (enum net_state)(a & ((1u << NET_ST_BITS) - 1));
        r->since = a >> NET_ST_BITS;
        r->addr = c->peer;
        /* Linked means open (conn_close unlinks first). */
        getsockname(c->fd, (struct sockaddr *)&r->local, &len);
        if (c->fd == self_fd) {
            r->state = NET_ST_PARSE;
        }
    }
    ok = ok && udp_report(w, self_fd, rows);
    pthread_mutex_unlock(&w->list_lock);
    return ok;
}

static int
by_fd(const void *a, const void *b)
{
    int x = ((const struct net_row *)a)->fd;
    int y = ((const struct net_row *)b)->fd;

    return (x > y) - (x < y);
}

static void
emit_row(const struct net_row *r, uint32_t now, cmd_line_fn emit, void *ectx)
{
    char name[32];
    char value[REPORT_ADDR_MAX];
    bool udp = r->kind == NET_ROW_UDP;

    if (udp) {
        snprintf(name, sizeof(name), "%d:UDP", r->fd);
        emit(ectx, name, "UDP");
    }
    snprintf(name, sizeof(name), "%d:addr", r->fd);
    addr_text(&r->addr, udp, value, sizeof(value));
    emit(ectx, name, value);
    if (r->kind == NET_ROW_CLIENT || (udp && r->state != NET_ST_READ)) {
        snprintf(name, sizeof(name), "%d:listen_addr", r->fd);
        addr_text(&r->local, udp, value, sizeof(value));
        emit(ectx, name, value);
    }
    snprintf(name, sizeof(name), "%d:state", r->fd);
    emit(ectx, name, state_names[r->state]);
    snprintf(name, sizeof(name), "%d:secs_since_last_cmd", r->fd);
    /* The asker runs its command now; a clock read earlier may lag. */
    uint32_t secs =
        r->state == NET_ST_PARSE || now < r->since ? 0 : now - r->since;
    snprintf(value, sizeof(value), "%u", secs);
    emit(ectx, name, value);
}

void
net_conns_report(void *ctx, int self_fd, cmd_line_fn emit, void *emit_ctx)
{
    struct net *n = ctx;
    struct net_rows rows = {0};
    uint32_t now = net_clock(n);
    bool ok = true;

    for (size_t i = 0; ok && i < n->nlinfo; i++) {
        struct net_row *r = net_rows_add(&rows);
        if (r == NULL) {
            ok = false;
            break;
        }
        r->fd = n->linfo[i].fd;
        r->kind = NET_ROW_LISTEN;
        r->state = NET_ST_LISTENING;
        r->addr = n->linfo[i].addr;
    }
    for (unsigned i = 0; ok && i < n->cfg.nthreads; i++) {
        ok = worker_rows(&n->workers[i], self_fd, &rows);
    }
    if (ok) {
        ok = watch_report(n->watch, &rows);
    }
    /* Out of memory: what was gathered is printed (listeners first). */
    if (rows.n > 1) {
        qsort(rows.v, rows.n, sizeof(*rows.v), by_fd);
    }
    for (size_t i = 0; i < rows.n; i++) {
        emit_row(&rows.v[i], now, emit, emit_ctx);
    }
    free(rows.v);
}
