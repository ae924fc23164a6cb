/*
 * main - starts up: parses the command line, sets the process up as
 * memcached does (the -L check, then -r, the open-files limit, -u, -d and
 * -k, in that order), turns struct config into each module's config,
 * writes the -P pid file once serving, installs the -o drop_privileges
 * filter (net/sandbox.h), runs the network loop until SIGINT, SIGTERM or
 * SIGUSR1, then tears everything down (removing the pid file of a
 * daemon). The only place that may hold mutable globals (it needs none).
 */
#include "cmd/auth.h"
#include "cmd/cmd.h"
#include "cmd/detail.h"
#include "cmd/logger.h"
#include "cmd/sasl.h"
#include "conf/conf.h"
#include "engine/engine.h"
#include "lib/version.h"
#include "net/net.h"
#include "net/sandbox.h"
#include "net/tls.h"
#include "stats/stats.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* Where the kernel says whether transparent huge pages are on (-L). */
static const char *const thp_paths[] = {
    "/sys/kernel/mm/transparent_hugepage/enabled",
    "/sys/kernel/mm/redhat_transparent_hugepage/enabled",
};

/*
 * -L needs transparent huge pages: as memcached, refuse (exit 1) when the
 * kernel has none, its setting cannot be read, or it is "[never]"; any
 * other setting (always, madvise) will do, since the slab asks for huge
 * pages with madvise.
 */
static int
check_large_pages(void)
{
    char buf[128] = {0};
    const char *why = "Transparent huge pages support not detected.\n";
    int fd = -1;

    for (size_t i = 0; fd < 0 && i < sizeof(thp_paths) / sizeof(*thp_paths);
         i++) {
        fd = open(thp_paths[i], O_RDONLY);
    }
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0) {
            why = "Transparent huge pages could not read the "
                  "configuration.\n";
        } else if (strstr(buf, "[never]") != NULL) {
            why = "Transparent huge pages support disabled.\n";
        } else {
            return 0;
        }
    }
    fputs(why, stderr);
    fputs("Will use default page size.\n", stderr);
    fputs("Cannot enable large pages on this system\n"
          "(There is no support as of this version)\n",
          stderr);
    return EXIT_FAILURE;
}

/* The kernel's huge page size in bytes (/proc/meminfo), 0 if unknown. */
static size_t
huge_page_size(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t kb = 0;

    if (f == NULL) {
        return 0;
    }
    while (kb == 0 && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "Hugepagesize:", 13) == 0) {
            kb = strtoul(line + 13, NULL, 10);
        }
    }
    fclose(f);
    return kb * 1024;
}

/* -r: as large a core file as the hard limit allows, and not zero. */
static int
set_core_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
        struct rlimit want = {RLIM_INFINITY, RLIM_INFINITY};
        if (setrlimit(RLIMIT_CORE, &want) != 0) {
            want.rlim_cur = rl.rlim_max;
            want.rlim_max = rl.rlim_max;
            (void)setrlimit(RLIMIT_CORE, &want);
        }
    }
    if (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur == 0) {
        fprintf(stderr, "failed to ensure corefile creation\n");
        return EX_OSERR;
    }
    return 0;
}

/*
 * As memcached: the open-files limit, soft and hard, becomes exactly -c
 * (lowered too when it was higher). The connection limit counts the
 * server's own descriptors against the same number (net.h).
 */
static int
set_nofile_limit(const struct config *cfg)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "failed to getrlimit number of files\n");
        return EX_OSERR;
    }
    rl.rlim_cur = (rlim_t)cfg->maxconns;
    rl.rlim_max = (rlim_t)cfg->maxconns;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "failed to set rlimit for open files. Try starting "
                        "as root or requesting smaller maxconns value.\n");
        return EX_OSERR;
    }
    return 0;
}

/*
 * Started as root, become -u's user: no supplementary groups (as
 * memcached, which does not take the user's own), its group, its uid.
 * Not root: -u is ignored.
 */
static int
drop_privileges(const struct config *cfg)
{
    if (getuid() != 0 && geteuid() != 0) {
        return 0;
    }
    if (cfg->user == NULL || cfg->user[0] == '\0') {
        fprintf(stderr, "can't run as root without the -u switch\n");
        return EX_USAGE;
    }
    struct passwd *pw = getpwnam(cfg->user);
    if (pw == NULL) {
        fprintf(stderr, "can't find the user %s to switch to\n", cfg->user);
        return EX_NOUSER;
    }
    /* EPERM: already without the privilege to change them; go on. */
    if (setgroups(0, NULL) != 0 && errno != EPERM) {
        fprintf(stderr, "failed to drop supplementary groups: %s\n",
                strerror(errno));
        return EX_OSERR;
    }
    if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        fprintf(stderr, "failed to assume identity of user %s\n", cfg->user);
        return EX_OSERR;
    }
    return 0;
}

