/*
 * loadgen - closed-loop load generator for memoria and memcached.
 *
 * One thread, one epoll set, N connections to 127.0.0.1 (nothing else is
 * accepted), each keeping `depth` requests in flight. Speaks the classic
 * text protocol (get/multiget/set), the meta protocol (mg/ms) or the
 * binary protocol (GETK/SET, each answered; or with --quiet, batches of
 * `depth` GETKQ/SETQ closed by a NOOP, as binary clients pipeline).
 *
 * Binary replies are parsed whole: magic 0x81, the opcode as sent, data
 * type 0, status, the opaque of the request it answers, key, extras and
 * body lengths that add up, the key echoed, the flags in the extras, and
 * the CAS (non-zero on a hit or a store, zero on NOOP and misses).
 *
 * Every value it reads back is checked. A value is derived from its key
 * index k, a version byte v and its length len:
 *
 *   +---+------------------------------------------------+
 *   | v | pattern[off .. off + len - 2]                  |   off = f(k,v,len)
 *   +---+------------------------------------------------+
 *
 * so any value ever written for a key (by any run, any connection, any
 * version) can be validated on its own, and a truncated, shifted or
 * misattributed value cannot pass. Client flags are f(k) too. A framing
 * error, an unexpected reply or a bad value makes the run fail: exit 1.
 *
 * Modes:
 *   run       get/set mix for a fixed duration (after a warm-up); reports
 *             ops/s, latency percentiles and the server's CPU per request
 *   fill      sets keys 0..K-1 once each (deterministic value lengths)
 *   verify    reads keys 0..K-1 back with multigets; every one must hit
 *   handshake TLS only: each connection connects, does a full TLS
 *             handshake (or resumes the session its last one got, with
 *             --tls-resume), sends `version`, reads the VERSION line,
 *             sends close_notify and closes, then starts over, for a
 *             fixed duration; reports handshakes/s (as ops_per_s), the
 *             latency of the whole cycle and the server's CPU per cycle
 *   hitratio  get, and set on miss, over a (Zipf) key space for a fixed
 *             number of gets; reports the hit ratio after a warm-up.
 *             A key's value length is a function of the key alone (and
 *             of the key space it is in), so every server is sent the
 *             same value for a key. Options:
 *               --lockstep     one connection; gets go in batches of
 *                              --depth, and the sets of a batch's misses,
 *                              in order, go ahead of the next batch. The
 *                              server sees the same gets in the same
 *                              order on every run with the same seed.
 *               --shift-at N   size shift: get number N on (counted from
 *                              the first, warm-up included) draws the
 *                              same Zipf ranks but asks for keys
 *                              K..2K-1 (new keys) whose values have
 *                              --shift-value-size lengths
 *               --scan-at N --scan-keys S
 *                              gets N..N+S-1 are one sequential pass over
 *                              cold keys 2K..2K+S-1 (never asked before,
 *                              outside the Zipf set), each set on miss
 *               --rate R, --warmup-rate R
 *                              pace the gets (lockstep): a batch goes out
 *                              no earlier than its first get's due time
 *               --prefill N    (lockstep) first set keys N-1 down to 0,
 *                              the Zipf ranks' keys with the hottest last,
 *                              so the cache starts full
 *             The hit ratio is reported over the measured gets and per
 *             segment: warm-up, before the scan, the scan, after it.
 *
 * With --tls every connection (any mode) speaks TLS through OpenSSL:
 * TLS 1.3 only, the server's certificate not verified (the bench makes a
 * self-signed one), no session reuse unless --tls-resume. In the other
 * modes the handshakes of all connections are done before the clock
 * starts, so only requests are measured.
 *
 * Output: one JSON object on stdout. Exit status: 0 ok, 1 failed (wrong
 * data, protocol error, server gone, time bound hit), 2 usage, 3 the
 * server answered ERROR to a meta command or a binary packet before any
 * good reply of that protocol (meta or binary unsupported).
 *
 * Bounded: every run has a hard time limit (--timeout, and SIGALRM a few
 * seconds later as a last resort).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* for -std=c11 without the Makefile's CPPFLAGS */
#endif

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATTERN_SPAN     65536u
#define MAX_VALUE        1048576u /* memcached -I default */
#define MAX_KEY_LEN      250u
#define MAX_CONNS        4096u
#define MAX_DEPTH        1024u
#define MAX_MULTIGET     1024u
#define MAX_LINE         4096u
#define HIST_SUB_BITS    5u
#define HIST_BUCKETS     ((64u - HIST_SUB_BITS + 1u) << HIST_SUB_BITS)
#define EXIT_FAILED      1
#define EXIT_USAGE       2
#define EXIT_UNSUPPORTED 3

enum mode { MODE_RUN, MODE_FILL, MODE_VERIFY, MODE_HITRATIO, MODE_HANDSHAKE };
enum proto { PROTO_TEXT, PROTO_META, PROTO_BINARY };
enum op { OP_GET, OP_SET, OP_MG, OP_MS, OP_BGET, OP_BSET, OP_NOOP };

/* Binary protocol: header layout, magic bytes and the opcodes used. */
#define BIN_HEADER    24u
#define BIN_REQUEST   0x80u
#define BIN_RESPONSE  0x81u
#define BIN_GETK      0x0cu
#define BIN_GETKQ     0x0du
#define BIN_SET       0x01u
#define BIN_SETQ      0x11u
#define BIN_NOOP      0x0au
#define BIN_NOT_FOUND 0x0001u
#define BIN_NO_MEMORY 0x0082u
enum phase { PHASE_WARMUP, PHASE_MEASURE, PHASE_DRAIN, PHASE_DONE };

struct options {
    int port;
    enum mode mode;
    enum proto proto;
    bool quiet; /* binary: GETKQ/SETQ batches closed by NOOP */
    unsigned conns;
    unsigned depth;
    unsigned multiget;
    uint32_t nkeys;
    unsigned key_len;
    const char *key_prefix;
    uint32_t vmin;
    uint32_t vmax;
    double get_ratio;
    bool zipf;
    double zipf_s;
    uint64_t seed;
    double warmup;
    double duration;
    double timeout;
    uint64_t requests;
    uint64_t warmup_requests;
    long server_pid;
    bool lockstep;
    double rate;        /* hitratio: measured gets per second, 0 unpaced */
    double warmup_rate; /* hitratio: warm-up gets per second, 0 unpaced */
    uint64_t shift_at;  /* hitratio: first get of the size shift, 0 none */
    uint32_t svmin;     /* value lengths of the shifted keys */
    uint32_t svmax;
    uint64_t scan_at; /* hitratio: first get of the scan */
    uint64_t scan_keys;
    uint32_t prefill; /* hitratio, lockstep: set keys N-1..0 first */
    bool tls;         /* every connection speaks TLS */
    bool tls_resume;  /* handshake: offer the last session's ticket */
};

/* hitratio: the segments gets are counted in. */
enum segment { SEG_WARMUP, SEG_BEFORE, SEG_SCAN, SEG_AFTER, SEG_COUNT };

/* One request in flight. Keys live in the connection's key table. */
struct slot {
    enum op op;
    bool measured;
    unsigned char seg; /* hitratio: enum segment of a get */
    unsigned nkeys;
    uint32_t opaque; /* binary: the request's opaque */
    uint64_t t_issue;
};

struct buf {
    char *data;
    size_t len; /* bytes valid */
    size_t off; /* bytes consumed (in) or sent (out) */
    size_t cap;
};

/* handshake mode: where a connection is in its cycle. */
enum hs_state { HS_IDLE, HS_HANDSHAKE, HS_REQUEST, HS_REPLY };

struct conn {
    int fd;
    unsigned id;
    SSL *ssl;             /* --tls: this connection's TLS state */
    SSL_SESSION *session; /* handshake --tls-resume: the last one's */
    enum hs_state hs;     /* handshake mode */
    uint64_t t_cycle;     /* handshake mode: when this cycle began */
    struct buf in;
    struct buf out;
    bool want_out;
    /* Ring of in-flight requests, oldest first; keys[slot * multiget]. */
    struct slot *ring;
    uint32_t *keys;
    unsigned head;
    unsigned count;
    /* Progress through the reply of the oldest request (multiget). */
    unsigned vmatch;
    unsigned vfound;
    /* hitratio: keys that missed and are waiting to be set. */
    uint32_t *misses;
    unsigned nmisses;
    uint32_t next_opaque;
    uint64_t rng[4];
};

struct counters {
    uint64_t requests;
    uint64_t keys;
    uint64_t gets;
    uint64_t sets;
    uint64_t hits;
    uint64_t misses;
    uint64_t payload_bytes;
    uint64_t hist[HIST_BUCKETS];
    uint64_t lat_max;
};

struct bench {
    struct options opt;
    struct conn *conns;
    int epfd;
    char *pattern;
    double *cdf;
    enum phase phase;
    uint64_t now;
    uint64_t t_measure;
    uint64_t t_end;
    uint64_t cpu_before;
    uint64_t cpu_after;
    bool cpu_ok;
    uint64_t next_key;    /* fill/verify: next key index to issue */
    uint64_t gets_issued; /* hitratio */
    uint64_t pace_t;      /* hitratio: when the measured schedule starts */
    bool pace_started;
    uint64_t wake;    /* hitratio: due time of the next paced batch, or 0 */
    uint64_t t_start; /* when the loop started */
    uint64_t store_failed; /* hitratio: sets answered out of memory */
    uint32_t prefill_left; /* hitratio: prefill sets not yet issued */
    uint64_t t_prefilled;  /* hitratio: when the prefill ended */
    uint64_t seg_gets[SEG_COUNT];
    uint64_t seg_hits[SEG_COUNT];
    uint64_t seg_t0[SEG_COUNT]; /* first get of a segment issued, or 0 */
    bool proto_seen_ok;         /* a meta or binary reply has parsed */
    bool unsupported;
    bool fatal;
    uint64_t protocol_errors;
    uint64_t verify_errors;
    SSL_CTX *tls_ctx;     /* --tls */
    uint64_t tls_resumed; /* handshakes measured that resumed */
    char tls_version[32]; /* what the first handshake negotiated */
    char tls_cipher[64];
    uint64_t missing;
    char first_error[256];
    struct counters c;
};

