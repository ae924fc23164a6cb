/*
 * tls - the OpenSSL context and the TLS transport (see tls.h for the
 * design: contexts swapped on reload, handshake inside read/writev, the
 * worker's record buffer).
 */
#include "net/tls.h"

#include "net/tls_lib.h"
#include "net/transport.h"
#include "stats/stats.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/*
 * OpenSSL's names, called through the table tls_create loads (tls_lib.h).
 * Object-like, so that OpenSSL's own macros reach the table too.
 */
#define TLS_server_method              (*tls_lib.TLS_server_method)
#define SSL_CTX_new                    (*tls_lib.SSL_CTX_new)
#define SSL_CTX_free                   (*tls_lib.SSL_CTX_free)
#define SSL_CTX_ctrl                   (*tls_lib.SSL_CTX_ctrl)
#define SSL_CTX_set_options            (*tls_lib.SSL_CTX_set_options)
#define SSL_CTX_set_verify             (*tls_lib.SSL_CTX_set_verify)
#define SSL_CTX_set_cipher_list        (*tls_lib.SSL_CTX_set_cipher_list)
#define SSL_CTX_set_ex_data            (*tls_lib.SSL_CTX_set_ex_data)
#define SSL_CTX_get_ex_data            (*tls_lib.SSL_CTX_get_ex_data)
#define SSL_CTX_sess_set_new_cb        (*tls_lib.SSL_CTX_sess_set_new_cb)
#define SSL_CTX_set_session_id_context (*tls_lib.SSL_CTX_set_session_id_context)
#define SSL_CTX_use_certificate_chain_file \
    (*tls_lib.SSL_CTX_use_certificate_chain_file)
#define SSL_CTX_use_PrivateKey_file   (*tls_lib.SSL_CTX_use_PrivateKey_file)
#define SSL_CTX_check_private_key     (*tls_lib.SSL_CTX_check_private_key)
#define SSL_CTX_load_verify_locations (*tls_lib.SSL_CTX_load_verify_locations)
#define SSL_CTX_set_client_CA_list    (*tls_lib.SSL_CTX_set_client_CA_list)
#define SSL_load_client_CA_file       (*tls_lib.SSL_load_client_CA_file)
#define SSL_new                       (*tls_lib.SSL_new)
#define SSL_free                      (*tls_lib.SSL_free)
#define SSL_set_fd                    (*tls_lib.SSL_set_fd)
#define SSL_get_SSL_CTX               (*tls_lib.SSL_get_SSL_CTX)
#define SSL_accept                    (*tls_lib.SSL_accept)
#define SSL_read                      (*tls_lib.SSL_read)
#define SSL_write                     (*tls_lib.SSL_write)
#define SSL_get_error                 (*tls_lib.SSL_get_error)
#define SSL_pending                   (*tls_lib.SSL_pending)
#define SSL_has_pending               (*tls_lib.SSL_has_pending)
#define SSL_shutdown                  (*tls_lib.SSL_shutdown)
#define ERR_clear_error               (*tls_lib.ERR_clear_error)
#define ERR_get_error                 (*tls_lib.ERR_get_error)
#define ERR_error_string_n            (*tls_lib.ERR_error_string_n)
#define ERR_print_errors_fp           (*tls_lib.ERR_print_errors_fp)
#define ERR_new                       (*tls_lib.ERR_new)
#define ERR_set_debug                 (*tls_lib.ERR_set_debug)
#define ERR_set_error                 (*tls_lib.ERR_set_error)

/* OpenSSL's error strings are at most this long (with the NUL). */
#define TLS_ERR_LEN 256

/* Names the server's sessions in the session cache. */
#define TLS_SESSION_CONTEXT "memoria"

struct tls {
    struct tls_config cfg;
    struct stats_conns *counters;
    pthread_mutex_t lock; /* guards ctx: SSL_new against a reload's swap */
    SSL_CTX *ctx;
};

/* One connection's state (transport.state). */
struct tls_conn {
    SSL *ssl;
    struct tls_wbuf *wbuf; /* the worker's record buffer */
    /*
     * Bytes the last SSL_write offered when it could not finish (WANT_*):
     * OpenSSL wants the retry to offer at least as many, and the bytes
     * it already encrypted are the first of them.
     */
    size_t retry_len;
    bool accepted; /* the handshake is done */
};

/* ---- the context --------------------------------------------------------- */

/* memcached's ssl_verify_mode 0-3 as OpenSSL's flags. */
static int
verify_flags(int mode)
{
    switch (mode) {
    case 1:
        return SSL_VERIFY_PEER;
    case 2:
        return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    case 3:
        return SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT |
               SSL_VERIFY_CLIENT_ONCE;
    default:
        return SSL_VERIFY_NONE;
    }
}

