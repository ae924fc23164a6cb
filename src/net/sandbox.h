/*
 * sandbox - -o drop_privileges: a seccomp filter, built with libseccomp,
 * that limits the whole process (every thread running and every thread
 * started later) to the system calls memoria makes once it serves. The
 * calls are listed once, in sandbox.c's table, each with its reason;
 * docs/SECURITY.md repeats the list. Any other call ends the process as
 * memcached's filter does: it traps (SIGSYS), memoria prints "Seccomp
 * policy failure. Caught syscall <n>. ..." and exits 1. No socket,
 * connect, fork, execve, ptrace, no file opened for writing.
 *
 * Called once, by main, on the main thread, when startup is over:
 * listeners bound, files read, worker, watch and engine threads started,
 * privileges dropped (-u), pid file written. There is no way back.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum sandbox_status {
    SANDBOX_OK = 0,
    SANDBOX_NO_FILTER, /* libseccomp could not build the filter */
    SANDBOX_NO_LOAD,   /* the kernel refused it (no seccomp, or no TSYNC) */
};

struct sandbox_config {
    /*
     * A daemon's -P file is removed at exit (main.c): allow unlink then,
     * and only then.
     */
    bool remove_pidfile;
};

/*
 * One allowed call: its name (as libseccomp and strace spell it), the
 * limit on its arguments in words ("any" when none), and why memoria
 * needs it once serving.
 */
struct sandbox_call {
    const char *name;
    const char *limit;
    const char *why;
};

/* The table, for docs and tests; sandbox_ncalls rows. */
extern const struct sandbox_call sandbox_calls[];
extern const size_t sandbox_ncalls;

/* Installs the filter on every thread of the process. */
enum sandbox_status sandbox_apply(const struct sandbox_config *cfg);
