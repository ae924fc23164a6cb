/*
 * conf - the command line. Parses memcached 1.6.18's options (short and
 * long forms), the -o extended options and the -l listener syntax into a
 * struct config, printing memcached's own messages and choosing its exit
 * codes for bad values. Every option has a disposition in the option
 * tables (conf.c, conf_ext.c), listed in docs/OPTIONS.md: applied (its
 * value is in struct config), refused with "memoria: <option> is not
 * supported yet" (EX_USAGE), or accepted for compatibility: checked as
 * memcached checks it, then dropped, for the documented reason. Nothing
 * else is parsed and dropped.
 *
 * Only main.c includes this header: it turns struct config into each
 * module's own config struct. Not thread safe (getopt keeps global
 * state); call it once at startup, before any thread exists.
 *
 * Ownership: conf_deinit frees what conf owns (the joined -l string and
 * the listener array). Every other string (user, pidfile, ...) is
 * borrowed from argv and lives as long as argv does.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* conf_parse's "start the server" result; any other value is an exit code. */
#define CONF_RUN -1

#define CONF_KB             ((size_t)1024)
#define CONF_MB             ((size_t)1024 * 1024)
#define CONF_PAGE_SIZE      (1024 * 1024) /* slab page; -I limits use it */
#define CONF_MAX_SLAB_SIZES 62            /* -o slab_sizes entries */
#define CONF_HOST_MAX       256           /* one -l host, with its NUL */
#define CONF_TAG_MAX        8             /* -l tag[...] bytes */
#define CONF_DEFAULT_LISTEN "127.0.0.1"   /* memcached's is every address */

enum conf_proto {
    CONF_PROTO_DEFAULT = 0, /* listeners only: whatever -B says */
    CONF_PROTO_AUTO,        /* negotiate per connection ("auto") */
    CONF_PROTO_ASCII,
    CONF_PROTO_BINARY,
    CONF_PROTO_PROXY, /* -l proto[proxy]; conf_parse refuses it */
};

/*
 * One element of -l:
 *   [notls:][proto[ascii|binary|negotiating|proxy]:][tag[<1-8>]:]<host>[:port]
 * where host is an IPv4 address, a name, "[ipv6]", a bare IPv6 address
 * (then without port) or "*".
 */
struct conf_listener {
    char host[CONF_HOST_MAX];   /* brackets removed; "" when any */
    bool any;                   /* "*": every local address */
    int port;                   /* -1: use -p (TCP) and -U (UDP) */
    enum conf_proto proto;      /* CONF_PROTO_DEFAULT: use -B */
    bool notls;                 /* TLS off for this listener (needs -Z) */
    char tag[CONF_TAG_MAX + 1]; /* "tag[...]" label, "" when untagged */
};

/*
 * Every applied setting, with memcached's default (its `stats settings`
 * shows them). Sizes are in bytes even where the option takes megabytes
 * or kilobytes.
 */
