/*
 * transport (plain) - a stream socket read and written with the socket
 * system calls. Nothing is buffered here, so pending() is always 0 and
 * the events to wait for are always EPOLLIN to read, EPOLLOUT to write.
 */
#include "net/transport.h"

#include <stdint.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The table's entries for the functions transport.h inlines. */
static ssize_t
plain_read(struct transport *t, void *p, size_t len)
{
    return transport_plain_read(t, p, len);
}

static ssize_t
plain_writev(struct transport *t, const struct iovec *iov, int n)
{
    return transport_plain_writev(t, iov, n);
}

static size_t
plain_pending(const struct transport *t)
{
    (void)t;
    return 0;
}

static void
plain_close(struct transport *t)
{
    if (t->fd >= 0) { /* -1: the socket was handed on (watch) */
        close(t->fd);
    }
    t->fd = -1;
}

const struct transport_ops transport_plain_ops = {
    .read = plain_read,
    .writev = plain_writev,
    .pending = plain_pending,
    .close = plain_close,
};

void
transport_plain_init(struct transport *t, int fd)
{
    t->ops = &transport_plain_ops;
    t->fd = fd;
    t->read_wants = EPOLLIN;
    t->write_wants = EPOLLOUT;
    t->state = NULL;
}
