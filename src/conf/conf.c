#include "conf/conf.h"

#include "lib/version.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* memcached's exit codes (sysexits.h). */
#define EXIT_USAGE 64
#define EXIT_OSERR 71

#define HELP_COLUMN 26 /* where help text starts in -h */

/*
 * The command-line options, in -h order. arg is the placeholder -h shows,
 * NULL for a flag. A "\n" in help continues it on the next line, aligned.
 * Only -D has no long form, as in memcached.
 */
/* clang-format off */
/*      short long arg, then help */
#define CONF_OPTIONS(X)                                                       \
    X('p', "port", "<num>",                                                   \
      "TCP port to listen on (default: 11211, 0: off)")                       \
    X('U', "udp-port", "<num>",                                               \
      "UDP port to listen on (default: 0, off)\n"                             \
      "UDP is not supported yet: only 0 is accepted")                         \
    X('s', "unix-socket", "<file>",                                           \
      "UNIX socket to listen on (not supported yet)")                         \
    X('a', "unix-mask", "<mask>",                                             \
      "access mask for UNIX socket, in octal (default: 700)")                 \
    X('A', "enable-shutdown", NULL,                                           \
      "enable ascii \"shutdown\" command")                                    \
    X('l', "listen", "<addr>",                                                \
      "interface to listen on (default: 127.0.0.1, which\n"                   \
      "differs from memcached; -l 0.0.0.0 or -l '*' for all)\n"               \
      "repeatable; comma separated; host, host:port,\n"                       \
      "[ipv6]:port, with optional proto[ascii]: prefix")                      \
    X('d', "daemon", NULL,                                                    \
      "run as a daemon")                                                      \
    X('r', "enable-coredumps", NULL,                                          \
      "maximize core file limit")                                             \
    X('u', "user", "<user>",                                                  \
      "assume identity of <username> (only when run as root)")                \
    X('m', "memory-limit", "<num>",                                           \
      "item memory in megabytes (default: 64)")                               \
    X('M', "disable-evictions", NULL,                                         \
      "return error on memory exhausted instead of evicting")                 \
    X('c', "conn-limit", "<num>",                                             \
      "max simultaneous connections (default: 1024)")                         \
    X('k', "lock-memory", NULL,                                               \
      "lock down all paged memory")                                           \
    X('v', "verbose", NULL,                                                   \
      "verbose (print errors/warnings while in event loop)\n"                 \
      "-vv: very verbose (also client commands/responses)\n"                  \
      "-vvv: extremely verbose (internal state transitions)")                 \
    X('h', "help", NULL,                                                      \
      "print this help and exit")                                             \
    X('i', "license", NULL,                                                   \
      "print license information and exit")                                   \
    X('V', "version", NULL,                                                   \
      "print version and exit")                                               \
    X('P', "pidfile", "<file>",                                               \
      "save PID in <file>")                                                   \
    X('f', "slab-growth-factor", "<num>",                                     \
      "chunk size growth factor (default: 1.25)")                             \
    X('n', "slab-min-size", "<bytes>",                                        \
      "min space used for key+value+flags (default: 48)")                     \
    X('L', "enable-largepages", NULL,                                         \
      "try to use large memory pages (not supported yet)")                    \
    X('D', NULL, "<char>",                                                    \
      "delimiter between key prefixes and IDs for\n"                          \
      "per-prefix stats (not supported yet)")                                 \
    X('t', "threads", "<num>",                                                \
      "number of threads to use (default: 4)")                                \
    X('R', "max-reqs-per-event", "<num>",                                     \
      "maximum number of requests per event, limits the\n"                    \
      "requests processed per connection to prevent\n"                        \
      "starvation (default: 20)")                                             \
    X('C', "disable-cas", NULL,                                               \
      "disable use of CAS")                                                   \
    X('b', "listen-backlog", "<num>",                                         \
      "set the backlog queue limit (default: 1024)")                          \
    X('B', "protocol", "<name>",                                              \
      "protocol - one of ascii or auto (default: auto);\n"                    \
      "binary is not supported yet")                                          \
    X('I', "max-item-size", "<num>",                                          \
      "adjusts max item size\n"                                               \
      "(default: 1m, min: 1k, max: 1024m)")                                   \
    X('S', "enable-sasl", NULL,                                               \
      "turn on SASL authentication (not supported yet)")                      \
    X('F', "disable-flush-all", NULL,                                         \
      "disable flush_all command")                                            \
    X('X', "disable-dumping", NULL,                                           \
      "disable stats cachedump and lru_crawler metadump")                     \
    X('W', "disable-watch", NULL,                                             \
      "disable watch commands (live logging)")                                \
    X('Y', "auth-file", "<file>",                                             \
      "ASCII protocol authentication (not supported yet)")                    \
    X('e', "memory-file", "<file>",                                           \
      "mmap a file for item memory (not supported yet)")                      \
    X('Z', "enable-ssl", NULL,                                                \
      "enable TLS/SSL (not supported yet, nor -o ssl_*)")                     \
    X('o', "extended", "<list>",                                              \
      "comma separated list of extended options\n"                            \
      "most options have a 'no_' prefix to disable")                          \
    X('N', "napi-ids", "<num>",                                               \
      "number of napi ids (not supported yet)")
/* clang-format on */

/*
 * How an extended option takes its value, and what memcached says when it
 * is missing.
 */
enum ext_value {
    EXT_FLAG,     /* a value, if any, is ignored */
    EXT_OPTIONAL, /* the handler copes with a missing value */
    EXT_ARG,      /* "Missing <name> argument" */
    EXT_NUMERIC,  /* "Missing numeric argument for <name>" */
    EXT_VALUE,    /* "Missing <name> value" */
};

/*
 * The -o options, in -h order; help NULL hides one from -h (the no_
 * forms, and those memcached does not list). ssl_* and ext_path are
 * recognised so that they can be refused by name.
 */
