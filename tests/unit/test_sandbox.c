/*
 * The seccomp filter of -o drop_privileges (net/sandbox.h). Each case
 * forks a child that installs the filter and then makes one kind of call:
 * an allowed one must leave the child alive (it exits 0), a forbidden one
 * must end it as memcached's filter does: status 1 after "Seccomp policy
 * failure. Caught syscall <n>. ..." on stderr. Children leave through the
 * exit_group system call itself, not exit or _exit, which a sanitizer
 * intercepts to do its exit-time work (LeakSanitizer's ptrace): that is not
 * what is under test.
 */
#include "unit.h"

#include "net/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The child's own exit status when a call it expected to work failed. */
#define CHILD_FAILED 3

typedef int (*child_fn)(void);

static const struct sandbox_config plain = {.remove_pidfile = false};
static const struct sandbox_config daemon_pid = {.remove_pidfile = true};

/*
 * Forks, runs fn under the filter in the child, returns its wait status;
 * what the child wrote on stderr goes to err (err_len bytes at most,
 * NUL-terminated).
 */
static int
run_sandboxed(const struct sandbox_config *cfg, child_fn fn, char *err,
              size_t err_len)
{
    int status = 0;
    int fds[2];
    size_t got = 0;
    ssize_t n;

#if defined(__SANITIZE_THREAD__)
    /*
     * TSan defers signal handlers to its next interceptor, so a trapped
     * call's SIGSYS handler runs late or never, and its runtime makes
     * calls of its own: the sandbox is not for TSan builds. This test
     * runs under ASan (make unit) and on the release build.
     */
    skip();
#endif
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        syscall(SYS_exit_group, sandbox_apply(cfg) == SANDBOX_OK ? fn() : 2);
    }
    close(fds[1]);
    while (got + 1 < err_len &&
           (n = read(fds[0], err + got, err_len - 1 - got)) > 0) {
        got += (size_t)n;
    }
    err[got] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static void
assert_survives(const struct sandbox_config *cfg, child_fn fn)
{
    char err[256];
    int status = run_sandboxed(cfg, fn, err, sizeof(err));

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fail_msg("child: %s %d", WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
}

static void
assert_killed(const struct sandbox_config *cfg, child_fn fn)
{
    char err[256];
    int status = run_sandboxed(cfg, fn, err, sizeof(err));

    if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) {
        fail_msg("child: %s %d, want exit 1",
                 WIFEXITED(status) ? "exit" : "signal",
                 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    }
    if (strncmp(err, "Seccomp policy failure. Caught syscall ", 39) != 0 ||
        strstr(err, ". This is either an exploit attempt, or your system "
                    "is not supported yet.\n") == NULL) {
        fail_msg("child's stderr: %s", err);
    }
}

/* ---- calls a serving memoria makes ---- */

static int
moves_bytes_and_memory(void)
{
    struct timespec ts;
    struct rusage ru;
    char buf[4];
    char *p = malloc(4 << 20); /* an mmap'd block */
    char *q = malloc(64);

    if (p == NULL || q == NULL) {
        return CHILD_FAILED;
    }
    memset(p, 1, 4 << 20);
    p = realloc(p, 8 << 20); /* mremap */
    free(p);
    free(q);
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 ||
        getrusage(RUSAGE_SELF, &ru) != 0 || getpid() <= 0) {
        return CHILD_FAILED;
    }
    /* a bad descriptor: EBADF, but the call itself is allowed */
    (void)read(-1, buf, sizeof(buf));
    if (write(STDERR_FILENO, "", 0) != 0) {
        return CHILD_FAILED;
    }
    return 0;
}

static void *
thread_main(void *arg)
{
    return arg;
}

static int
starts_and_joins_a_thread(void)
{
    pthread_t t;
    void *out = NULL;
    int v = 7;

    if (pthread_create(&t, NULL, thread_main, &v) != 0 ||
        pthread_join(t, &out) != 0 || out != &v) {
        return CHILD_FAILED;
    }
    return 0;
}

static int
reads_a_file(void)
{
    char buf[16];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || read(fd, buf, sizeof(buf)) <= 0) {
        return CHILD_FAILED;
    }
    close(fd);
    return 0;
}

static int
removes_a_file(void)
{
    /* nothing by that name: ENOENT says the call was let through */
    return unlink("/nonexistent/memoria-sandbox-pid") != 0 && errno == ENOENT
               ? 0
               : CHILD_FAILED;
}

/* ---- calls it never makes ---- */

static int
opens_a_socket(void)
{
    (void)socket(AF_INET, SOCK_STREAM, 0);
    return 0;
}

/* The trap's handler cannot be replaced, nor SIGSYS ignored. */
static int
replaces_the_trap_handler(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};

    (void)sigaction(SIGSYS, &sa, NULL);
    (void)socket(AF_INET, SOCK_STREAM, 0);
    return 0;
}

/* Other handlers still come and go (libevent restores its own). */
static int
changes_another_handler(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};

    return sigaction(SIGUSR2, &sa, NULL) == 0 ? 0 : CHILD_FAILED;
}

