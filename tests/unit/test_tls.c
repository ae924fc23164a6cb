#include "unit.h"

#include "net/tls.h"
#include "net/transport.h"
#include "stats/stats.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/*
 * The TLS transport against a socketpair: the server side is ours, the
 * client an OpenSSL client in the same thread, both non-blocking, the
 * handshake pumped by hand. Certificates come from the openssl command.
 */

static char dir[] = "/tmp/memoria-tls-unit-XXXXXX";
static char crt[64];
static char key[64];

static int
make_cert(void **state)
{
    char cmd[512];
    (void)state;

    if (mkdtemp(dir) == NULL) {
        return -1;
    }
    snprintf(crt, sizeof(crt), "%s/s.crt", dir);
    snprintf(key, sizeof(key), "%s/s.key", dir);
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s -out %s "
             "-days 1 -subj /CN=unit >/dev/null 2>&1",
             key, crt);
    return system(cmd) == 0 ? 0 : -1;
}

static int
remove_cert(void **state)
{
    (void)state;
    unlink(crt);
    unlink(key);
    rmdir(dir);
    return 0;
}

struct pair {
    struct stats_conns counters;
    struct tls *tls;
    struct tls_wbuf wbuf;
    struct transport tp;
    SSL_CTX *cctx;
    SSL *client;
    int fd[2];
};

static void
nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Everything the client can read now, appended to out. */
static size_t
client_drain(struct pair *p, char *out, size_t cap)
{
    size_t got = 0;
    int n;

    while (got < cap &&
           (n = SSL_read(p->client, out + got, (int)(cap - got))) > 0) {
        got += (size_t)n;
    }
    return got;
}