/* clang-format off */
/*      name, how it takes a value, then help */
#define CONF_EXTENDED(X)                                                      \
    X(maxconns_fast, EXT_FLAG,                                                \
      "immediately close new connections after limit\n"                       \
      "(default: enabled)")                                                   \
    X(no_maxconns_fast, EXT_FLAG, NULL)                                       \
    X(hashpower, EXT_NUMERIC,                                                 \
      "an integer multiplier for how large the hash\n"                        \
      "table should be. normally grows at runtime.\n"                         \
      "(default starts at: 0, meaning 16; range 12-32)")                      \
    X(no_hashexpand, EXT_FLAG,                                                \
      "disables hash table expansion (dangerous)")                            \
    X(slab_reassign, EXT_FLAG,                                                \
      "allow moving slab pages between classes\n"                             \
      "(default: enabled)")                                                   \
    X(no_slab_reassign, EXT_FLAG, NULL)                                       \
    X(slab_automove, EXT_OPTIONAL,                                            \
      "page mover: 0 off, 1 (default) or 2 (aggressive)")                     \
    X(no_slab_automove, EXT_FLAG, NULL)                                       \
    X(slab_automove_ratio, EXT_ARG,                                           \
      "free ratio that triggers a move (default: 0.80)")                      \
    X(slab_automove_window, EXT_ARG,                                          \
      "windows of stats the mover looks at (default: 30)")                    \
    X(tail_repair_time, EXT_NUMERIC,                                          \
      "time in seconds for how long to wait before\n"                         \
      "forcefully killing LRU tail item.\n"                                   \
      "disabled by default; very dangerous option.")                          \
    X(hash_algorithm, EXT_ARG,                                                \
      "the hash table algorithm\n"                                            \
      "default: murmur3. options: jenkins, murmur3, xxh3")             \
    X(lru_crawler, EXT_FLAG, NULL)                                            \
    X(no_lru_crawler, EXT_FLAG,                                               \
      "disable LRU Crawler background thread.")                               \
    X(lru_crawler_sleep, EXT_VALUE,                                           \
      "microseconds to sleep between items\n"                                 \
      "default is 100.")                                                      \
    X(lru_crawler_tocrawl, EXT_VALUE,                                         \
      "max items to crawl per slab per run\n"                                 \
      "default is 0 (unlimited)")                                             \
    X(read_buf_mem_limit, EXT_ARG,                                            \
      "limit in megabytes for connection read/response\n"                     \
      "buffers. 0 means unlimited (default: 0)")                              \
    X(lru_maintainer, EXT_FLAG, NULL)                                         \
    X(no_lru_maintainer, EXT_FLAG,                                            \
      "disable new LRU system + background thread.")                          \
    X(hot_lru_pct, EXT_ARG,                                                   \
      "pct of slab memory to reserve for hot lru.\n"                          \
      "(requires lru_maintainer, default pct: 20)")                           \
    X(warm_lru_pct, EXT_ARG,                                                  \
      "pct of slab memory to reserve for warm lru.\n"                         \
      "(requires lru_maintainer, default pct: 40)")                           \
    X(hot_max_factor, EXT_ARG,                                                \
      "items idle > cold lru age * drop from hot lru.\n"                      \
      "(default: 0.20)")                                                      \
    X(warm_max_factor, EXT_ARG,                                               \
      "items idle > cold lru age * this drop from warm.\n"                    \
      "(default: 2.00)")                                                      \
    X(temporary_ttl, EXT_ARG,                                                 \
      "TTL's below get separate LRU, can't be evicted.\n"                     \
      "(requires lru_maintainer, default: 61)")                               \
    X(idle_timeout, EXT_NUMERIC,                                              \
      "timeout for idle connections. (default: 0, none)")                     \
    X(slab_chunk_max, EXT_ARG,                                                \
      "(EXPERIMENTAL) maximum slab chunk size in bytes.\n"                    \
      "use extreme care. (default: 524288)")                                  \
    X(no_chunked_items, EXT_FLAG,                                             \
      "slab_chunk_max is the page size (1 MiB)")                              \
    X(slab_sizes, EXT_ARG,                                                    \
      "explicit chunk sizes, dash separated, ascending")                      \
    X(watcher_logbuf_size, EXT_ARG,                                           \
      "size in kilobytes of per-watcher write buffer.\n"                      \
      "(default: 256)")                                                       \
    X(worker_logbuf_size, EXT_ARG,                                            \
      "size in kilobytes of per-worker-thread buffer\n"                       \
      "read by background thread. (default: 64)")                             \
    X(track_sizes, EXT_FLAG,                                                  \
      "enable dynamic reports for 'stats sizes' command.")                    \
    X(modern, EXT_FLAG,                                                       \
      "enables options which will be default in future.\n"                    \
      "currently: nothing")                                                   \
    X(no_modern, EXT_FLAG,                                                    \
      "uses defaults of previous major version (1.4.x)")                      \
    X(inline_ascii_resp, EXT_FLAG, NULL)                                      \
    X(no_inline_ascii_resp, EXT_FLAG, NULL)                                   \
    X(resp_obj_mem_limit, EXT_FLAG, NULL)                                     \
    X(drop_privileges, EXT_FLAG, NULL)                                        \
    X(no_drop_privileges, EXT_FLAG, NULL)                                     \
    X(sock_cookie_id, EXT_ARG,                                                \
      "attributes an ID to a socket for ip\n"                                 \
      "filtering/firewalls")                                                  \
    X(ext_path, EXT_OPTIONAL,                                                 \
      "extstore file (not supported yet); the other\n"                        \
      "ext_* options are accepted for compatibility")                         \
    X(ext_page_size, EXT_ARG, NULL)                                           \
    X(ext_wbuf_size, EXT_ARG, NULL)                                           \
    X(ext_threads, EXT_ARG, NULL)                                             \
    X(ext_io_depth, EXT_ARG, NULL)                                            \
    X(ext_item_size, EXT_ARG, NULL)                                           \
    X(ext_item_age, EXT_ARG, NULL)                                            \
    X(ext_low_ttl, EXT_ARG, NULL)                                             \
    X(ext_recache_rate, EXT_ARG, NULL)                                        \
    X(ext_compact_under, EXT_ARG, NULL)                                       \
    X(ext_drop_under, EXT_ARG, NULL)                                          \
    X(ext_max_sleep, EXT_ARG, NULL)                                           \
    X(ext_max_frag, EXT_ARG, NULL)                                            \
    X(ext_drop_unread, EXT_FLAG, NULL)                                        \
    X(slab_automove_freeratio, EXT_ARG, NULL)                                 \
    X(ssl_chain_cert, EXT_FLAG, NULL)                                         \
    X(ssl_key, EXT_FLAG, NULL)                                                \
    X(ssl_keyformat, EXT_FLAG, NULL)                                          \
    X(ssl_verify_mode, EXT_FLAG, NULL)                                        \
    X(ssl_ciphers, EXT_FLAG, NULL)                                            \
    X(ssl_ca_cert, EXT_FLAG, NULL)                                            \
    X(ssl_wbuf_size, EXT_FLAG, NULL)                                          \
    X(ssl_session_cache, EXT_FLAG, NULL)                                      \
    X(ssl_kernel_tls, EXT_FLAG, NULL)                                         \
    X(ssl_min_version, EXT_FLAG, NULL)
/* clang-format on */

enum ext_id {
#define EXT_ENUM(name, value, help) EXT_##name,
    CONF_EXTENDED(EXT_ENUM)
#undef EXT_ENUM
        EXT_UNKNOWN
};

struct ext_option {
    const char *name;
    enum ext_value value;
    const char *help;
};

static const struct ext_option ext_options[] = {
#define EXT_ROW(name, value, help) {#name, value, help},
    CONF_EXTENDED(EXT_ROW)
#undef EXT_ROW
};

struct cli_option {
    char letter;
    const char *name;
    const char *arg;
    const char *help;
};

static const struct cli_option cli_options[] = {
#define CLI_ROW(letter, name, arg, help) {letter, name, arg, help},
    CONF_OPTIONS(CLI_ROW)
#undef CLI_ROW
};

#define NCLI (sizeof(cli_options) / sizeof(cli_options[0]))

/*
 * What parsing remembers beyond struct config: memcached's "was it given"
 * flags, the sizes it checks only after every option is read, and the
 * first feature memoria must refuse.
 */