static uint64_t
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t
mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* xoshiro256**: the per-connection generator, seeded from --seed + id. */
static uint64_t
rng_next(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void
rng_seed(uint64_t *s, uint64_t seed)
{
    for (int i = 0; i < 4; i++) {
        seed = mix64(seed);
        s[i] = seed;
    }
}

static double
rng_double(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

static uint32_t
rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

static uint32_t
key_flags(uint32_t k)
{
    return (uint32_t)(mix64(k ^ 0x5bd1e995u) & 0xffffu);
}

static size_t
value_offset(uint32_t k, unsigned char version, uint32_t len)
{
    uint64_t x =
        (uint64_t)k ^ ((uint64_t)version << 32) ^ ((uint64_t)len << 40);

    return (size_t)(mix64(x) % PATTERN_SPAN);
}

/* fill and verify: the value length of key k is a function of k. */
static uint32_t
fill_len(const struct options *o, uint32_t k)
{
    uint32_t span = o->vmax - o->vmin + 1;

    return o->vmin + (uint32_t)(mix64((uint64_t)k * 31 + 7) % span);
}

/* hitratio: whether key k is one of the size shift's new keys. */
static bool
shifted_key(const struct options *o, uint32_t k)
{
    return o->shift_at > 0 && k >= o->nkeys && k - o->nkeys < o->nkeys;
}

/* hitratio: the value length of key k, the same on every run. */
static uint32_t
hit_len(const struct options *o, uint32_t k)
{
    uint32_t lo = shifted_key(o, k) ? o->svmin : o->vmin;
    uint32_t hi = shifted_key(o, k) ? o->svmax : o->vmax;

    return lo + (uint32_t)(mix64((uint64_t)k * 131 + 17) % (hi - lo + 1));
}

/* Write the key of index k (prefix + zero-padded decimal) to out. */
static void
render_key(const struct options *o, uint32_t k, char *out)
{
    size_t plen = strlen(o->key_prefix);

    memcpy(out, o->key_prefix, plen);
    for (size_t i = o->key_len; i > plen; i--) {
        out[i - 1] = (char)('0' + k % 10);
        k /= 10;
    }
}

static void
record_error(struct bench *b, uint64_t *counter, const char *fmt,
             const char *detail)
{
    (*counter)++;
    if (b->first_error[0] == '\0') {
        snprintf(b->first_error, sizeof(b->first_error), "%s: %.120s", fmt,
                 detail);
    }
    if (*counter <= 5) {
        fprintf(stderr, "loadgen: %s: %.120s\n", fmt, detail);
    }
}

static void
fail(struct bench *b, const char *what, const char *detail)
{
    record_error(b, &b->protocol_errors, what, detail);
    b->fatal = true;
}

/* fail() quoting received bytes, which are not NUL-terminated. */
static void
fail_at(struct bench *b, const char *what, const char *p, size_t avail)
{
    char quoted[121];
    size_t n = avail < sizeof(quoted) - 1 ? avail : sizeof(quoted) - 1;

    memcpy(quoted, p, n);
    quoted[n] = '\0';
    fail(b, what, quoted);
}

/* --- latency histogram: log2 buckets with 2^HIST_SUB_BITS sub-buckets -- */

static unsigned
hist_index(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS)) {
        return (unsigned)v;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub =
        (unsigned)(v >> (e - HIST_SUB_BITS)) & ((1u << HIST_SUB_BITS) - 1u);

    return ((e - HIST_SUB_BITS + 1u) << HIST_SUB_BITS) + sub;
}

/* The middle of bucket i, in the recorded unit (ns). */
static double
hist_value(unsigned i)
{
    if (i < (1u << HIST_SUB_BITS)) {
        return (double)i;
    }
    unsigned e = (i >> HIST_SUB_BITS) + HIST_SUB_BITS - 1u;
    uint64_t sub = i & ((1u << HIST_SUB_BITS) - 1u);
    uint64_t width = 1ull << (e - HIST_SUB_BITS);
    uint64_t low = ((1ull << HIST_SUB_BITS) + sub) * width;

    return (double)low + (double)width / 2.0;
}

static double
hist_quantile_us(const struct counters *c, double q)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        total += c->hist[i];
    }
    if (total == 0) {
        return 0.0;
    }
    uint64_t want = (uint64_t)ceil(q * (double)total);
    uint64_t seen = 0;

    if (want == 0) {
        want = 1;
    }
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += c->hist[i];
        if (seen >= want) {
            return hist_value(i) / 1000.0;
        }
    }
    return (double)c->lat_max / 1000.0;
}

/* --- server CPU time: utime + stime of every thread, in clock ticks --- */

static bool
read_task_ticks(const char *path, uint64_t *ticks)
{
    char line[1024];
    FILE *f = fopen(path, "r");

    if (f == NULL) {
        return false;
    }
    size_t n = fread(line, 1, sizeof(line) - 1, f);
    fclose(f);
    line[n] = '\0';
    /* comm may contain spaces; fields restart after the last ')'. */
    char *p = strrchr(line, ')');
    if (p == NULL) {
        return false;
    }
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    /* Fields 3..15: state ppid pgrp session tty tpgid flags minflt
     * cminflt majflt cmajflt utime stime. */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &utime, &stime) != 2) {
        return false;
    }
    *ticks += utime + stime;
    return true;
}

static bool
read_cpu_ticks(long pid, uint64_t *ticks)
{
    char path[128];
    DIR *dir;
    struct dirent *de;

    *ticks = 0;
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    dir = opendir(path);
    if (dir == NULL) {
        return false;
    }
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%ld/task/%.32s/stat", pid,
                 de->d_name);
        /* A thread may exit between readdir and open: skip it. */
        (void)read_task_ticks(path, ticks);
    }
    closedir(dir);
    return true;
}

/* --- buffers --- */

static void
buf_reserve(struct buf *bf, size_t more)
{
    if (bf->off > 0 && bf->len + more > bf->cap) {
        memmove(bf->data, bf->data + bf->off, bf->len - bf->off);
        bf->len -= bf->off;
        bf->off = 0;
    }
    if (bf->len + more <= bf->cap) {
        return;
    }
    size_t cap = bf->cap ? bf->cap : 4096;
    while (cap < bf->len + more) {
        cap *= 2;
    }
    char *data = realloc(bf->data, cap);
    if (data == NULL) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(EXIT_FAILED);
    }
    bf->data = data;
    bf->cap = cap;
}

static void
buf_append(struct buf *bf, const void *p, size_t len)
{
    buf_reserve(bf, len);
    memcpy(bf->data + bf->len, p, len);
    bf->len += len;
}

/* --- binary protocol fields (big-endian) --- */

static void
put_be(unsigned char *p, uint64_t v, unsigned n)
{
    for (unsigned i = n; i > 0; i--) {
        p[i - 1] = (unsigned char)(v & 0xffu);
        v >>= 8;
    }
}

static uint64_t
get_be(const char *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++) {
        v = (v << 8) | (unsigned char)p[i];
    }
    return v;
}

/* A request header; data type, vbucket and CAS are zero. */
static void
bin_header(unsigned char *h, unsigned opcode, unsigned keylen, unsigned extlen,
           uint32_t bodylen, uint32_t opaque)
{
    memset(h, 0, BIN_HEADER);
    h[0] = BIN_REQUEST;
    h[1] = (unsigned char)opcode;
    put_be(h + 2, keylen, 2);
    h[4] = (unsigned char)extlen;
    put_be(h + 8, bodylen, 4);
    put_be(h + 12, opaque, 4);
}

static bool
op_is_get(enum op op)
{
    return op == OP_GET || op == OP_MG || op == OP_BGET;
}

/* Slots per connection: --quiet batches need one more for the NOOP. */
static unsigned
ring_size(const struct options *o)
{
    if (o->lockstep) {
        return 2u * o->depth; /* a batch's sets, then the next gets */
    }
    return o->depth + (o->quiet ? 1u : 0u);
}

/* --- requests --- */