/*
 * -d: the parent exits 0 at once; the child leads a new session, moves
 * to / unless -r asked for core files (which land in the working
 * directory), and points its standard streams at /dev/null unless -v
 * asked for messages. memcached's rules for both exceptions.
 */
static int
daemonize(bool nochdir, bool noclose)
{
    switch (fork()) {
    case -1:
        return -1;
    case 0:
        break;
    default:
        _exit(EXIT_SUCCESS);
    }
    if (setsid() == -1) {
        return -1;
    }
    if (!nochdir && chdir("/") != 0) {
        perror("chdir");
        return -1;
    }
    int fd = noclose ? -1 : open("/dev/null", O_RDWR);
    if (fd >= 0) {
        if (dup2(fd, STDIN_FILENO) < 0 || dup2(fd, STDOUT_FILENO) < 0 ||
            dup2(fd, STDERR_FILENO) < 0) {
            perror("dup2");
            return -1;
        }
        if (fd > STDERR_FILENO) {
            close(fd);
        }
    }
    return 0;
}

/*
 * memcached's reading of an old pid file's first line: a decimal number,
 * optionally followed by white space; no sign.
 */
static bool
parse_pid(const char *text, unsigned *pid)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(text, &end, 10);
    if (errno != 0 || end == text ||
        (*end != '\0' && !isspace((unsigned char)*end))) {
        return false;
    }
    if ((long)v < 0 && strchr(text, '-') != NULL) {
        return false;
    }
    *pid = (unsigned)v;
    return true;
}

/*
 * -P: warns when the file names a running process, then writes our pid
 * through <path>.tmp and a rename, so no reader sees it half written.
 * Failures only warn, as in memcached.
 */
static void
write_pidfile(const char *path)
{
    char tmp[PATH_MAX + 8];
    char line[1024];
    unsigned old;
    FILE *f = fopen(path, "r");

    if (f != NULL) {
        if (fgets(line, sizeof(line), f) != NULL && parse_pid(line, &old) &&
            kill((pid_t)old, 0) == 0) {
            fprintf(stderr,
                    "WARNING: The pid file contained the following (running) "
                    "pid: %u\n",
                    old);
        }
        fclose(f);
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "Could not open the pid file %s for writing: %s\n", tmp,
                strerror(errno));
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0) {
        fprintf(stderr, "Could not close the pid file %s: %s\n", tmp,
                strerror(errno));
    }
    if (rename(tmp, path) != 0) {
        fprintf(stderr, "Could not rename the pid file from %s to %s: %s\n",
                tmp, path, strerror(errno));
    }
}

static void
remove_pidfile(const char *path)
{
    if (unlink(path) != 0) {
        fprintf(stderr, "Could not remove the pid file %s: %s\n", path,
                strerror(errno));
    }
}

/*
 * Everything between parsing and serving, in memcached's order: -r, the
 * open-files limit, -u, -d, -k. Returns 0 or the exit code.
 */
static int
prepare_process(const struct config *cfg)
{
    int rc = 0;

    if (cfg->coredumps) {
        rc = set_core_limit();
    }
    if (rc == 0) {
        rc = set_nofile_limit(cfg);
    }
    if (rc == 0) {
        rc = drop_privileges(cfg);
    }
    if (rc == 0 && cfg->sasl) {
        /* as memcached: as the -u user, before daemonizing */
        struct cmd_sasl_config sc = {.verbose = cfg->verbose};
        cmd_sasl_config_from_env(&sc);
        const char *err = cmd_sasl_init(&sc);
        if (err != NULL) {
            fprintf(stderr, "%s\n", err);
            rc = EXIT_FAILURE;
        }
    }
    if (rc == 0 && cfg->daemonize) {
        /* A daemon has no terminal whose hangup should stop it. */
        if (signal(SIGHUP, SIG_IGN) == SIG_ERR) {
            perror("Failed to ignore SIGHUP");
        }
        if (daemonize(cfg->coredumps, cfg->verbose > 0) != 0) {
            fprintf(stderr, "failed to daemon() in order to daemonize\n");
            rc = EXIT_FAILURE;
        }
    }
    if (rc == 0 && cfg->lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE)) {
        fprintf(stderr, "warning: -k invalid, mlockall() failed: %s\n",
                strerror(errno));
    }
    return rc;
}