static const char *
or_null(const char *s)
{
    return s != NULL ? s : "(null)";
}

static uint64_t
mono_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

/* Counts a session the server-side cache took in (ssl_new_sessions). */
static int
on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    const struct tls *t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

    (void)sess;
    atomic_fetch_add_explicit(&t->counters->ssl_new_sessions, 1,
                              memory_order_relaxed);
    return 0; /* the cache keeps its own reference */
}

/*
 * memcached hands OpenSSL a NULL path for an option not given, and
 * OpenSSL's fopen(NULL) fails with EFAULT ("Bad address"). The ASan and
 * TSan fopen interceptors read the path first and would crash, so those
 * builds queue the same first error without the call (OpenSSL's lines
 * below it, printed to stderr, are then missing).
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NULL_PATH_FAILS(path) \
    ((path) == NULL && (ERR_raise(ERR_LIB_SYS, EFAULT), 1))
#else
#define NULL_PATH_FAILS(path) false
#endif

/*
 * The certificate files, in memcached's order and with its messages:
 * chain, key, the pair, then the CA list. On failure err gets the first
 * error OpenSSL queued, and the rest of the queue goes to stderr, as
 * memcached prints them.
 */
static bool
load_certificates(const struct tls_config *cfg, SSL_CTX *ctx, char *err,
                  size_t errlen)
{
    char why[TLS_ERR_LEN] = "";
    const char *what = NULL;
    const char *path = NULL;

    ERR_clear_error();
    if (NULL_PATH_FAILS(cfg->chain_cert) ||
        SSL_CTX_use_certificate_chain_file(ctx, cfg->chain_cert) != 1) {
        what = "Error loading the certificate chain: ";
        path = or_null(cfg->chain_cert);
    } else if (NULL_PATH_FAILS(cfg->key) ||
               SSL_CTX_use_PrivateKey_file(ctx, cfg->key, cfg->keyformat) !=
                   1) {
        what = "Error loading the key: ";
        path = or_null(cfg->key);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        what = "Error validating the certificate";
    } else if (cfg->ca_cert != NULL) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->ca_cert, NULL) != 1) {
            what = "Error loading the CA certificate: ";
            path = cfg->ca_cert;
        } else {
            SSL_CTX_set_client_CA_list(ctx,
                                       SSL_load_client_CA_file(cfg->ca_cert));
        }
    }
    if (what == NULL) {
        return true;
    }
    unsigned long e = ERR_get_error();
    if (e != 0) {
        ERR_error_string_n(e, why, sizeof(why));
    }
    if (path != NULL) {
        snprintf(err, errlen, "%s%s : %s", what, path, why);
    } else {
        snprintf(err, errlen, "%s: %s", what, why);
    }
    ERR_print_errors_fp(stderr);
    return false;
}

/*
 * A context from the options. err gets memcached's message when the files
 * or the cipher list are refused.
 */
