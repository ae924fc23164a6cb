/*
 * conf_settings: struct config as memcached 1.6.18's `stats settings`.
 * The line order, names and formats are memcached's (docs/OPTIONS.md,
 * "stats settings"); the values are the configuration memoria runs with,
 * compat options included, so that a command line shows what it shows
 * under memcached.
 */
#include "conf/conf.h"

#include <stdarg.h>
#include <stdio.h>

/* One line being formatted: where it goes. */
struct out {
    conf_setting_fn emit;
    void *ctx;
};

static void put(const struct out *o, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Formats the value as memcached does, cut at its length limit. */
static void
put(const struct out *o, const char *name, const char *fmt, ...)
{
    char value[CONF_SETTING_MAX + 1];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(value, sizeof(value), fmt, ap);
    va_end(ap);
    o->emit(o->ctx, name, value);
}

static void
put_str(const struct out *o, const char *name, const char *value)
{
    put(o, name, "%s", value);
}

static void
put_bool(const struct out *o, const char *name, bool value)
{
    put_str(o, name, value ? "yes" : "no");
}

static const char *
or_null(const char *s)
{
    return s != NULL ? s : "NULL";
}

static const char *
protocol_name(enum conf_proto p)
{
    switch (p) {
    case CONF_PROTO_ASCII:
        return "ascii";
    case CONF_PROTO_BINARY:
        return "binary";
    case CONF_PROTO_DEFAULT:
    case CONF_PROTO_AUTO:
    case CONF_PROTO_PROXY:
        break;
    }
    return "auto-negotiate";
}

static const char *
hash_name(enum conf_hash h)
{
    switch (h) {
    case CONF_HASH_JENKINS:
        return "jenkins";
    case CONF_HASH_XXH3:
        return "xxh3";
    case CONF_HASH_MURMUR3:
        break;
    }
    return "murmur3";
}

/* maxbytes through binding_protocol. */
static void
put_server(const struct out *o, const struct config *cfg,
           const struct conf_settings_live *live)
{
    put(o, "maxbytes", "%llu", (unsigned long long)live->maxbytes);
    put(o, "maxconns", "%d", cfg->maxconns);
    put(o, "tcpport", "%d", cfg->port);
    put(o, "udpport", "%d", cfg->udp_port);
    put_str(o, "inter", or_null(cfg->listen));
    put(o, "verbosity", "%d", live->verbosity);
    put(o, "oldest", "%lu", (unsigned long)live->oldest);
    put_str(o, "evictions", cfg->evictions ? "on" : "off");
    put_str(o, "domain_socket", or_null(cfg->unix_socket));
    put(o, "umask", "%o", (unsigned)cfg->unix_mask);
    put_bool(o, "shutdown_command", cfg->enable_shutdown);
    put(o, "growth_factor", "%.2f", cfg->factor);
    put(o, "chunk_size", "%d", cfg->chunk_size);
    put(o, "num_threads", "%d", cfg->num_threads);
    put(o, "num_threads_per_udp", "%d", cfg->num_threads_per_udp);
    put(o, "stat_key_prefix", "%c", cfg->stat_key_prefix);
    put_bool(o, "detail_enabled", live->detail_enabled);
    put(o, "reqs_per_event", "%d", cfg->reqs_per_event);
    put_bool(o, "cas_enabled", cfg->use_cas);
    put(o, "tcp_backlog", "%d", cfg->backlog);
    put_str(o, "binding_protocol", protocol_name(cfg->protocol));
}

/* auth_enabled_sasl through track_sizes, then inline_ascii_response. */
static void
put_memory(const struct out *o, const struct config *cfg,
           const struct conf_settings_live *live)
{
    put_bool(o, "auth_enabled_sasl", cfg->sasl);
    put_str(o, "auth_enabled_ascii",
            cfg->auth_file != NULL ? cfg->auth_file : "no");
    put(o, "item_size_max", "%zu", cfg->item_size_max);
    put_bool(o, "maxconns_fast", cfg->maxconns_fast);
    put(o, "hashpower_init", "%d", cfg->hashpower);
    put_bool(o, "slab_reassign", cfg->slab_reassign);
    put(o, "slab_automove", "%d", live->slab_automove);
    put(o, "slab_automove_ratio", "%.2f", live->slab_automove_ratio);
    put(o, "slab_automove_window", "%d", cfg->slab_automove_window);
    put(o, "slab_chunk_max", "%zu", cfg->slab_chunk_max);
    put_bool(o, "lru_crawler", live->lru_crawler);
    put(o, "lru_crawler_sleep", "%lu", (unsigned long)live->lru_crawler_sleep);
    put(o, "lru_crawler_tocrawl", "%lu",
        (unsigned long)live->lru_crawler_tocrawl);
    put(o, "tail_repair_time", "%d", cfg->tail_repair_time);
    put_bool(o, "flush_enabled", cfg->flush_enabled);
    put_bool(o, "dump_enabled", cfg->dump_enabled);
    put_str(o, "hash_algorithm", hash_name(cfg->hash_algorithm));
    put_bool(o, "lru_maintainer_thread", cfg->lru_maintainer);
    /* memcached keeps the percentages in ints: a wrapped one shows < 0 */
    put_bool(o, "lru_segmented", live->lru_segmented);
    put(o, "hot_lru_pct", "%d", (int)live->hot_lru_pct);
    put(o, "warm_lru_pct", "%d", (int)live->warm_lru_pct);
    put(o, "hot_max_factor", "%.2f", live->hot_max_factor);
    put(o, "warm_max_factor", "%.2f", live->warm_max_factor);
    put_bool(o, "temp_lru", live->temp_lru);
    put(o, "temporary_ttl", "%u", (unsigned)live->temporary_ttl);
    put(o, "idle_timeout", "%d", cfg->idle_timeout);
    /* memcached keeps these byte counts in 32 bits: larger ones wrap. */
    put(o, "watcher_logbuf_size", "%u", (unsigned)cfg->watcher_logbuf_size);
    put(o, "worker_logbuf_size", "%u", (unsigned)cfg->worker_logbuf_size);
    put(o, "read_buf_mem_limit", "%u", (unsigned)cfg->read_buf_mem_limit);
    put_bool(o, "track_sizes", live->track_sizes);
    put_bool(o, "inline_ascii_response", false);
}

/* The extstore, TLS, NAPI and memory file lines. */
static void
put_extras(const struct out *o, const struct config *cfg)
{
    put(o, "ext_item_size", "%u", (unsigned)cfg->ext_item_size);
    put(o, "ext_item_age", "%u", (unsigned)cfg->ext_item_age);
    put(o, "ext_low_ttl", "%u", (unsigned)cfg->ext_low_ttl);
    put(o, "ext_recache_rate", "%u", (unsigned)cfg->ext_recache_rate);
    put(o, "ext_wbuf_size", "%u", (unsigned)cfg->ext_wbuf_size);
    put(o, "ext_compact_under", "%u", (unsigned)cfg->ext_compact_under);
    put(o, "ext_drop_under", "%u", (unsigned)cfg->ext_drop_under);
    put(o, "ext_max_sleep", "%u", (unsigned)cfg->ext_max_sleep);
    put(o, "ext_max_frag", "%.2f", cfg->ext_max_frag);
    put(o, "slab_automove_freeratio", "%.3f", cfg->slab_automove_freeratio);
    put_bool(o, "ext_drop_unread", cfg->ext_drop_unread);
    /*
     * The TLS lines as memcached prints them: unset strings "(null)"
     * where it prints a NULL pointer, "NULL" where it checks for one; the
     * verify mode as OpenSSL's flags (peer 1, fail without a certificate
     * 2, client once 4); the minimum version by name.
     */
    static const int verify_flags[] = {0, 1, 1 | 2, 1 | 2 | 4};
    static const char *const versions[] = {"tlsv1.0", "tlsv1.1", "tlsv1.2",
                                           "tlsv1.3"};
    put_bool(o, "ssl_enabled", cfg->ssl_enabled);
    put_str(o, "ssl_chain_cert",
            cfg->ssl_chain_cert != NULL ? cfg->ssl_chain_cert : "(null)");
    put_str(o, "ssl_key", cfg->ssl_key != NULL ? cfg->ssl_key : "(null)");
    put(o, "ssl_verify_mode", "%d", verify_flags[cfg->ssl_verify_mode & 3]);
    put(o, "ssl_keyformat", "%d", cfg->ssl_keyformat);
    put_str(o, "ssl_ciphers",
            cfg->ssl_ciphers != NULL ? cfg->ssl_ciphers : "NULL");
    put_str(o, "ssl_ca_cert",
            cfg->ssl_ca_cert != NULL ? cfg->ssl_ca_cert : "NULL");
    put(o, "ssl_wbuf_size", "%u", (unsigned)cfg->ssl_wbuf_size);
    put_bool(o, "ssl_session_cache", cfg->ssl_session_cache);
    put_bool(o, "ssl_kernel_tls", cfg->ssl_kernel_tls);
    put_str(o, "ssl_min_version", versions[cfg->ssl_min_version & 3]);
    put_str(o, "num_napi_ids", "(null)");
    put_str(o, "memory_file", "(null)");
}

void
conf_settings(const struct config *cfg, const struct conf_settings_live *live,
              conf_setting_fn emit, void *ctx)
{
    const struct out o = {emit, ctx};

    put_server(&o, cfg, live);
    put_memory(&o, cfg, live);
    put_extras(&o, cfg);
}
