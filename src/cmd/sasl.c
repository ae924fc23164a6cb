/*
 * sasl - Cyrus SASL for the binary protocol's SASL commands. The contract
 * and what the runner does with the results are in sasl.h.
 */
#include "cmd/sasl.h"

#include "lib/ct.h"

#include <assert.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sasl/sasl.h>

#define SERVICE_NAME "memcached"
#define CONF_FILE    "memcached.conf"

/* Cyrus stores every callback as int (*)(void); going through
 * void (*)(void) says the cast is deliberate (-Wcast-function-type). */
#define SASL_PROC(fn) ((int (*)(void))(void (*)(void))(fn))

struct cmd_sasl {
    sasl_conn_t *conn;  /* made at the first SASL command */
    int fd;             /* the connection's, for the -v lines */
    bool started;       /* the last start returned OK or CONTINUE */
    bool authenticated; /* see cmd_sasl_authenticated() */
};

/*
 * Cyrus keeps process-wide state and calls back into this module with no
 * connection of ours at hand, so the settings live in one static block:
 * written only by init and deinit (before and after the workers run),
 * read by the callbacks from any worker.
 */
static struct {
    bool ready;
    char *conf_path; /* SASL_CONF_PATH as given, or NULL */
    char *pwdb_path; /* MEMCACHED_SASL_PWDB, or NULL */
    int verbose;
    char found[PATH_MAX]; /* the config directory the search found */
    char realm[256];      /* the host name: the user realm, as memcached */
    char fqdn[256];       /* the server's name, as Cyrus finds it */
    sasl_callback_t callbacks[4];
} g;

static const char *const conf_bases[] = {"/etc/sasl", "/etc/sasl2", NULL};

void
cmd_sasl_config_from_env(struct cmd_sasl_config *cfg)
{
    cfg->conf_path = getenv(CMD_SASL_ENV_CONF_PATH);
    cfg->pwdb_path = getenv(CMD_SASL_ENV_PWDB);
}

static bool
exists(char *probe, size_t size, const char *base, int levels)
{
    int n = levels == 2
                ? snprintf(probe, size, "%s/%s/%s", base, CONF_FILE, CONF_FILE)
                : snprintf(probe, size, "%s/%s", base, CONF_FILE);

    return n > 0 && (size_t)n < size && access(probe, F_OK) == 0;
}

const char *
cmd_sasl_find_conf_dir(const char *const *bases, char *buf, size_t size)
{
    char probe[PATH_MAX];

    for (size_t i = 0; bases[i] != NULL; i++) {
        const char *base = bases[i];
        int n;

        /* memcached's search looks for a directory named memcached.conf
         * first, then the file. */
        if (exists(probe, sizeof(probe), base, 2)) {
            n = snprintf(buf, size, "%s/%s", base, CONF_FILE);
        } else if (exists(probe, sizeof(probe), base, 1)) {
            n = snprintf(buf, size, "%s", base);
        } else {
            continue;
        }
        return n > 0 && (size_t)n < size ? buf : NULL;
    }
    return NULL;
}

/* SASL_CB_GETCONFPATH: Cyrus reads <path>/memcached.conf. */
static int
get_conf_path(void *ctx, char **path)
{
    const char *dir = g.conf_path;

    (void)ctx;
    if (dir == NULL) {
        dir = cmd_sasl_find_conf_dir(conf_bases, g.found, sizeof(g.found));
    }
    if (g.verbose > 0) {
        if (dir != NULL) {
            fprintf(stderr, "Reading configuration from: <%s>\n", dir);
        } else {
            fprintf(stderr, "Failed to locate a config path\n");
        }
    }
    *path = (char *)dir;
    return dir != NULL ? SASL_OK : SASL_FAIL;
}

/* SASL_CB_LOG: errors always, as memcached; the rest by -v. */
static int
log_message(void *ctx, int level, const char *message)
{
    int need = 0;

    (void)ctx;
    switch (level) {
    case SASL_LOG_NONE:
        return SASL_OK;
    case SASL_LOG_FAIL:
    case SASL_LOG_WARN:
        need = 1;
        break;
    case SASL_LOG_NOTE:
    case SASL_LOG_DEBUG:
    case SASL_LOG_TRACE:
    case SASL_LOG_PASS:
        need = 2;
        break;
    default:
        break;
    }
    if (g.verbose >= need) {
        fprintf(stderr, "SASL (severity %d): %s\n", level, message);
    }
    return SASL_OK;
}

/*
 * Whether `line` (len bytes, as getline read it) is user's entry, and if
 * so whether it holds `pass`: *decided tells the caller to stop reading.
 */
static bool
entry_matches(const char *line, size_t len, const char *user, size_t ulen,
              const char *pass, size_t passlen, bool *decided)
{
    const char *pw;

    if (len <= ulen || memcmp(line, user, ulen) != 0 || line[ulen] != ':') {
        return false;
    }
    *decided = true;
    pw = line + ulen + 1;
    return ct_equal(pw, strcspn(pw, ":\r\n"), pass, passlen);
}