static uint32_t
pick_key(struct bench *b, struct conn *c)
{
    uint32_t n = b->opt.nkeys;

    if (!b->opt.zipf) {
        return rng_below(c->rng, n);
    }
    double u = rng_double(c->rng);
    uint32_t lo = 0;
    uint32_t hi = n - 1;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (b->cdf[mid] > u) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

/* hitratio: the key and segment of get number g (warm-up included). */
static uint32_t
hit_key(struct bench *b, struct conn *c, uint64_t g, unsigned char *seg)
{
    const struct options *o = &b->opt;
    bool scan = o->scan_keys > 0;

    if (scan && g >= o->scan_at && g - o->scan_at < o->scan_keys) {
        *seg = SEG_SCAN;
        return 2u * o->nkeys + (uint32_t)(g - o->scan_at);
    }
    if (g < o->warmup_requests) {
        *seg = SEG_WARMUP;
    } else {
        *seg = scan && g >= o->scan_at ? SEG_AFTER : SEG_BEFORE;
    }
    uint32_t k = pick_key(b, c);
    return o->shift_at > 0 && g >= o->shift_at ? o->nkeys + k : k;
}

/*
 * hitratio, paced: when get number g is due (0: now). The warm-up's
 * schedule starts when the prefill ends; the measured one when the
 * warm-up was due to end, or later if it ended later.
 */
static uint64_t
hit_due(struct bench *b, uint64_t g)
{
    const struct options *o = &b->opt;

    if (g < o->warmup_requests) {
        if (o->warmup_rate <= 0) {
            return 0;
        }
        return b->t_prefilled + (uint64_t)((double)g * 1e9 / o->warmup_rate);
    }
    /* The measured gets keep their pace even when the warm-up ran late. */
    if (!b->pace_started) {
        uint64_t sched = b->t_prefilled;
        if (o->warmup_rate > 0) {
            sched +=
                (uint64_t)((double)o->warmup_requests * 1e9 / o->warmup_rate);
        }
        b->pace_started = true;
        b->pace_t = sched > b->now ? sched : b->now;
    }
    if (o->rate <= 0) {
        return 0;
    }
    return b->pace_t +
           (uint64_t)((double)(g - o->warmup_requests) * 1e9 / o->rate);
}

/* The value bytes, then CRLF unless binary (lengths frame those). */
static void
append_value(struct bench *b, struct buf *out, uint32_t k,
             unsigned char version, uint32_t len)
{
    size_t off = value_offset(k, version, len);
    size_t crlf = b->opt.proto == PROTO_BINARY ? 0 : 2;

    buf_reserve(out, (size_t)len + crlf);
    out->data[out->len] = (char)version;
    memcpy(out->data + out->len + 1, b->pattern + off, len - 1);
    memcpy(out->data + out->len + len, "\r\n", crlf);
    out->len += (size_t)len + crlf;
}

static void
issue_store(struct bench *b, struct conn *c, const struct slot *s, uint32_t k,
            uint32_t len, unsigned char version)
{
    char key[MAX_KEY_LEN + 1];
    char line[MAX_KEY_LEN + 64];
    int n;

    render_key(&b->opt, k, key);
    key[b->opt.key_len] = '\0';
    if (b->opt.proto == PROTO_BINARY) {
        /* Extras: client flags, exptime 0. */
        unsigned char h[BIN_HEADER + 8];
        unsigned klen = b->opt.key_len;

        bin_header(h, b->opt.quiet ? BIN_SETQ : BIN_SET, klen, 8,
                   8 + klen + len, s->opaque);
        put_be(h + BIN_HEADER, key_flags(k), 4);
        put_be(h + BIN_HEADER + 4, 0, 4);
        buf_append(&c->out, h, sizeof(h));
        buf_append(&c->out, key, klen);
        append_value(b, &c->out, k, version, len);
        return;
    }
    if (b->opt.proto == PROTO_META) {
        n = snprintf(line, sizeof(line), "ms %s %" PRIu32 " F%" PRIu32 "\r\n",
                     key, len, key_flags(k));
    } else {
        n = snprintf(line, sizeof(line), "set %s %" PRIu32 " 0 %" PRIu32 "\r\n",
                     key, key_flags(k), len);
    }
    buf_append(&c->out, line, (size_t)n);
    append_value(b, &c->out, k, version, len);
}

static void
issue_get(struct bench *b, struct conn *c, const struct slot *s,
          const uint32_t *keys, unsigned nkeys)
{
    char key[MAX_KEY_LEN];

    if (b->opt.proto == PROTO_BINARY) {
        unsigned char h[BIN_HEADER];
        unsigned klen = b->opt.key_len;

        bin_header(h, b->opt.quiet ? BIN_GETKQ : BIN_GETK, klen, 0, klen,
                   s->opaque);
        buf_append(&c->out, h, sizeof(h));
        render_key(&b->opt, keys[0], key);
        buf_append(&c->out, key, klen);
        return;
    }
    if (b->opt.proto == PROTO_META) {
        buf_append(&c->out, "mg ", 3);
        render_key(&b->opt, keys[0], key);
        buf_append(&c->out, key, b->opt.key_len);
        buf_append(&c->out, " v f\r\n", 6);
        return;
    }
    buf_append(&c->out, "get", 3);
    for (unsigned i = 0; i < nkeys; i++) {
        render_key(&b->opt, keys[i], key);
        buf_append(&c->out, " ", 1);
        buf_append(&c->out, key, b->opt.key_len);
    }
    buf_append(&c->out, "\r\n", 2);
}

/* Decide whether connection c may issue one more request, and which. */
static bool
next_request(struct bench *b, struct conn *c, struct slot *s, uint32_t *keys)
{
    const struct options *o = &b->opt;
    static const enum op get_op[] = {OP_GET, OP_MG, OP_BGET};
    static const enum op set_op[] = {OP_SET, OP_MS, OP_BSET};

    s->measured = false;
    s->nkeys = 1;
    s->opaque = c->next_opaque++;
    switch (o->mode) {
    case MODE_RUN:
        if (b->phase != PHASE_WARMUP && b->phase != PHASE_MEASURE) {
            return false;
        }
        if (rng_double(c->rng) < o->get_ratio) {
            s->op = get_op[o->proto];
            s->nkeys = o->multiget;
            for (unsigned i = 0; i < s->nkeys; i++) {
                keys[i] = pick_key(b, c);
            }
        } else {
            s->op = set_op[o->proto];
            keys[0] = pick_key(b, c);
        }
        return true;
    case MODE_FILL:
        if (b->next_key >= o->nkeys) {
            return false;
        }
        s->op = set_op[o->proto];
        s->measured = true;
        keys[0] = (uint32_t)b->next_key++;
        return true;
    case MODE_VERIFY:
        if (b->next_key >= o->nkeys) {
            return false;
        }
        s->op = OP_GET;
        s->measured = true;
        s->nkeys = 0;
        while (s->nkeys < o->multiget && b->next_key < o->nkeys) {
            keys[s->nkeys++] = (uint32_t)b->next_key++;
        }
        return true;
    case MODE_HITRATIO:
        if (b->gets_issued >= o->warmup_requests + o->requests) {
            return false;
        }
        if (c->nmisses > 0) {
            s->op = set_op[o->proto];
            keys[0] = c->misses[--c->nmisses];
            return true;
        }
        s->op = get_op[o->proto];
        s->measured = b->gets_issued >= o->warmup_requests;
        keys[0] = hit_key(b, c, b->gets_issued, &s->seg);
        if (b->seg_t0[s->seg] == 0) {
            b->seg_t0[s->seg] = b->now;
        }
        b->gets_issued++;
        return true;
    case MODE_HANDSHAKE: /* hs_advance() drives these connections */
        return false;
    }
    return false;
}

static void
issue_noop(struct bench *b, struct conn *c)
{
    unsigned idx = (c->head + c->count) % ring_size(&b->opt);
    struct slot *s = &c->ring[idx];
    unsigned char h[BIN_HEADER];

    s->op = OP_NOOP;
    s->measured = false;
    s->nkeys = 0;
    s->opaque = c->next_opaque++;
    s->t_issue = b->now;
    bin_header(h, BIN_NOOP, 0, 0, 0, s->opaque);
    buf_append(&c->out, h, sizeof(h));
    c->count++;
}

static void
issue_slot(struct bench *b, struct conn *c, struct slot *s, uint32_t *keys)
{
    s->t_issue = b->now;
    if (op_is_get(s->op)) {
        issue_get(b, c, s, keys, 1);
    } else {
        issue_store(b, c, s, keys[0], hit_len(&b->opt, keys[0]), 'A');
    }
    c->count++;
}

/* hitratio --lockstep: a set of key k at the end of the ring. */
static void
issue_lockstep_set(struct bench *b, struct conn *c, uint32_t k)
{
    static const enum op set_op[] = {OP_SET, OP_MS, OP_BSET};
    unsigned idx = (c->head + c->count) % ring_size(&b->opt);
    struct slot *s = &c->ring[idx];

    s->op = set_op[b->opt.proto];
    s->measured = false;
    s->nkeys = 1;
    s->opaque = c->next_opaque++;
    c->keys[idx] = k;
    issue_slot(b, c, s, &c->keys[idx]);
}

/*
 * hitratio --lockstep (one connection): once every reply is in, the sets
 * of the last batch's misses in the order they missed, then a batch of
 * the prefill's sets or, once those are done, the next batch of gets
 * when it is due.
 */
static void
fill_lockstep(struct bench *b, struct conn *c)
{
    const struct options *o = &b->opt;
    uint64_t total = o->warmup_requests + o->requests;

    if (c->count > 0) {
        return;
    }
    for (unsigned i = 0; i < c->nmisses; i++) {
        issue_lockstep_set(b, c, c->misses[i]);
    }
    c->nmisses = 0;
    b->wake = 0;
    if (b->prefill_left > 0) {
        for (unsigned i = 0; i < o->depth && b->prefill_left > 0; i++) {
            issue_lockstep_set(b, c, --b->prefill_left);
        }
        return;
    }
    if (b->t_prefilled == 0) {
        b->t_prefilled = b->now;
    }
    if (b->gets_issued >= total) {
        return;
    }
    uint64_t due = hit_due(b, b->gets_issued);
    if (due > b->now) {
        b->wake = due;
        return;
    }
    for (unsigned i = 0; i < o->depth && b->gets_issued < total; i++) {
        unsigned idx = (c->head + c->count) % ring_size(o);
        struct slot *s = &c->ring[idx];
        uint32_t *keys = &c->keys[idx];
        if (!next_request(b, c, s, keys)) {
            break;
        }
        issue_slot(b, c, s, keys);
    }
}

static void
fill_pipeline(struct bench *b, struct conn *c)
{
    const struct options *o = &b->opt;

    /* --quiet: a new batch only once the last one's NOOP came back. */
    if (o->quiet && c->count > 0) {
        return;
    }
    if (o->lockstep) {
        fill_lockstep(b, c);
        return;
    }
    while (c->count < o->depth) {
        unsigned idx = (c->head + c->count) % ring_size(o);
        struct slot *s = &c->ring[idx];
        uint32_t *keys = &c->keys[(size_t)idx * o->multiget];

        if (!next_request(b, c, s, keys)) {
            return;
        }
        s->t_issue = b->now;
        if (!op_is_get(s->op)) {
            uint32_t len;
            unsigned char version;
            if (o->mode == MODE_FILL) {
                len = fill_len(o, keys[0]);
                version = 'A';
            } else if (o->mode == MODE_HITRATIO) {
                len = hit_len(o, keys[0]);
                version = 'A';
            } else {
                len = o->vmin + rng_below(c->rng, o->vmax - o->vmin + 1);
                version = (unsigned char)('A' + rng_below(c->rng, 26));
            }
            if (o->mode == MODE_FILL) {
                b->c.payload_bytes += o->key_len + len;
            }
            issue_store(b, c, s, keys[0], len, version);
        } else {
            issue_get(b, c, s, keys, s->nkeys);
        }
        c->count++;
    }
    if (o->quiet && c->count > 0) {
        issue_noop(b, c);
    }
}

/* --- replies --- */

/* Check one value read back for key k against its self-describing form. */
static void
check_value(struct bench *b, uint32_t k, uint32_t flags, const char *data,
            size_t len)
{
    const struct options *o = &b->opt;
    char key[MAX_KEY_LEN + 1];

    render_key(o, k, key);
    key[o->key_len] = '\0';
    if (o->mode == MODE_HITRATIO ? len != hit_len(o, k)
                                 : len < o->vmin || len > o->vmax) {
        record_error(b, &b->verify_errors, "value length out of range", key);
        return;
    }
    if (flags != key_flags(k)) {
        record_error(b, &b->verify_errors, "wrong client flags", key);
        return;
    }
    unsigned char version = (unsigned char)data[0];
    if (version < 'A' || version > 'Z') {
        record_error(b, &b->verify_errors, "bad version byte", key);
        return;
    }
    if (o->mode == MODE_VERIFY && (version != 'A' || len != fill_len(o, k))) {
        record_error(b, &b->verify_errors, "not the value filled", key);
        return;
    }
    size_t off = value_offset(k, version, (uint32_t)len);
    if (memcmp(data + 1, b->pattern + off, len - 1) != 0) {
        record_error(b, &b->verify_errors, "value content mismatch", key);
    }
}

static bool
parse_u64(const char *p, const char *end, uint64_t *v, const char **next)
{
    uint64_t x = 0;
    const char *s = p;

    while (p < end && *p >= '0' && *p <= '9') {
        if (x > (UINT64_MAX - 9) / 10) {
            return false;
        }
        x = x * 10 + (uint64_t)(*p - '0');
        p++;
    }
    *v = x;
    *next = p;
    return p > s;
}

static void
complete(struct bench *b, struct conn *c)
{
    struct slot *s = &c->ring[c->head];
    bool measured =
        b->opt.mode == MODE_RUN ? b->phase == PHASE_MEASURE : s->measured;

    if (measured && s->op != OP_NOOP) {
        uint64_t lat = b->now > s->t_issue ? b->now - s->t_issue : 0;
        b->c.hist[hist_index(lat)]++;
        if (lat > b->c.lat_max) {
            b->c.lat_max = lat;
        }
        b->c.requests++;
        b->c.keys += s->nkeys;
        if (op_is_get(s->op)) {
            b->c.gets++;
            b->c.hits += c->vfound;
            b->c.misses += s->nkeys - c->vfound;
        } else {
            b->c.sets++;
        }
    }
    if (b->opt.mode == MODE_VERIFY && c->vfound < s->nkeys) {
        record_error(b, &b->missing, "key missing on read-back", "verify");
    }
    if (b->opt.mode == MODE_HITRATIO && op_is_get(s->op)) {
        b->seg_gets[s->seg]++;
        b->seg_hits[s->seg] += c->vfound;
        if (c->vfound == 0) {
            c->misses[c->nmisses++] =
                c->keys[(size_t)c->head * b->opt.multiget];
        }
    }
    c->vfound = 0;
    c->vmatch = 0;
    c->head = (c->head + 1) % ring_size(&b->opt);
    c->count--;
}

/*
 * A VALUE block of the text protocol, or a VA block of mg: `line` points
 * past "VALUE " / "VA ", `eol` at the line's CR, `line_len` counts the
 * whole line with CRLF, `avail` the bytes buffered from the line's start.
 * Returns bytes consumed, 0 if the data block is not all here yet (nothing
 * is consumed or remembered, it is parsed again), -1 on a protocol error.
 */
static long
parse_value(struct bench *b, struct conn *c, const char *line, const char *eol,
            size_t line_len, size_t avail)
{
    const struct slot *s = &c->ring[c->head];
    const uint32_t *keys = &c->keys[(size_t)c->head * b->opt.multiget];
    const char *p = line;
    uint64_t flags = 0;
    uint64_t nbytes = 0;
    unsigned m = c->vmatch;
    uint32_t k;

    if (s->op == OP_GET) {
        const char *sp = memchr(p, ' ', (size_t)(eol - p));
        char key[MAX_KEY_LEN];
        if (sp == NULL || (size_t)(sp - p) != b->opt.key_len) {
            return -1;
        }
        /* Replies come in request order, misses skipped. */
        while (m < s->nkeys) {
            render_key(&b->opt, keys[m], key);
            if (memcmp(key, p, b->opt.key_len) == 0) {
                break;
            }
            m++;
        }
        if (m == s->nkeys) {
            return -1;
        }
        k = keys[m];
        p = sp + 1;
        if (!parse_u64(p, eol, &flags, &p) || *p != ' ' ||
            !parse_u64(p + 1, eol, &nbytes, &p) || p != eol) {
            return -1;
        }
    } else {
        k = keys[0];
        /* "VA <size> f<flags>" */
        if (!parse_u64(p, eol, &nbytes, &p) || eol - p < 3 || p[0] != ' ' ||
            p[1] != 'f' || !parse_u64(p + 2, eol, &flags, &p) || p != eol) {
            return -1;
        }
    }
    if (nbytes == 0 || nbytes > MAX_VALUE) {
        return -1;
    }
    if (avail < line_len + nbytes + 2) {
        return 0;
    }
    const char *data = eol + 2;
    if (data[nbytes] != '\r' || data[nbytes + 1] != '\n') {
        return -1;
    }
    check_value(b, k, (uint32_t)flags, data, (size_t)nbytes);
    c->vmatch = m + 1; /* only now: a partial block is parsed again */
    c->vfound++;
    return (long)(line_len + nbytes + 2);
}

static bool
line_is(const char *line, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(line, word, len) == 0;
}

/*
 * What is wrong with binary reply p (header and whole body buffered) to
 * slot s, or NULL if nothing. *hit tells a get's hit from its miss.
 */
static const char *
bin_reply_error(struct bench *b, const struct slot *s, const uint32_t *keys,
                const char *p, bool *hit)
{
    const struct options *o = &b->opt;
    unsigned want;
    unsigned keylen = (unsigned)get_be(p + 2, 2);
    unsigned extlen = (unsigned char)p[4];
    unsigned status = (unsigned)get_be(p + 6, 2);
    uint64_t bodylen = get_be(p + 8, 4);
    uint64_t cas = get_be(p + 16, 8);
    const char *body = p + BIN_HEADER;
    char key[MAX_KEY_LEN];

    *hit = false;
    switch (s->op) {
    case OP_BGET:
        want = o->quiet ? BIN_GETKQ : BIN_GETK;
        break;
    case OP_BSET:
        want = o->quiet ? BIN_SETQ : BIN_SET;
        break;
    case OP_NOOP:
        want = BIN_NOOP;
        break;
    default:
        return "binary reply to a text request";
    }
    if ((unsigned char)p[1] != want) {
        return "opcode is not the request's";
    }
    if (p[5] != 0) {
        return "data type is not 0";
    }
    if ((uint64_t)keylen + extlen > bodylen) {
        return "key and extras longer than the body";
    }
    if (s->op == OP_BGET && status == 0) {
        render_key(o, keys[0], key);
        if (extlen != 4 || keylen != o->key_len ||
            bodylen <= (uint64_t)extlen + keylen) {
            return "hit: wrong extras, key or body length";
        }
        if (memcmp(body + extlen, key, keylen) != 0) {
            return "hit: not the key asked for";
        }
        if (cas == 0) {
            return "hit without a CAS";
        }
        check_value(b, keys[0], (uint32_t)get_be(body, 4),
                    body + extlen + keylen,
                    (size_t)(bodylen - extlen - keylen));
        *hit = true;
        return NULL;
    }
    if (s->op == OP_BGET && status == BIN_NOT_FOUND && !o->quiet) {
        /* A GETK miss: the key in the key field and as the whole body. */
        render_key(o, keys[0], key);
        if (extlen != 0 || keylen != o->key_len || bodylen != keylen ||
            memcmp(body, key, keylen) != 0 || cas != 0) {
            return "GETK miss: not the key alone, or a CAS";
        }
        return NULL;
    }
    if (status == BIN_NO_MEMORY && s->op == OP_BSET &&
        o->mode == MODE_HITRATIO && bodylen > 0) {
        b->store_failed++; /* a full class that cannot evict */
        return NULL;
    }
    if (status != 0) {
        return "error status";
    }
    if (keylen != 0 || extlen != 0 || bodylen != 0) {
        return "success with a body";
    }
    if (s->op == OP_BSET && o->quiet) {
        return "SETQ answered on success";
    }
    if (s->op == OP_BSET && cas == 0) {
        return "store without a CAS";
    }
    if (s->op == OP_NOOP && cas != 0) {
        return "NOOP with a CAS";
    }
    return NULL;
}

/* fail() describing binary reply p: header fields and printable body. */
static void
fail_bin(struct bench *b, const char *why, const char *p, size_t avail)
{
    char detail[200];
    size_t body = avail - BIN_HEADER;
    int n = snprintf(detail, sizeof(detail),
                     "op 0x%02x status 0x%04x keylen %u extlen %u bodylen "
                     "%u opaque %u: ",
                     (unsigned char)p[1], (unsigned)get_be(p + 6, 2),
                     (unsigned)get_be(p + 2, 2), (unsigned char)p[4],
                     (unsigned)get_be(p + 8, 4), (unsigned)get_be(p + 12, 4));

    for (size_t i = 0; i < body && n > 0 && (size_t)n + 1 < sizeof(detail);
         i++) {
        char ch = p[BIN_HEADER + i];
        detail[n++] = ch >= 0x20 && ch < 0x7f ? ch : '.';
    }
    if (n > 0 && (size_t)n < sizeof(detail)) {
        detail[n] = '\0';
    }
    fail(b, why, detail);
}

/* parse_replies() for the binary protocol. */
static bool
parse_binary_replies(struct bench *b, struct conn *c)
{
    const struct options *o = &b->opt;
    unsigned ring = ring_size(o);

    while (c->count > 0 && c->in.off < c->in.len) {
        const char *p = c->in.data + c->in.off;
        size_t avail = c->in.len - c->in.off;

        if ((unsigned char)p[0] != BIN_RESPONSE) {
            /* A server without the binary protocol may say ERROR. */
            size_t n = avail < 7 ? avail : 7;
            if (!b->proto_seen_ok && memcmp(p, "ERROR\r\n", n) == 0) {
                if (n < 7) {
                    return true;
                }
                b->unsupported = true;
                b->fatal = true;
                return false;
            }
            fail_at(b, "binary reply without magic 0x81", p, avail);
            return false;
        }
        if (avail < BIN_HEADER) {
            return true;
        }
        uint64_t bodylen = get_be(p + 8, 4);
        if (bodylen > MAX_VALUE + MAX_KEY_LEN + 64) {
            fail_bin(b, "binary body length out of bounds", p, BIN_HEADER);
            return false;
        }
        if (avail < BIN_HEADER + bodylen) {
            return true;
        }
        avail = BIN_HEADER + (size_t)bodylen;
        /* Replies come in request order. Under --quiet the requests
         * ahead of the one answered were not answered: their gets
         * missed, their stores succeeded. Otherwise none is skipped. */
        uint32_t opaque = (uint32_t)get_be(p + 12, 4);
        unsigned skip = 0;
        while (skip < c->count &&
               c->ring[(c->head + skip) % ring].opaque != opaque) {
            skip++;
        }
        if (skip == c->count || (skip > 0 && !o->quiet)) {
            fail_bin(b, "reply's opaque is not an outstanding request's", p,
                     avail);
            return false;
        }
        for (; skip > 0; skip--) {
            complete(b, c);
        }
        bool hit = false;
        const char *why =
            bin_reply_error(b, &c->ring[c->head],
                            &c->keys[(size_t)c->head * o->multiget], p, &hit);
        if (why != NULL) {
            fail_bin(b, why, p, avail);
            return false;
        }
        b->proto_seen_ok = true;
        c->vfound = hit ? 1u : 0u;
        complete(b, c);
        c->in.off += avail;
    }
    if (c->in.off < c->in.len) {
        fail_at(b, "reply with no request outstanding", c->in.data + c->in.off,
                c->in.len - c->in.off);
        return false;
    }
    return true;
}

/* Consume every complete reply in c's input. False on a fatal error. */
static bool
parse_replies(struct bench *b, struct conn *c)
{
    if (b->opt.proto == PROTO_BINARY) {
        return parse_binary_replies(b, c);
    }
    while (c->count > 0) {
        const char *p = c->in.data + c->in.off;
        size_t avail = c->in.len - c->in.off;
        const char *nl = memchr(p, '\n', avail);

        if (nl == NULL) {
            if (avail > MAX_LINE) {
                fail(b, "reply line too long", "");
                return false;
            }
            return true;
        }
        if (nl == p || nl[-1] != '\r') {
            fail_at(b, "reply line not ended by CRLF", p, avail);
            return false;
        }
        const char *eol = nl - 1;
        size_t len = (size_t)(eol - p);
        size_t line_len = len + 2;
        const struct slot *s = &c->ring[c->head];
        long used = -1;

        if (line_is(p, len, "ERROR") && (s->op == OP_MG || s->op == OP_MS) &&
            !b->proto_seen_ok) {
            b->unsupported = true;
            b->fatal = true;
            return false;
        }
        switch (s->op) {
        case OP_GET:
            if (len > 6 && memcmp(p, "VALUE ", 6) == 0) {
                used = parse_value(b, c, p + 6, eol, line_len, avail);
            } else if (line_is(p, len, "END")) {
                used = (long)line_len;
                complete(b, c);
            }
            break;
        case OP_MG:
            if (len > 3 && memcmp(p, "VA ", 3) == 0) {
                used = parse_value(b, c, p + 3, eol, line_len, avail);
                if (used > 0) {
                    complete(b, c);
                }
            } else if (line_is(p, len, "EN")) {
                used = (long)line_len;
                complete(b, c);
            }
            b->proto_seen_ok = b->proto_seen_ok || used > 0;
            break;
        case OP_SET:
        case OP_MS:
            if (line_is(p, len, s->op == OP_SET ? "STORED" : "HD")) {
                used = (long)line_len;
                b->proto_seen_ok = b->proto_seen_ok || s->op == OP_MS;
                complete(b, c);
            } else if (b->opt.mode == MODE_HITRATIO && len >= 26 &&
                       memcmp(p, "SERVER_ERROR out of memory", 26) == 0) {
                /* A full class that cannot evict: the set is lost. */
                used = (long)line_len;
                b->store_failed++;
                complete(b, c);
            }
            break;
        case OP_BGET:
        case OP_BSET:
        case OP_NOOP:
            break;
        }
        if (used < 0) {
            fail_at(b, "unexpected reply", p, avail);
            return false;
        }
        if (used == 0) {
            return true;
        }
        c->in.off += (size_t)used;
    }
    if (c->in.off < c->in.len) {
        fail_at(b, "reply with no request outstanding", c->in.data + c->in.off,
                c->in.len - c->in.off);
        return false;
    }
    return true;
}

/* --- connections and the event loop --- */

static void
set_out_interest(struct bench *b, struct conn *c, bool want)
{
    struct epoll_event ev = {0};

    if (c->want_out == want) {
        return;
    }
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0u);
    ev.data.ptr = c;
    if (epoll_ctl(b->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
        fail(b, "epoll_ctl", strerror(errno));
    }
    c->want_out = want;
}

/* fail() with what OpenSSL (or errno) says went wrong on c. */
static void
tls_fail(struct bench *b, struct conn *c, int ret, const char *what)
{
    char detail[200];
    int saved = errno;
    int err = SSL_get_error(c->ssl, ret);
    unsigned long e = ERR_get_error();

    if (e != 0) {
        ERR_error_string_n(e, detail, sizeof(detail));
    } else if (err == SSL_ERROR_SYSCALL) {
        snprintf(detail, sizeof(detail), "%s",
                 saved != 0 ? strerror(saved) : "connection closed");
    } else if (err == SSL_ERROR_ZERO_RETURN) {
        snprintf(detail, sizeof(detail), "server sent close_notify");
    } else {
        snprintf(detail, sizeof(detail), "SSL_get_error %d", err);
    }
    ERR_clear_error();
    fail(b, what, detail);
}

/*
 * Write up to n bytes to c: how many went, 0 if none can go now (then
 * *want_out says whether to wait until the socket is writable; otherwise
 * TLS waits for a read, and EPOLLIN is always watched), -1 after fail().
 */
static ssize_t
io_write(struct bench *b, struct conn *c, const char *p, size_t n,
         bool *want_out)
{
    *want_out = false;
    if (c->ssl == NULL) {
        for (;;) {
            ssize_t w = write(c->fd, p, n);
            if (w > 0) {
                return w;
            }
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                *want_out = true;
                return 0;
            }
            fail(b, "write to server failed", strerror(errno));
            return -1;
        }
    }
    ERR_clear_error();
    errno = 0;
    int w = SSL_write(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (w > 0) {
        return w;
    }
    switch (SSL_get_error(c->ssl, w)) {
    case SSL_ERROR_WANT_WRITE:
        *want_out = true;
        return 0;
    case SSL_ERROR_WANT_READ:
        return 0;
    default:
        tls_fail(b, c, w, "TLS write to server failed");
        return -1;
    }
}

/* Read up to n bytes from c: how many came, 0 if none now, -1 after
 * fail() (an error, or the server closed the connection). */
static ssize_t
io_read(struct bench *b, struct conn *c, char *p, size_t n)
{
    if (c->ssl == NULL) {
        ssize_t r = read(c->fd, p, n);
        if (r > 0) {
            return r;
        }
        if (r == 0) {
            fail(b, "server closed the connection", "");
            return -1;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return 0;
        }
        fail(b, "read from server failed", strerror(errno));
        return -1;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) {
        return r;
    }
    int err = SSL_get_error(c->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
        return 0;
    }
    tls_fail(b, c, r, "TLS read from server failed");
    return -1;
}

static void
flush_out(struct bench *b, struct conn *c)
{
    while (c->out.off < c->out.len) {
        bool want_out;
        ssize_t n = io_write(b, c, c->out.data + c->out.off,
                             c->out.len - c->out.off, &want_out);
        if (n < 0) {
            return;
        }
        if (n == 0) {
            if (want_out) {
                set_out_interest(b, c, true);
            }
            return;
        }
        c->out.off += (size_t)n;
    }
    c->out.off = 0;
    c->out.len = 0;
    set_out_interest(b, c, false);
}

static void
read_in(struct bench *b, struct conn *c)
{
    for (;;) {
        if (c->in.off == c->in.len) {
            c->in.off = 0;
            c->in.len = 0;
        }
        buf_reserve(&c->in, 65536);
        ssize_t n =
            io_read(b, c, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (n <= 0) {
            return;
        }
        c->in.len += (size_t)n;
        if (!parse_replies(b, c)) {
            return;
        }
        /* A plain socket: epoll reports what is left. TLS may hold
         * decrypted bytes that epoll cannot see: read until it has none. */
        if (c->ssl == NULL) {
            return;
        }
    }
}

static int
connect_one(int port)
{
    struct sockaddr_in sa = {0};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0) {
        return -1;
    }
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* --tls: a TLS client on c->fd, resuming c->session if there is one. */
static bool
tls_attach(struct bench *b, struct conn *c)
{
    c->ssl = SSL_new(b->tls_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        return false;
    }
    SSL_set_connect_state(c->ssl);
    if (c->session != NULL && SSL_set_session(c->ssl, c->session) != 1) {
        return false;
    }
    return true;
}

/*
 * One step of c's TLS handshake: 1 done, 0 not yet (*events says what
 * to wait for: EPOLLIN or EPOLLOUT, which equal POLLIN and POLLOUT),
 * -1 after fail().
 */
static int
tls_step(struct bench *b, struct conn *c, uint32_t *events)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) {
        if (b->tls_version[0] == '\0') {
            snprintf(b->tls_version, sizeof(b->tls_version), "%s",
                     SSL_get_version(c->ssl));
            snprintf(b->tls_cipher, sizeof(b->tls_cipher), "%s",
                     SSL_get_cipher_name(c->ssl));
        }
        return 1;
    }
    switch (SSL_get_error(c->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        *events = EPOLLIN;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        *events = EPOLLOUT;
        return 0;
    default:
        tls_fail(b, c, r, "TLS handshake failed");
        return -1;
    }
}

/* --tls, all modes but handshake: every connection's handshake, before
 * the clock starts. */
static bool
tls_handshake_all(struct bench *b)
{
    const struct options *o = &b->opt;
    struct pollfd *pfd = calloc(o->conns, sizeof(*pfd));
    uint64_t deadline = mono_ns() + (uint64_t)(o->timeout * 1e9);
    bool ok = pfd != NULL;

    while (ok) {
        unsigned left = 0;
        for (unsigned i = 0; i < o->conns && ok; i++) {
            struct conn *c = &b->conns[i];
            uint32_t events = 0;
            pfd[i].fd = -1; /* poll skips it */
            if (SSL_is_init_finished(c->ssl)) {
                continue;
            }
            int r = tls_step(b, c, &events);
            ok = r >= 0;
            if (r == 0) {
                pfd[i].fd = c->fd;
                pfd[i].events = (short)events;
                left++;
            }
        }
        if (!ok || left == 0) {
            break;
        }
        if (mono_ns() > deadline) {
            fail(b, "TLS handshakes did not finish", "--timeout");
            ok = false;
        } else if (poll(pfd, o->conns, 100) < 0 && errno != EINTR) {
            fail(b, "poll", strerror(errno));
            ok = false;
        }
    }
    free(pfd);
    return ok;
}

static bool
conns_open(struct bench *b)
{
    const struct options *o = &b->opt;

    b->conns = calloc(o->conns, sizeof(*b->conns));
    if (b->conns == NULL) {
        return false;
    }
    for (unsigned i = 0; i < o->conns; i++) {
        b->conns[i].fd = -1; /* conns_close() skips it */
    }
    for (unsigned i = 0; i < o->conns; i++) {
        struct conn *c = &b->conns[i];
        struct epoll_event ev = {0};

        c->id = i;
        if (o->mode == MODE_HANDSHAKE) {
            continue; /* each cycle opens its own */
        }
        c->fd = connect_one(o->port);
        if (c->fd < 0) {
            fprintf(stderr, "loadgen: connect to 127.0.0.1:%d: %s\n", o->port,
                    strerror(errno));
            return false;
        }
        c->ring = calloc(ring_size(o), sizeof(*c->ring));
        c->keys = calloc((size_t)ring_size(o) * o->multiget, sizeof(*c->keys));
        c->misses = calloc(o->depth, sizeof(*c->misses));
        if (c->ring == NULL || c->keys == NULL || c->misses == NULL) {
            return false;
        }
        rng_seed(c->rng, o->seed * 1000003u + i);
        c->next_opaque = (uint32_t)mix64(o->seed * 1000003u + i);
        ev.events = EPOLLIN;
        ev.data.ptr = c;
        if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
            return false;
        }
        if (o->tls && !tls_attach(b, c)) {
            fprintf(stderr, "loadgen: TLS setup failed\n");
            return false;
        }
    }
    return !o->tls || o->mode == MODE_HANDSHAKE || tls_handshake_all(b);
}