/*
 * -L: the engine reserves all of -m aligned to the kernel's huge page
 * size. memcached's messages when it cannot; the server runs on without.
 */
static void
large_pages_config(const struct config *cfg, struct engine_config *ec)
{
    size_t size = huge_page_size();

    if (size != 0 && cfg->verbose > 1) {
        fprintf(stderr, "huge page size: %zu\n", size);
    }
    if (size == 0 || (size & (size - 1)) != 0) {
        fprintf(stderr, "Failed to get supported huge page size\n");
        fprintf(stderr, "Warning: Failed to allocate requested memory in one "
                        "large chunk.\nWill allocate in smaller chunks\n");
        return;
    }
    ec->large_page_size = size;
}

static void
engine_config_from(const struct config *cfg, struct engine_config *ec)
{
    engine_config_default(ec);
    ec->mem_limit = cfg->maxbytes;
    ec->item_size_max = cfg->item_size_max;
    ec->slab_chunk_max = cfg->slab_chunk_max;
    ec->chunk_min = (size_t)cfg->chunk_size;
    ec->growth_factor = cfg->factor;
    ec->memcached_classes = cfg->memcached_classes;
    ec->cas_enabled = cfg->use_cas;
    ec->evictions = cfg->evictions;
    ec->hashpower = cfg->hashpower != 0 ? (unsigned)cfg->hashpower : 16;
    ec->hash_expand = cfg->hash_expand;
    ec->slab_reassign = cfg->slab_reassign;
    ec->slab_automove = (unsigned)cfg->slab_automove;
    ec->slab_automove_ratio = cfg->slab_automove_ratio;
    ec->crawler = cfg->lru_crawler;
    ec->crawler_sleep = (uint32_t)cfg->lru_crawler_sleep;
    ec->crawler_tocrawl = cfg->lru_crawler_tocrawl;
    ec->lru = (struct engine_lru_tune){
        .segmented = cfg->lru_maintainer && cfg->lru_segmented,
        .hot_pct = (unsigned)cfg->hot_lru_pct,
        .warm_pct = (unsigned)cfg->warm_lru_pct,
        .hot_max_factor = cfg->hot_max_factor,
        .warm_max_factor = cfg->warm_max_factor,
        .temp_lru = cfg->temp_lru,
        .temp_ttl = cfg->temporary_ttl,
    };
    for (size_t i = 0; i < cfg->nslab_sizes && i < ENGINE_MAX_SLAB_SIZES; i++) {
        ec->slab_sizes[ec->nslab_sizes++] = cfg->slab_sizes[i];
    }
    if (cfg->largepages) {
        large_pages_config(cfg, ec);
    }
}

static void
report_large_pages(struct engine *e)
{
    int err = 0;

    switch (engine_prealloc_status(e, &err)) {
    case ENGINE_PREALLOC_NO_MAP:
        fprintf(stderr, "Failed to get aligned memory chunk: %d\n", err);
        break;
    case ENGINE_PREALLOC_NO_HINT:
        fprintf(stderr, "Failed to set transparent hugepage hint: %d\n", err);
        break;
    case ENGINE_PREALLOC_OFF:
    case ENGINE_PREALLOC_DONE:
        return;
    }
    fprintf(stderr, "Warning: Failed to allocate requested memory in one "
                    "large chunk.\nWill allocate in smaller chunks\n");
}

/* -vv: the slab class table, in memcached's format. */
static void
print_class(void *ctx, unsigned id, size_t chunk_size, unsigned perslab)
{
    (void)ctx;
    fprintf(stderr, "slab class %3u: chunk size %9zu perslab %7u\n", id,
            chunk_size, perslab);
}

/* conf's protocol choice as net's (conf refuses proxy listeners). */
static enum net_proto
net_proto_of(enum conf_proto p)
{
    switch (p) {
    case CONF_PROTO_ASCII:
        return NET_PROTO_ASCII;
    case CONF_PROTO_BINARY:
        return NET_PROTO_BINARY;
    default:
        return NET_PROTO_NEGOTIATE;
    }
}

static void
tick(void *ctx)
{
    engine_tick(ctx);
    engine_mover_tick(ctx);
}

