#include "cmd/logger.h"

#include "engine/engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A key URI-encodes to at most 3 bytes per byte; the rest is short. */
#define LOGGER_LINE_MAX (3 * 250 + 512)

struct logger *
logger_create(size_t nworkers, size_t ring_bytes)
{
    struct logger *lg = calloc(1, sizeof(*lg));

    if (lg == NULL) {
        return NULL;
    }
    lg->rings = calloc(nworkers + 1, sizeof(*lg->rings));
    if (lg->rings == NULL || pthread_mutex_init(&lg->shared_lock, NULL) != 0) {
        free(lg->rings);
        free(lg);
        return NULL;
    }
    for (size_t i = 0; i <= nworkers; i++) {
        if (logbuf_init(&lg->rings[i], ring_bytes) != 0) {
            lg->nrings = i;
            logger_destroy(lg);
            return NULL;
        }
    }
    lg->nrings = nworkers + 1;
    return lg;
}

void
logger_destroy(struct logger *lg)
{
    if (lg == NULL) {
        return;
    }
    for (size_t i = 0; i < lg->nrings; i++) {
        logbuf_deinit(&lg->rings[i]);
    }
    free(lg->rings);
    pthread_mutex_destroy(&lg->shared_lock);
    free(lg);
}

void
logger_totals(struct logger *lg, struct logger_totals *out)
{
    memset(out, 0, sizeof(*out));
    if (lg == NULL) {
        return;
    }
    for (size_t i = 0; i < lg->nrings; i++) {
        out->worker_dropped +=
            atomic_load_explicit(&lg->rings[i].dropped, memory_order_relaxed);
        out->worker_written +=
            atomic_load_explicit(&lg->rings[i].written, memory_order_relaxed);
    }
    out->watcher_skipped =
        atomic_load_explicit(&lg->watcher_skipped, memory_order_relaxed);
    out->watcher_sent =
        atomic_load_explicit(&lg->watcher_sent, memory_order_relaxed);
    out->watchers = atomic_load_explicit(&lg->nwatchers, memory_order_relaxed);
}

unsigned
logger_type_named(struct slice name)
{
#define LOGGER_TYPE_MATCH(n, bit) \
    if (slice_eq_str(name, #n)) { \
        return LOG_##n;           \
    }
    LOGGER_TYPES(LOGGER_TYPE_MATCH)
#undef LOGGER_TYPE_MATCH
    return 0;
}

/* memcached's key encoding: letters, digits and "-._~" as they are. */
static size_t
uri_encode(char *out, struct slice key)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (size_t i = 0; i < key.len && i < 250; i++) {
        unsigned char ch = (unsigned char)key.ptr[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
            ch == '~') {
            out[n++] = (char)ch;
        } else {
            out[n++] = '%';
            out[n++] = hex[ch >> 4];
            out[n++] = hex[ch & 15];
        }
    }
    out[n] = '\0';
    return n;
}

/* "ts=<sec>.<usec> gid=<n> " (usec unpadded, as memcached prints it). */
static int
prefix(struct logger *lg, char *line)
{
    struct timespec ts;
    uint64_t gid = atomic_fetch_add_explicit(&lg->gid, 1, memory_order_relaxed);

    clock_gettime(CLOCK_REALTIME, &ts);
    return snprintf(line, 64, "ts=%lld.%ld gid=%llu ", (long long)ts.tv_sec,
                    ts.tv_nsec / 1000, (unsigned long long)gid + 1);
}

static void
put(struct logger *lg, size_t ring, unsigned type, const char *line, int len)
{
    if (len <= 0 || len >= LOGGER_LINE_MAX) {
        return;
    }
    if (ring + 1 < lg->nrings) {
        logbuf_put(&lg->rings[ring], (uint16_t)type, line, (size_t)len);
        return;
    }
    pthread_mutex_lock(&lg->shared_lock);
    logbuf_put(&lg->rings[lg->nrings - 1], (uint16_t)type, line, (size_t)len);
    pthread_mutex_unlock(&lg->shared_lock);
}