static void
conns_close(struct bench *b)
{
    if (b->conns == NULL) {
        return;
    }
    for (unsigned i = 0; i < b->opt.conns; i++) {
        struct conn *c = &b->conns[i];
        SSL_free(c->ssl);
        SSL_SESSION_free(c->session);
        if (c->fd >= 0) {
            close(c->fd);
        }
        free(c->in.data);
        free(c->out.data);
        free(c->ring);
        free(c->keys);
        free(c->misses);
    }
    free(b->conns);
    b->conns = NULL;
}

static bool
all_idle(const struct bench *b)
{
    for (unsigned i = 0; i < b->opt.conns; i++) {
        if (b->conns[i].count > 0) {
            return false;
        }
    }
    return true;
}

static void
snapshot_cpu(struct bench *b, uint64_t *ticks)
{
    if (b->opt.server_pid > 0 && !read_cpu_ticks(b->opt.server_pid, ticks)) {
        b->cpu_ok = false;
    }
}

/* --- handshake mode --- */

/* Start a cycle: connect, attach TLS (resuming with --tls-resume). */
static bool
hs_begin(struct bench *b, struct conn *c)
{
    struct epoll_event ev = {0};

    c->fd = connect_one(b->opt.port);
    if (c->fd < 0) {
        fail(b, "connect to server failed", strerror(errno));
        return false;
    }
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    c->want_out = true;
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        fail(b, "epoll_ctl", strerror(errno));
        return false;
    }
    if (!tls_attach(b, c)) {
        fail(b, "TLS setup failed", "SSL_new");
        return false;
    }
    c->hs = HS_HANDSHAKE;
    c->t_cycle = b->now;
    c->count = 1; /* busy: the drain waits for the cycle to end */
    c->in.off = c->in.len = 0;
    c->out.off = c->out.len = 0;
    return true;
}