/* clang-format off */
/*      type               name                     default              */
#define CONF_FIELDS(X)                                                    \
    /* listeners and connections */                                      \
    X(int,                 port,                    11211)                \
    X(int,                 udp_port,                0)                    \
    X(char *,              listen,                  NULL) /* owned */     \
    X(const char *,        unix_socket,             NULL)                 \
    X(int,                 unix_mask,               0700)                 \
    X(int,                 backlog,                 1024)                 \
    X(enum conf_proto,     protocol,                CONF_PROTO_AUTO)      \
    X(int,                 maxconns,                1024)                 \
    X(bool,                maxconns_fast,           true)                 \
    X(int,                 reqs_per_event,          20)                   \
    X(int,                 num_threads,             4)                    \
    /* derived: 1 when -l lists several addresses, else -t (UDP) */      \
    X(int,                 num_threads_per_udp,     4)                    \
    X(int,                 idle_timeout,            0)                    \
    X(uint64_t,            read_buf_mem_limit,      0)                    \
    X(int,                 sock_cookie_id,          0)                    \
    /* process */                                                        \
    X(bool,                daemonize,               false)                \
    X(bool,                coredumps,               false)                \
    X(bool,                lock_memory,             false)                \
    X(const char *,        user,                    NULL)                 \
    X(const char *,        pidfile,                 NULL)                 \
    X(int,                 verbose,                 0)                    \
    X(bool,                enable_shutdown,         false)                \
    /* item memory */                                                    \
    X(size_t,              maxbytes,                64 * CONF_MB)         \
    X(bool,                evictions,               true)                 \
    X(double,              factor,                  1.25)                 \
    X(int,                 chunk_size,              48)                   \
    /* -f or -n given: memcached's class table instead of memoria's */   \
    X(bool,                memcached_classes,       false)                \
    X(bool,                largepages,              false)                \
    X(size_t,              item_size_max,           CONF_MB)              \
    X(size_t,              slab_chunk_max,          CONF_PAGE_SIZE / 2)   \
    X(bool,                use_cas,                 true)                 \
    X(int,                 hashpower,               0) /* 0: 16 */        \
    X(bool,                hash_expand,             true)                 \
    /* logging (watch) */                                                \
    X(uint64_t,            watcher_logbuf_size,     256 * CONF_KB)        \
    X(uint64_t,            worker_logbuf_size,      64 * CONF_KB)         \
    /* commands */                                                       \
    X(bool,                flush_enabled,           true)                 \
    X(bool,                watch_enabled,           true)
/* clang-format on */

struct config {
#define CONF_FIELD_DECLARE(type, name, dflt) type name;
    CONF_FIELDS(CONF_FIELD_DECLARE)
#undef CONF_FIELD_DECLARE

    /*
     * Parsed -l; one CONF_DEFAULT_LISTEN entry when -l is absent; none
     * when there is no TCP or UDP port or -s is given (memcached never
     * reads -l then). Owned.
     */
    struct conf_listener *listeners;
    size_t nlisteners;

    /* -o slab_sizes: ascending chunk sizes; nslab_sizes 0 uses -f. */
    uint32_t slab_sizes[CONF_MAX_SLAB_SIZES];
    size_t nslab_sizes;
};

/* Sets every default. Owns nothing yet; conf_deinit is still safe. */
void conf_init(struct config *cfg);

/* Frees what conf_parse allocated; cfg may be reused after conf_init. */
void conf_deinit(struct config *cfg);

/*
 * Parses argv (argv[0] names the program in getopt's messages) into cfg,
 * which conf_init has prepared. Returns CONF_RUN to start the server, or
 * an exit code once it has printed what memcached prints: -h, -i and -V
 * write to stdout and return EXIT_SUCCESS; errors write to stderr and
 * return <sysexits.h>'s codes as memcached does: EXIT_FAILURE (1, a bad
 * value), EX_USAGE (64, a bad combination or a feature memoria lacks) or
 * EX_OSERR (71, a bad -l, as memcached's failed listen). A -t above 64
 * only warns.
 *
 * Left to main, in memcached's order: the -L check for transparent huge
 * pages, -r's core limit, -c's RLIMIT_NOFILE, -u (memcached's "can't run
 * as root without the -u switch", EX_USAGE, and "can't find the user",
 * EX_NOUSER), -d, -k's mlockall, and the -P pid file once listening.
 *
 * May be called again after conf_deinit + conf_init (it resets getopt).
 */
int conf_parse(struct config *cfg, int argc, char **argv);

enum conf_listen_status {
    CONF_LISTEN_OK = 0, /* *out holds the next element */
    CONF_LISTEN_END,    /* no elements left */
    CONF_LISTEN_BAD,    /* malformed element; err holds the reason */
};

/*
 * Reads the next element of a -l list (elements are separated by ',' or
 * ';'; empty ones are skipped) and advances *spec past it. A pure
 * function: no I/O, no allocation. err gets memcached's message without a
 * newline, e.g. `Invalid port number: "abc"`. It does not judge notls,
 * which needs -Z; conf_parse does.
 */
enum conf_listen_status conf_listen_next(const char **spec,
                                         struct conf_listener *out, char *err,
                                         size_t errlen);
