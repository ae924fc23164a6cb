/*
 * conf - the command line. Parses memcached 1.6.18's options (short and
 * long forms), the -o extended options and the -l listener syntax into a
 * struct config, printing memcached's own messages and choosing its exit
 * codes for bad values. Every option has a disposition in the option
 * tables (conf.c, conf_ext.c), listed in docs/OPTIONS.md: applied (its
 * value is in struct config), refused with "memoria: <option> is not
 * supported yet" (EX_USAGE), or accepted for compatibility: checked as
 * memcached checks it and kept in struct config only for `stats
 * settings`, for the documented reason. conf_settings (conf_settings.c)
 * reports the result as memcached's `stats settings` lines.
 *
 * Only main.c includes this header: it turns struct config into each
 * module's own config struct. conf_parse is not thread safe (getopt keeps
 * global state); call it once at startup, before any thread exists.
 * conf_settings only reads a parsed config: any thread may call it.
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
#define CONF_CHUNK_MAX_MIN  64            /* smallest slab_chunk_max */
#define CONF_HOST_MAX       256           /* one -l host, with its NUL */
#define CONF_TAG_MAX        8             /* -l tag[...] bytes */
#define CONF_DEFAULT_LISTEN "127.0.0.1"   /* memcached's is every address */
/* -o metrics_listen: a host, brackets, a colon and a port, with its NUL */
#define CONF_METRICS_MAX    (CONF_HOST_MAX + 8)

enum conf_proto {
    CONF_PROTO_DEFAULT = 0, /* listeners only: whatever -B says */
    CONF_PROTO_AUTO,        /* negotiate per connection ("auto") */
    CONF_PROTO_ASCII,
    CONF_PROTO_BINARY,
    CONF_PROTO_PROXY, /* -l proto[proxy]; conf_parse refuses it */
};

