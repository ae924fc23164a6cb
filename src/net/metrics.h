/*
 * metrics - the Prometheus endpoint (memoria extension, -o
 * metrics_listen): an HTTP listener on the main thread's event base
 * (libevent's evhttp) that answers GET /metrics with the text exposition
 * format 0.0.4, under the metric names, labels and types of
 * prometheus/memcached_exporter plus a few memoria_* gauges
 * (docs/METRICS.md). Values come from cmd_stats.h's reporters, which read
 * atomics and snapshots, so a scrape never waits on a worker.
 *
 * Main thread only. Created and destroyed by listen.c (net_create,
 * net_destroy).
 */
#pragma once

struct cmd_server;
struct event_base;
struct metrics;

/*
 * Binds spec ("host:port", "[v6]:port", ":port" or "port"; an empty or
 * missing host means 127.0.0.1, "*" every interface) and serves on base.
 * On failure prints one line to stderr and returns NULL.
 */
struct metrics *metrics_create(struct event_base *base, const char *spec,
                               struct cmd_server *srv);

/* Closes the listeners and every HTTP connection. Accepts NULL. */
void metrics_destroy(struct metrics *m);
