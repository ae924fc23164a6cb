#include "cmd/auth.h"

#include "cmd/cmd.h"
#include "proto/authfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct cmd_auth {
    pthread_mutex_t lock; /* guards table */
    struct authfile table;
};

struct cmd_auth *
cmd_auth_create(void)
{
    struct cmd_auth *a = calloc(1, sizeof(*a));

    if (a == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void
cmd_auth_destroy(struct cmd_auth *a)
{
    if (a == NULL) {
        return;
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/*
 * The file's first `cap` bytes (all that can matter). A read error ends
 * the data where it happened, as memcached's fgets loop ends: a
 * directory reads as an empty file.
 */
static size_t
read_prefix(int fd, char *buf, size_t cap)
{
    size_t got = 0;

    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += (size_t)n;
    }
    return got;
}

/* What a load builds before it takes the lock. */
struct load {
    char data[AUTHFILE_READ_MAX];
    struct authfile table;
};

enum cmd_auth_load
cmd_auth_load(struct cmd_auth *a, const char *path)
{
    struct load *l = malloc(sizeof(*l));
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || l == NULL) {
        int err = fd < 0 ? errno : ENOMEM;
        if (fd >= 0) {
            close(fd);
        }
        free(l);
        errno = err;
        return CMD_AUTH_NO_FILE;
    }
    size_t len = read_prefix(fd, l->data, sizeof(l->data));
    close(fd);
    enum authfile_status st = authfile_parse(l->data, len, &l->table);
    if (st == AUTHFILE_OK) {
        pthread_mutex_lock(&a->lock);
        a->table = l->table;
        pthread_mutex_unlock(&a->lock);
    }
    free(l);
    return st == AUTHFILE_OK ? CMD_AUTH_LOADED : CMD_AUTH_MALFORMED;
}

bool
cmd_auth_check(struct cmd_ctx *c, struct slice user, struct slice pass)
{
    struct cmd_auth *a = c->srv->auth;

    pthread_mutex_lock(&a->lock);
    bool ok = authfile_check(&a->table, user, pass);
    pthread_mutex_unlock(&a->lock);
    STATS_INCR(c->st, auth_cmds);
    if (!ok) {
        STATS_INCR(c->st, auth_errors);
    }
    return ok;
}