/* -o hash_algorithm; memoria's own hash table ignores it. */
enum conf_hash {
    CONF_HASH_MURMUR3 = 0,
    CONF_HASH_JENKINS,
    CONF_HASH_XXH3,
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
 * Every setting, with memcached's default (its `stats settings` shows
 * them). Sizes are in bytes even where the option takes megabytes or
 * kilobytes. The compat block holds options memoria accepts without a
 * mechanism behind them (docs/OPTIONS.md says why): only `stats settings`
 * reads it.
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
    X(bool,                sasl,                    false) /* -S */       \
    X(const char *,        auth_file,               NULL) /* -Y */        \
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
    X(bool,                drop_privileges,         false) /* seccomp */  \
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
    /* commands and stats */                                             \
    X(bool,                flush_enabled,           true)                 \
    X(bool,                watch_enabled,           true)                 \
    X(bool,                dump_enabled,            true)  /* -X */       \
    X(char,                stat_key_prefix,         ':')   /* -D */       \
    X(bool,                detail_enabled,          false) /* -D */       \
    X(bool,                track_sizes,             false)                \
    /* -C came before -o track_sizes: memcached then counts every item */ \
    X(bool,                track_sizes_all,         false)                \
    /* compat: LRU segments, crawler, page mover, hash, extstore */      \
    X(bool,                lru_maintainer,          true)                 \
    X(bool,                lru_segmented,           true)                 \
    X(int,                 hot_lru_pct,             20)                   \
    X(int,                 warm_lru_pct,            40)                   \
    X(double,              hot_max_factor,          0.2)                  \
    X(double,              warm_max_factor,         2.0)                  \
    X(bool,                temp_lru,                false)                \
    X(uint32_t,            temporary_ttl,           61)                   \
    X(int,                 tail_repair_time,        0)                    \
    X(bool,                lru_crawler,             true)                 \
    X(int,                 lru_crawler_sleep,       100)                  \
    X(uint32_t,            lru_crawler_tocrawl,     0)                    \
    X(bool,                slab_reassign,           true)                 \
    X(int,                 slab_automove,           1)                    \
    X(double,              slab_automove_ratio,     0.8)                  \
    X(int,                 slab_automove_window,    30)                   \
    X(double,              slab_automove_freeratio, 0.01)                 \
    X(enum conf_hash,      hash_algorithm,          CONF_HASH_MURMUR3)    \
    /* extstore: memcached computes ext_wbuf_size in 32 bits */          \
    X(uint32_t,            ext_item_size,           512)                  \
    X(uint32_t,            ext_item_age,            UINT32_MAX)           \
    X(uint32_t,            ext_low_ttl,             0)                    \
    X(uint32_t,            ext_recache_rate,        2000)                 \
    X(uint32_t,            ext_wbuf_size,           4 * CONF_MB)          \
    X(uint32_t,            ext_compact_under,       0)                    \
    X(uint32_t,            ext_drop_under,          0)                    \
    X(uint32_t,            ext_max_sleep,           1000000)              \
    X(double,              ext_max_frag,            0.8)                  \
    X(bool,                ext_drop_unread,         false)                \
    /* TLS (-Z, -o ssl_*); the strings are owned */                      \
    X(bool,                ssl_enabled,             false)                \
    X(char *,              ssl_chain_cert,          NULL)                 \
    X(char *,              ssl_key,                 NULL)                 \
    X(int,                 ssl_keyformat,           1) /* SSL_FILETYPE */ \
    X(int,                 ssl_verify_mode,         0) /* 0-3 as given */ \
    X(char *,              ssl_ciphers,             NULL)                 \
    X(char *,              ssl_ca_cert,             NULL)                 \
    X(uint32_t,            ssl_wbuf_size,           16 * CONF_KB)         \
    X(bool,                ssl_session_cache,       false)                \
    X(bool,                ssl_kernel_tls,          false)                \
    X(int,                 ssl_min_version,         2) /* 0-3: TLS 1.x */
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

    /*
     * -o metrics_listen (memoria extension): the Prometheus endpoint's
     * "host:port", "[v6]:port", ":port" or "port" as given, "" when off.
     */
    char metrics_listen[CONF_METRICS_MAX];
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

/* The settings that commands change at run time, read when asked. */
struct conf_settings_live {
    int verbosity;              /* -v, then the verbosity command */
    bool detail_enabled;        /* -D, then stats detail on|off */
    bool track_sizes;           /* -o track_sizes, then stats sizes_enable */
    uint64_t maxbytes;          /* -m, then cache_memlimit */
    uint32_t oldest;            /* memcached's flush marker */
    int slab_automove;          /* -o slab_automove, then slabs automove */
    double slab_automove_ratio; /* then slabs automove ratio */
    /* -o lru_crawler..., then the lru_crawler command */
    bool lru_crawler;
    uint32_t lru_crawler_sleep;
    uint32_t lru_crawler_tocrawl;
    /* the LRU settings, then `lru mode|tune|temp_ttl` */
    bool lru_segmented;
    unsigned hot_lru_pct;
    unsigned warm_lru_pct;
    double hot_max_factor;
    double warm_max_factor;
    bool temp_lru;
    uint32_t temporary_ttl;
};

/* One `stats settings` line: its name and its value, as text. */
typedef void (*conf_setting_fn)(void *ctx, const char *name, const char *value);

/* The longest value memcached prints; it cuts longer ones there. */
#define CONF_SETTING_MAX 126

/*
 * Calls emit for each line of memcached 1.6.18's `stats settings` (its
 * Debian build: extstore and TLS lines included), in its order, with its
 * formatting, from cfg and live. Options conf refuses (-Y, -N, -e) print
 * their defaults, the only values a running server can have.
 * -o metrics_listen has no line: memcached has no such setting.
 */
void conf_settings(const struct config *cfg,
                   const struct conf_settings_live *live, conf_setting_fn emit,
                   void *ctx);