static void
pair_open(struct pair *p, size_t wbuf_size, int sndbuf)
{
    struct tls_config cfg = {.chain_cert = crt,
                             .key = key,
                             .keyformat = SSL_FILETYPE_PEM,
                             .wbuf_size = wbuf_size,
                             .min_version = 2};
    char junk[64];

    memset(p, 0, sizeof(*p));
    p->tls = tls_create(&cfg, &p->counters);
    assert_non_null(p->tls);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), 0);
    if (sndbuf > 0) {
        setsockopt(p->fd[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    }
    nonblocking(p->fd[0]);
    nonblocking(p->fd[1]);
    p->cctx = SSL_CTX_new(TLS_client_method());
    p->client = SSL_new(p->cctx);
    SSL_set_fd(p->client, p->fd[1]);
    SSL_set_connect_state(p->client);
    SSL_do_handshake(p->client); /* the ClientHello */
    assert_int_equal(transport_tls_init(&p->tp, p->fd[0], p->tls, &p->wbuf), 0);
    for (int i = 0; i < 20; i++) {
        SSL_do_handshake(p->client);
        errno = 0;
        assert_true(p->tp.ops->read(&p->tp, junk, sizeof(junk)) < 0);
        assert_int_equal(errno, EAGAIN);
    }
    assert_int_equal(SSL_is_init_finished(p->client), 1);
    client_drain(p, junk, sizeof(junk)); /* the session tickets */
}

static void
pair_close(struct pair *p)
{
    transport_close(&p->tp);
    SSL_free(p->client);
    SSL_CTX_free(p->cctx);
    close(p->fd[1]);
    tls_wbuf_deinit(&p->wbuf);
    tls_destroy(p->tls);
}

/* Small iovecs leave as one record: one header, one tag. */
static void
small_iovecs_are_gathered_into_one_record(void **state)
{
    struct pair p;
    struct iovec iov[] = {
        {"VALUE k 0 3\r\n", 13}, {"abc", 3}, {"\r\n", 2}, {"END\r\n", 5}};
    char out[64];
    int raw = 0;
    (void)state;

    pair_open(&p, 16384, 0);
    assert_int_equal(p.tp.ops->writev(&p.tp, iov, 4), 23);
    ioctl(p.fd[1], FIONREAD, &raw);
    /* TLS 1.3: 5-byte header, the bytes, their content type, 16-byte tag */
    assert_int_equal(raw, 5 + 23 + 1 + 16);
    assert_int_equal(client_drain(&p, out, sizeof(out)), 23);
    assert_memory_equal(out, "VALUE k 0 3\r\nabc\r\nEND\r\n", 23);
    pair_close(&p);
}

/*
 * A value larger than the record buffer, through a socket that fills up:
 * the caller advances by what writev reports, as the reply queue does,
 * and retries after EAGAIN. Every byte arrives once, in order, and no
 * retry upsets OpenSSL (a retry offering fewer bytes would fail).
 */
static void
run_stream(size_t wbuf_size)
{
    struct pair p;
    size_t big = 300000;
    char *val = malloc(big);
    char *out = malloc(big + 64);
    size_t got = 0;

    assert_non_null(val);
    assert_non_null(out);
    for (size_t i = 0; i < big; i++) {
        val[i] = (char)('a' + i % 26);
    }
    pair_open(&p, wbuf_size, 4096);
    struct iovec all[] = {
        {"VALUE big 0 300000\r\n", 20}, {val, big}, {"\r\nEND\r\n", 7}};
    size_t total = 20 + big + 7;
    size_t sent = 0;
    int stalls = 0;
    while (sent < total) {
        struct iovec iov[3];
        int n = 0;
        size_t skip = sent;
        for (int i = 0; i < 3; i++) {
            if (skip >= all[i].iov_len) {
                skip -= all[i].iov_len;
                continue;
            }
            iov[n].iov_base = (char *)all[i].iov_base + skip;
            iov[n++].iov_len = all[i].iov_len - skip;
            skip = 0;
        }
        ssize_t w = p.tp.ops->writev(&p.tp, iov, n);
        if (w < 0) {
            assert_int_equal(errno, EAGAIN);
            stalls++;
            got += client_drain(&p, out + got, big + 64 - got);
            continue;
        }
        sent += (size_t)w;
    }
    got += client_drain(&p, out + got, big + 64 - got);
    assert_true(stalls > 0); /* the socket did fill up */
    assert_int_equal(got, total);
    assert_memory_equal(out, "VALUE big 0 300000\r\n", 20);
    assert_memory_equal(out + 20, val, big);
    assert_memory_equal(out + 20 + big, "\r\nEND\r\n", 7);
    pair_close(&p);
    free(val);
    free(out);
}

static void
large_values_stream_through_a_full_socket(void **state)
{
    (void)state;
    run_stream(16384);
}

/* A buffer smaller than a record: retries of direct writes stay direct. */
static void
a_small_record_buffer_still_retries_right(void **state)
{
    (void)state;
    run_stream(1024);
}

/* What a plaintext client's bytes do to the first handshake attempt. */
static void
plaintext_fails_the_first_attempt_and_is_counted(void **state)
{
    struct tls_config cfg = {.chain_cert = crt,
                             .key = key,
                             .keyformat = SSL_FILETYPE_PEM,
                             .wbuf_size = 16384,
                             .min_version = 2};
    struct stats_conns counters;
    struct tls_wbuf wbuf = {0};
    struct transport tp;
    int fd[2];
    (void)state;

    memset(&counters, 0, sizeof(counters));
    struct tls *t = tls_create(&cfg, &counters);
    assert_non_null(t);
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
    nonblocking(fd[0]);
    assert_int_equal(write(fd[1], "version\r\n", 9), 9);
    assert_int_equal(transport_tls_init(&tp, fd[0], t, &wbuf), -1);
    assert_int_equal(stats_get(&counters.ssl_handshake_errors), 1);
    close(fd[0]);
    close(fd[1]);
    tls_wbuf_deinit(&wbuf);
    tls_destroy(t);
}

/* A reload that fails keeps the context; its message is memcached's. */
static void
failed_reload_reports_and_keeps_serving(void **state)
{
    struct pair p;
    char err[4608];
    char want[256];
    (void)state;

    pair_open(&p, 16384, 0);
    assert_true(tls_reload(p.tls, err, sizeof(err)));
    assert_int_not_equal(stats_get(&p.counters.ssl_cert_loaded_s), 0);
    rename(crt, "/tmp/memoria-tls-unit-moved.crt");
    fflush(stderr);
    assert_false(tls_reload(p.tls, err, sizeof(err)));
    snprintf(want, sizeof(want),
             "Error loading the certificate chain: %s : error:80000002:"
             "system library::No such file or directory",
             crt);
    assert_string_equal(err, want);
    rename("/tmp/memoria-tls-unit-moved.crt", crt);
    pair_close(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_iovecs_are_gathered_into_one_record),
        cmocka_unit_test(large_values_stream_through_a_full_socket),
        cmocka_unit_test(a_small_record_buffer_still_retries_right),
        cmocka_unit_test(plaintext_fails_the_first_attempt_and_is_counted),
        cmocka_unit_test(failed_reload_reports_and_keeps_serving),
    };
    return cmocka_run_group_tests(tests, make_cert, remove_cert);
}
