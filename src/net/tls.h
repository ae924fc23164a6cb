/*
 * tls - TLS through OpenSSL (-Z): the server's SSL_CTX, built from the
 * -o ssl_* options, and the connection transport that speaks TLS over a
 * non-blocking socket (transport.h's second implementation).
 *
 * Contexts: tls_create builds one at startup (on the main thread, before
 * privileges are dropped, as memcached loads its files). tls_reload
 * (refresh_certs from any worker, SIGHUP on the main thread) builds a new
 * one from the same options and swaps it in under a mutex; a connection
 * holds a reference to the context it was accepted with (OpenSSL counts
 * them), so existing connections keep their certificate and new ones get
 * the new one. A failed reload leaves the current context in place.
 *
 * Connections: transport_tls_init starts the handshake (SSL_accept once,
 * right after accept, where memcached tries it and counts its failures in
 * ssl_handshake_errors); the rest of the handshake runs inside read and
 * writev, never blocking: OpenSSL's WANT_READ / WANT_WRITE become EAGAIN
 * with read_wants / write_wants naming the epoll event to wait for.
 *
 * Writes: OpenSSL has no writev. Small iovecs (reply lines, small values)
 * are copied into a record buffer of ssl_wbuf_size bytes and leave as one
 * SSL_write; an iovec that does not fit goes to SSL_write straight from
 * where it lies (item memory), without a copy. The record buffer belongs
 * to the worker (struct tls_wbuf), not the connection: its contents only
 * matter during one writev call, because a retry after WANT_WRITE is
 * rebuilt from the same, unmoved output queue (SSL_MODE_ACCEPT_MOVING_
 * WRITE_BUFFER, and never fewer bytes than the failed call offered).
 * SSL_MODE_RELEASE_BUFFERS gives OpenSSL's own record buffers back while
 * a connection is idle. docs/TLS.md has the numbers.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct stats_conns;
struct transport;

/* -Z and -o ssl_*, as memcached takes them (main fills it from conf). */
struct tls_config {
    const char *chain_cert; /* PEM chain, server certificate first */
    const char *key;        /* NULL: memcached passes NULL too (an error) */
    int keyformat;          /* OpenSSL's SSL_FILETYPE_*: 1 PEM, 2 DER */
    int verify_mode;        /* 0 none, 1 request, 2 require, 3 once */
    const char *ciphers;    /* NULL: OpenSSL's default list */
    const char *ca_cert;    /* PEM file of acceptable client CAs, or NULL */
    size_t wbuf_size;       /* bytes of the record buffer */
    bool session_cache;     /* server-side session cache, ssl_new_sessions */
    bool kernel_tls;        /* SSL_OP_ENABLE_KTLS */
    int min_version;        /* 0-3: TLS 1.0 .. 1.3 */
};

struct tls;

/*
 * Builds the context. On failure prints memcached's message (OpenSSL's
 * error queue, then "Error loading the certificate chain: <path> :
 * <error>" and its kin) to stderr and returns NULL; memcached then exits
 * with 64. counters: where ssl_handshake_errors, ssl_new_sessions and
 * the time of the last certificate load are counted.
 */
struct tls *tls_create(const struct tls_config *cfg,
                       struct stats_conns *counters);

/* Frees the context; connections still open hold their own reference. */
void tls_destroy(struct tls *t);

/*
 * Loads the certificate, key and CA files again into a new context, for
 * new connections. True on success; otherwise err holds memcached's text
 * for the failure (no line end) and the old context stays. Any thread.
 */
bool tls_reload(struct tls *t, char *err, size_t errlen);

/*
 * The record buffer a worker lends its TLS connections' writes. Zeroed
 * memory is an empty one; its bytes come with the first TLS write.
 */
struct tls_wbuf {
    char *p;
    size_t cap;
};

void tls_wbuf_deinit(struct tls_wbuf *b);

/*
 * Makes tp a TLS transport on the accepted socket fd and tries the
 * handshake once. Returns 0, or -1 when the handshake already failed
 * (counted in ssl_handshake_errors; OpenSSL sent its alert, if any) or
 * memory ran out: then tp holds nothing and fd is still open, for the
 * caller to close.
 */
int transport_tls_init(struct transport *tp, int fd, struct tls *t,
                       struct tls_wbuf *wbuf);

/*
 * Points a TLS transport's writes at another record buffer: the thread
 * that takes a connection over (watch) lends its own. No-op for a plain
 * transport.
 */
void transport_tls_lend(struct transport *tp, struct tls_wbuf *wbuf);