/* Everything main creates, so that one function can unwind it. */
struct server {
    const struct config *cfg; /* what `stats settings` reports */
    struct engine *engine;
    struct stats_thread **blocks;
    size_t nblocks;
    struct stats_conns conns;
    struct logger *logger; /* NULL with -W */
    struct cmd_server cmd;
    struct net_listen *listens;
    struct net *net;
    struct tls *tls; /* -Z: the TLS context, made before anything else */
};

/* stats settings: cmd's live values, conf's lines. */
static void
report_settings(void *ctx, const struct cmd_settings_live *live,
                cmd_line_fn emit, void *emit_ctx)
{
    const struct server *s = ctx;
    struct engine_lru_tune lru;
    engine_lru_get(s->engine, &lru);
    struct conf_settings_live cl = {
        .verbosity = live->verbosity,
        .detail_enabled = live->detail_enabled,
        .track_sizes = engine_sizes_enabled(s->engine),
        .maxbytes = live->maxbytes,
        .oldest = live->oldest,
        .slab_automove = (int)engine_automove(s->engine),
        .slab_automove_ratio = engine_automove_ratio(s->engine),
        .lru_crawler = engine_crawler_enabled(s->engine),
        .lru_segmented = lru.segmented,
        .hot_lru_pct = lru.hot_pct,
        .warm_lru_pct = lru.warm_pct,
        .hot_max_factor = lru.hot_max_factor,
        .warm_max_factor = lru.warm_max_factor,
        .temp_lru = lru.temp_lru,
        .temporary_ttl = lru.temp_ttl,
    };
    struct engine_crawler_stats cs;

    engine_crawler_stats(s->engine, &cs);
    cl.lru_crawler_sleep = cs.sleep;
    cl.lru_crawler_tocrawl = cs.tocrawl;

    conf_settings(s->cfg, &cl, emit, emit_ctx);
}

/*
 * -Y: the credential table, read as the -u user before anything is
 * bound, with memcached's messages (the malformed one has no newline).
 */
static int
load_auth(struct server *s, const struct config *cfg)
{
    s->cmd.auth = cmd_auth_create();
    if (s->cmd.auth == NULL) {
        fprintf(stderr, "Out of memory reading password file: %s",
                cfg->auth_file);
        return EXIT_FAILURE;
    }
    switch (cmd_auth_load(s->cmd.auth, cfg->auth_file)) {
    case CMD_AUTH_LOADED:
        return 0;
    case CMD_AUTH_NO_FILE: {
        const char *why = strerror(errno);
        fprintf(stderr,
                "Could not open authfile [%s] for reading, error %s: %s\n",
                cfg->auth_file, why, why);
        return EXIT_FAILURE;
    }
    case CMD_AUTH_MALFORMED:
        break;
    }
    fprintf(stderr,
            "Authfile [%s] has a malformed entry. Should be 'user:password'",
            cfg->auth_file);
    return EXIT_FAILURE;
}

/*
 * SIGHUP (not with -d, as memcached): reload the -Y file (as memcached,
 * a file that cannot be read or is malformed keeps the old table, and
 * says nothing) and, a memoria extension, the TLS certificates (a failed
 * reload keeps the old ones and prints why; memcached 1.6.18 reloads
 * them only on refresh_certs).
 */
static void
reload(void *ctx)
{
    struct server *s = ctx;

    if (s->tls != NULL) {
        char err[CMD_REFRESH_ERR_MAX];
        if (!tls_reload(s->tls, err, sizeof(err))) {
            fprintf(stderr, "%s\n", err);
        }
    }
    if (s->cmd.auth != NULL) {
        (void)cmd_auth_load(s->cmd.auth, s->cfg->auth_file);
    }
}

static void
server_deinit(struct server *s)
{
    net_destroy(s->net);
    tls_destroy(s->tls);           /* after the last connection holding it */
    cmd_auth_destroy(s->cmd.auth); /* after the workers have stopped */
    if (s->cmd.sasl) {
        cmd_sasl_deinit(); /* after the last connection's state is gone */
    }
    cmd_detail_destroy(s->cmd.detail);
    engine_destroy(s->engine);
    logger_destroy(s->logger);
    if (s->blocks != NULL) {
        for (size_t i = 0; i < s->nblocks; i++) {
            free(s->blocks[i]);
        }
    }
    free(s->blocks);
    free(s->listens);
}

