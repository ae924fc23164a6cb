/*
 * sasl - SASL authentication of binary-protocol connections (-S), through
 * Cyrus SASL as memcached does it (docs/COMPAT.md#sasl).
 *
 * Two parts. The process-wide part is Cyrus's own library state:
 * cmd_sasl_init() once, before the workers start (after the server has
 * switched to its -u user, as memcached does: Cyrus reads its config file
 * then, and the sasldb file at every login, as that user), and
 * cmd_sasl_deinit() after they have stopped. The per-connection part is a
 * struct cmd_sasl, created and used by the one worker that owns the
 * connection; different connections may be used from different threads
 * at once.
 *
 * Where Cyrus finds its config (memcached.conf: `mech_list`,
 * `sasldb_path`, `pwcheck_method`, ...): the directory named by
 * SASL_CONF_PATH, else the first of /etc/sasl and /etc/sasl2 that holds a
 * memcached.conf (see cmd_sasl_find_conf_dir()). Without one, init fails,
 * as memcached's does.
 *
 * MEMCACHED_SASL_PWDB is a memoria extension relative to Debian's
 * memcached (built without memcached's internal password database): a
 * file of `user:password` lines that memcached's pwdb builds also read.
 * When it is set, Cyrus asks it first for every plaintext password check
 * (PLAIN, LOGIN); a password it does not confirm still goes on to Cyrus's
 * own checks (sasldb). The file is read at every check, so edits apply at
 * once. Format: one entry per line, the user name up to the first ':',
 * the password up to the next ':' (later fields are ignored), CR or the
 * end of the line; the first line naming the user decides. The name is
 * the one Cyrus hands over: the client's, with "@<realm>" appended unless
 * the client gave a realm, where the realm is the server's host name
 * (`alice@cachehost:secret`), as in memcached's pwdb builds. Passwords
 * are compared in constant time (lib/ct.h).
 *
 * How the binary runner uses a connection's struct cmd_sasl (memcached's
 * observable behaviour, docs/COMPAT.md#sasl):
 *   - Before anything else: a SASL_AUTH or SASL_STEP whose key (the
 *     mechanism name) is longer than CMD_SASL_MECH_MAX bytes is answered
 *     0x04 and its value swallowed, without calling this module and
 *     without counting it; the connection stays as it was.
 *   - SASL_LIST_MECHS -> cmd_sasl_list_mechs(); SASL_AUTH ->
 *     cmd_sasl_start(); SASL_STEP -> cmd_sasl_step() (its key selects
 *     nothing: a step continues whatever mechanism AUTH started).
 *   - CMD_SASL_OK: status 0, body "Authenticated" (list: the list).
 *     CMD_SASL_CONTINUE: status 0x21, body the challenge.
 *     CMD_SASL_FAIL: 0x20 "Auth failure.", connection kept.
 *   - Counters: start/step returning OK count auth_cmds; FAIL counts
 *     auth_cmds and auth_errors; CONTINUE and list_mechs count nothing.
 *   - Every opcode but LIST_MECHS, AUTH, STEP and VERSION needs
 *     cmd_sasl_authenticated(); otherwise 0x20 and close.
 * Each of list_mechs, start and step first makes the connection
 * unauthenticated again, as memcached does, so that only a successful
 * start or step makes it authenticated.
 *
 * With -v, start and step print memcached's lines to stderr: "mech:
 * ``<key>'' with <n> bytes of data", "<fd>: SASL_STEP called but
 * sasl_server_start not called for this connection!", "sasl result code:
 * <Cyrus result>" and on failure "Unknown sasl response:  <result>";
 * list_mechs prints "Failed to list SASL mechanisms." when it fails.
 * (memcached's -vv line "authenticated() in cmd 0x<op> is true|false" is
 * the runner's: it alone sees every opcode.)
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The longest mechanism name SASL_AUTH accepts (memcached's limit). */
#define CMD_SASL_MECH_MAX 32

/* The environment variables memcached reads. */
#define CMD_SASL_ENV_CONF_PATH "SASL_CONF_PATH"
#define CMD_SASL_ENV_PWDB      "MEMCACHED_SASL_PWDB"