struct parse {
    bool tcp_specified;
    bool udp_specified;
    bool protocol_specified;
    bool chunk_max_changed;
    bool ext_path;
    int item_size_max;   /* memcached keeps -I in an int; see -I 2048m */
    int slab_chunk_max;  /* bytes, signed until validated */
    char *slab_sizes;    /* owned copy of -o slab_sizes=, checked last */
    char ssl_option[48]; /* "-o ssl_... (TLS)": the first one given */
};

static int fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    return code;
}

/* ---- Numbers, parsed the ways memcached parses them ---- */

/* atoi(): leading digits, garbage gives 0, long values wrap to int. */
static int
to_int(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

static bool
ends_number(const char *end)
{
    return *end == '\0' || isspace((unsigned char)*end);
}

/*
 * A whole unsigned 32-bit number, optionally followed by white space.
 * Unlike memcached, which keeps the low 32 bits, too large is an error.
 */
static bool
parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long long v;

    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || !ends_number(end) || v > UINT32_MAX) {
        return false;
    }
    if (v != 0 && memchr(s, '-', (size_t)(end - s)) != NULL) {
        return false;
    }
    *out = (uint32_t)v;
    return true;
}

static bool
parse_i32(const char *s, int *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || !ends_number(end) || v < INT_MIN ||
        v > INT_MAX) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool
parse_double(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || !ends_number(end)) {
        return false;
    }
    *out = v;
    return true;
}

/*
 * -I: a number with an optional k/K/m/M suffix, computed in an int as
 * memcached does, so that -I 2048m wraps negative and -I 4096m to 0
 * ("cannot be less than 1024 bytes"). Other suffixes stop atoi: -I 2g is 2.
 */
static int
parse_item_size(const char *s)
{
    size_t len = strlen(s);
    char unit = len > 0 ? s[len - 1] : '\0';
    long long v = to_int(s); /* the digits end at the unit */

    if (unit == 'k' || unit == 'K') {
        v *= 1024;
    } else if (unit == 'm' || unit == 'M') {
        v *= (long long)CONF_MB;
    }
    return (int)v; /* wraps like memcached's int arithmetic */
}

/* ---- Defaults, help, version ---- */

void
conf_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
#define CONF_FIELD_DEFAULT(type, name, dflt) cfg->name = dflt;
    CONF_FIELDS(CONF_FIELD_DEFAULT)
#undef CONF_FIELD_DEFAULT
}

void
conf_deinit(struct config *cfg)
{
    free(cfg->listen);
    cfg->listen = NULL;
    free(cfg->listeners);
    cfg->listeners = NULL;
    cfg->nlisteners = 0;
}

/* Prints left, pads to the help column and prints help, aligning lines. */
static void
print_help_row(const char *left, const char *help)
{
    int used = printf("%s", left);
    const char *line = help;

    printf("%*s", used < HELP_COLUMN ? HELP_COLUMN - used : 1, "");
    for (;;) {
        const char *nl = strchr(line, '\n');

        if (nl == NULL) {
            printf("%s\n", line);
            return;
        }
        printf("%.*s\n%*s", (int)(nl - line), line, HELP_COLUMN, "");
        line = nl + 1;
    }
}

static void
print_extended_help(void)
{
    char left[64];

    for (size_t i = 0; i < EXT_UNKNOWN; i++) {
        if (ext_options[i].help != NULL) {
            snprintf(left, sizeof(left), "   - %s:", ext_options[i].name);
            print_help_row(left, ext_options[i].help);
        }
    }
}

static void
print_usage(void)
{
    char left[64];

    /* Tools read the first line as memcached's; ours comes second. */
    printf("memcached %s\nmemoria %s\n", MEMCACHED_COMPAT_VERSION,
           MEMORIA_VERSION);
    for (size_t i = 0; i < NCLI; i++) {
        const struct cli_option *o = &cli_options[i];

        if (o->name == NULL) {
            snprintf(left, sizeof(left), "-%c %s", o->letter, o->arg);
        } else {
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->letter, o->name,
                     o->arg != NULL ? "=" : "", o->arg != NULL ? o->arg : "");
        }
        print_help_row(left, o->help);
        if (o->letter == 'o') {
            print_extended_help();
        }
    }
}

static void
print_license(void)
{
    printf("memoria %s, a clean-room cache server compatible with memcached "
           "%s.\n"
           "It contains no memcached code; it reproduces memcached's "
           "options, messages\n"
           "and protocols for compatibility.\n\n"
           "memoria links libevent (https://libevent.org), which is "
           "distributed under\n"
           "the 3-clause BSD license.\n",
           MEMORIA_VERSION, MEMCACHED_COMPAT_VERSION);
}

/* ---- -l ---- */

static enum conf_listen_status
bad(char *err, size_t errlen, const char *what, const char *s, size_t len)
{
    snprintf(err, errlen, "%s: \"%.*s\"", what, (int)len, s);
    return CONF_LISTEN_BAD;
}

/*
 * A "name[value]" prefix at *p (name already matched): sets *val and *vlen,
 * moves *p past "]" and one optional ':'. False when "]" is missing.
 */
static bool
take_bracket(const char **p, const char *end, const char **val, size_t *vlen)
{
    const char *close = memchr(*p, ']', (size_t)(end - *p));

    if (close == NULL) {
        return false;
    }
    *val = *p + 1;
    *vlen = (size_t)(close - *val);
    *p = close + 1;
    if (*p < end && **p == ':') {
        (*p)++;
    }
    return true;
}

static bool
starts(const char *p, const char *end, const char *prefix)
{
    size_t n = strlen(prefix);

    return (size_t)(end - p) >= n && memcmp(p, prefix, n) == 0;
}

/* memcached matches proto[...] by prefix: proto[a] is ascii. */
static enum conf_proto
proto_named(const char *s, size_t len)
{
    static const struct {
        const char *name;
        enum conf_proto proto;
    } protos[] = {
        {"ascii", CONF_PROTO_ASCII},
        {"binary", CONF_PROTO_BINARY},
        {"negotiating", CONF_PROTO_AUTO},
        {"proxy", CONF_PROTO_PROXY},
    };

    for (size_t i = 0; len > 0 && i < sizeof(protos) / sizeof(protos[0]); i++) {
        if (len <= strlen(protos[i].name) &&
            memcmp(s, protos[i].name, len) == 0) {
            return protos[i].proto;
        }
    }
    return CONF_PROTO_DEFAULT;
}

/* The notls:, proto[...] and tag[...] prefixes, in memcached's order. */
static enum conf_listen_status
take_prefixes(const char **p, const char *end, struct conf_listener *out,
              char *err, size_t errlen)
{
    const char *val;
    size_t vlen;

    if (starts(*p, end, "notls:")) {
        out->notls = true;
        *p += strlen("notls:");
    }
    if (starts(*p, end, "proto[")) {
        *p += strlen("proto");
        if (!take_bracket(p, end, &val, &vlen)) {
            return bad(err, errlen, "Invalid protocol spec", *p,
                       (size_t)(end - *p));
        }
        out->proto = proto_named(val, vlen);
        if (out->proto == CONF_PROTO_DEFAULT) {
            return bad(err, errlen, "Invalid protocol spec", val, vlen);
        }
    }
    if (starts(*p, end, "tag[")) {
        *p += strlen("tag");
        if (!take_bracket(p, end, &val, &vlen)) {
            return bad(err, errlen, "Invalid tag in socket config", *p,
                       (size_t)(end - *p));
        }
        if (vlen < 1 || vlen > CONF_TAG_MAX) {
            return bad(err, errlen,
                       "Listener tags must be between 1 and 8 characters", val,
                       vlen);
        }
        memcpy(out->tag, val, vlen);
        out->tag[vlen] = '\0';
    }
    return CONF_LISTEN_OK;
}