/* End a cycle after its VERSION line: count it, keep the session for
 * --tls-resume, send close_notify and close. */
static void
hs_end(struct bench *b, struct conn *c)
{
    if (b->phase == PHASE_MEASURE) {
        uint64_t lat = b->now > c->t_cycle ? b->now - c->t_cycle : 0;
        b->c.hist[hist_index(lat)]++;
        if (lat > b->c.lat_max) {
            b->c.lat_max = lat;
        }
        b->c.requests++;
        b->c.keys++;
        if (SSL_session_reused(c->ssl)) {
            b->tls_resumed++;
        }
    }
    if (b->opt.tls_resume) {
        SSL_SESSION *sess = SSL_get1_session(c->ssl);
        if (sess != NULL) {
            SSL_SESSION_free(c->session);
            c->session = sess;
        }
    }
    (void)SSL_shutdown(c->ssl); /* close_notify; the reply is not awaited */
    SSL_free(c->ssl);
    c->ssl = NULL;
    close(c->fd); /* leaves the epoll set too */
    c->fd = -1;
    c->hs = HS_IDLE;
    c->count = 0;
}

/* Drive c's cycle as far as it can go now, and on to the next ones. */
static void
hs_advance(struct bench *b, struct conn *c)
{
    while (!b->fatal) {
        uint32_t events = 0;
        switch (c->hs) {
        case HS_IDLE:
            if ((b->phase != PHASE_WARMUP && b->phase != PHASE_MEASURE) ||
                !hs_begin(b, c)) {
                return;
            }
            break;
        case HS_HANDSHAKE: {
            int r = tls_step(b, c, &events);
            if (r <= 0) {
                if (r == 0) {
                    set_out_interest(b, c, events == EPOLLOUT);
                }
                return;
            }
            buf_append(&c->out, "version\r\n", 9);
            c->hs = HS_REQUEST;
            break;
        }
        case HS_REQUEST:
            flush_out(b, c);
            if (c->out.len > 0) {
                return; /* not all sent yet, or failed */
            }
            c->hs = HS_REPLY;
            break;
        case HS_REPLY: {
            buf_reserve(&c->in, 256);
            ssize_t n =
                io_read(b, c, c->in.data + c->in.len, c->in.cap - c->in.len);
            if (n <= 0) {
                return;
            }
            c->in.len += (size_t)n;
            const char *nl = memchr(c->in.data, '\n', c->in.len);
            if (nl == NULL) {
                if (c->in.len > MAX_LINE) {
                    fail(b, "reply line too long", "version");
                }
                break; /* read on */
            }
            size_t len = (size_t)(nl - c->in.data) + 1;
            if (len != c->in.len || len < 10 || nl[-1] != '\r' ||
                memcmp(c->in.data, "VERSION ", 8) != 0) {
                fail_at(b, "unexpected reply to version", c->in.data,
                        c->in.len);
                return;
            }
            hs_end(b, c);
            break;
        }
        }
    }
}