struct cmd_sasl_config {
    /* SASL_CONF_PATH: the directory (or colon-separated directories)
     * holding memcached.conf; NULL: search /etc/sasl, /etc/sasl2. */
    const char *conf_path;
    /* MEMCACHED_SASL_PWDB: the user:password file; NULL: none. */
    const char *pwdb_path;
    /* -v count: Cyrus's messages of severity error are always printed,
     * warnings and failures from -v, notes and debugging from -vv; -v
     * also prints where the config was read from. */
    int verbose;
};

/* Fills conf_path and pwdb_path from the environment (verbose is left). */
void cmd_sasl_config_from_env(struct cmd_sasl_config *cfg);

/*
 * Initialises Cyrus SASL for the service "memcached". Returns NULL, or
 * the message to print before exiting 1 ("Error initializing sasl.", no
 * newline). The config strings are copied. Call once, from one thread;
 * again only after cmd_sasl_deinit().
 */
const char *cmd_sasl_init(const struct cmd_sasl_config *cfg);

/* Releases Cyrus's state; no struct cmd_sasl may be alive. */
void cmd_sasl_deinit(void);

/*
 * Where memcached finds its config when SASL_CONF_PATH is unset, for each
 * directory in `bases` (NULL-terminated; memcached's are /etc/sasl and
 * /etc/sasl2) in turn: if <base>/memcached.conf/memcached.conf exists,
 * the directory <base>/memcached.conf; else if <base>/memcached.conf
 * exists, <base>. Writes it to buf (size bytes) and returns buf, or
 * returns NULL when no base has one (or it does not fit).
 */
const char *cmd_sasl_find_conf_dir(const char *const *bases, char *buf,
                                   size_t size);

enum cmd_sasl_status {
    CMD_SASL_OK = 0,   /* authenticated (list_mechs: listed) */
    CMD_SASL_CONTINUE, /* the mechanism wants another step */
    CMD_SASL_FAIL,     /* authentication failed or impossible */
};

struct cmd_sasl;

/* A connection's state, not yet authenticated; NULL when out of memory.
 * Cheap: the Cyrus connection is made at the first SASL command. fd is
 * the connection's, only for the -v lines. */
struct cmd_sasl *cmd_sasl_create(int fd);

/* Accepts NULL. */
void cmd_sasl_destroy(struct cmd_sasl *s);

/*
 * The mechanisms this connection may use, separated by single spaces
 * ("PLAIN", "SCRAM-SHA-256 PLAIN", ...), as SASL_LIST_MECHS sends them.
 * On CMD_SASL_OK, *out and *len hold the list; like every output of this
 * module it belongs to s and stays valid until the next call with s.
 */
enum cmd_sasl_status cmd_sasl_list_mechs(struct cmd_sasl *s, const char **out,
                                         size_t *len);

/*
 * Starts an exchange with mechanism (mech, mech_len) (not NUL-terminated;
 * a NUL byte in it ends the name) and the client's initial response
 * (data, len; len 0: none). On CMD_SASL_CONTINUE, *out and *outlen hold
 * the server's challenge (possibly empty); otherwise they are set to "",
 * 0. A name longer than CMD_SASL_MECH_MAX fails without changing s.
 * Starting again after success fails once (Cyrus refuses a second
 * exchange on a finished connection and resets it), then works.
 */
enum cmd_sasl_status cmd_sasl_start(struct cmd_sasl *s, const char *mech,
                                    size_t mech_len, const void *data,
                                    size_t len, const char **out,
                                    size_t *outlen);

/* Continues the exchange start began; without a start that returned OK
 * or CONTINUE, fails. (mech, mech_len) is the SASL_STEP's key: it only
 * appears in the -v line, and longer than CMD_SASL_MECH_MAX it fails
 * without changing s. Outputs as for cmd_sasl_start(). */
enum cmd_sasl_status cmd_sasl_step(struct cmd_sasl *s, const char *mech,
                                   size_t mech_len, const void *data,
                                   size_t len, const char **out,
                                   size_t *outlen);

/* True from a start or step that returned CMD_SASL_OK until the next
 * list_mechs, start or step call, each of which clears it first. */
bool cmd_sasl_authenticated(const struct cmd_sasl *s);