/* ":port" at p..end: memcached's safe_strtol, limited to real ports. */
static enum conf_listen_status
take_port(const char *p, const char *end, struct conf_listener *out, char *err,
          size_t errlen)
{
    char num[16];
    size_t len = (size_t)(end - p);

    if (len < sizeof(num)) {
        memcpy(num, p, len);
        num[len] = '\0';
        if (parse_i32(num, &out->port) && out->port >= 0 &&
            out->port <= 65535) {
            return CONF_LISTEN_OK;
        }
    }
    return bad(err, errlen, "Invalid port number", p, len);
}

/* host[:port], [ipv6][:port], a bare ipv6 (no port) or "*". */
static enum conf_listen_status
take_address(const char *p, const char *end, struct conf_listener *out,
             char *err, size_t errlen)
{
    const char *host = p;
    const char *hend;
    const char *colon;

    if (p < end && *p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (close == NULL || (close + 1 < end && close[1] != ':')) {
            return bad(err, errlen, "Invalid IPV6 address", p,
                       (size_t)(end - p));
        }
        host = p + 1;
        hend = close;
        colon = close + 1 < end ? close + 1 : NULL;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        /* A second colon means a bare IPv6 address, which has no port. */
        if (colon != NULL &&
            memchr(colon + 1, ':', (size_t)(end - colon - 1)) != NULL) {
            colon = NULL;
        }
        hend = colon != NULL ? colon : end;
    }
    if (colon != NULL &&
        take_port(colon + 1, end, out, err, errlen) != CONF_LISTEN_OK) {
        return CONF_LISTEN_BAD;
    }
    if (hend == host || (size_t)(hend - host) >= CONF_HOST_MAX) {
        return bad(err, errlen, "Invalid listen address", host,
                   (size_t)(hend - host));
    }
    if (hend - host == 1 && *host == '*') {
        out->any = true;
        return CONF_LISTEN_OK;
    }
    memcpy(out->host, host, (size_t)(hend - host));
    out->host[hend - host] = '\0';
    return CONF_LISTEN_OK;
}

enum conf_listen_status
conf_listen_next(const char **spec, struct conf_listener *out, char *err,
                 size_t errlen)
{
    const char *p = *spec + strspn(*spec, ",;");
    const char *end = p + strcspn(p, ",;");

    memset(out, 0, sizeof(*out));
    out->port = -1;
    if (p == end) {
        *spec = p;
        return CONF_LISTEN_END;
    }
    *spec = end;
    if (take_prefixes(&p, end, out, err, errlen) != CONF_LISTEN_OK) {
        return CONF_LISTEN_BAD;
    }
    return take_address(p, end, out, err, errlen);
}

/* ---- -o ---- */

static enum ext_id
ext_lookup(const char *name)
{
    for (size_t i = 0; i < EXT_UNKNOWN; i++) {
        if (strcmp(ext_options[i].name, name) == 0) {
            return (enum ext_id)i;
        }
    }
    return EXT_UNKNOWN;
}

static int
ext_missing(enum ext_id id)
{
    const char *name = ext_options[id].name;

    switch (ext_options[id].value) {
    case EXT_ARG:
        return fail(1, "Missing %s argument\n", name);
    case EXT_NUMERIC:
        return fail(1, "Missing numeric argument for %s\n", name);
    case EXT_VALUE:
        return fail(1, "Missing %s value\n", name);
    case EXT_FLAG:
    case EXT_OPTIONAL:
        break;
    }
    return CONF_RUN;
}

static int
cant_parse(const char *name)
{
    return fail(1, "could not parse argument to %s\n", name);
}

/* A size given in units (KB, MB) of a u32, stored in bytes. */
static int
ext_size(uint64_t *field, const char *name, const char *v, uint64_t unit)
{
    uint32_t n;

    if (!parse_u32(v, &n)) {
        return cant_parse(name);
    }
    *field = (uint64_t)n * unit;
    return CONF_RUN;
}

static int
ext_u32(uint32_t *field, const char *name, const char *v)
{
    return parse_u32(v, field) ? CONF_RUN : cant_parse(name);
}

static int
ext_double(double *field, const char *name, const char *v)
{
    return parse_double(v, field) ? CONF_RUN : cant_parse(name);
}

static int
set_hashpower(struct config *cfg, const char *v)
{
    cfg->hashpower = to_int(v);
    if (cfg->hashpower < 12) {
        return fail(1, "Initial hashtable multiplier of %d is too low\n",
                    cfg->hashpower);
    }
    if (cfg->hashpower > 32) {
        return fail(1,
                    "Initial hashtable multiplier of %d is too high\n"
                    "Choose a value based on \"STAT hash_power_level\" "
                    "from a running instance\n",
                    cfg->hashpower);
    }
    return CONF_RUN;
}

static int
set_hash_algorithm(struct config *cfg, const char *v)
{
    if (strcmp(v, "jenkins") == 0) {
        cfg->hash_algorithm = CONF_HASH_JENKINS;
    } else if (strcmp(v, "murmur3") == 0) {
        cfg->hash_algorithm = CONF_HASH_MURMUR3;
    } else if (strcmp(v, "xxh3") == 0) {
        cfg->hash_algorithm = CONF_HASH_XXH3;
    } else {
        return fail(1,
                    "Unknown hash_algorithm option (jenkins, murmur3, xxh3)\n");
    }
    return CONF_RUN;
}

/* hot_lru_pct and warm_lru_pct share memcached's bounds and message. */
static int
set_lru_pct(int *field, const char *name, const char *v)
{
    *field = to_int(v);
    if (*field < 1 || *field >= 80) {
        return fail(1, "%s must be > 1 and < 80\n", name);
    }
    return CONF_RUN;
}

static int
set_max_factor(double *field, const char *name, const char *v)
{
    *field = strtod(v, NULL);
    if (!(*field > 0)) {
        return fail(1, "%s must be > 0\n", name);
    }
    return CONF_RUN;
}

/* no_modern: memcached 1.4's defaults. */
static void
set_no_modern(struct config *cfg, struct parse *ps)
{
    if (!ps->chunk_max_changed) {
        ps->slab_chunk_max = CONF_PAGE_SIZE;
    }
    cfg->slab_reassign = false;
    cfg->slab_automove = 0;
    cfg->maxconns_fast = false;
    cfg->lru_maintainer = false;
    cfg->hash_algorithm = CONF_HASH_JENKINS;
    cfg->lru_crawler = false;
}

