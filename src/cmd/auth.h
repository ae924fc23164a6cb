/*
 * auth - ASCII authentication (-Y): the credential table every worker
 * checks and the main thread (re)loads from the file.
 *
 * One struct cmd_auth per server, created by main before the workers
 * start and destroyed after they stop. cmd_auth_load() runs on the main
 * thread (at startup, and on SIGHUP); cmd_auth_check() runs on any
 * worker at any time. A mutex guards the table: a load parses the file
 * into a private table first and then copies it in under the lock, so a
 * check sees the old table or the new one, never a mix, and a failed
 * load changes nothing (memcached keeps the old entries too). Checks are
 * one per connection attempt, so the lock is never on a hot path.
 *
 * The file is read as the -u user (main loads it after dropping
 * privileges, as memcached does), at most AUTHFILE_READ_MAX bytes of it.
 */
#pragma once

#include "lib/slice.h"

#include <stdbool.h>

struct cmd_auth;
struct cmd_ctx;

enum cmd_auth_load {
    CMD_AUTH_LOADED = 0,
    CMD_AUTH_NO_FILE,   /* could not be opened; errno says why */
    CMD_AUTH_MALFORMED, /* a line without ':' (proto/authfile.h) */
};

/* NULL when out of memory. The table starts empty: nobody gets in. */
struct cmd_auth *cmd_auth_create(void);

/* Accepts NULL. No check may run any more. */
void cmd_auth_destroy(struct cmd_auth *a);

/*
 * Reads and parses path; on success replaces the table. On failure the
 * table is left as it was and errno (CMD_AUTH_NO_FILE) says why.
 */
enum cmd_auth_load cmd_auth_load(struct cmd_auth *a, const char *path);

/*
 * A connection's attempt with (user, pass): true when the table has
 * them. Counts auth_cmds, and auth_errors when it fails, in c's block.
 */
bool cmd_auth_check(struct cmd_ctx *c, struct slice user, struct slice pass);