/*
 * SASL_CB_SERVER_USERDB_CHECKPASS: the MEMCACHED_SASL_PWDB file. Any
 * answer but SASL_OK lets Cyrus go on to its own password checks. A user
 * name holding ':' never matches (it would read the password field as
 * part of the name).
 */
static int
check_pwdb(sasl_conn_t *conn, void *ctx, const char *user, const char *pass,
           unsigned passlen, struct propctx *propctx)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    bool ok = false;
    bool decided = false;

    (void)conn;
    (void)ctx;
    (void)propctx;
    if (strchr(user, ':') != NULL || (f = fopen(g.pwdb_path, "r")) == NULL) {
        return SASL_NOAUTHZ;
    }
    while (!decided && (n = getline(&line, &cap, f)) >= 0) {
        ok = entry_matches(line, (size_t)n, user, strlen(user), pass, passlen,
                           &decided);
    }
    if (line != NULL) {
        explicit_bzero(line, cap);
        free(line);
    }
    fclose(f);
    return ok ? SASL_OK : SASL_NOAUTHZ;
}

static void
forget_settings(void)
{
    free(g.conf_path);
    free(g.pwdb_path);
    memset(&g, 0, sizeof(g));
}

/*
 * The server name Cyrus finds for a connection made without one
 * (gethostname, then a DNS lookup), found once here: connections then
 * make no lookup, so they open no socket, which -o drop_privileges
 * forbids once serving. Empty when Cyrus finds none (it then looks for
 * each connection again).
 */
static void
learn_fqdn(void)
{
    sasl_conn_t *conn = NULL;
    const void *name = NULL;

    if (sasl_server_new(SERVICE_NAME, NULL, g.realm[0] ? g.realm : NULL, NULL,
                        NULL, NULL, 0, &conn) != SASL_OK) {
        return;
    }
    if (sasl_getprop(conn, SASL_SERVERFQDN, &name) == SASL_OK && name != NULL &&
        strlen(name) < sizeof(g.fqdn)) {
        strcpy(g.fqdn, name);
    }
    sasl_dispose(&conn);
}

const char *
cmd_sasl_init(const struct cmd_sasl_config *cfg)
{
    size_t n = 0;

    assert(!g.ready);
    memset(&g, 0, sizeof(g));
    g.verbose = cfg->verbose;
    if ((cfg->conf_path != NULL &&
         (g.conf_path = strdup(cfg->conf_path)) == NULL) ||
        (cfg->pwdb_path != NULL &&
         (g.pwdb_path = strdup(cfg->pwdb_path)) == NULL)) {
        goto fail;
    }
    if (gethostname(g.realm, sizeof(g.realm) - 1) != 0) {
        if (g.verbose > 0) {
            fprintf(stderr, "Error discovering hostname for SASL\n");
        }
        g.realm[0] = '\0';
    }
    if (g.pwdb_path != NULL) {
        g.callbacks[n++] = (sasl_callback_t){SASL_CB_SERVER_USERDB_CHECKPASS,
                                             SASL_PROC(check_pwdb), NULL};
    }
    g.callbacks[n++] =
        (sasl_callback_t){SASL_CB_LOG, SASL_PROC(log_message), NULL};
    g.callbacks[n++] =
        (sasl_callback_t){SASL_CB_GETCONFPATH, SASL_PROC(get_conf_path), NULL};
    g.callbacks[n] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};
    if (sasl_server_init(g.callbacks, SERVICE_NAME) != SASL_OK) {
        goto fail;
    }
    learn_fqdn();
    g.ready = true;
    if (g.verbose > 0) {
        fprintf(stderr, "Initialized SASL.\n");
    }
    return NULL;

fail:
    forget_settings();
    return "Error initializing sasl.";
}

void
cmd_sasl_deinit(void)
{
    if (g.ready) {
        sasl_server_done();
    }
    forget_settings();
}

struct cmd_sasl *
cmd_sasl_create(int fd)
{
    struct cmd_sasl *s = calloc(1, sizeof(*s));

    if (s != NULL) {
        s->fd = fd;
    }
    return s;
}

void
cmd_sasl_destroy(struct cmd_sasl *s)
{
    if (s == NULL) {
        return;
    }
    if (s->conn != NULL) {
        sasl_dispose(&s->conn);
    }
    free(s);
}

/* Makes the Cyrus connection, as memcached: the server name Cyrus found
 * (at init, see learn_fqdn), the host name as the user realm. */
static bool
ensure_conn(struct cmd_sasl *s)
{
    if (s->conn != NULL) {
        return true;
    }
    if (!g.ready || sasl_server_new(SERVICE_NAME, g.fqdn[0] ? g.fqdn : NULL,
                                    g.realm[0] ? g.realm : NULL, NULL, NULL,
                                    NULL, 0, &s->conn) != SASL_OK) {
        if (g.verbose > 0) {
            fprintf(stderr, "Failed to initialize SASL conn.\n");
        }
        s->conn = NULL;
        return false;
    }
    return true;
}

