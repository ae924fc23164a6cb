/*
 * The seccomp filter of -o drop_privileges (sandbox.h). Every call memoria
 * makes once serving, in any configuration, is in SANDBOX_CALLS below with
 * its reason; the list was taken with strace -f over the whole wire suite
 * (docs/SECURITY.md says how to redo that).
 */
#include "net/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel TLS socket level (linux/tls.h), for ssl_kernel_tls. */
#ifndef SOL_TLS
#define SOL_TLS 282
#endif

/*
 * What a row allows of its call's arguments. Rules with more than one
 * comparison are several libseccomp rules on the same call, any of which
 * allows it.
 */
enum rule {
    ANY,       /* any arguments */
    THREAD,    /* clone: a new thread (CLONE_THREAD), never a new process */
    NO_EXEC,   /* mmap, mprotect: never PROT_EXEC memory */
    RDONLY,    /* openat: no write access, no O_CREAT, no O_TRUNC */
    READ_SIZE, /* ioctl: FIONREAD only */
    FD_FLAGS,  /* fcntl: F_GETFD, F_SETFD, F_GETFL, F_SETFL only */
    OWN_PID,   /* tgkill: signals to our own threads (raise, abort) */
    NO_CLONE3, /* clone3: fails with ENOSYS, so glibc falls back to clone,
                  whose flags a filter can read */
    PIDFILE,   /* unlink: only when a daemon removes its -P file at exit */
    NOT_TRAP,  /* rt_sigaction: any signal but SIGSYS (the trap's handler
                  stays) */
    KTLS,      /* setsockopt: TCP_ULP and the SOL_TLS level only */
};

/* Each rule in words, for the table's `limit` column. */
#define LIMIT_ANY       "any"
#define LIMIT_THREAD    "CLONE_THREAD set: threads only"
#define LIMIT_NO_EXEC   "no PROT_EXEC"
#define LIMIT_RDONLY    "read-only: no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC"
#define LIMIT_READ_SIZE "FIONREAD only"
#define LIMIT_FD_FLAGS  "F_GETFD, F_SETFD, F_GETFL, F_SETFL only"
#define LIMIT_OWN_PID   "our own process only"
#define LIMIT_NO_CLONE3 "fails with ENOSYS (glibc then uses clone)"
#define LIMIT_PIDFILE   "only with -d and -P (the pid file, at exit)"
#define LIMIT_NOT_TRAP  "any signal but SIGSYS"
#define LIMIT_KTLS      "TCP_ULP and SOL_TLS options only"