static int
set_slab_option(struct config *cfg, struct parse *ps, enum ext_id id,
                const char *v)
{
    switch (id) {
    case EXT_slab_automove:
        cfg->slab_automove = v == NULL ? 1 : to_int(v);
        if (cfg->slab_automove < 0 || cfg->slab_automove > 2) {
            return fail(1, "slab_automove must be between 0 and 2\n");
        }
        return CONF_RUN;
    case EXT_slab_automove_ratio:
        cfg->slab_automove_ratio = strtod(v, NULL);
        if (!(cfg->slab_automove_ratio > 0) || cfg->slab_automove_ratio > 1) {
            return fail(1, "slab_automove_ratio must be > 0 and < 1\n");
        }
        return CONF_RUN;
    case EXT_slab_automove_window:
        cfg->slab_automove_window = to_int(v);
        if (cfg->slab_automove_window < 3) {
            return fail(1, "slab_automove_window must be > 2\n");
        }
        return CONF_RUN;
    case EXT_slab_chunk_max:
        if (!parse_i32(v, &ps->slab_chunk_max)) {
            return cant_parse("slab_chunk_max");
        }
        ps->chunk_max_changed = true;
        return CONF_RUN;
    case EXT_slab_sizes:
        free(ps->slab_sizes);
        ps->slab_sizes = strdup(v);
        return ps->slab_sizes != NULL ? CONF_RUN
                                      : fail(1, "Failed to allocate memory\n");
    default:
        break;
    }
    return CONF_RUN;
}

static int
set_lru_option(struct config *cfg, enum ext_id id, const char *v)
{
    switch (id) {
    case EXT_tail_repair_time:
        cfg->tail_repair_time = to_int(v);
        if (cfg->tail_repair_time < 10) {
            return fail(1, "Cannot set tail_repair_time to less than 10 "
                           "seconds\n");
        }
        return CONF_RUN;
    case EXT_lru_crawler_sleep:
        cfg->lru_crawler_sleep = to_int(v);
        if (cfg->lru_crawler_sleep < 0 || cfg->lru_crawler_sleep > 1000000) {
            return fail(1, "LRU crawler sleep must be between 0 and 1 "
                           "second\n");
        }
        return CONF_RUN;
    case EXT_lru_crawler_tocrawl:
        if (!parse_u32(v, &cfg->lru_crawler_tocrawl)) {
            return fail(1, "lru_crawler_tocrawl takes a numeric 32bit value\n");
        }
        return CONF_RUN;
    case EXT_hot_lru_pct:
        return set_lru_pct(&cfg->hot_lru_pct, "hot_lru_pct", v);
    case EXT_warm_lru_pct:
        return set_lru_pct(&cfg->warm_lru_pct, "warm_lru_pct", v);
    case EXT_hot_max_factor:
        return set_max_factor(&cfg->hot_max_factor, "hot_max_factor", v);
    case EXT_warm_max_factor:
        return set_max_factor(&cfg->warm_max_factor, "warm_max_factor", v);
    case EXT_temporary_ttl:
        cfg->temp_lru = true;
        cfg->temporary_ttl = to_int(v);
        return CONF_RUN;
    default:
        break;
    }
    return CONF_RUN;
}

/* Extstore's numbers are stored (stats settings shows them) but unused. */
static int
set_ext_option(struct config *cfg, struct parse *ps, enum ext_id id,
               const char *v)
{
    const char *name = ext_options[id].name;

    switch (id) {
    case EXT_ext_path:
        if (v == NULL) {
            return fail(1, "missing argument to ext_path, ie: "
                           "ext_path=/d/file:5G\n");
        }
        ps->ext_path = true;
        return CONF_RUN;
    case EXT_ext_page_size:
        return ext_size(&cfg->ext_page_size, name, v, CONF_MB);
    case EXT_ext_wbuf_size:
        return ext_size(&cfg->ext_wbuf_size, name, v, CONF_MB);
    case EXT_ext_threads:
        return ext_u32(&cfg->ext_threads, name, v);
    case EXT_ext_io_depth:
        return ext_u32(&cfg->ext_io_depth, name, v);
    case EXT_ext_item_size:
        return ext_u32(&cfg->ext_item_size, name, v);
    case EXT_ext_item_age:
        return ext_u32(&cfg->ext_item_age, name, v);
    case EXT_ext_low_ttl:
        return ext_u32(&cfg->ext_low_ttl, name, v);
    case EXT_ext_recache_rate:
        return ext_u32(&cfg->ext_recache_rate, name, v);
    case EXT_ext_compact_under:
        return ext_u32(&cfg->ext_compact_under, name, v);
    case EXT_ext_drop_under:
        return ext_u32(&cfg->ext_drop_under, name, v);
    case EXT_ext_max_sleep:
        return ext_u32(&cfg->ext_max_sleep, name, v);
    case EXT_ext_max_frag:
        return ext_double(&cfg->ext_max_frag, name, v);
    case EXT_slab_automove_freeratio:
        return ext_double(&cfg->slab_automove_freeratio, name, v);
    default:
        break;
    }
    return CONF_RUN;
}

/* Options that only switch something on or off. */
static void
set_flag(struct config *cfg, struct parse *ps, enum ext_id id)
{
    switch (id) {
    case EXT_maxconns_fast:
    case EXT_no_maxconns_fast:
        cfg->maxconns_fast = id == EXT_maxconns_fast;
        break;
    case EXT_no_hashexpand:
        cfg->hash_expand = false;
        break;
    case EXT_slab_reassign:
    case EXT_no_slab_reassign:
        cfg->slab_reassign = id == EXT_slab_reassign;
        break;
    case EXT_no_slab_automove:
        cfg->slab_automove = 0;
        break;
    case EXT_lru_crawler:
    case EXT_no_lru_crawler:
        cfg->lru_crawler = id == EXT_lru_crawler;
        break;
    case EXT_lru_maintainer:
    case EXT_no_lru_maintainer:
        cfg->lru_maintainer = id == EXT_lru_maintainer;
        break;
    case EXT_no_chunked_items:
        ps->slab_chunk_max = CONF_PAGE_SIZE;
        break;
    case EXT_track_sizes:
        cfg->track_sizes = true;
        break;
    case EXT_ext_drop_unread:
        cfg->ext_drop_unread = true;
        break;
    case EXT_no_modern:
        set_no_modern(cfg, ps);
        break;
    case EXT_drop_privileges:
    case EXT_no_drop_privileges:
        cfg->drop_privileges = id == EXT_drop_privileges;
        break;
    case EXT_resp_obj_mem_limit:
        fprintf(stderr, "DEPRECATED: resp_obj_mem_limit no longer used. "
                        "See read_buf_mem_limit,\n");
        break;
    default: /* modern, inline_ascii_resp: accepted, no effect */
        break;
    }
}