enum cmd_sasl_status
cmd_sasl_list_mechs(struct cmd_sasl *s, const char **out, size_t *len)
{
    const char *list = NULL;
    unsigned n = 0;

    s->authenticated = false;
    *out = "";
    *len = 0;
    if (!ensure_conn(s) ||
        sasl_listmech(s->conn, NULL, "", " ", "", &list, &n, NULL) != SASL_OK ||
        list == NULL) {
        if (g.verbose > 0) {
            fprintf(stderr, "Failed to list SASL mechanisms.\n");
        }
        return CMD_SASL_FAIL;
    }
    *out = list;
    *len = n;
    return CMD_SASL_OK;
}

/* Cyrus's result as ours; the outputs are the challenge or "", 0. */
static enum cmd_sasl_status
finish(struct cmd_sasl *s, int rc, const char *serverout, unsigned n,
       const char **out, size_t *outlen)
{
    if (rc == SASL_CONTINUE) {
        *out = serverout != NULL ? serverout : "";
        *outlen = serverout != NULL ? n : 0;
        return CMD_SASL_CONTINUE;
    }
    *out = "";
    *outlen = 0;
    if (rc == SASL_OK) {
        s->authenticated = true;
        return CMD_SASL_OK;
    }
    return CMD_SASL_FAIL;
}

/*
 * Runs Cyrus's start (mech != NULL) or step with the client's bytes copied into
 * a NUL-terminated buffer (Cyrus documents its input so); the copy holds a
 * password, so it is wiped before it is freed.
 */
static int
call_cyrus(struct cmd_sasl *s, const char *mech, const void *data, size_t len,
           const char **serverout, unsigned *n)
{
    char *in = NULL;
    int rc;

    if (len >= UINT_MAX) {
        return SASL_BADPARAM;
    }
    if (len > 0) {
        if ((in = malloc(len + 1)) == NULL) {
            return SASL_NOMEM;
        }
        memcpy(in, data, len);
        in[len] = '\0';
    }
    if (mech != NULL) {
        rc = sasl_server_start(s->conn, mech, in, (unsigned)len, serverout, n);
    } else {
        rc = sasl_server_step(s->conn, in, (unsigned)len, serverout, n);
    }
    if (in != NULL) {
        explicit_bzero(in, len);
        free(in);
    }
    return rc;
}

/*
 * start (is_start) or step: the -v lines as memcached prints them around
 * the Cyrus call, and the state changes of sasl.h.
 */
static enum cmd_sasl_status
exchange(struct cmd_sasl *s, bool is_start, const char *mech, size_t mech_len,
         const void *data, size_t len, const char **out, size_t *outlen)
{
    char name[CMD_SASL_MECH_MAX + 1];
    const char *serverout = NULL;
    unsigned n = 0;
    int rc = SASL_FAIL;

    *out = "";
    *outlen = 0;
    if (mech_len > CMD_SASL_MECH_MAX) {
        return CMD_SASL_FAIL;
    }
    memcpy(name, mech, mech_len);
    name[mech_len] = '\0';
    s->authenticated = false;
    if (g.verbose > 0) {
        fprintf(stderr, "mech:  ``%s'' with %zu bytes of data\n", name, len);
    }
    if (!is_start && !s->started) {
        if (g.verbose > 0) {
            fprintf(stderr,
                    "%d: SASL_STEP called but sasl_server_start not called "
                    "for this connection!\n",
                    s->fd);
        }
    } else if (ensure_conn(s)) {
        rc = call_cyrus(s, is_start ? name : NULL, data, len, &serverout, &n);
    }
    if (is_start) {
        s->started = rc == SASL_OK || rc == SASL_CONTINUE;
    }
    if (g.verbose > 0) {
        fprintf(stderr, "sasl result code:  %d\n", rc);
        if (rc != SASL_OK && rc != SASL_CONTINUE) {
            fprintf(stderr, "Unknown sasl response:  %d\n", rc);
        }
    }
    return finish(s, rc, serverout, n, out, outlen);
}

enum cmd_sasl_status
cmd_sasl_start(struct cmd_sasl *s, const char *mech, size_t mech_len,
               const void *data, size_t len, const char **out, size_t *outlen)
{
    return exchange(s, true, mech, mech_len, data, len, out, outlen);
}

enum cmd_sasl_status
cmd_sasl_step(struct cmd_sasl *s, const char *mech, size_t mech_len,
              const void *data, size_t len, const char **out, size_t *outlen)
{
    return exchange(s, false, mech, mech_len, data, len, out, outlen);
}

bool
cmd_sasl_authenticated(const struct cmd_sasl *s)
{
    return s->authenticated;
}