static int
runs_a_program(void)
{
    char *const argv[] = {"/bin/true", NULL};
    char *const envp[] = {NULL};

    (void)execve(argv[0], argv, envp);
    return 0;
}

static int
forks(void)
{
    if (fork() == 0) {
        syscall(SYS_exit_group, 0);
    }
    return 0;
}

static int
opens_a_file_for_writing(void)
{
    (void)open("/dev/null", O_WRONLY);
    return 0;
}

static int
creates_a_file(void)
{
    (void)open("/tmp/memoria-sandbox-never", O_RDONLY | O_CREAT, 0600);
    return 0;
}

static int
maps_executable_memory(void)
{
    (void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
    return 0;
}

static int
traces_a_process(void)
{
    (void)ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    return 0;
}

static int
signals_another_process(void)
{
    (void)kill(getppid(), 0);
    return 0;
}

/* ---- the cases ---- */

static void
a_sandboxed_process_moves_bytes_and_memory(void **state)
{
    (void)state;
    assert_survives(&plain, moves_bytes_and_memory);
}

/*
 * ASan's and TSan's runtimes make calls of their own when a thread starts
 * (sigaltstack, sched_getaffinity, their background thread's sleeps) that
 * memoria never makes: the sandbox is for the release build, which `make
 * wire-sandbox` runs this test on.
 */
static void
a_sandboxed_process_starts_threads(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    skip();
#endif
    assert_survives(&plain, starts_and_joins_a_thread);
}

static void
a_sandboxed_process_reads_files(void **state)
{
    (void)state;
    assert_survives(&plain, reads_a_file);
}

static void
a_daemon_removes_its_pid_file(void **state)
{
    (void)state;
    assert_survives(&daemon_pid, removes_a_file);
}

static void
unlink_kills_unless_a_daemon_has_a_pid_file(void **state)
{
    (void)state;
    assert_killed(&plain, removes_a_file);
}

static void
socket_kills(void **state)
{
    (void)state;
    assert_killed(&plain, opens_a_socket);
}

static void
execve_kills(void **state)
{
    (void)state;
    assert_killed(&plain, runs_a_program);
}

static void
fork_kills(void **state)
{
    (void)state;
    assert_killed(&plain, forks);
}

static void
opening_for_writing_kills(void **state)
{
    (void)state;
    assert_killed(&plain, opens_a_file_for_writing);
    assert_killed(&plain, creates_a_file);
}

static void
executable_memory_kills(void **state)
{
    (void)state;
    assert_killed(&plain, maps_executable_memory);
}

static void
ptrace_kills(void **state)
{
    (void)state;
    assert_killed(&plain, traces_a_process);
}

static void
signalling_another_process_kills(void **state)
{
    (void)state;
    assert_killed(&plain, signals_another_process);
}

static void
every_allowed_call_is_documented(void **state)
{
    char *text = unit_read_file("docs/SECURITY.md");
    char row[64];

    (void)state;
    for (size_t i = 0; i < sandbox_ncalls; i++) {
        snprintf(row, sizeof(row), "| `%s` |", sandbox_calls[i].name);
        if (strstr(text, row) == NULL) {
            print_message("docs/SECURITY.md has no row %s\n", row);
            fail();
        }
    }
    free(text);
}

static void
the_message_names_the_call(void **state)
{
    char err[256];
    char want[64];

    (void)state;
    assert_int_equal(
        WEXITSTATUS(run_sandboxed(&plain, opens_a_socket, err, sizeof(err))),
        1);
    snprintf(want, sizeof(want), "Caught syscall %d. ", (int)SYS_socket);
    assert_non_null(strstr(err, want));
}

static void
the_trap_handler_stays(void **state)
{
    char err[256];
    char want[64];

    (void)state;
    assert_survives(&plain, changes_another_handler);
    assert_killed(&plain, replaces_the_trap_handler);
    (void)run_sandboxed(&plain, replaces_the_trap_handler, err, sizeof(err));
    snprintf(want, sizeof(want), "Caught syscall %d. ", (int)SYS_rt_sigaction);
    assert_non_null(strstr(err, want));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_sandboxed_process_moves_bytes_and_memory),
        cmocka_unit_test(a_sandboxed_process_starts_threads),
        cmocka_unit_test(a_sandboxed_process_reads_files),
        cmocka_unit_test(a_daemon_removes_its_pid_file),
        cmocka_unit_test(unlink_kills_unless_a_daemon_has_a_pid_file),
        cmocka_unit_test(socket_kills),
        cmocka_unit_test(the_message_names_the_call),
        cmocka_unit_test(the_trap_handler_stays),
        cmocka_unit_test(execve_kills),
        cmocka_unit_test(fork_kills),
        cmocka_unit_test(opening_for_writing_kills),
        cmocka_unit_test(executable_memory_kills),
        cmocka_unit_test(ptrace_kills),
        cmocka_unit_test(signalling_another_process_kills),
        cmocka_unit_test(every_allowed_call_is_documented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