/* clang-format off */
/*  call                rule      why                                      */
#define SANDBOX_CALLS(X)                                                     \
    /* connections */                                                      \
    X(accept4,          ANY,      "the main thread accepts (memcached, "     \
                                  "unix and metrics listeners)")             \
    X(listen,           ANY,      "-o no_maxconns_fast: accepts pause at "   \
                                  "the limit (backlog 0) and resume")        \
    X(recvfrom,         ANY,      "requests from TCP, unix and UDP sockets") \
    X(sendto,           ANY,      "a reply in one buffer")                   \
    X(sendmsg,          ANY,      "a reply gathered from several buffers")   \
    X(sendmmsg,         ANY,      "UDP replies, several datagrams a call")   \
    X(read,             ANY,      "eventfd wake-ups, libevent's signal "     \
                                  "pipe, files re-read")                     \
    X(readv,            ANY,      "libevent's buffers (metrics requests)")   \
    X(write,            ANY,      "eventfd wake-ups, stderr (-v), "          \
                                  "libevent's signal pipe")                  \
    X(writev,           ANY,      "libevent's buffers (metrics replies)")    \
    X(shutdown,         ANY,      "libevent ends a metrics connection")      \
    X(close,            ANY,      "closed connections, files re-read")       \
    X(getsockname,      ANY,      "stats conns, watch: the local address")   \
    X(getpeername,      ANY,      "stats conns, watch: the peer address")    \
    X(ioctl,            READ_SIZE,"libevent sizing a read (metrics)")        \
    X(fcntl,            FD_FLAGS, "close-on-exec of SASL's password "        \
                                  "database")                                \
    X(epoll_wait,       ANY,      "the event loops")                         \
    X(epoll_pwait,      ANY,      "the event loops (glibc's epoll_wait)")    \
    X(epoll_ctl,        ANY,      "connections entering and leaving a loop") \
    X(poll,             ANY,      "the watch thread's loop")                 \
    /* memory */                                                           \
    X(brk,              ANY,      "malloc")                                  \
    X(mmap,             NO_EXEC,  "malloc, slab pages, thread stacks")       \
    X(munmap,           ANY,      "free, thread stacks")                     \
    X(mremap,           ANY,      "realloc of large blocks")                 \
    X(mprotect,         NO_EXEC,  "malloc arenas growing")                   \
    X(madvise,          ANY,      "free, cache_memlimit (MADV_DONTNEED), "   \
                                  "huge pages, thread stacks")               \
    X(sysinfo,          ANY,      "glibc's qsort sizing its buffer")         \
    /* threads and signals */                                              \
    X(futex,            ANY,      "locks, condition variables, joins")       \
    X(sched_yield,      ANY,      "waiting for a pinned item to be freed")   \
    X(clone,            THREAD,   "threads started on demand (the LRU "      \
                                  "crawler after lru_crawler enable)")       \
    X(clone3,           NO_CLONE3,"glibc's first try at pthread_create")     \
    X(set_robust_list,  ANY,      "a new thread's start")                    \
    X(rseq,             ANY,      "a new thread's start (glibc)")            \
    X(exit,             ANY,      "a thread ends")                           \
    X(exit_group,       ANY,      "the process ends")                        \
    X(rt_sigprocmask,   ANY,      "pthread_create, abort")                   \
    X(rt_sigaction,     NOT_TRAP, "libevent restores signal handlers as "    \
                                  "the loop ends; abort")                    \
    X(rt_sigreturn,     ANY,      "the end of a signal handler")             \
    X(restart_syscall,  ANY,      "a sleep interrupted by a signal resumes") \
    X(getpid,           ANY,      "libevent's signal handler, raise, abort") \
    X(gettid,           ANY,      "raise, abort")                            \
    X(tgkill,           OWN_PID,  "raise, abort")                            \
    /* time */                                                             \
    X(clock_gettime,    ANY,      "the clock, where the vDSO cannot answer") \
    X(gettimeofday,     ANY,      "the clock, where the vDSO cannot answer") \
    X(clock_nanosleep,  ANY,      "the LRU crawler's sleep between items")   \
    /* files */                                                            \
    X(openat,           RDONLY,   "files read once serving: the -Y file and "\
                                  "TLS certificates (SIGHUP, refresh_certs)"  \
                                  ", SASL's password database, "             \
                                  "/etc/localtime, glibc's CPU count")       \
    X(newfstatat,       ANY,      "files read once serving")                 \
    X(fstat,            ANY,      "files read once serving")                 \
    X(lseek,            ANY,      "files read once serving")                 \
    X(pread64,          ANY,      "SASL's password database")                \
    X(unlink,           PIDFILE,  "a daemon removes its -P file at exit")    \
    /* the rest */                                                         \
    X(getrusage,        ANY,      "stats: rusage_user, rusage_system")       \
    X(getrandom,        ANY,      "OpenSSL (TLS handshakes)")                \
    X(setsockopt,       KTLS,     "ssl_kernel_tls: OpenSSL hands a TLS "     \
                                  "connection's keys to the kernel")         \
    X(recvmsg,          ANY,      "ssl_kernel_tls: records the kernel "      \
                                  "decrypted, with their type")
/* clang-format on */

#define SANDBOX_ROW(call, rule, why) {#call, LIMIT_##rule, why},
const struct sandbox_call sandbox_calls[] = {SANDBOX_CALLS(SANDBOX_ROW)};
#undef SANDBOX_ROW
const size_t sandbox_ncalls = sizeof(sandbox_calls) / sizeof(*sandbox_calls);

#define SANDBOX_RULE(call, rule, why) rule,
static const enum rule rules[] = {SANDBOX_CALLS(SANDBOX_RULE)};
#undef SANDBOX_RULE

/* The fcntl commands FD_FLAGS allows. */
static const int fd_cmds[] = {F_GETFD, F_SETFD, F_GETFL, F_SETFL};

/*
 * Adds the libseccomp rules of one row; 0 or a negative errno. Each
 * comparison spells out its second datum (0: unused by EQ and NE), which
 * libseccomp's macros would leave to a missing-field initializer.
 */