static SSL_CTX *
build_ctx(struct tls *t, char *err, size_t errlen)
{
    const struct tls_config *cfg = &t->cfg;
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (ctx == NULL) {
        snprintf(err, errlen, "Error creating the TLS context");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_VERSION + cfg->min_version);
    if (!load_certificates(cfg, ctx, err, errlen)) {
        goto fail;
    }
    SSL_CTX_set_verify(ctx, verify_flags(cfg->verify_mode), NULL);
    if (cfg->ciphers != NULL &&
        SSL_CTX_set_cipher_list(ctx, cfg->ciphers) != 1) {
        snprintf(err, errlen, "Error setting the provided cipher(s): %s",
                 cfg->ciphers);
        ERR_clear_error();
        goto fail;
    }
    SSL_CTX_set_app_data(ctx, t);
    if (cfg->session_cache) {
        SSL_CTX_sess_set_new_cb(ctx, on_new_session);
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
        SSL_CTX_set_session_id_context(
            ctx, (const unsigned char *)TLS_SESSION_CONTEXT,
            sizeof(TLS_SESSION_CONTEXT) - 1);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    if (cfg->kernel_tls) {
        /* Without the kernel's "tls" ULP OpenSSL keeps to user space. */
        SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
    }
    /*
     * As memcached: no renegotiation, and idle connections give back
     * OpenSSL's record buffers. Ours: a write may finish part of what it
     * was offered, and a retry may come from another buffer (tls.h).
     */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
                              SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return ctx;

fail:
    SSL_CTX_free(ctx);
    return NULL;
}

struct tls *
tls_create(const struct tls_config *cfg, struct stats_conns *counters)
{
    struct tls *t = calloc(1, sizeof(*t));
    char err[PATH_MAX + 2 * TLS_ERR_LEN];

    if (t == NULL) {
        fprintf(stderr, "Failed to allocate memory\n");
        return NULL;
    }
    t->cfg = *cfg;
    t->counters = counters;
    pthread_mutex_init(&t->lock, NULL);
    if (!tls_lib_load(err, sizeof(err))) {
        fprintf(stderr, "%s\n", err);
        tls_destroy(t);
        return NULL;
    }
    t->ctx = build_ctx(t, err, sizeof(err));
    if (t->ctx == NULL) {
        /* memcached ends the certificate messages with CRLF here too. */
        bool crlf = strncmp(err, "Error setting", 13) != 0;
        fprintf(stderr, "%s%s", err, crlf ? "\r\n" : "\n");
        tls_destroy(t);
        return NULL;
    }
    /*
     * memcached stamps the startup load with its clock's zero, 62 seconds
     * before it started: time_since_server_cert_refresh reads uptime + 60
     * until the first reload.
     */
    atomic_store(&counters->ssl_cert_loaded_s, 0);
    return t;
}

void
tls_destroy(struct tls *t)
{
    if (t == NULL) {
        return;
    }
    if (t->ctx != NULL) { /* NULL too when OpenSSL did not load */
        SSL_CTX_free(t->ctx);
    }
    pthread_mutex_destroy(&t->lock);
    free(t);
}

bool
tls_reload(struct tls *t, char *err, size_t errlen)
{
    SSL_CTX *ctx = build_ctx(t, err, errlen);

    if (ctx == NULL) {
        return false;
    }
    pthread_mutex_lock(&t->lock);
    SSL_CTX *old = t->ctx;
    t->ctx = ctx;
    pthread_mutex_unlock(&t->lock);
    SSL_CTX_free(old); /* connections accepted with it hold references */
    atomic_store(&t->counters->ssl_cert_loaded_s, mono_seconds());
    return true;
}

void
tls_wbuf_deinit(struct tls_wbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->cap = 0;
}

/* ---- the transport ------------------------------------------------------- */

/*
 * Maps a failed SSL call to the transport's contract: EAGAIN with the
 * event to wait for in *wants, 0 for a peer that closed, else -1.
 */
static ssize_t
failed(struct tls_conn *tc, int rc, uint32_t *wants)
{
    switch (SSL_get_error(tc->ssl, rc)) {
    case SSL_ERROR_WANT_READ:
        *wants = EPOLLIN;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_WANT_WRITE:
        *wants = EPOLLOUT;
        errno = EAGAIN;
        return -1;
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        if (errno == 0 || errno == EAGAIN) {
            errno = ECONNRESET;
        }
        return -1;
    default:
        ERR_clear_error();
        errno = EPROTO;
        return -1;
    }
}

/* Runs the handshake on; 1 once it is done, else as failed(). */
static ssize_t
handshake(struct tls_conn *tc, uint32_t *wants)
{
    int rc = SSL_accept(tc->ssl);

    if (rc == 1) {
        tc->accepted = true;
        return 1;
    }
    return failed(tc, rc, wants);
}

static ssize_t
tls_read(struct transport *t, void *p, size_t len)
{
    struct tls_conn *tc = t->state;

    t->read_wants = EPOLLIN;
    if (!tc->accepted) {
        ssize_t hs = handshake(tc, &t->read_wants);
        if (hs <= 0) {
            return hs;
        }
    }
    int n = SSL_read(tc->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
    if (n > 0) {
        return n;
    }
    return failed(tc, n, &t->read_wants);
}

/* One SSL_write; on WANT_* remembers what it offered (retry_len). */
static ssize_t
write_once(struct transport *t, struct tls_conn *tc, const void *p, size_t len)
{
    int n = SSL_write(tc->ssl, p, len > INT_MAX ? INT_MAX : (int)len);

    if (n > 0) {
        tc->retry_len = 0;
        return n;
    }
    ssize_t rc = failed(tc, n, &t->write_wants);
    if (rc < 0 && errno == EAGAIN) {
        tc->retry_len = len;
    } else if (rc == 0) {
        errno = EPIPE; /* a write cannot see "closed" as 0 */
        rc = -1;
    }
    return rc;
}

/*
 * Copies iovecs from (iov[i], skipping off bytes of it) into the record
 * buffer while they fit whole; the first one never fits only when it is
 * larger than the buffer, and then nothing is copied. Returns the bytes
 * copied.
 */
static size_t
gather(struct tls_wbuf *b, const struct iovec *iov, int n, int i, size_t off)
{
    size_t len = 0;

    for (; i < n; i++, off = 0) {
        size_t part = iov[i].iov_len - off;
        if (part > b->cap - len) {
            break;
        }
        memcpy(b->p + len, (const char *)iov[i].iov_base + off, part);
        len += part;
    }
    return len;
}

/*
 * Sends as much of the iovecs as the socket takes: runs of small ones
 * through the record buffer, large ones straight from their memory.
 * Returns the bytes OpenSSL took (each of them is its problem now), or
 * -1 with EAGAIN when it took none.
 */
static ssize_t
tls_writev(struct transport *t, const struct iovec *iov, int n)
{
    struct tls_conn *tc = t->state;
    struct tls_wbuf *b = tc->wbuf;
    size_t taken = 0;
    int i = 0;
    size_t off = 0; /* into iov[i] */

    t->write_wants = EPOLLOUT;
    if (!tc->accepted) {
        ssize_t hs = handshake(tc, &t->write_wants);
        if (hs <= 0) {
            return hs == 0 ? (errno = EPIPE, -1) : hs;
        }
    }
    if (b->p == NULL) {
        b->p = malloc(b->cap);
        if (b->p == NULL) {
            errno = ENOMEM;
            return -1;
        }
    }
    while (i < n) {
        const char *src;
        size_t len = gather(b, iov, n, i, off);
        /* A retry offers at least what the failed write offered. */
        if (len == 0 || len < tc->retry_len) {
            src = (const char *)iov[i].iov_base + off;
            len = iov[i].iov_len - off;
        } else {
            src = b->p;
        }
        ssize_t w = len > 0 ? write_once(t, tc, src, len) : 0;
        if (w < 0) {
            return taken > 0 ? (ssize_t)taken : -1;
        }
        taken += (size_t)w;
        /* Step over what went, iovec by iovec. */
        size_t left = (size_t)w;
        while (i < n && left >= iov[i].iov_len - off) {
            left -= iov[i].iov_len - off;
            i++;
            off = 0;
        }
        off += left;
    }
    return (ssize_t)taken;
}

static size_t
tls_pending(const struct transport *t)
{
    const struct tls_conn *tc = t->state;
    int n = SSL_pending(tc->ssl);

    /* Undecrypted bytes OpenSSL holds count too: read on to find out. */
    return n > 0 ? (size_t)n : (size_t)SSL_has_pending(tc->ssl);
}

static void
tls_conn_free(struct tls_conn *tc)
{
    SSL_free(tc->ssl);
    free(tc);
}

static void
tls_close(struct transport *t)
{
    struct tls_conn *tc = t->state;

    if (tc != NULL) {
        /* As memcached: one close_notify attempt, never waited for. */
        if (tc->accepted && t->fd >= 0) {
            SSL_shutdown(tc->ssl);
        }
        ERR_clear_error();
        tls_conn_free(tc);
        t->state = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    t->fd = -1;
}

static const struct transport_ops transport_tls_ops = {
    .read = tls_read,
    .writev = tls_writev,
    .pending = tls_pending,
    .close = tls_close,
};

int
transport_tls_init(struct transport *tp, int fd, struct tls *t,
                   struct tls_wbuf *wbuf)
{
    struct tls_conn *tc = calloc(1, sizeof(*tc));
    uint32_t wants = EPOLLIN;

    if (tc == NULL) {
        return -1;
    }
    pthread_mutex_lock(&t->lock);
    tc->ssl = SSL_new(t->ctx);
    pthread_mutex_unlock(&t->lock);
    if (tc->ssl == NULL || SSL_set_fd(tc->ssl, fd) != 1) {
        ERR_clear_error();
        goto fail;
    }
    if (wbuf->cap == 0) {
        wbuf->cap = t->cfg.wbuf_size > 0 ? t->cfg.wbuf_size : 1;
    }
    tc->wbuf = wbuf;
    tp->ops = &transport_tls_ops;
    tp->fd = fd;
    tp->state = tc;
    tp->write_wants = EPOLLOUT;
    /*
     * The first try, where memcached makes it: a handshake that fails
     * here (the client's first bytes are already in and are not TLS) is
     * the one memcached counts; later failures just close.
     */
    if (handshake(tc, &wants) < 0 && errno != EAGAIN) {
        atomic_fetch_add_explicit(&t->counters->ssl_handshake_errors, 1,
                                  memory_order_relaxed);
        goto fail;
    }
    tp->read_wants = wants;
    return 0;

fail:
    if (tc->ssl != NULL) {
        SSL_free(tc->ssl);
    }
    free(tc);
    tp->state = NULL;
    return -1;
}

void
transport_tls_lend(struct transport *tp, struct tls_wbuf *wbuf)
{
    struct tls_conn *tc = tp->state;

    if (tp->ops != &transport_tls_ops || tc == NULL) {
        return;
    }
    if (wbuf->cap == 0) {
        wbuf->cap = tc->wbuf->cap;
    }
    tc->wbuf = wbuf;
}
