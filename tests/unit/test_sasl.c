#include "unit.h"

#include "cmd/sasl.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Each test runs against a Cyrus SASL set up the way an operator would:
 * a temporary config directory whose memcached.conf allows PLAIN and
 * names a sasldb made by saslpasswd2 (users "user"/"secret" and
 * "other"/"other-pw"), and optionally a MEMCACHED_SASL_PWDB file.
 */
static char dir[PATH_MAX];
static char db[PATH_MAX + 16];
static char pwdb[PATH_MAX + 16];

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

/* saslpasswd2 reads the password on stdin (-p); the realm is the host
 * name, the user realm the server passes to Cyrus. */
static void
add_user(const char *user, const char *password)
{
    char realm[256] = "";
    char cmd[3 * PATH_MAX];
    FILE *p;

    assert_int_equal(gethostname(realm, sizeof(realm) - 1), 0);
    snprintf(cmd, sizeof(cmd),
             "saslpasswd2 -a memcached -c -f '%s' -u '%s' -p '%s'", db, realm,
             user);
    p = popen(cmd, "w");
    assert_non_null(p);
    assert_true(fputs(password, p) >= 0);
    assert_int_equal(pclose(p), 0);
}

/* Writes the pwdb file from a template whose every '~' is the realm. */
static void
write_pwdb(const char *template)
{
    char realm[256] = "";
    char text[4096];
    size_t n = 0;

    assert_int_equal(gethostname(realm, sizeof(realm) - 1), 0);
    for (const char *p = template; *p != '\0'; p++) {
        size_t len = *p == '~' ? strlen(realm) : 1;

        assert_true(n + len < sizeof(text));
        memcpy(text + n, *p == '~' ? realm : p, len);
        n += len;
    }
    text[n] = '\0';
    write_file(pwdb, text);
}

static int
make_config(void **state)
{
    char conf[PATH_MAX + 32];
    char text[PATH_MAX + 64];
    const char *tmp = getenv("TMPDIR");

    (void)state;
    snprintf(dir, sizeof(dir), "%s/test_sasl.XXXXXX",
             tmp != NULL ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    snprintf(db, sizeof(db), "%s/sasldb2", dir);
    snprintf(pwdb, sizeof(pwdb), "%s/pwdb", dir);
    snprintf(conf, sizeof(conf), "%s/memcached.conf", dir);
    snprintf(text, sizeof(text), "mech_list: plain\nsasldb_path: %s\n", db);
    write_file(conf, text);
    add_user("user", "secret");
    add_user("other", "other-pw");
    write_pwdb("alice@~:wonder\n"
               "bob@~:builder:ignored fields\n"
               "carol@~:crlf\r\n"
               "user@~:pwdb-pass\n"
               "alice@~:second-entry\n"
               "a:b@~:c\n"
               "alice:no-realm\n");
    return 0;
}

static int
remove_config(void **state)
{
    char cmd[PATH_MAX + 16];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd);
}

static int
init_plain(void **state)
{
    struct cmd_sasl_config cfg = {.conf_path = dir};

    (void)state;
    return cmd_sasl_init(&cfg) == NULL ? 0 : -1;
}

static int
init_with_pwdb(void **state)
{
    struct cmd_sasl_config cfg = {.conf_path = dir, .pwdb_path = pwdb};

    (void)state;
    return cmd_sasl_init(&cfg) == NULL ? 0 : -1;
}

static int
deinit(void **state)
{
    (void)state;
    cmd_sasl_deinit();
    return 0;
}

/* PLAIN's initial response: authzid NUL authcid NUL password. */
static enum cmd_sasl_status
plain(struct cmd_sasl *s, const char *user, const char *password)
{
    char msg[256];
    size_t ulen = strlen(user);
    size_t plen = strlen(password);
    const char *out;
    size_t outlen;

    assert_true(ulen + plen + 2 <= sizeof(msg));
    msg[0] = '\0';
    memcpy(msg + 1, user, ulen);
    msg[1 + ulen] = '\0';
    memcpy(msg + 2 + ulen, password, plen);
    return cmd_sasl_start(s, "PLAIN", 5, msg, ulen + plen + 2, &out, &outlen);
}