/* -Z: the TLS context from -o ssl_*; NULL after printing why not. */
static struct tls *
make_tls(const struct config *cfg, struct stats_conns *counters)
{
    struct tls_config tc = {
        .chain_cert = cfg->ssl_chain_cert,
        .key = cfg->ssl_key,
        .keyformat = cfg->ssl_keyformat,
        .verify_mode = cfg->ssl_verify_mode,
        .ciphers = cfg->ssl_ciphers,
        .ca_cert = cfg->ssl_ca_cert,
        .wbuf_size = cfg->ssl_wbuf_size,
        .session_cache = cfg->ssl_session_cache,
        .kernel_tls = cfg->ssl_kernel_tls,
        .min_version = cfg->ssl_min_version,
    };
    return tls_create(&tc, counters);
}

static int
server_init(struct server *s, const struct config *cfg)
{
    struct engine_config ec;

    s->cfg = cfg;
    if (cfg->auth_file != NULL) {
        int rc = load_auth(s, cfg);
        if (rc != 0) {
            return rc;
        }
    }
    engine_config_from(cfg, &ec);
    if (cfg->watch_enabled) {
        s->logger =
            logger_create((size_t)cfg->num_threads, cfg->worker_logbuf_size);
        if (s->logger == NULL) {
            fprintf(stderr, "failed to allocate the watch log buffers\n");
            return 71;
        }
        ec.on_evict = logger_on_evict;
        ec.on_evict_ctx = s->logger;
        ec.on_move = logger_on_slab_move;
        ec.on_move_ctx = s->logger;
        ec.on_crawl = logger_on_crawl;
        ec.on_crawl_ctx = s->logger;
    }
    s->engine = engine_create(&ec);
    if (s->engine == NULL) {
        fprintf(stderr, "failed to create the cache engine\n");
        return EX_OSERR;
    }
    if (cfg->verbose >= 2) {
        engine_classes(s->engine, print_class, NULL);
    }
    /*
     * -o track_sizes: `stats sizes` counts from the start, even with -C
     * (memcached refuses only `stats sizes_enable` then).
     */
    if (cfg->track_sizes) {
        engine_sizes_start(s->engine, cfg->track_sizes_all);
    }
    s->nblocks = (size_t)cfg->num_threads;
    s->blocks = calloc(s->nblocks, sizeof(*s->blocks));
    for (size_t i = 0; s->blocks != NULL && i < s->nblocks; i++) {
        /* One cache line apart, so workers never share one. */
        s->blocks[i] =
            aligned_alloc(64, (sizeof(struct stats_thread) + 63) / 64 * 64);
        if (s->blocks[i] == NULL) {
            return EX_OSERR;
        }
        memset(s->blocks[i], 0, sizeof(struct stats_thread));
    }
    s->listens = calloc(cfg->nlisteners + 1, sizeof(*s->listens));
    if (s->blocks == NULL || s->listens == NULL) {
        return EX_OSERR;
    }
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const struct conf_listener *l = &cfg->listeners[i];
        s->listens[i].host = l->any ? NULL : l->host;
        s->listens[i].port = l->port >= 0 ? l->port : cfg->port;
        /* -U 0 (or a unix socket) means no UDP; host:port sets both. */
        s->listens[i].udp_port = -1;
        if (cfg->udp_port != 0 && cfg->unix_socket == NULL) {
            s->listens[i].udp_port = l->port >= 0 ? l->port : cfg->udp_port;
        }
        s->listens[i].proto = net_proto_of(
            l->proto != CONF_PROTO_DEFAULT ? l->proto : cfg->protocol);
        s->listens[i].tls = cfg->ssl_enabled && !l->notls;
    }

    struct cmd_server *srv = &s->cmd;
    srv->engine = s->engine;
    srv->threads = s->blocks;
    srv->nthreads = s->nblocks;
    srv->conns = &s->conns;
    atomic_store(&srv->verbosity, cfg->verbose);
    srv->logger = s->logger;
    srv->watch_enabled = cfg->watch_enabled;
    srv->version = MEMCACHED_COMPAT_VERSION;
    srv->libevent_version = net_libevent_version();
    srv->max_connections = (uint64_t)cfg->maxconns;
    srv->maxbytes = cfg->maxbytes;
    srv->flush_enabled = cfg->flush_enabled;
    srv->sasl = cfg->sasl;
    srv->cas_enabled = cfg->use_cas;
    srv->shutdown_enabled = cfg->enable_shutdown;
    srv->dump_enabled = cfg->dump_enabled;
    srv->stat_key_prefix = cfg->stat_key_prefix;
    atomic_store(&srv->detail_on, cfg->detail_enabled);
    srv->settings = report_settings;
    srv->settings_ctx = s;
    srv->idle_timeout = cfg->idle_timeout;
    srv->maxconns_fast = cfg->maxconns_fast;
    srv->lru_crawler = cfg->lru_crawler;
    srv->lru_segmented = cfg->lru_maintainer && cfg->lru_segmented;
    srv->temp_lru = cfg->temp_lru;
    srv->slab_reassign = cfg->slab_reassign;
    srv->detail = cmd_detail_create(cfg->stat_key_prefix);
    if (srv->detail == NULL) {
        return EX_OSERR;
    }
    srv->pid = (int)getpid();
    srv->tls = s->tls != NULL;
    srv->tls_session_cache = cfg->ssl_session_cache;

    struct net_config nc = {
        .listens = s->listens,
        .nlistens = cfg->nlisteners,
        .listen_spec = cfg->listen,
        .proto = net_proto_of(cfg->protocol),
        .tcp_off = cfg->port == 0,
        .port_file = getenv("MEMCACHED_PORT_FILENAME"),
        .sock_cookie_id = cfg->sock_cookie_id,
        .unix_path = cfg->unix_socket,
        .unix_mask = cfg->unix_mask,
        .backlog = cfg->backlog,
        .maxconns = (unsigned)cfg->maxconns,
        .maxconns_fast = cfg->maxconns_fast,
        .idle_timeout = cfg->idle_timeout,
        .read_buf_limit = cfg->read_buf_mem_limit,
        .nthreads = (unsigned)cfg->num_threads,
        .reqs_per_event = (unsigned)cfg->reqs_per_event,
        .udp_per_socket = (unsigned)cfg->num_threads_per_udp,
        .watcher_buf = cfg->watcher_logbuf_size,
        .metrics_listen =
            cfg->metrics_listen[0] != '\0' ? cfg->metrics_listen : NULL,
        .tick = tick,
        .tick_ctx = s->engine,
        .tls = s->tls,
        /* memcached ignores SIGHUP when it daemonizes */
        .hup = cfg->daemonize ? NULL : reload,
        .hup_ctx = s,
    };
    s->net = net_create(&nc, srv);
    return s->net != NULL ? 0 : EX_OSERR;
}