void
logger_item_get(struct logger *lg, size_t ring, struct slice key,
                const char *status, unsigned cls, int fd, size_t nbytes)
{
    char k[3 * 250 + 1];
    char line[LOGGER_LINE_MAX];
    int n = prefix(lg, line);

    uri_encode(k, key);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "type=item_get key=%s status=%s clsid=%u cfd=%d size=%zu\n",
                  k, status, cls, fd, nbytes);
    put(lg, ring, LOG_fetchers, line, n);
}

void
logger_item_store(struct logger *lg, size_t ring, struct slice key,
                  const char *status, const char *cmd, uint32_t ttl,
                  unsigned cls, int fd, size_t nbytes)
{
    char k[3 * 250 + 1];
    char line[LOGGER_LINE_MAX];
    int n = prefix(lg, line);

    uri_encode(k, key);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "type=item_store key=%s status=%s cmd=%s ttl=%u clsid=%u "
                  "cfd=%d size=%zu\n",
                  k, status, cmd, ttl, cls, fd, nbytes);
    put(lg, ring, LOG_mutations, line, n);
}

void
logger_conn_event(struct logger *lg, size_t ring, const char *rip, int rport,
                  const char *transport, const char *reason, int fd)
{
    char line[LOGGER_LINE_MAX];
    int n = prefix(lg, line);

    if (reason == NULL) {
        n += snprintf(line + n, sizeof(line) - (size_t)n,
                      "type=conn_new rip=%s rport=%d transport=%s cfd=%d\n",
                      rip, rport, transport, fd);
    } else {
        n += snprintf(line + n, sizeof(line) - (size_t)n,
                      "type=conn_close rip=%s rport=%d transport=%s "
                      "reason=%s cfd=%d\n",
                      rip, rport, transport, reason, fd);
    }
    put(lg, ring, LOG_connevents, line, n);
}

void
logger_on_crawl(void *ctx, const struct engine_crawled *c)
{
    struct logger *lg = ctx;
    char line[LOGGER_LINE_MAX];

    if (!logger_wants(lg, LOG_sysevents)) {
        return;
    }
    /*
     * memoria has one queue per class where memcached has four, so every
     * line says lru=cold; it keeps no histogram of upcoming expiries, so
     * low_mark and next_reclaims read 0.
     */
    int n = prefix(lg, line);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "type=lru_crawler crawler=%u lru=cold low_mark=0 "
                  "next_reclaims=0 since_run=%u next_run=%u elapsed=%llu "
                  "examined=%llu reclaimed=%llu\n",
                  c->cls, c->since_run, c->next_run,
                  (unsigned long long)(c->elapsed_us / 1000000u),
                  (unsigned long long)c->examined,
                  (unsigned long long)c->reclaimed);
    put(lg, lg->nrings - 1, LOG_sysevents, line, n);
}

void
logger_on_evict(void *ctx, const struct engine_evicted *ev)
{
    struct logger *lg = ctx;
    char k[3 * 250 + 1];
    char line[LOGGER_LINE_MAX];

    if (!logger_wants(lg, LOG_evictions)) {
        return;
    }
    int n = prefix(lg, line);
    uri_encode(k, ev->key);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "type=eviction key=%s fetch=%s ttl=%lld la=%u clsid=%u "
                  "size=%zu\n",
                  k, ev->fetched ? "yes" : "no", (long long)ev->ttl, ev->la,
                  ev->cls, ev->nbytes);
    put(lg, lg->nrings - 1, LOG_evictions, line, n);
}

void
logger_on_slab_move(void *ctx, unsigned src, unsigned dst)
{
    struct logger *lg = ctx;
    char line[LOGGER_LINE_MAX];

    if (!logger_wants(lg, LOG_sysevents)) {
        return;
    }
    int n = prefix(lg, line);
    n += snprintf(line + n, sizeof(line) - (size_t)n,
                  "type=slab_move src=%u dst=%u\n", src, dst);
    put(lg, lg->nrings - 1, LOG_sysevents, line, n);
}