/* Move between phases by the clock (run mode) or by work left (others). */
static void
advance_phase(struct bench *b, uint64_t t_start)
{
    const struct options *o = &b->opt;
    uint64_t warm_end = t_start + (uint64_t)(o->warmup * 1e9);
    uint64_t meas_end = warm_end + (uint64_t)(o->duration * 1e9);
    bool timed = o->mode == MODE_RUN || o->mode == MODE_HANDSHAKE;

    if (b->phase == PHASE_WARMUP && (!timed || b->now >= warm_end)) {
        b->phase = PHASE_MEASURE;
        b->t_measure = b->now;
        snapshot_cpu(b, &b->cpu_before);
    }
    if (b->phase == PHASE_MEASURE) {
        bool over = timed ? b->now >= meas_end : all_idle(b);
        if (o->mode == MODE_HITRATIO &&
            (b->gets_issued < o->warmup_requests + o->requests ||
             b->prefill_left > 0)) {
            over = false; /* paced: idle until the next batch is due */
        }
        if (over) {
            b->phase = PHASE_DRAIN;
            b->t_end = b->now;
            snapshot_cpu(b, &b->cpu_after);
        }
    }
    if (b->phase == PHASE_DRAIN && all_idle(b)) {
        b->phase = PHASE_DONE;
    }
}

static void
loop(struct bench *b)
{
    const struct options *o = &b->opt;
    uint64_t t_start = mono_ns();
    b->t_start = t_start;
    uint64_t hard = t_start + (uint64_t)(o->timeout * 1e9);
    struct epoll_event evs[256];

    b->now = t_start;
    for (unsigned i = 0; i < o->conns; i++) {
        if (o->mode == MODE_HANDSHAKE) {
            hs_advance(b, &b->conns[i]);
            continue;
        }
        fill_pipeline(b, &b->conns[i]);
        flush_out(b, &b->conns[i]);
    }
    while (!b->fatal) {
        advance_phase(b, t_start);
        if (b->phase == PHASE_DONE) {
            return;
        }
        if (b->now >= hard) {
            fail(b, "hard time bound reached", "--timeout");
            return;
        }
        int wait_ms = 50;
        if (b->wake > b->now) {
            uint64_t ms = (b->wake - b->now + 999999u) / 1000000u;
            wait_ms = ms < 50 ? (int)ms : 50;
        } else if (b->wake != 0) {
            wait_ms = 0;
        }
        int n = epoll_wait(b->epfd, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR) {
            fail(b, "epoll_wait", strerror(errno));
            return;
        }
        b->now = mono_ns();
        for (int i = 0; i < n && !b->fatal; i++) {
            struct conn *c = evs[i].data.ptr;
            if (o->mode == MODE_HANDSHAKE) {
                /* An event of a cycle's closed socket only makes the
                 * next cycle try early. */
                hs_advance(b, c);
                continue;
            }
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                read_in(b, c);
            }
            if (b->fatal) {
                break;
            }
            fill_pipeline(b, c);
            flush_out(b, c);
        }
        /* In count-based modes an idle connection may get new work. */
        if (o->mode == MODE_HITRATIO || o->mode == MODE_FILL ||
            o->mode == MODE_VERIFY) {
            for (unsigned i = 0; i < o->conns && !b->fatal; i++) {
                struct conn *c = &b->conns[i];
                if (c->count == 0) {
                    fill_pipeline(b, c);
                    flush_out(b, c);
                }
            }
        }
    }
}

/* --- setup, options, report --- */

static bool
build_cdf(struct bench *b)
{
    uint32_t n = b->opt.nkeys;
    double sum = 0.0;

    b->cdf = malloc((size_t)n * sizeof(*b->cdf));
    if (b->cdf == NULL) {
        return false;
    }
    for (uint32_t i = 0; i < n; i++) {
        sum += 1.0 / pow((double)i + 1.0, b->opt.zipf_s);
        b->cdf[i] = sum;
    }
    for (uint32_t i = 0; i < n; i++) {
        b->cdf[i] /= sum;
    }
    b->cdf[n - 1] = 1.0;
    return true;
}

static bool
build_pattern(struct bench *b)
{
    static const char alphabet[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
    size_t len = PATTERN_SPAN +
                 (b->opt.svmax > b->opt.vmax ? b->opt.svmax : b->opt.vmax);
    uint64_t x = 0x6d656d6f726961u; /* fixed: values outlive a run */

    b->pattern = malloc(len);
    if (b->pattern == NULL) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        x = mix64(x);
        b->pattern[i] = alphabet[x & 63u];
    }
    return true;
}

/* --tls: TLS 1.3 only, no certificate check, no client session cache
 * (--tls-resume keeps each connection's last session by hand). */
static bool
tls_context(struct bench *b)
{
    b->tls_ctx = SSL_CTX_new(TLS_client_method());
    if (b->tls_ctx == NULL ||
        SSL_CTX_set_min_proto_version(b->tls_ctx, TLS1_3_VERSION) != 1) {
        return false;
    }
    SSL_CTX_set_verify(b->tls_ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_session_cache_mode(b->tls_ctx, SSL_SESS_CACHE_OFF);
    /* Send what fits; out buffers grow and move between tries. */
    SSL_CTX_set_mode(b->tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    return true;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: loadgen --port P [options]\n"
               "  --host ADDR          must be 127.0.0.1 (default)\n"
               "  --mode M             run | fill | verify | hitratio |\n"
               "                       handshake (run)\n"
               "  --proto P            text | meta | binary (text)\n"
               "  --quiet              binary, run mode: GETKQ/SETQ, each\n"
               "                       --depth of them closed by a NOOP\n"
               "  --conns N            connections (1)\n"
               "  --depth N            requests in flight per connection (1)\n"
               "  --multiget M         keys per get request, text only (1)\n"
               "  --keys K             key space: indices 0..K-1 (1000)\n"
               "  --key-len L          bytes per key (16)\n"
               "  --key-prefix S       key prefix (k)\n"
               "  --value-size N|A-B   value length or range (32)\n"
               "  --get-ratio R        fraction of gets in run mode (0.9)\n"
               "  --dist D             uniform | zipf (uniform)\n"
               "  --zipf-s S           Zipf exponent (0.99)\n"
               "  --seed N             random seed (1)\n"
               "  --warmup S           run: seconds not measured (0.5)\n"
               "  --duration S         run: seconds measured (3)\n"
               "  --requests N         hitratio: gets measured (100000)\n"
               "  --warmup-requests N  hitratio: gets before measuring (0)\n"
               "  --lockstep           hitratio, 1 connection: batches of\n"
               "                       --depth gets, their misses' sets\n"
               "                       ahead of the next batch (the same\n"
               "                       request order on every run)\n"
               "  --rate R             hitratio, lockstep: measured gets/s\n"
               "  --warmup-rate R      hitratio, lockstep: warm-up gets/s\n"
               "  --shift-at N         hitratio: from get N on, the Zipf\n"
               "                       ranks map to new keys K..2K-1 with\n"
               "                       --shift-value-size values\n"
               "  --shift-value-size N|A-B  value lengths after the shift\n"
               "  --scan-at N          hitratio: gets N..N+S-1 sweep the\n"
               "  --scan-keys S        cold keys 2K..2K+S-1 once, in order\n"
               "  --prefill N          hitratio, lockstep: first set keys\n"
               "                       N-1 down to 0 (the Zipf ranks'\n"
               "                       keys, hottest last)\n"
               "  --tls                TLS 1.3 on every connection (the\n"
               "                       certificate is not verified)\n"
               "  --tls-resume         handshake: resume the session the\n"
               "                       connection's last cycle got\n"
               "  --timeout S          hard bound on the whole run\n"
               "  --server-pid PID     read server CPU time from /proc\n");
}

static bool
parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= lo && v <= hi)) {
        fprintf(stderr, "loadgen: bad number '%s' (want %g..%g)\n", s, lo, hi);
        return false;
    }
    *out = v;
    return true;
}

