/*
 * watch - the watch thread: owns the sockets of `watch` connections once
 * their worker hands them over, drains every log ring (cmd/logger.h)
 * every few milliseconds, copies each entry into the buffer of each
 * watcher that asked for its type, and writes those buffers without ever
 * blocking. A watcher whose buffer is full loses entries; it is told how
 * many with a "skipped=<n>" line as soon as there is room again. The
 * request path never waits for a watcher: at worst the workers' rings
 * fill and drop (counted in each ring).
 *
 * Thread rule: watch_adopt() and watch_report() may be called from any
 * worker; everything else about watchers belongs to the watch thread,
 * which changes its list of watchers only under the hand-off lock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct conn;
struct net_rows;
struct logger;
struct stats_conns;
struct transport;
struct watch;

/*
 * Starts the thread; watcher_buf bytes of buffer per watcher. A watcher
 * stays counted in conns->curr_connections until it is closed.
 */
struct watch *watch_create(struct logger *lg, struct stats_conns *conns,
                           size_t watcher_buf);

/* Stops the thread and closes every watcher. Accepts NULL. */
void watch_destroy(struct watch *wt);

/*
 * Takes over the connection's transport tp, a plain or TLS socket (a slot
 * in the logger's watcher count was already taken by the watch command):
 * sends "OK", then the lines of `types`. On failure closes it and gives
 * the slot back. peer (the client's address from accept) and since
 * (net_clock at the watch command) are kept for `stats conns`.
 */
void watch_adopt(struct watch *wt, const struct transport *tp, unsigned types,
                 const struct sockaddr_storage *peer, uint32_t since);

/* Adds a row per watcher (`stats conns`); false when out of memory. */
bool watch_report(struct watch *wt, struct net_rows *rows);

/*
 * A connection opens (reason NULL) or closes: its -vv line on stderr and
 * its conn_new / conn_close line if anyone watches connevents.
 */
void watch_log_conn(struct conn *c, const char *reason);

/* After SESSION_WATCH: hands c's socket to the watch thread, frees c. */
void watch_take_conn(struct conn *c);