static int
apply_extended(struct config *cfg, struct parse *ps, enum ext_id id,
               const char *v)
{
    switch (id) {
    case EXT_hashpower:
        return set_hashpower(cfg, v);
    case EXT_hash_algorithm:
        return set_hash_algorithm(cfg, v);
    case EXT_idle_timeout:
        cfg->idle_timeout = to_int(v);
        return CONF_RUN;
    case EXT_sock_cookie_id:
        cfg->sock_cookie_id = to_int(v);
        return CONF_RUN;
    case EXT_read_buf_mem_limit:
        return ext_size(&cfg->read_buf_mem_limit, "read_buf_mem_limit", v,
                        CONF_MB);
    case EXT_watcher_logbuf_size:
        return ext_size(&cfg->watcher_logbuf_size, "watcher_logbuf_size", v,
                        CONF_KB);
    case EXT_worker_logbuf_size:
        /* memcached falls through into slab_sizes here; we do not. */
        return ext_size(&cfg->worker_logbuf_size, "worker_logbuf_size", v,
                        CONF_KB);
    default:
        break;
    }
    if (strncmp(ext_options[id].name, "ssl_", 4) == 0) {
        if (ps->ssl_option[0] == '\0') {
            snprintf(ps->ssl_option, sizeof(ps->ssl_option), "-o %s (TLS)",
                     ext_options[id].name);
        }
        return CONF_RUN;
    }
    if (ext_options[id].value == EXT_FLAG) {
        set_flag(cfg, ps, id);
        return CONF_RUN;
    }
    int rc = set_slab_option(cfg, ps, id, v);
    if (rc == CONF_RUN) {
        rc = set_lru_option(cfg, id, v);
    }
    return rc == CONF_RUN ? set_ext_option(cfg, ps, id, v) : rc;
}

/*
 * One -o argument: "name[=value],..." as getsubopt(3) splits it. An empty
 * name (",," or a leading ",") is an illegal suboption, as in memcached.
 */
