/*
 * main - starts up: parses the command line, checks privileges, turns
 * struct config into each module's config, runs the network loop until
 * SIGINT/SIGTERM, then tears everything down. The only place that may
 * hold mutable globals (it needs none).
 */
#include "cmd/cmd.h"
#include "cmd/logger.h"
#include "conf/conf.h"
#include "engine/engine.h"
#include "lib/version.h"
#include "net/net.h"
#include "stats/stats.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Descriptors beyond -c kept for listeners, eventfds, epoll, logs. */
#define MAIN_RESERVED_FDS 64

static int
drop_privileges(const struct config *cfg)
{
    if (getuid() != 0 && geteuid() != 0) {
        return 0;
    }
    if (cfg->user == NULL || cfg->user[0] == '\0') {
        fprintf(stderr, "can't run as root without the -u switch\n");
        return 64;
    }
    struct passwd *pw = getpwnam(cfg->user);
    if (pw == NULL) {
        fprintf(stderr, "can't find the user %s to switch to\n", cfg->user);
        return 67;
    }
    if (setgroups(0, NULL) < 0 && pw->pw_uid != 0) {
        perror("setgroups");
    }
    if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
        fprintf(stderr, "failed to assume identity of user %s\n", cfg->user);
        return 71;
    }
    return 0;
}

static int
set_limits(const struct config *cfg)
{
    struct rlimit rl;

    if (cfg->coredumps) {
        rl.rlim_cur = RLIM_INFINITY;
        rl.rlim_max = RLIM_INFINITY;
        if (setrlimit(RLIMIT_CORE, &rl) != 0 &&
            (getrlimit(RLIMIT_CORE, &rl) != 0 || rl.rlim_cur == 0)) {
            fprintf(stderr, "failed to ensure corefile creation\n");
            return 71;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        fprintf(stderr, "failed to getrlimit number of files\n");
        return 71;
    }
    rlim_t want = (rlim_t)cfg->maxconns + MAIN_RESERVED_FDS;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (rl.rlim_max < want) {
            rl.rlim_max = want;
        }
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            fprintf(stderr, "failed to set rlimit for open files. Try "
                            "starting as root or requesting smaller maxconns "
                            "value.\n");
            return 71;
        }
    }
    return 0;
}

static void
write_pidfile(const char *path)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
        return;
    }
    f = fopen(tmp, "w");
    if (f == NULL) {
        fprintf(stderr, "Could not open the pid file %s for writing: %s\n", tmp,
                strerror(errno));
        return;
    }
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "Could not write the pid file %s: %s\n", path,
                strerror(errno));
    }
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
}

/* -vv: the slab class table, in memcached's format. */
static void
print_class(void *ctx, unsigned id, size_t chunk_size, unsigned perslab)
{
    (void)ctx;
    fprintf(stderr, "slab class %3u: chunk size %9zu perslab %7u\n", id,
            chunk_size, perslab);
}

static void
tick(void *ctx)
{
    engine_tick(ctx);
}

/* Everything main creates, so that one function can unwind it. */
struct server {
    struct engine *engine;
    struct stats_thread **blocks;
    size_t nblocks;
    struct stats_conns conns;
    struct logger *logger; /* NULL with -W */
    struct cmd_server cmd;
    struct net_listen *listens;
    struct net *net;
};

static void
server_deinit(struct server *s)
{
    net_destroy(s->net);
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

static int
server_init(struct server *s, const struct config *cfg)
{
    struct engine_config ec;

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
    }
    s->engine = engine_create(&ec);
    if (s->engine == NULL) {
        fprintf(stderr, "failed to create the cache engine\n");
        return 71;
    }
    if (cfg->verbose >= 2) {
        engine_classes(s->engine, print_class, NULL);
    }
    s->nblocks = (size_t)cfg->num_threads;
    s->blocks = calloc(s->nblocks, sizeof(*s->blocks));
    for (size_t i = 0; s->blocks != NULL && i < s->nblocks; i++) {
        /* One cache line apart, so workers never share one. */
        s->blocks[i] =
            aligned_alloc(64, (sizeof(struct stats_thread) + 63) / 64 * 64);
        if (s->blocks[i] == NULL) {
            return 71;
        }
        memset(s->blocks[i], 0, sizeof(struct stats_thread));
    }
    s->listens = calloc(cfg->nlisteners + 1, sizeof(*s->listens));
    if (s->blocks == NULL || s->listens == NULL) {
        return 71;
    }
    for (size_t i = 0; i < cfg->nlisteners; i++) {
        const struct conf_listener *l = &cfg->listeners[i];
        s->listens[i].host = l->any ? NULL : l->host;
        s->listens[i].port = l->port >= 0 ? l->port : cfg->port;
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
    srv->shutdown_enabled = cfg->enable_shutdown;
    srv->pid = (int)getpid();

    struct net_config nc = {
        .listens = s->listens,
        .nlistens = cfg->nlisteners,
        .listen_spec = cfg->listen,
        .backlog = cfg->backlog,
        .maxconns = (unsigned)cfg->maxconns,
        .nthreads = (unsigned)cfg->num_threads,
        .reqs_per_event = (unsigned)cfg->reqs_per_event,
        .watcher_buf = cfg->watcher_logbuf_size,
        .tick = tick,
        .tick_ctx = s->engine,
    };
    s->net = net_create(&nc, srv);
    return s->net != NULL ? 0 : 71;
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
    rc = set_limits(&cfg);
    if (rc == 0) {
        rc = drop_privileges(&cfg);
    }
    if (rc == 0 && cfg.lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE)) {
        fprintf(stderr, "warning: -k invalid, mlockall() failed: %s\n",
                strerror(errno));
    }
    if (rc == 0 && cfg.daemonize && daemon(0, 0) != 0) {
        fprintf(stderr, "failed to daemon() in order to daemonize\n");
        rc = 71;
    }
    if (rc != 0) {
        conf_deinit(&cfg);
        return rc;
    }
    if (cfg.pidfile != NULL) {
        write_pidfile(cfg.pidfile);
    }
    memset(&s, 0, sizeof(s));
    rc = server_init(&s, &cfg);
    if (rc == 0) {
        net_run(s.net);
    }
    server_deinit(&s);
    if (rc == 0 && cfg.daemonize && cfg.pidfile != NULL) {
        unlink(cfg.pidfile);
    }
    conf_deinit(&cfg);
    return rc;
}
