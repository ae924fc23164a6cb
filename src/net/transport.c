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

/*
 * The socket calls go through syscall(): glibc's wrappers of these
 * cancellation points toggle asynchronous cancellation around every call
 * (about 90 instructions per request), and our threads are never
 * cancelled. And recvfrom/sendto/sendmsg rather than read/writev: those
 * go through the VFS layer (fdget_pos, rw_verify_area, the iter
 * wrappers) before reaching the socket, about 100 ns more per request on
 * loopback.
 */
static ssize_t
plain_read(struct transport *t, void *p, size_t len)
{
    return syscall(SYS_recvfrom, t->fd, p, len, 0, NULL, NULL);
}

/*
 * One contiguous reply, the common case, goes out with sendto(), which
 * also skips sendmsg's copy of the msghdr.
 */
static ssize_t
plain_writev(struct transport *t, const struct iovec *iov, int n)
{
    if (n == 1) {
        return syscall(SYS_sendto, t->fd, iov[0].iov_base, iov[0].iov_len,
                       MSG_NOSIGNAL, NULL, 0);
    }
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)n};
    return syscall(SYS_sendmsg, t->fd, &msg, MSG_NOSIGNAL);
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

static const struct transport_ops plain_ops = {
    .read = plain_read,
    .writev = plain_writev,
    .pending = plain_pending,
    .close = plain_close,
};

void
transport_plain_init(struct transport *t, int fd)
{
    t->ops = &plain_ops;
    t->fd = fd;
    t->read_wants = EPOLLIN;
    t->write_wants = EPOLLOUT;
}