static int
parse_extended(struct config *cfg, struct parse *ps, const char *arg)
{
    char *copy = strdup(arg);
    char *p = copy;
    int rc = CONF_RUN;

    if (copy == NULL) {
        return fail(1, "Failed to allocate memory\n");
    }
    while (rc == CONF_RUN && *p != '\0') {
        char *token = p;
        char *comma = strchr(p, ',');
        char *eq;
        enum ext_id id;

        p = comma != NULL ? comma + 1 : p + strlen(p);
        if (comma != NULL) {
            *comma = '\0';
        }
        eq = strchr(token, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        id = ext_lookup(token);
        if (id == EXT_UNKNOWN) {
            if (eq != NULL) {
                *eq = '=';
            }
            rc = fail(1, "Illegal suboption \"%s\"\n", token);
        } else if (eq != NULL) {
            rc = apply_extended(cfg, ps, id, eq + 1);
        } else {
            rc = ext_missing(id);
            if (rc == CONF_RUN) {
                rc = apply_extended(cfg, ps, id, NULL);
            }
        }
    }
    free(copy);
    return rc;
}

/* ---- The short options ---- */

/* -l: joined with ','; a -l already contained in the list is dropped. */
static int
add_listen(struct config *cfg, const char *arg)
{
    char *joined;
    size_t len;

    if (cfg->listen == NULL) {
        cfg->listen = strdup(arg);
        return cfg->listen != NULL ? CONF_RUN
                                   : fail(1, "Failed to allocate memory\n");
    }
    if (strstr(cfg->listen, arg) != NULL) {
        return CONF_RUN;
    }
    len = strlen(cfg->listen) + strlen(arg) + 2;
    joined = malloc(len);
    if (joined == NULL) {
        return fail(1, "Failed to allocate memory\n");
    }
    snprintf(joined, len, "%s,%s", cfg->listen, arg);
    free(cfg->listen);
    cfg->listen = joined;
    return CONF_RUN;
}

static int
set_threads(struct config *cfg, const char *arg)
{
    cfg->num_threads = to_int(arg);
    if (cfg->num_threads <= 0) {
        return fail(1, "Number of threads must be greater than 0\n");
    }
    if (cfg->num_threads > 64) {
        fprintf(stderr, "WARNING: Setting a high number of worker"
                        "threads is not recommended.\n"
                        " Set this value to the number of cores in"
                        " your machine or less.\n");
    }
    return CONF_RUN;
}

static int
set_protocol(struct config *cfg, struct parse *ps, const char *arg)
{
    ps->protocol_specified = true;
    if (strcmp(arg, "auto") == 0) {
        cfg->protocol = CONF_PROTO_AUTO;
    } else if (strcmp(arg, "binary") == 0) {
        cfg->protocol = CONF_PROTO_BINARY;
    } else if (strcmp(arg, "ascii") == 0) {
        cfg->protocol = CONF_PROTO_ASCII;
    } else {
        return fail(EXIT_USAGE,
                    "Invalid value for binding protocol: %s\n"
                    " -- should be one of auto, binary, or ascii\n",
                    arg);
    }
    return CONF_RUN;
}

/*
 * Options whose value memcached checks on the spot. As there, -R and -n
 * must be non-zero and -f above 1; unlike memcached we also refuse
 * negative -R and -n and a NaN -f, which its own messages forbid.
 */
static int
set_checked(struct config *cfg, int letter, const char *arg)
{
    switch (letter) {
    case 'c':
        cfg->maxconns = to_int(arg);
        return cfg->maxconns > 0
                   ? CONF_RUN
                   : fail(1, "Maximum connections must be greater than 0\n");
    case 'R':
        cfg->reqs_per_event = to_int(arg);
        return cfg->reqs_per_event > 0
                   ? CONF_RUN
                   : fail(1, "Number of requests per event must be greater "
                             "than 0\n");
    case 'f':
        cfg->memcached_classes = true;
        cfg->factor = strtod(arg, NULL);
        return cfg->factor > 1.0 && !isinf(cfg->factor)
                   ? CONF_RUN
                   : fail(1, "Factor must be greater than 1\n");
    case 'n':
        cfg->memcached_classes = true;
        cfg->chunk_size = to_int(arg);
        return cfg->chunk_size > 0
                   ? CONF_RUN
                   : fail(1, "Chunk size must be greater than 0\n");
    case 'N':
        cfg->napi_ids = to_int(arg);
        return cfg->napi_ids > 0 ? CONF_RUN
                                 : fail(1, "Maximum number of NAPI IDs must "
                                           "be greater than 0\n");
    case 'D':
        if (arg[0] == '\0') {
            return fail(1, "No delimiter specified\n");
        }
        cfg->prefix_delimiter = arg[0];
        cfg->detail_enabled = true;
        return CONF_RUN;
    default:
        break;
    }
    return CONF_RUN;
}

/* Options that take a value without checking it here. */
static void
set_value(struct config *cfg, struct parse *ps, int letter, const char *arg)
{
    switch (letter) {
    case 'p':
        cfg->port = to_int(arg);
        ps->tcp_specified = true;
        break;
    case 'U':
        cfg->udp_port = to_int(arg);
        ps->udp_specified = true;
        break;
    case 's':
        cfg->unix_socket = arg;
        break;
    case 'a':
        cfg->unix_mask = (int)strtol(arg, NULL, 8);
        break;
    case 'm':
        cfg->maxbytes = (size_t)to_int(arg) * CONF_MB;
        break;
    case 'u':
        cfg->user = arg;
        break;
    case 'P':
        cfg->pidfile = arg;
        break;
    case 'e':
        cfg->memory_file = arg;
        break;
    case 'b':
        cfg->backlog = to_int(arg);
        break;
    case 'I':
        ps->item_size_max = parse_item_size(arg);
        break;
    case 'Y':
        cfg->auth_file = arg;
        break;
    default:
        break;
    }
}

/* Options without a value. */
static void
set_switch(struct config *cfg, int letter)
{
    switch (letter) {
    case 'A':
        cfg->enable_shutdown = true;
        break;
    case 'Z':
        cfg->ssl_enabled = true;
        break;
    case 'M':
        cfg->evictions = false;
        break;
    case 'k':
        cfg->lock_memory = true;
        break;
    case 'v':
        cfg->verbose++;
        break;
    case 'd':
        cfg->daemonize = true;
        break;
    case 'r':
        cfg->coredumps = true;
        break;
    case 'L':
        cfg->largepages = true;
        break;
    case 'C':
        cfg->use_cas = false;
        break;
    case 'S':
        cfg->sasl = true;
        break;
    case 'F':
        cfg->flush_enabled = false;
        break;
    case 'X':
        cfg->dump_enabled = false;
        break;
    case 'W':
        cfg->watch_enabled = false;
        break;
    default:
        break;
    }
}

static int
apply_option(struct config *cfg, struct parse *ps, int letter, const char *arg)
{
    switch (letter) {
    case 'h':
        print_usage();
        return EXIT_SUCCESS;
    case 'i':
        print_license();
        return EXIT_SUCCESS;
    case 'V':
        printf("memcached %s\nmemoria %s\n", MEMCACHED_COMPAT_VERSION,
               MEMORIA_VERSION);
        return EXIT_SUCCESS;
    case 'l':
        return add_listen(cfg, arg);
    case 't':
        return set_threads(cfg, arg);
    case 'B':
        return set_protocol(cfg, ps, arg);
    case 'o':
        return parse_extended(cfg, ps, arg);
    case 'c':
    case 'R':
    case 'f':
    case 'n':
    case 'N':
    case 'D':
        return set_checked(cfg, letter, arg);
    default:
        break;
    }
    for (size_t i = 0; i < NCLI; i++) {
        if (cli_options[i].letter == letter) {
            if (cli_options[i].arg != NULL) {
                set_value(cfg, ps, letter, arg);
            } else {
                set_switch(cfg, letter);
            }
            return CONF_RUN;
        }
    }
    /* getopt has already said what was wrong. */
    return fail(1, "Illegal argument \"%c\"\n", letter);
}

/* ---- Checks once every option is read, in memcached's order ---- */

static int
check_item_size(struct config *cfg, struct parse *ps)
{
    int size = ps->item_size_max;

    if (size < 1024) {
        return fail(EXIT_USAGE,
                    "Item max size cannot be less than 1024 bytes.\n");
    }
    if ((size_t)size > cfg->maxbytes / 2) {
        return fail(EXIT_USAGE, "Cannot set item size limit higher than 1/2 "
                                "of memory max.\n");
    }
    if (size > 1024 * 1024 * 1024) {
        return fail(EXIT_USAGE, "Cannot set item size limit higher than a "
                                "gigabyte.\n");
    }
    if (size > CONF_PAGE_SIZE && !ps->chunk_max_changed) {
        ps->slab_chunk_max = CONF_PAGE_SIZE / 2;
    }
    if (ps->slab_chunk_max > size) {
        return fail(EXIT_USAGE,
                    "slab_chunk_max (bytes: %d) cannot be larger than -I "
                    "(item_size_max %d)\n",
                    ps->slab_chunk_max, size);
    }
    /* memcached divides by zero here and takes negative sizes. */
    if (ps->slab_chunk_max > 0 && size % ps->slab_chunk_max != 0) {
        return fail(EXIT_USAGE,
                    "-I (item_size_max: %d) must be evenly divisible by "
                    "slab_chunk_max (bytes: %d)\n",
                    size, ps->slab_chunk_max);
    }
    if (ps->slab_chunk_max <= 0 || CONF_PAGE_SIZE % ps->slab_chunk_max != 0) {
        return fail(EXIT_USAGE,
                    "slab_chunk_max (bytes: %d) must divide evenly into %d "
                    "(slab_page_size)\n",
                    ps->slab_chunk_max, CONF_PAGE_SIZE);
    }
    cfg->item_size_max = (size_t)size;
    cfg->slab_chunk_max = (size_t)ps->slab_chunk_max;
    return CONF_RUN;
}

/* -o slab_sizes=a-b-c: ascending, each more than 8 above the last. */
static int
check_slab_sizes(struct config *cfg, struct parse *ps)
{
    uint32_t last = 0;
    char *save = NULL;

    if (ps->slab_sizes == NULL) {
        return CONF_RUN;
    }
    if (ps->slab_sizes[0] == '\0') {
        return fail(EXIT_USAGE, "Missing slab_sizes argument\n");
    }
    for (char *t = strtok_r(ps->slab_sizes, "-", &save); t != NULL;
         t = strtok_r(NULL, "-", &save)) {
        uint32_t size = 0;

        if (!parse_u32(t, &size) || size < (uint32_t)cfg->chunk_size ||
            size > cfg->slab_chunk_max) {
            return fail(EXIT_USAGE, "slab size %u is out of valid range\n",
                        size);
        }
        if (last >= size) {
            return fail(EXIT_USAGE,
                        "slab size %u cannot be lower than or equal to a "
                        "previous class size\n",
                        size);
        }
        if (size <= last + 8) {
            return fail(EXIT_USAGE,
                        "slab size %u must be at least 8 bytes larger than "
                        "previous class\n",
                        size);
        }
        if (cfg->nslab_sizes == CONF_MAX_SLAB_SIZES) {
            return fail(EXIT_USAGE, "too many slab classes specified\n");
        }
        cfg->slab_sizes[cfg->nslab_sizes++] = size;
        last = size;
    }
    return CONF_RUN;
}

static int
check_lru(struct config *cfg)
{
    if (cfg->hot_lru_pct + cfg->warm_lru_pct > 80) {
        return fail(EXIT_USAGE, "hot_lru_pct + warm_lru_pct cannot be more "
                                "than 80%% combined\n");
    }
    if (cfg->temp_lru && !cfg->lru_maintainer) {
        return fail(EXIT_USAGE,
                    "temporary_ttl requires lru_maintainer to be enabled\n");
    }
    return CONF_RUN;
}

/* SASL wants binary, ASCII auth wants ascii; -U alone sets the TCP port. */
static int
check_auth_and_ports(struct config *cfg, struct parse *ps)
{
    if (cfg->sasl) {
        if (!ps->protocol_specified) {
            cfg->protocol = CONF_PROTO_BINARY;
        } else if (cfg->protocol != CONF_PROTO_BINARY) {
            return fail(EXIT_USAGE, "ERROR: You cannot allow the ASCII "
                                    "protocol while using SASL.\n");
        }
        if (cfg->udp_port != 0) {
            return fail(EXIT_USAGE, "ERROR: Cannot enable UDP while using "
                                    "binary SASL authentication.\n");
        }
    }
    if (cfg->auth_file != NULL) {
        if (!ps->protocol_specified) {
            cfg->protocol = CONF_PROTO_ASCII;
        } else if (cfg->protocol != CONF_PROTO_ASCII) {
            return fail(EXIT_USAGE,
                        "ERROR: You cannot allow the BINARY protocol while "
                        "using ascii authentication tokens.\n");
        }
    }
    if (ps->udp_specified && cfg->udp_port != 0 && !ps->tcp_specified) {
        cfg->port = cfg->udp_port;
    }
    /* memcached only catches > 65535; a negative port fails at bind. */
    if (cfg->port > 65535 || cfg->port < 0) {
        return fail(EXIT_USAGE, "ERROR: Invalid port number %d.\n", cfg->port);
    }
    if (cfg->ssl_enabled && cfg->port == 0) {
        return fail(EXIT_USAGE,
                    "ERROR: You cannot enable SSL without a TCP port.\n");
    }
    if (cfg->auth_file != NULL && cfg->udp_port != 0) {
        return fail(EXIT_USAGE, "Cannot use UDP with ascii authentication "
                                "enabled (-U 0 to disable)\n");
    }
    return CONF_RUN;
}

/* log2 of memcached's item lock table, which grows with -t. */
static int
lock_power(int threads)
{
    if (threads < 3) {
        return 10;
    }
    if (threads < 4) {
        return 11;
    }
    if (threads < 5) {
        return 12;
    }
    if (threads <= 10) {
        return 13;
    }
    return threads <= 20 ? 14 : 15;
}

/* The item lock table must stay smaller than the hash table. */
static int
check_hashpower(const struct config *cfg)
{
    int locks = lock_power(cfg->num_threads);
    int power = cfg->hashpower != 0 ? cfg->hashpower : 16;

    if (locks >= power) {
        return fail(1,
                    "Hash table power size (%d) cannot be equal to or less "
                    "than item lock table (%d)\n"
                    "Item lock table grows with `-t N` (worker threadcount)\n"
                    "Hash table grows with `-o hashpower=N` \n",
                    power, locks);
    }
    return CONF_RUN;
}

static int
add_listener(struct config *cfg, const struct conf_listener *l)
{
    struct conf_listener *grown =
        realloc(cfg->listeners, (cfg->nlisteners + 1) * sizeof(*grown));

    if (grown == NULL) {
        return fail(1, "Failed to allocate memory\n");
    }
    cfg->listeners = grown;
    cfg->listeners[cfg->nlisteners++] = *l;
    return CONF_RUN;
}

/* memcached reports a bad -l only when it tries to listen: exit 71. */
static int
build_listeners(struct config *cfg)
{
    struct conf_listener l;
    char err[CONF_HOST_MAX + 64];
    const char *spec = cfg->listen != NULL ? cfg->listen : CONF_DEFAULT_LISTEN;
    enum conf_listen_status st;
    int rc = CONF_RUN;

    while (rc == CONF_RUN &&
           (st = conf_listen_next(&spec, &l, err, sizeof(err))) !=
               CONF_LISTEN_END) {
        if (st == CONF_LISTEN_BAD) {
            return fail(EXIT_OSERR,
                        "%s\nfailed to listen on one of interface(s) %s\n", err,
                        cfg->listen);
        }
        if (l.notls && !cfg->ssl_enabled) {
            return fail(EXIT_OSERR,
                        "'notls' option is valid only when SSL is enabled\n"
                        "failed to listen on one of interface(s) %s\n",
                        cfg->listen);
        }
        rc = add_listener(cfg, &l);
    }
    return rc;
}

/* The first feature memoria cannot honour yet, or NULL. */
static const char *
unsupported(const struct config *cfg, const struct parse *ps)
{
    const struct {
        bool given;
        const char *what;
    } features[] = {
        {cfg->sasl, "-S (SASL)"},
        {cfg->auth_file != NULL, "-Y (ASCII authentication)"},
        {cfg->ssl_enabled, "-Z (TLS)"},
        {ps->ssl_option[0] != '\0', ps->ssl_option},
        {cfg->udp_port != 0, "-U (UDP)"},
        {cfg->unix_socket != NULL, "-s (unix socket)"},
        {cfg->memory_file != NULL, "-e (memory file)"},
        {cfg->napi_ids != 0, "-N (NAPI ids)"},
        {cfg->detail_enabled, "-D (detail stats)"},
        {cfg->protocol == CONF_PROTO_BINARY, "-B binary"},
        {ps->ext_path, "-o ext_path (extstore)"},
    };

    for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
        if (features[i].given) {
            return features[i].what;
        }
    }
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        if (cfg->listeners[i].proto == CONF_PROTO_BINARY) {
            return "-l proto[binary]";
        }
        if (cfg->listeners[i].proto == CONF_PROTO_PROXY) {
            return "-l proto[proxy]";
        }
    }
    return NULL;
}