static bool
parse_size_range(const char *s, uint32_t *vmin, uint32_t *vmax)
{
    char *end;
    unsigned long a;
    unsigned long z;

    errno = 0;
    a = strtoul(s, &end, 10);
    z = a;
    if (*end == '-') {
        z = strtoul(end + 1, &end, 10);
    }
    if (errno != 0 || *end != '\0' || a < 1 || z < a || z > MAX_VALUE) {
        fprintf(stderr, "loadgen: bad value size range '%s'\n", s);
        return false;
    }
    *vmin = (uint32_t)a;
    *vmax = (uint32_t)z;
    return true;
}

enum {
    OPT_HOST = 256,
    OPT_PORT,
    OPT_MODE,
    OPT_PROTO,
    OPT_QUIET,
    OPT_CONNS,
    OPT_DEPTH,
    OPT_MULTIGET,
    OPT_KEYS,
    OPT_KEY_LEN,
    OPT_KEY_PREFIX,
    OPT_VALUE_SIZE,
    OPT_GET_RATIO,
    OPT_DIST,
    OPT_ZIPF_S,
    OPT_SEED,
    OPT_WARMUP,
    OPT_DURATION,
    OPT_REQUESTS,
    OPT_WARMUP_REQUESTS,
    OPT_TIMEOUT,
    OPT_SERVER_PID,
    OPT_LOCKSTEP,
    OPT_RATE,
    OPT_WARMUP_RATE,
    OPT_SHIFT_AT,
    OPT_SHIFT_VALUE_SIZE,
    OPT_SCAN_AT,
    OPT_SCAN_KEYS,
    OPT_PREFILL,
    OPT_TLS,
    OPT_TLS_RESUME,
    OPT_HELP
};

static const struct option long_opts[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"mode", required_argument, NULL, OPT_MODE},
    {"proto", required_argument, NULL, OPT_PROTO},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"conns", required_argument, NULL, OPT_CONNS},
    {"depth", required_argument, NULL, OPT_DEPTH},
    {"multiget", required_argument, NULL, OPT_MULTIGET},
    {"keys", required_argument, NULL, OPT_KEYS},
    {"key-len", required_argument, NULL, OPT_KEY_LEN},
    {"key-prefix", required_argument, NULL, OPT_KEY_PREFIX},
    {"value-size", required_argument, NULL, OPT_VALUE_SIZE},
    {"get-ratio", required_argument, NULL, OPT_GET_RATIO},
    {"dist", required_argument, NULL, OPT_DIST},
    {"zipf-s", required_argument, NULL, OPT_ZIPF_S},
    {"seed", required_argument, NULL, OPT_SEED},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"requests", required_argument, NULL, OPT_REQUESTS},
    {"warmup-requests", required_argument, NULL, OPT_WARMUP_REQUESTS},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"lockstep", no_argument, NULL, OPT_LOCKSTEP},
    {"rate", required_argument, NULL, OPT_RATE},
    {"warmup-rate", required_argument, NULL, OPT_WARMUP_RATE},
    {"shift-at", required_argument, NULL, OPT_SHIFT_AT},
    {"shift-value-size", required_argument, NULL, OPT_SHIFT_VALUE_SIZE},
    {"scan-at", required_argument, NULL, OPT_SCAN_AT},
    {"scan-keys", required_argument, NULL, OPT_SCAN_KEYS},
    {"prefill", required_argument, NULL, OPT_PREFILL},
    {"tls", no_argument, NULL, OPT_TLS},
    {"tls-resume", no_argument, NULL, OPT_TLS_RESUME},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* One option; false on a bad value. */
static bool
apply_option(struct options *o, int opt, const char *arg)
{
    double v = 0;

    switch (opt) {
    case OPT_HOST: {
        struct in_addr a;
        if (inet_pton(AF_INET, arg, &a) != 1 ||
            a.s_addr != htonl(INADDR_LOOPBACK)) {
            fprintf(stderr, "loadgen: refusing host '%s': only 127.0.0.1\n",
                    arg);
            return false;
        }
        return true;
    }
    case OPT_PORT:
        if (!parse_num(arg, 1, 65535, &v)) {
            return false;
        }
        o->port = (int)v;
        return true;
    case OPT_MODE:
        if (strcmp(arg, "run") == 0) {
            o->mode = MODE_RUN;
        } else if (strcmp(arg, "fill") == 0) {
            o->mode = MODE_FILL;
        } else if (strcmp(arg, "verify") == 0) {
            o->mode = MODE_VERIFY;
        } else if (strcmp(arg, "hitratio") == 0) {
            o->mode = MODE_HITRATIO;
        } else if (strcmp(arg, "handshake") == 0) {
            o->mode = MODE_HANDSHAKE;
        } else {
            fprintf(stderr, "loadgen: unknown mode '%s'\n", arg);
            return false;
        }
        return true;
    case OPT_PROTO:
        if (strcmp(arg, "text") == 0) {
            o->proto = PROTO_TEXT;
        } else if (strcmp(arg, "meta") == 0) {
            o->proto = PROTO_META;
        } else if (strcmp(arg, "binary") == 0) {
            o->proto = PROTO_BINARY;
        } else {
            fprintf(stderr, "loadgen: unknown protocol '%s'\n", arg);
            return false;
        }
        return true;
    case OPT_QUIET:
        o->quiet = true;
        return true;
    case OPT_TLS:
        o->tls = true;
        return true;
    case OPT_TLS_RESUME:
        o->tls_resume = true;
        return true;
    case OPT_CONNS:
        if (!parse_num(arg, 1, MAX_CONNS, &v)) {
            return false;
        }
        o->conns = (unsigned)v;
        return true;
    case OPT_DEPTH:
        if (!parse_num(arg, 1, MAX_DEPTH, &v)) {
            return false;
        }
        o->depth = (unsigned)v;
        return true;
    case OPT_MULTIGET:
        if (!parse_num(arg, 1, MAX_MULTIGET, &v)) {
            return false;
        }
        o->multiget = (unsigned)v;
        return true;
    case OPT_KEYS:
        if (!parse_num(arg, 1, 200000000, &v)) {
            return false;
        }
        o->nkeys = (uint32_t)v;
        return true;
    case OPT_KEY_LEN:
        if (!parse_num(arg, 1, MAX_KEY_LEN, &v)) {
            return false;
        }
        o->key_len = (unsigned)v;
        return true;
    case OPT_KEY_PREFIX:
        o->key_prefix = arg;
        return true;
    case OPT_VALUE_SIZE:
        return parse_size_range(arg, &o->vmin, &o->vmax);
    case OPT_SHIFT_VALUE_SIZE:
        return parse_size_range(arg, &o->svmin, &o->svmax);
    case OPT_LOCKSTEP:
        o->lockstep = true;
        return true;
    case OPT_RATE:
        return parse_num(arg, 0, 1e9, &o->rate);
    case OPT_WARMUP_RATE:
        return parse_num(arg, 0, 1e9, &o->warmup_rate);
    case OPT_SHIFT_AT:
        if (!parse_num(arg, 1, 1e12, &v)) {
            return false;
        }
        o->shift_at = (uint64_t)v;
        return true;
    case OPT_SCAN_AT:
        if (!parse_num(arg, 0, 1e12, &v)) {
            return false;
        }
        o->scan_at = (uint64_t)v;
        return true;
    case OPT_PREFILL:
        if (!parse_num(arg, 0, 200000000, &v)) {
            return false;
        }
        o->prefill = (uint32_t)v;
        return true;
    case OPT_SCAN_KEYS:
        if (!parse_num(arg, 0, 1e9, &v)) {
            return false;
        }
        o->scan_keys = (uint64_t)v;
        return true;
    case OPT_GET_RATIO:
        return parse_num(arg, 0, 1, &o->get_ratio);
    case OPT_DIST:
        if (strcmp(arg, "uniform") != 0 && strcmp(arg, "zipf") != 0) {
            fprintf(stderr, "loadgen: unknown distribution '%s'\n", arg);
            return false;
        }
        o->zipf = strcmp(arg, "zipf") == 0;
        return true;
    case OPT_ZIPF_S:
        return parse_num(arg, 0.01, 10, &o->zipf_s);
    case OPT_SEED:
        if (!parse_num(arg, 0, 1e15, &v)) {
            return false;
        }
        o->seed = (uint64_t)v;
        return true;
    case OPT_WARMUP:
        return parse_num(arg, 0, 3600, &o->warmup);
    case OPT_DURATION:
        return parse_num(arg, 0.01, 3600, &o->duration);
    case OPT_REQUESTS:
        if (!parse_num(arg, 1, 1e12, &v)) {
            return false;
        }
        o->requests = (uint64_t)v;
        return true;
    case OPT_WARMUP_REQUESTS:
        if (!parse_num(arg, 0, 1e12, &v)) {
            return false;
        }
        o->warmup_requests = (uint64_t)v;
        return true;
    case OPT_TIMEOUT:
        return parse_num(arg, 0.1, 36000, &o->timeout);
    case OPT_SERVER_PID:
        if (!parse_num(arg, 1, 1e9, &v)) {
            return false;
        }
        o->server_pid = (long)v;
        return true;
    default:
        return false;
    }
}