static int
add_row(scmp_filter_ctx ctx, int nr, enum rule rule,
        const struct sandbox_config *cfg)
{
    const uint32_t allow = SCMP_ACT_ALLOW;
    int rc = 0;

    switch (rule) {
    case ANY:
        return seccomp_rule_add(ctx, allow, nr, 0);
    case THREAD:
        return seccomp_rule_add(
            ctx, allow, nr, 1,
            SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
    case NO_EXEC:
        return seccomp_rule_add(ctx, allow, nr, 1,
                                SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    case RDONLY:
        return seccomp_rule_add(
            ctx, allow, nr, 1,
            SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
    case READ_SIZE:
        return seccomp_rule_add(ctx, allow, nr, 1,
                                SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0));
    case FD_FLAGS:
        for (size_t i = 0; rc == 0 && i < sizeof(fd_cmds) / sizeof(*fd_cmds);
             i++) {
            rc = seccomp_rule_add(ctx, allow, nr, 1,
                                  SCMP_A1(SCMP_CMP_EQ, fd_cmds[i], 0));
        }
        return rc;
    case OWN_PID:
        return seccomp_rule_add(
            ctx, allow, nr, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0));
    case NO_CLONE3:
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    case PIDFILE:
        return cfg->remove_pidfile ? seccomp_rule_add(ctx, allow, nr, 0) : 0;
    case NOT_TRAP:
        return seccomp_rule_add(ctx, allow, nr, 1,
                                SCMP_A0(SCMP_CMP_NE, (scmp_datum_t)SIGSYS, 0));
    case KTLS:
        rc =
            seccomp_rule_add(ctx, allow, nr, 2,
                             SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)IPPROTO_TCP, 0),
                             SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)TCP_ULP, 0));
        return rc != 0 ? rc
                       : seccomp_rule_add(
                             ctx, allow, nr, 1,
                             SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)SOL_TLS, 0));
    }
    return -EINVAL;
}

static int
add_rows(scmp_filter_ctx ctx, const struct sandbox_config *cfg)
{
    for (size_t i = 0; i < sandbox_ncalls; i++) {
        int nr = seccomp_syscall_resolve_name(sandbox_calls[i].name);

        /* A call this architecture lacks (epoll_wait on arm64) needs none. */
        if (nr == __NR_SCMP_ERROR) {
            continue;
        }
        int rc = add_row(ctx, nr, rules[i], cfg);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * A denied call: memcached's words on stderr with the call's number, then
 * the process ends with status 1, as a sandboxed memcached does. Only
 * async-signal-safe calls, and exit_group itself rather than _exit (a
 * sanitizer intercepts that to do its exit-time work).
 */
static void
on_denied(int sig, siginfo_t *si, void *uctx)
{
    static const char head[] = "Seccomp policy failure. Caught syscall ";
    static const char tail[] = ". This is either an exploit attempt, or "
                               "your system is not supported yet.\n";
    char msg[sizeof(head) + 16 + sizeof(tail)];
    char digits[12];
    size_t n = 0;
    size_t len = sizeof(head) - 1;
    unsigned nr = (unsigned)si->si_syscall;

    (void)sig;
    (void)uctx;
    do {
        digits[n++] = (char)('0' + nr % 10);
        nr /= 10;
    } while (nr != 0 && n < sizeof(digits));
    memcpy(msg, head, len);
    while (n > 0) {
        msg[len++] = digits[--n];
    }
    memcpy(msg + len, tail, sizeof(tail) - 1);
    len += sizeof(tail) - 1;
    ssize_t w = write(STDERR_FILENO, msg, len);
    (void)w; /* nothing to do about it: the process ends either way */
    syscall(SYS_exit_group, 1);
}

enum sandbox_status
sandbox_apply(const struct sandbox_config *cfg)
{
    /* SECCOMP_RET_TRAP: the call fails with SIGSYS, which on_denied takes. */
    const uint32_t deny = SCMP_ACT_TRAP;
    scmp_filter_ctx ctx = seccomp_init(deny);
    enum sandbox_status st = SANDBOX_NO_FILTER;
    struct sigaction sa = {.sa_sigaction = on_denied, .sa_flags = SA_SIGINFO};

    /*
     * The handler goes in first; the filter then refuses any change to it
     * (NOT_TRAP). Blocking SIGSYS does not help an attacker either: the
     * kernel then kills the process outright.
     */
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL) != 0) {
        if (ctx != NULL) {
            seccomp_release(ctx);
        }
        return SANDBOX_NO_FILTER;
    }
    /*
     * TSYNC: the filter goes onto every thread at once (workers, watch,
     * crawler); threads started later inherit it. A foreign architecture
     * (the 32-bit system call ABI) kills the process outright: its call
     * numbers would name the wrong calls.
     */
    if (ctx != NULL && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) == 0 &&
        seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) ==
            0 &&
        add_rows(ctx, cfg) == 0) {
        st = seccomp_load(ctx) == 0 ? SANDBOX_OK : SANDBOX_NO_LOAD;
    }
    if (ctx != NULL) {
        seccomp_release(ctx);
    }
    return st;
}