static int
check_all(struct config *cfg, struct parse *ps)
{
    int rc = CONF_RUN;
    const char *missing;

    if (cfg->napi_ids > cfg->num_threads) {
        return fail(EXIT_USAGE,
                    "Number of napi_ids(%d) cannot be greater than number of "
                    "threads(%d)\n",
                    cfg->napi_ids, cfg->num_threads);
    }
    if ((rc = check_item_size(cfg, ps)) != CONF_RUN ||
        (rc = check_slab_sizes(cfg, ps)) != CONF_RUN ||
        (rc = check_lru(cfg)) != CONF_RUN ||
        (rc = check_auth_and_ports(cfg, ps)) != CONF_RUN ||
        (rc = check_hashpower(cfg)) != CONF_RUN ||
        (rc = build_listeners(cfg)) != CONF_RUN) {
        return rc;
    }
    missing = unsupported(cfg, ps);
    if (missing != NULL) {
        return fail(EXIT_USAGE, "memoria: %s is not supported yet\n", missing);
    }
    /* One thread per UDP port when several are given, as in memcached. */
    cfg->num_threads_per_udp =
        cfg->listen != NULL && strchr(cfg->listen, ',') != NULL
            ? 1
            : cfg->num_threads;
    return CONF_RUN;
}

int
conf_parse(struct config *cfg, int argc, char **argv)
{
    struct option longopts[NCLI + 1];
    char shortopts[2 * NCLI + 1];
    size_t nlong = 0;
    size_t nshort = 0;
    struct parse ps = {
        .item_size_max = (int)cfg->item_size_max,
        .slab_chunk_max = (int)cfg->slab_chunk_max,
    };
    int c;
    int rc = CONF_RUN;

    for (size_t i = 0; i < NCLI; i++) {
        const struct cli_option *o = &cli_options[i];

        shortopts[nshort++] = o->letter;
        if (o->arg != NULL) {
            shortopts[nshort++] = ':';
        }
        if (o->name != NULL) {
            longopts[nlong++] = (struct option){
                o->name, o->arg != NULL ? required_argument : no_argument, NULL,
                o->letter};
        }
    }
    shortopts[nshort] = '\0';
    longopts[nlong] = (struct option){0};

    optind = 0; /* glibc: start over, including inside a cluster */
    while (rc == CONF_RUN &&
           (c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        rc = apply_option(cfg, &ps, c, optarg);
    }
    if (rc == CONF_RUN) {
        rc = check_all(cfg, &ps);
    }
    free(ps.slab_sizes);
    fflush(stdout);
    return rc;
}