static int
parse_options(int argc, char **argv, struct options *o)
{
    int opt;

    *o = (struct options){
        .mode = MODE_RUN,
        .proto = PROTO_TEXT,
        .conns = 1,
        .depth = 1,
        .multiget = 1,
        .nkeys = 1000,
        .key_len = 16,
        .key_prefix = "k",
        .vmin = 32,
        .vmax = 32,
        .get_ratio = 0.9,
        .zipf_s = 0.99,
        .seed = 1,
        .warmup = 0.5,
        .duration = 3,
        .requests = 100000,
    };
    while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        if (opt == OPT_HELP) {
            usage(stdout);
            exit(0);
        }
        if (opt == '?') {
            usage(stderr);
            return EXIT_USAGE;
        }
        if (!apply_option(o, opt, optarg)) {
            return EXIT_USAGE;
        }
    }
    if (optind != argc || o->port == 0) {
        fprintf(stderr, "loadgen: --port is required; no operands\n");
        return EXIT_USAGE;
    }
    if (strlen(o->key_prefix) >= o->key_len) {
        fprintf(stderr, "loadgen: --key-prefix must be shorter than "
                        "--key-len\n");
        return EXIT_USAGE;
    }
    double digits = (double)(o->key_len - strlen(o->key_prefix));
    double used = (double)o->nkeys;
    if (o->scan_keys > 0 || o->shift_at > 0) {
        used = (double)o->nkeys * 2.0 + (double)o->scan_keys;
    }
    if (digits < 19 && used > pow(10.0, digits)) {
        fprintf(stderr, "loadgen: --key-len too short for --keys\n");
        return EXIT_USAGE;
    }
    if (o->proto != PROTO_TEXT && o->multiget > 1) {
        fprintf(stderr, "loadgen: --multiget needs --proto text\n");
        return EXIT_USAGE;
    }
    if (o->quiet && (o->proto != PROTO_BINARY || o->mode != MODE_RUN)) {
        fprintf(stderr, "loadgen: --quiet needs --proto binary, --mode run\n");
        return EXIT_USAGE;
    }
    if (o->mode == MODE_VERIFY && o->proto != PROTO_TEXT) {
        fprintf(stderr, "loadgen: verify reads back with text multigets\n");
        return EXIT_USAGE;
    }
    if (o->mode == MODE_HITRATIO && o->multiget > 1) {
        fprintf(stderr, "loadgen: hitratio uses single-key gets\n");
        return EXIT_USAGE;
    }
    bool hit_extra = o->lockstep || o->rate > 0 || o->warmup_rate > 0 ||
                     o->shift_at > 0 || o->scan_keys > 0 || o->prefill > 0;
    if (hit_extra && o->mode != MODE_HITRATIO) {
        fprintf(stderr, "loadgen: --lockstep, --rate, --warmup-rate, "
                        "--shift-at and --scan-keys are hitratio options\n");
        return EXIT_USAGE;
    }
    if (o->lockstep && o->conns != 1) {
        fprintf(stderr, "loadgen: --lockstep needs --conns 1\n");
        return EXIT_USAGE;
    }
    if ((o->rate > 0 || o->warmup_rate > 0 || o->prefill > 0) && !o->lockstep) {
        fprintf(stderr, "loadgen: --rate, --warmup-rate and --prefill need "
                        "--lockstep\n");
        return EXIT_USAGE;
    }
    if (o->mode == MODE_HANDSHAKE && !o->tls) {
        fprintf(stderr, "loadgen: --mode handshake needs --tls\n");
        return EXIT_USAGE;
    }
    if (o->tls_resume && o->mode != MODE_HANDSHAKE) {
        fprintf(stderr, "loadgen: --tls-resume needs --mode handshake\n");
        return EXIT_USAGE;
    }
    if (o->prefill > o->nkeys) {
        fprintf(stderr, "loadgen: --prefill is larger than --keys\n");
        return EXIT_USAGE;
    }
    if (o->shift_at > 0 && o->svmin == 0) {
        fprintf(stderr, "loadgen: --shift-at needs --shift-value-size\n");
        return EXIT_USAGE;
    }
    uint64_t space = (uint64_t)o->nkeys * 2u + o->scan_keys;
    if (space > UINT32_MAX) {
        fprintf(stderr, "loadgen: --keys and --scan-keys too large\n");
        return EXIT_USAGE;
    }
    if (o->timeout == 0) {
        bool timed = o->mode == MODE_RUN || o->mode == MODE_HANDSHAKE;
        o->timeout = timed ? o->warmup + o->duration + 10 : 600;
    }
    return 0;
}

static const char *
mode_name(enum mode m)
{
    static const char *const names[] = {"run", "fill", "verify", "hitratio",
                                        "handshake"};

    return names[m];
}

static void
report(const struct bench *b)
{
    const struct options *o = &b->opt;
    const struct counters *c = &b->c;
    double secs = (double)(b->t_end - b->t_measure) / 1e9;
    long tck = sysconf(_SC_CLK_TCK);

    if (secs <= 0) {
        secs = 1e-9;
    }
    static const char *const protos[] = {"text", "meta", "binary"};

    printf("{\"mode\":\"%s\",\"proto\":\"%s\",\"quiet\":%s,\"conns\":%u,"
           "\"depth\":%u,\"multiget\":%u,\"keys\":%" PRIu32
           ",\"value_size\":[%" PRIu32 ",%" PRIu32
           "],\"dist\":\"%s\",\"zipf_s\":%g,\"seed\":%" PRIu64,
           mode_name(o->mode), protos[o->proto], o->quiet ? "true" : "false",
           o->conns, o->depth, o->multiget, o->nkeys, o->vmin, o->vmax,
           o->zipf ? "zipf" : "uniform", o->zipf ? o->zipf_s : 0.0, o->seed);
    printf(",\"seconds\":%.6f,\"requests\":%" PRIu64 ",\"ops_per_s\":%.1f,"
           "\"keys_per_s\":%.1f,\"gets\":%" PRIu64 ",\"sets\":%" PRIu64
           ",\"hits\":%" PRIu64 ",\"misses\":%" PRIu64 ",\"hit_ratio\":%.6f"
           ",\"payload_bytes\":%" PRIu64,
           secs, c->requests, (double)c->requests / secs,
           (double)c->keys / secs, c->gets, c->sets, c->hits, c->misses,
           c->hits + c->misses ? (double)c->hits / (double)(c->hits + c->misses)
                               : 0.0,
           c->payload_bytes);
    printf(",\"lat_us\":{\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f,\"max\":%.2f}",
           hist_quantile_us(c, 0.50), hist_quantile_us(c, 0.99),
           hist_quantile_us(c, 0.999), (double)c->lat_max / 1000.0);
    if (o->server_pid > 0 && b->cpu_ok && tck > 0 &&
        b->cpu_after >= b->cpu_before) {
        double cpu = (double)(b->cpu_after - b->cpu_before) / (double)tck;
        printf(",\"server_cpu_s\":%.3f,\"cpu_us_per_req\":%.4f", cpu,
               c->requests ? cpu * 1e6 / (double)c->requests : 0.0);
    } else {
        printf(",\"server_cpu_s\":null,\"cpu_us_per_req\":null");
    }
    if (o->tls) {
        printf(",\"tls\":{\"version\":\"%s\",\"cipher\":\"%s\","
               "\"resume\":%s,\"resumed\":%" PRIu64 "}",
               b->tls_version, b->tls_cipher, o->tls_resume ? "true" : "false",
               b->tls_resumed);
    }
    if (o->mode == MODE_HITRATIO) {
        static const char *const segs[] = {"warmup", "before_scan", "scan",
                                           "after_scan"};
        printf(",\"store_failed\":%" PRIu64 ",\"prefill_seconds\":%.3f"
               ",\"segments\":{",
               b->store_failed,
               b->t_prefilled > b->t_start
                   ? (double)(b->t_prefilled - b->t_start) / 1e9
                   : 0.0);
        for (unsigned i = 0; i < SEG_COUNT; i++) {
            uint64_t t1 = b->t_end;
            for (unsigned j = i + 1; j < SEG_COUNT; j++) {
                if (b->seg_t0[j] != 0) {
                    t1 = b->seg_t0[j];
                    break;
                }
            }
            double st = b->seg_t0[i] ? (double)(t1 - b->seg_t0[i]) / 1e9 : 0;
            printf("%s\"%s\":{\"gets\":%" PRIu64 ",\"hits\":%" PRIu64
                   ",\"hit_ratio\":%.6f,\"seconds\":%.3f}",
                   i ? "," : "", segs[i], b->seg_gets[i], b->seg_hits[i],
                   b->seg_gets[i]
                       ? (double)b->seg_hits[i] / (double)b->seg_gets[i]
                       : 0.0,
                   st);
        }
        printf("}");
    }
    printf(",\"protocol_errors\":%" PRIu64 ",\"verify_errors\":%" PRIu64
           ",\"missing\":%" PRIu64 ",\"unsupported\":%s,\"ok\":%s",
           b->protocol_errors, b->verify_errors, b->missing,
           b->unsupported ? "true" : "false",
           !b->fatal && b->verify_errors == 0 && b->missing == 0 ? "true"
                                                                 : "false");
    printf(",\"error\":\"");
    for (const char *p = b->first_error; *p != '\0'; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
        } else if (ch < 0x20 || ch >= 0x7f) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    printf("\"}\n");
}

int
main(int argc, char **argv)
{
    static struct bench bench;
    struct bench *b = &bench;
    int rc = parse_options(argc, argv, &b->opt);

    if (rc != 0) {
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    /* Last resort if the loop itself wedges: SIGALRM's default kills us. */
    alarm((unsigned)ceil(b->opt.timeout) + 5u);
    b->cpu_ok = true;
    b->prefill_left = b->opt.prefill;
    b->epfd = epoll_create1(0);
    if (b->opt.tls && !tls_context(b)) {
        fprintf(stderr, "loadgen: TLS setup failed\n");
        return EXIT_FAILED;
    }
    if (b->epfd < 0 || !build_pattern(b) || (b->opt.zipf && !build_cdf(b)) ||
        !conns_open(b)) {
        fprintf(stderr, "loadgen: setup failed\n");
        conns_close(b);
        return EXIT_FAILED;
    }
    loop(b);
    if (b->phase != PHASE_DONE && b->t_end == 0) {
        b->t_end = b->now;
    }
    if (b->t_measure == 0) {
        b->t_measure = b->t_end; /* never measured: report zero seconds */
    }
    report(b);
    conns_close(b);
    close(b->epfd);
    free(b->pattern);
    free(b->cdf);
    SSL_CTX_free(b->tls_ctx);
    if (b->unsupported) {
        fprintf(stderr, "loadgen: server answered ERROR to a %s request\n",
                b->opt.proto == PROTO_BINARY ? "binary" : "meta");
        return EXIT_UNSUPPORTED;
    }
    if (b->fatal || b->verify_errors > 0 || b->missing > 0) {
        fprintf(stderr,
                "loadgen: FAILED: %" PRIu64 " protocol errors, %" PRIu64
                " bad values, %" PRIu64 " missing keys\n",
                b->protocol_errors, b->verify_errors, b->missing);
        return EXIT_FAILED;
    }
    return 0;
}