/*
 * -o drop_privileges, once startup is over: from here on the process may
 * only make the calls serving needs (net/sandbox.h). memcached's message
 * and exit status when the filter cannot be installed.
 */
static int
start_sandbox(const struct config *cfg)
{
    struct sandbox_config sc = {
        .remove_pidfile = cfg->daemonize && cfg->pidfile != NULL,
    };

    if (sandbox_apply(&sc) != SANDBOX_OK) {
        fprintf(stderr, "Failed to set a seccomp profile on the main thread\n");
        return EXIT_FAILURE;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    struct config cfg;
    struct server s;
    int rc;

    conf_init(&cfg);
    rc = conf_parse(&cfg, argc, argv);
    if (rc != CONF_RUN) {
        conf_deinit(&cfg);
        return rc;
    }
    memset(&s, 0, sizeof(s));
    /* As memcached: the files are read first, with our privileges. */
    if (cfg.ssl_enabled && (s.tls = make_tls(&cfg, &s.conns)) == NULL) {
        conf_deinit(&cfg);
        return EX_USAGE;
    }
    rc = cfg.largepages ? check_large_pages() : 0;
    if (rc == 0) {
        rc = prepare_process(&cfg);
    }
    if (rc != 0) {
        tls_destroy(s.tls);
        conf_deinit(&cfg);
        return rc;
    }
    rc = server_init(&s, &cfg);
    if (s.engine != NULL) {
        report_large_pages(s.engine);
    }
    if (rc == 0) {
        /* Once listening, in the daemon: the pid the file must hold. */
        if (cfg.pidfile != NULL) {
            write_pidfile(cfg.pidfile);
        }
        if (cfg.drop_privileges) {
            rc = start_sandbox(&cfg);
        }
        if (rc == 0) {
            net_run(s.net);
        }
        if (cfg.daemonize && cfg.pidfile != NULL) {
            remove_pidfile(cfg.pidfile);
        }
    }
    server_deinit(&s);
    conf_deinit(&cfg);
    return rc;
}
