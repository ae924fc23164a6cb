/*
 * transport - how a connection moves bytes: the seam between conn.c and
 * the socket. conn.c never calls recv/send itself; it calls through
 * struct transport, so another implementation plugs in without touching
 * cmd/ or proto/. Plain stream sockets (TCP and unix) use
 * transport_plain; TLS listeners (-Z) use tls.c's.
 *
 * The contract every implementation keeps:
 * - read() returns the bytes read (> 0), 0 when the peer has closed, or
 *   -1 with errno set; EAGAIN means "not now": read_wants then names the
 *   epoll events to wait for before reading again (EPOLLIN for a plain
 *   socket; a TLS read may need EPOLLOUT during a renegotiation).
 * - writev() returns the bytes taken (> 0) or -1 with errno; EAGAIN sets
 *   write_wants the same way (EPOLLOUT, or EPOLLIN for TLS).
 * - pending() counts bytes already inside the transport that the next
 *   read() returns without waiting. A read shorter than asked means
 *   "drained" only when pending() is 0 (always, for a plain socket; TLS
 *   keeps decrypted records).
 * - close() releases the descriptor (and leaves the epoll set with it).
 *
 * One per connection, used only by the connection's worker thread.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

struct transport;

struct transport_ops {
    ssize_t (*read)(struct transport *t, void *p, size_t len);
    ssize_t (*writev)(struct transport *t, const struct iovec *iov, int n);
    size_t (*pending)(const struct transport *t);
    void (*close)(struct transport *t);
};

struct transport {
    const struct transport_ops *ops;
    int fd;
    uint32_t read_wants;  /* epoll events that let the next read proceed */
    uint32_t write_wants; /* the same for the next write */
    void *state;          /* the implementation's own (TLS), NULL if plain */
};

/* A plain stream socket (TCP or unix): recv and send, nothing buffered. */
void transport_plain_init(struct transport *t, int fd);

/*
 * The plain socket's read and write, inline: most connections use them,
 * so the wrappers below call them directly when t->ops is the
 * plain table (transport.c), sparing the hot path an indirect call on
 * every read and write (about 5 instructions per request). Other
 * transports go through ops.
 *
 * The socket calls go through syscall(): glibc's wrappers of these
 * cancellation points toggle asynchronous cancellation around every call
 * (about 90 instructions per request), and our threads are never
 * cancelled. And recvfrom/sendto/sendmsg rather than read/writev: those
 * go through the VFS layer (fdget_pos, rw_verify_area, the iter
 * wrappers) before reaching the socket, about 100 ns more per request on
 * loopback.
 */
extern const struct transport_ops transport_plain_ops;

static inline ssize_t
transport_plain_read(struct transport *t, void *p, size_t len)
{
    return syscall(SYS_recvfrom, t->fd, p, len, 0, NULL, NULL);
}

/*
 * One contiguous reply, the common case, goes out with sendto(), which
 * also skips sendmsg's copy of the msghdr.
 */
static inline ssize_t
transport_plain_writev(struct transport *t, const struct iovec *iov, int n)
{
    if (n == 1) {
        return syscall(SYS_sendto, t->fd, iov[0].iov_base, iov[0].iov_len,
                       MSG_NOSIGNAL, NULL, 0);
    }
    struct msghdr msg = {.msg_iov = (struct iovec *)(uintptr_t)iov,
                         .msg_iovlen = (size_t)n};
    return syscall(SYS_sendmsg, t->fd, &msg, MSG_NOSIGNAL);
}

static inline ssize_t
transport_read(struct transport *t, void *p, size_t len)
{
    if (t->ops == &transport_plain_ops) {
        return transport_plain_read(t, p, len);
    }
    return t->ops->read(t, p, len);
}

static inline ssize_t
transport_writev(struct transport *t, const struct iovec *iov, int n)
{
    if (t->ops == &transport_plain_ops) {
        return transport_plain_writev(t, iov, n);
    }
    return t->ops->writev(t, iov, n);
}

static inline size_t
transport_pending(const struct transport *t)
{
    if (t->ops == &transport_plain_ops) {
        return 0; /* nothing buffered */
    }
    return t->ops->pending(t);
}

static inline void
transport_close(struct transport *t)
{
    t->ops->close(t);
}