static void
lists_the_mechanisms_the_config_allows(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out;
    size_t len;
    (void)state;

    assert_non_null(s);
    assert_int_equal(cmd_sasl_list_mechs(s, &out, &len), CMD_SASL_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "PLAIN", 5);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
plain_with_the_right_password_authenticates(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    struct cmd_sasl *t = cmd_sasl_create(-1);
    (void)state;

    assert_false(cmd_sasl_authenticated(s));
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    assert_true(cmd_sasl_authenticated(s));
    /* per connection: another one is still a stranger */
    assert_false(cmd_sasl_authenticated(t));
    assert_int_equal(plain(t, "other", "other-pw"), CMD_SASL_OK);
    assert_true(cmd_sasl_authenticated(t));
    cmd_sasl_destroy(s);
    cmd_sasl_destroy(t);
}

static void
wrong_password_fails(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    assert_int_equal(plain(s, "user", "secreT"), CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    assert_int_equal(plain(s, "user", "other-pw"), CMD_SASL_FAIL);
    assert_int_equal(plain(s, "user", ""), CMD_SASL_FAIL);
    /* the connection stays usable */
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
}

static void
unknown_user_fails(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    assert_int_equal(plain(s, "nobody-here", "secret"), CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
unknown_mechanism_fails(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out = NULL;
    size_t len = 99;
    (void)state;

    /* CRAM-MD5 exists in Cyrus but the config does not list it */
    assert_int_equal(cmd_sasl_start(s, "CRAM-MD5", 8, "x", 1, &out, &len),
                     CMD_SASL_FAIL);
    assert_int_equal(cmd_sasl_start(s, "NO-SUCH", 7, "x", 1, &out, &len),
                     CMD_SASL_FAIL);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
mechanism_names_are_not_case_sensitive_and_end_at_nul(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out;
    size_t len;
    (void)state;

    assert_int_equal(
        cmd_sasl_start(s, "plain", 5, "\0user\0secret", 12, &out, &len),
        CMD_SASL_OK);
    cmd_sasl_destroy(s);
    s = cmd_sasl_create(-1);
    assert_int_equal(
        cmd_sasl_start(s, "PLAIN\0junk", 10, "\0user\0secret", 12, &out, &len),
        CMD_SASL_OK);
    cmd_sasl_destroy(s);
}

static void
mechanism_name_longer_than_the_limit_fails_and_changes_nothing(void **state)
{
    char name[CMD_SASL_MECH_MAX + 1];
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out;
    size_t len;
    (void)state;

    memset(name, 'A', sizeof(name));
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    assert_int_equal(
        cmd_sasl_start(s, name, sizeof(name), "\0user\0secret", 12, &out, &len),
        CMD_SASL_FAIL);
    assert_true(cmd_sasl_authenticated(s));
    /* exactly the limit is a name Cyrus looks up (and does not know) */
    assert_int_equal(
        cmd_sasl_start(s, name, CMD_SASL_MECH_MAX, "x", 1, &out, &len),
        CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
step_without_start_fails(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out;
    size_t len;
    (void)state;

    assert_int_equal(
        cmd_sasl_step(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len),
        CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    /* nor after a start that failed */
    assert_int_equal(plain(s, "user", "bad"), CMD_SASL_FAIL);
    assert_int_equal(
        cmd_sasl_step(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len),
        CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
empty_initial_response_continues_and_a_step_finishes(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out = NULL;
    size_t len = 99;
    (void)state;

    assert_int_equal(cmd_sasl_start(s, "PLAIN", 5, NULL, 0, &out, &len),
                     CMD_SASL_CONTINUE);
    assert_non_null(out);
    assert_int_equal(len, 0);
    assert_false(cmd_sasl_authenticated(s));
    assert_int_equal(
        cmd_sasl_step(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len),
        CMD_SASL_OK);
    assert_true(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);

    s = cmd_sasl_create(-1);
    assert_int_equal(cmd_sasl_start(s, "PLAIN", 5, NULL, 0, &out, &len),
                     CMD_SASL_CONTINUE);
    assert_int_equal(
        cmd_sasl_step(s, "PLAIN", 5, "\0user\0wrong", 11, &out, &len),
        CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
list_start_and_step_each_clear_authentication(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out;
    size_t len;
    (void)state;

    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    assert_int_equal(cmd_sasl_list_mechs(s, &out, &len), CMD_SASL_OK);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);

    s = cmd_sasl_create(-1);
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    /* a finished exchange takes no more steps */
    assert_int_equal(
        cmd_sasl_step(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len),
        CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);

    s = cmd_sasl_create(-1);
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    assert_int_equal(plain(s, "user", "wrong"), CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
second_start_after_success_fails_once_then_works(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_FAIL);
    assert_false(cmd_sasl_authenticated(s));
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    assert_true(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

static void
destroy_accepts_null_and_unused_connections(void **state)
{
    (void)state;
    cmd_sasl_destroy(NULL);
    cmd_sasl_destroy(cmd_sasl_create(-1));
}

static void
step_key_longer_than_the_limit_fails_and_changes_nothing(void **state)
{
    char name[CMD_SASL_MECH_MAX + 1];
    struct cmd_sasl *s = cmd_sasl_create(-1);
    const char *out;
    size_t len;
    (void)state;

    memset(name, 'S', sizeof(name));
    assert_int_equal(cmd_sasl_start(s, "PLAIN", 5, NULL, 0, &out, &len),
                     CMD_SASL_CONTINUE);
    assert_int_equal(
        cmd_sasl_step(s, name, sizeof(name), "\0user\0secret", 12, &out, &len),
        CMD_SASL_FAIL);
    /* the exchange is still waiting for its step */
    assert_int_equal(cmd_sasl_step(s, name, CMD_SASL_MECH_MAX, "\0user\0secret",
                                   12, &out, &len),
                     CMD_SASL_OK);
    assert_true(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
}

/* Runs fn with stderr going to a file; returns what it printed. */
static char *
capture_stderr(void (*fn)(void))
{
    static char text[8192];
    char path[PATH_MAX + 16];
    int saved = dup(2);
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "%s/stderr", dir);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(saved >= 0 && fd >= 0);
    fflush(stderr);
    assert_int_equal(dup2(fd, 2), 2);
    fn();
    fflush(stderr);
    assert_int_equal(dup2(saved, 2), 2);
    close(saved);
    n = pread(fd, text, sizeof(text) - 1, 0);
    close(fd);
    assert_true(n >= 0);
    text[n] = '\0';
    return text;
}

static void
verbose_session(void)
{
    struct cmd_sasl_config cfg = {.conf_path = dir, .verbose = 1};
    struct cmd_sasl *s;
    const char *out;
    size_t len;

    assert_null(cmd_sasl_init(&cfg));
    s = cmd_sasl_create(24);
    cmd_sasl_start(s, "PLAIN", 5, "\0user\0bad", 9, &out, &len);
    cmd_sasl_start(s, "NOPE", 4, "x", 1, &out, &len);
    cmd_sasl_step(s, "PLAIN", 5, "x", 1, &out, &len);
    cmd_sasl_start(s, "PLAIN", 5, NULL, 0, &out, &len);
    cmd_sasl_step(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len);
    cmd_sasl_start(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len);
    cmd_sasl_destroy(s);
    cmd_sasl_deinit();
}

static void
verbose_prints_memcacheds_lines(void **state)
{
    char expect[PATH_MAX + 1024];
    (void)state;

    /* What memcached 1.6.18 -v prints for the same session. */
    snprintf(expect, sizeof(expect),
             "Reading configuration from: <%s>\n"
             "Initialized SASL.\n"
             "mech:  ``PLAIN'' with 9 bytes of data\n"
             "SASL (severity 2): Password verification failed\n"
             "sasl result code:  -13\n"
             "Unknown sasl response:  -13\n"
             "mech:  ``NOPE'' with 1 bytes of data\n"
             "SASL (severity 2): Couldn't find mech NOPE\n"
             "sasl result code:  -4\n"
             "Unknown sasl response:  -4\n"
             "mech:  ``PLAIN'' with 1 bytes of data\n"
             "24: SASL_STEP called but sasl_server_start not called for this "
             "connection!\n"
             "sasl result code:  -1\n"
             "Unknown sasl response:  -1\n"
             "mech:  ``PLAIN'' with 0 bytes of data\n"
             "sasl result code:  1\n"
             "mech:  ``PLAIN'' with 12 bytes of data\n"
             "sasl result code:  0\n"
             "mech:  ``PLAIN'' with 12 bytes of data\n"
             "SASL (severity 1): attempting server step after doneflag\n"
             "sasl result code:  -1\n"
             "Unknown sasl response:  -1\n",
             dir);
    assert_string_equal(capture_stderr(verbose_session), expect);
}

static void
quiet_session(void)
{
    struct cmd_sasl_config cfg = {.conf_path = dir};
    struct cmd_sasl *s;
    const char *out;
    size_t len;

    assert_null(cmd_sasl_init(&cfg));
    s = cmd_sasl_create(24);
    cmd_sasl_start(s, "PLAIN", 5, "\0user\0bad", 9, &out, &len);
    cmd_sasl_step(s, "PLAIN", 5, "x", 1, &out, &len);
    cmd_sasl_start(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len);
    cmd_sasl_start(s, "PLAIN", 5, "\0user\0secret", 12, &out, &len);
    cmd_sasl_destroy(s);
    cmd_sasl_deinit();
}

static void
without_verbose_only_cyrus_errors_are_printed(void **state)
{
    (void)state;
    assert_string_equal(
        capture_stderr(quiet_session),
        "SASL (severity 1): attempting server step after doneflag\n");
}

#define THREADS 4
#define ROUNDS  25

static void *
login_loop(void *arg)
{
    intptr_t ok = 1;

    (void)arg;
    for (int i = 0; i < ROUNDS; i++) {
        struct cmd_sasl *s = cmd_sasl_create(i);

        ok &= s != NULL && plain(s, "user", "wrong") == CMD_SASL_FAIL &&
              plain(s, i % 2 ? "other" : "user",
                    i % 2 ? "other-pw" : "secret") == CMD_SASL_OK &&
              cmd_sasl_authenticated(s);
        cmd_sasl_destroy(s);
    }
    return (void *)ok;
}

static void
connections_authenticate_from_many_threads_at_once(void **state)
{
    pthread_t t[THREADS];
    (void)state;

    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, login_loop, NULL), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        void *ok = NULL;

        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_true(ok == (void *)1);
    }
}

/* -- MEMCACHED_SASL_PWDB ------------------------------------------------ */

static void
pwdb_users_authenticate(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    assert_int_equal(plain(s, "alice", "wonder"), CMD_SASL_OK);
    assert_true(cmd_sasl_authenticated(s));
    cmd_sasl_destroy(s);
    s = cmd_sasl_create(-1);
    /* fields after the password are ignored; CR LF ends a line too */
    assert_int_equal(plain(s, "bob", "builder"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
    s = cmd_sasl_create(-1);
    assert_int_equal(plain(s, "carol", "crlf"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
}

static void
pwdb_refuses_wrong_passwords(void **state)
{
    static const char *const wrong[][2] = {
        {"alice", "wonde"},
        {"alice", "wonderland"},
        {"alice", "Wonder"},
        {"alice", "second-entry"},
        {"bob", "builder:ignored"},
        {"bob", "builder:ignored fields"},
        {"carol", "crlf\r"},
        {"nobody", "wonder"},
        {"a:b", "c"},
        {"a", "b@"},
        {"ali", "wonder"},
        {"alice", "no-realm"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
        struct cmd_sasl *s = cmd_sasl_create(-1);

        if (plain(s, wrong[i][0], wrong[i][1]) != CMD_SASL_FAIL) {
            fail_msg("%s:%s authenticated", wrong[i][0], wrong[i][1]);
        }
        assert_false(cmd_sasl_authenticated(s));
        cmd_sasl_destroy(s);
    }
}

static void
pwdb_falls_back_to_the_sasldb(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    /* "user" has one password in each: either works */
    assert_int_equal(plain(s, "user", "pwdb-pass"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
    s = cmd_sasl_create(-1);
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
    s = cmd_sasl_create(-1);
    assert_int_equal(plain(s, "other", "other-pw"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
}

static void
pwdb_users_are_unknown_without_it(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    assert_int_equal(plain(s, "alice", "wonder"), CMD_SASL_FAIL);
    assert_int_equal(plain(s, "user", "pwdb-pass"), CMD_SASL_FAIL);
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
}

static void
pwdb_is_read_at_every_check(void **state)
{
    struct cmd_sasl *s = cmd_sasl_create(-1);
    (void)state;

    write_pwdb("dave@~:first\n");
    assert_int_equal(plain(s, "dave", "first"), CMD_SASL_OK);
    write_pwdb("dave@~:second\n");
    assert_int_equal(plain(s, "dave", "first"), CMD_SASL_FAIL);
    assert_int_equal(plain(s, "dave", "second"), CMD_SASL_OK);
    assert_int_equal(unlink(pwdb), 0);
    assert_int_equal(plain(s, "dave", "second"), CMD_SASL_FAIL);
    /* the sasldb still answers */
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_OK);
    cmd_sasl_destroy(s);
}

/* -- init and the config search --------------------------------------- */

static void
config_from_env_reads_memcacheds_variables(void **state)
{
    struct cmd_sasl_config cfg = {.verbose = 3};
    (void)state;

    assert_int_equal(setenv("SASL_CONF_PATH", "/some/dir", 1), 0);
    assert_int_equal(unsetenv("MEMCACHED_SASL_PWDB"), 0);
    cmd_sasl_config_from_env(&cfg);
    assert_string_equal(cfg.conf_path, "/some/dir");
    assert_null(cfg.pwdb_path);
    assert_int_equal(cfg.verbose, 3);
    assert_int_equal(setenv("MEMCACHED_SASL_PWDB", "/some/file", 1), 0);
    assert_int_equal(unsetenv("SASL_CONF_PATH"), 0);
    cmd_sasl_config_from_env(&cfg);
    assert_null(cfg.conf_path);
    assert_string_equal(cfg.pwdb_path, "/some/file");
    assert_int_equal(unsetenv("MEMCACHED_SASL_PWDB"), 0);
}

static void
make_dir(const char *path)
{
    assert_int_equal(mkdir(path, 0700), 0);
}

static void
conf_search_takes_the_first_base_with_a_memcached_conf(void **state)
{
    char a[PATH_MAX + 8], b[PATH_MAX + 8], c[PATH_MAX + 8];
    char path[2 * PATH_MAX];
    char buf[PATH_MAX];
    const char *bases[] = {a, b, c, NULL};
    (void)state;

    snprintf(a, sizeof(a), "%s/a", dir);
    snprintf(b, sizeof(b), "%s/b", dir);
    snprintf(c, sizeof(c), "%s/c", dir);
    make_dir(a);
    make_dir(b);
    make_dir(c);
    assert_null(cmd_sasl_find_conf_dir(bases, buf, sizeof(buf)));

    snprintf(path, sizeof(path), "%s/memcached.conf", c);
    write_file(path, "mech_list: plain\n");
    assert_string_equal(cmd_sasl_find_conf_dir(bases, buf, sizeof(buf)), c);

    snprintf(path, sizeof(path), "%s/memcached.conf", b);
    write_file(path, "mech_list: plain\n");
    assert_string_equal(cmd_sasl_find_conf_dir(bases, buf, sizeof(buf)), b);

    /* memcached looks for a directory named memcached.conf first; it
     * only checks that the names exist */
    snprintf(path, sizeof(path), "%s/memcached.conf", a);
    make_dir(path);
    assert_string_equal(cmd_sasl_find_conf_dir(bases, buf, sizeof(buf)), a);
    snprintf(path, sizeof(path), "%s/memcached.conf/memcached.conf", a);
    write_file(path, "mech_list: plain\n");
    snprintf(path, sizeof(path), "%s/memcached.conf", a);
    assert_string_equal(cmd_sasl_find_conf_dir(bases, buf, sizeof(buf)), path);
    /* a result that does not fit is no result */
    assert_null(cmd_sasl_find_conf_dir(bases, buf, strlen(path)));
}

static void
init_fails_like_memcached_without_a_config(void **state)
{
    static const char *const etc[] = {"/etc/sasl", "/etc/sasl2", NULL};
    struct cmd_sasl_config cfg = {0};
    char buf[PATH_MAX];
    const char *err = cmd_sasl_init(&cfg);
    (void)state;

    /* This machine's /etc decides: with no memcached.conf there, init
     * must fail with memcached's message. */
    if (cmd_sasl_find_conf_dir(etc, buf, sizeof(buf)) == NULL) {
        assert_non_null(err);
        assert_string_equal(err, "Error initializing sasl.");
    } else {
        assert_null(err);
        cmd_sasl_deinit();
    }
    /* a failed init leaves the module ready for another */
    cfg.conf_path = dir;
    assert_null(cmd_sasl_init(&cfg));
    cmd_sasl_deinit();
}

static void
a_config_directory_without_memcached_conf_offers_cyrus_defaults(void **state)
{
    char empty[PATH_MAX + 8];
    struct cmd_sasl_config cfg = {.conf_path = empty};
    struct cmd_sasl *s;
    const char *out;
    size_t len;
    (void)state;

    snprintf(empty, sizeof(empty), "%s/empty", dir);
    make_dir(empty);
    assert_null(cmd_sasl_init(&cfg));
    s = cmd_sasl_create(-1);
    assert_int_equal(cmd_sasl_list_mechs(s, &out, &len), CMD_SASL_OK);
    assert_true(len > 5);
    assert_non_null(memmem(out, len, "PLAIN", 5));
    cmd_sasl_destroy(s);
    cmd_sasl_deinit();
}

static void
list_fails_when_no_mechanism_is_usable(void **state)
{
    char nomech[PATH_MAX + 8];
    char conf[2 * PATH_MAX];
    struct cmd_sasl_config cfg = {.conf_path = nomech};
    struct cmd_sasl *s;
    const char *out = NULL;
    size_t len = 99;
    (void)state;

    snprintf(nomech, sizeof(nomech), "%s/nomech", dir);
    make_dir(nomech);
    snprintf(conf, sizeof(conf), "%s/memcached.conf", nomech);
    write_file(conf, "mech_list: nosuch\n");
    assert_null(cmd_sasl_init(&cfg));
    s = cmd_sasl_create(-1);
    assert_int_equal(cmd_sasl_list_mechs(s, &out, &len), CMD_SASL_FAIL);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    assert_int_equal(plain(s, "user", "secret"), CMD_SASL_FAIL);
    cmd_sasl_destroy(s);
    cmd_sasl_deinit();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(lists_the_mechanisms_the_config_allows,
                                        init_plain, deinit),
        cmocka_unit_test_setup_teardown(
            plain_with_the_right_password_authenticates, init_plain, deinit),
        cmocka_unit_test_setup_teardown(wrong_password_fails, init_plain,
                                        deinit),
        cmocka_unit_test_setup_teardown(unknown_user_fails, init_plain, deinit),
        cmocka_unit_test_setup_teardown(unknown_mechanism_fails, init_plain,
                                        deinit),
        cmocka_unit_test_setup_teardown(
            mechanism_names_are_not_case_sensitive_and_end_at_nul, init_plain,
            deinit),
        cmocka_unit_test_setup_teardown(
            mechanism_name_longer_than_the_limit_fails_and_changes_nothing,
            init_plain, deinit),
        cmocka_unit_test_setup_teardown(step_without_start_fails, init_plain,
                                        deinit),
        cmocka_unit_test_setup_teardown(
            empty_initial_response_continues_and_a_step_finishes, init_plain,
            deinit),
        cmocka_unit_test_setup_teardown(
            list_start_and_step_each_clear_authentication, init_plain, deinit),
        cmocka_unit_test_setup_teardown(
            second_start_after_success_fails_once_then_works, init_plain,
            deinit),
        cmocka_unit_test_setup_teardown(
            destroy_accepts_null_and_unused_connections, init_plain, deinit),
        cmocka_unit_test_setup_teardown(
            step_key_longer_than_the_limit_fails_and_changes_nothing,
            init_plain, deinit),
        cmocka_unit_test_setup_teardown(
            connections_authenticate_from_many_threads_at_once, init_plain,
            deinit),
        cmocka_unit_test(verbose_prints_memcacheds_lines),
        cmocka_unit_test(without_verbose_only_cyrus_errors_are_printed),
        cmocka_unit_test_setup_teardown(pwdb_users_authenticate, init_with_pwdb,
                                        deinit),
        cmocka_unit_test_setup_teardown(pwdb_refuses_wrong_passwords,
                                        init_with_pwdb, deinit),
        cmocka_unit_test_setup_teardown(pwdb_falls_back_to_the_sasldb,
                                        init_with_pwdb, deinit),
        cmocka_unit_test_setup_teardown(pwdb_users_are_unknown_without_it,
                                        init_plain, deinit),
        cmocka_unit_test_setup_teardown(pwdb_is_read_at_every_check,
                                        init_with_pwdb, deinit),
        cmocka_unit_test(config_from_env_reads_memcacheds_variables),
        cmocka_unit_test(
            conf_search_takes_the_first_base_with_a_memcached_conf),
        cmocka_unit_test(init_fails_like_memcached_without_a_config),
        cmocka_unit_test(
            a_config_directory_without_memcached_conf_offers_cyrus_defaults),
        cmocka_unit_test(list_fails_when_no_mechanism_is_usable),
    };

    return cmocka_run_group_tests(tests, make_config, remove_config);
}
