"""Process life: the open-files limit, -u, -r, -k, -d and -P, -L and -o
slab_sizes, checked against what memcached 1.6.18 does.

Most of these need root (to start a server as another user, or to set
limits for it); they are skipped otherwise. A daemon (-d) is only ever
signalled by the pid its own pid file holds, and only while /proc shows
that pid running our binary.
"""

import grp
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

import wire
from wire import Conn, free_port, user_args

BIN = os.path.abspath(wire.BIN)     # servers below may start in another cwd

ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="needs root")

RLIMIT_MSG = ("failed to set rlimit for open files. Try starting as root "
              "or requesting smaller maxconns value.")
THP_PATH = "/sys/kernel/mm/transparent_hugepage/enabled"
WAIT = 10.0     # seconds any bounded wait below may take


def as_nobody(nofile=None, core=None, memlock=None):
    """preexec_fn: set the given (soft, hard) limits, then become nobody."""
    nobody = pwd.getpwnam("nobody")

    def run():
        os.setsid()
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
        if core is not None:
            resource.setrlimit(resource.RLIMIT_CORE, core)
        if memlock is not None:
            resource.setrlimit(resource.RLIMIT_MEMLOCK, memlock)
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    return run


class Proc:
    """A server started here with our own argv and preexec_fn."""

    def __init__(self, args, preexec=None, cwd=None, port=None):
        self.port = port or free_port()
        self.err = tempfile.TemporaryFile()
        self.argv = [BIN, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0"]
        self.argv += wire.sandbox_args() + args
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=self.err, stderr=self.err,
                                     preexec_fn=preexec, cwd=cwd)

    def stderr(self):
        # pread, not seek + read: the server shares this file's offset, and
        # moving it back would make its next line overwrite earlier ones.
        fd = self.err.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")

    def wait_exit(self):
        try:
            return self.proc.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail("server did not exit: %s" % self.stderr())

    def wait_serving(self):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("server exited (rc=%s): %s"
                            % (self.proc.returncode, self.stderr()))
            try:
                return Conn(self.port)
            except OSError:
                time.sleep(0.02)
        pytest.fail("server did not accept connections: %s" % self.stderr())

    def stop(self):
        """SIGTERM; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def procs():
    started = []

    def start(*args, **kw):
        p = Proc(list(args), **kw)
        started.append(p)
        return p
    yield start
    for p in started:
        p.stop()
        text = p.stderr()
        for mark in wire.SANITIZER_MARKS:
            assert mark not in text, text


def version(conn):
    conn.cmd("version")
    line = conn.readline()
    assert re.fullmatch(rb"VERSION \S+", line), line


def proc_limits(pid, name):
    """(soft, hard) of one line of /proc/<pid>/limits, as strings."""
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith(name):
                return tuple(line[len(name):].split()[:2])
    raise AssertionError("no %r in limits" % name)


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


# --------------------------------------------------------------------------
# the open-files limit: exactly -c, soft and hard


@needs_root
def test_starts_as_non_root_with_a_hard_open_files_limit_of_1024(procs):
    p = procs(preexec=as_nobody(nofile=(1024, 1024)))
    with p.wait_serving() as c:
        version(c)
        c.cmd("set k 0 0 1")
        c.cmd("v")
        assert c.readline() == b"STORED"
    assert proc_limits(p.proc.pid, "Max open files") == ("1024", "1024")


@needs_root
def test_maxconns_above_the_hard_limit_fails_for_a_non_root_user(procs):
    p = procs("-c", "2000", preexec=as_nobody(nofile=(1024, 1024)))
    assert p.wait_exit() == 71
    assert RLIMIT_MSG in p.stderr().splitlines(), p.stderr()


def test_open_files_limit_becomes_exactly_maxconns(procs):
    p = procs("-c", "1500", *user_args())
    with p.wait_serving() as c:
        version(c)
    assert proc_limits(p.proc.pid, "Max open files") == ("1500", "1500")


@needs_root
def test_open_files_limit_comes_before_the_root_check(procs):
    # above fs.nr_open even root cannot raise it; memcached says so first
    p = procs("-c", "100000000")
    assert p.wait_exit() == 71
    assert p.stderr().splitlines() == [RLIMIT_MSG], p.stderr()


# --------------------------------------------------------------------------
# -u


def _user_with_groups():
    """A user with supplementary groups, and its passwd entry."""
    for g in grp.getgrall():
        for name in g.gr_mem:
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                continue
            if pw.pw_gid != g.gr_gid:
                return pw
    return pwd.getpwnam("nobody")


@needs_root
def test_user_switch_takes_uid_and_gid_and_drops_supplementary_groups(procs):
    pw = _user_with_groups()
    p = procs("-u", pw.pw_name)
    with p.wait_serving() as c:
        version(c)
    st = proc_status(p.proc.pid)
    assert st["Uid"].split() == [str(pw.pw_uid)] * 4
    assert st["Gid"].split() == [str(pw.pw_gid)] * 4
    assert st["Groups"].split() == []


@needs_root
def test_user_switch_is_ignored_when_not_root(procs):
    p = procs("-u", "no-such-user-here", preexec=as_nobody())
    with p.wait_serving() as c:
        version(c)


# --------------------------------------------------------------------------
# -r, -k


@needs_root
def test_core_limit_fails_when_the_hard_limit_is_zero(procs):
    p = procs("-r", preexec=as_nobody(core=(0, 0)))
    assert p.wait_exit() == 71
    assert p.stderr().splitlines() == ["failed to ensure corefile creation"]


@needs_root
def test_core_limit_rises_to_the_hard_limit_when_unlimited_is_refused(procs):
    p = procs("-r", preexec=as_nobody(core=(0, 1 << 20)))
    with p.wait_serving() as c:
        version(c)
    assert proc_limits(p.proc.pid, "Max core file size") == (
        str(1 << 20), str(1 << 20))


@needs_root
def test_core_limit_as_root_is_unlimited(procs):
    p = procs("-r", *user_args())
    with p.wait_serving() as c:
        version(c)
    assert proc_limits(p.proc.pid, "Max core file size") == (
        "unlimited", "unlimited")


def _sanitized():
    """Sanitizer runtimes turn mlockall into a no-op that succeeds."""
    with open(BIN, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data


@needs_root
@pytest.mark.skipif(_sanitized(), reason="the sanitizer runtime skips mlockall")
def test_failed_mlockall_only_warns(procs):
    p = procs("-k", preexec=as_nobody(memlock=(65536, 65536)))
    with p.wait_serving() as c:
        version(c)
    assert ("warning: -k invalid, mlockall() failed: Cannot allocate memory"
            in p.stderr().splitlines()), p.stderr()


# --------------------------------------------------------------------------
# -P without -d


def test_pid_file_is_written_and_left_behind_without_daemon(procs, tmp_path):
    pidfile = tmp_path / "memd.pid"
    p = procs("-P", str(pidfile), *user_args())
    with p.wait_serving() as c:
        version(c)
    assert pidfile.read_text() == "%d\n" % p.proc.pid
    assert not (tmp_path / "memd.pid.tmp").exists()
    assert p.stop() == 0
    assert pidfile.read_text() == "%d\n" % p.proc.pid


@pytest.mark.parametrize("content,warns", [
    ("{me}\n", True),
    ("{me} trailing words\n", True),
    ("{me}", True),
    ("{me}x\n", False),
    ("-1\n", False),
    ("garbage\n", False),
])
def test_pid_file_naming_a_running_process_warns(procs, tmp_path, content, warns):
    pidfile = tmp_path / "memd.pid"
    pidfile.write_text(content.format(me=os.getpid()))
    p = procs("-P", str(pidfile), *user_args())
    with p.wait_serving() as c:
        version(c)
    line = ("WARNING: The pid file contained the following (running) pid: %d"
            % os.getpid())
    assert (line in p.stderr().splitlines()) == warns, p.stderr()
    assert pidfile.read_text() == "%d\n" % p.proc.pid


# --------------------------------------------------------------------------
# -d


def _running_ours(pid):
    """True while pid is a live (not zombie) process running our binary."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return False
    return state != "Z" and os.path.realpath(exe) == os.path.realpath(BIN)


def _wait_for(pred, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    pytest.fail("timed out waiting for " + what)


class Daemon:
    """A -d server; only ever signalled through the pid in its pid file."""

    def __init__(self, tmp, args, cwd=None, stderr_path=None):
        self.pidfile = tmp / "memd.pid"
        self.port = free_port()
        self.pid = None
        argv = [BIN, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
                "-d", "-P", str(self.pidfile)] + user_args()
        argv += wire.sandbox_args() + args
        err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        try:
            parent = subprocess.run(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err,
                                    cwd=cwd, timeout=WAIT)
        finally:
            if stderr_path:
                err.close()
        self.parent_rc = parent.returncode
        assert self.parent_rc == 0
        _wait_for(lambda: self.pidfile.exists(), "the pid file")
        self.pid = int(self.pidfile.read_text())
        assert _running_ours(self.pid)

    def signal(self, sig):
        if self.pid is not None and _running_ours(self.pid):
            os.kill(self.pid, sig)

    def wait_gone(self):
        _wait_for(lambda: not _running_ours(self.pid), "the daemon to exit")

    def cleanup(self):
        if self.pid is not None and _running_ours(self.pid):
            os.kill(self.pid, signal.SIGKILL)


@pytest.fixture
def daemons():
    made = []

    def make(*a, **kw):
        d = Daemon(*a, **kw)
        made.append(d)
        return d
    yield make
    for d in made:
        d.cleanup()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGUSR1],
                         ids=["TERM", "INT", "USR1"])
def test_daemon_serves_writes_its_pid_and_removes_it_on_exit(daemons, tmp_path, sig):
    d = daemons(tmp_path, [], cwd=str(tmp_path))
    assert d.pid != os.getpid()
    st = proc_status(d.pid)
    assert st["PPid"] != str(os.getpid())
    with Conn(d.port) as c:
        version(c)
    # a session of its own, in /, standard streams on /dev/null
    assert os.getsid(d.pid) == d.pid
    assert os.readlink("/proc/%d/cwd" % d.pid) == "/"
    for fd in (0, 1, 2):
        assert os.readlink("/proc/%d/fd/%d" % (d.pid, fd)) == "/dev/null"
    d.signal(sig)
    d.wait_gone()
    _wait_for(lambda: not d.pidfile.exists(), "the pid file to go")


def test_daemon_survives_sighup(daemons, tmp_path):
    d = daemons(tmp_path, [])
    d.signal(signal.SIGHUP)
    with Conn(d.port) as c:
        version(c)
    assert _running_ours(d.pid)
    d.signal(signal.SIGTERM)
    d.wait_gone()


def test_daemon_with_core_files_and_verbose_keeps_cwd_and_stderr(daemons, tmp_path):
    errpath = tmp_path / "stderr.txt"
    d = daemons(tmp_path, ["-r", "-v"], cwd=str(tmp_path), stderr_path=str(errpath))
    with Conn(d.port) as c:
        version(c)
    assert os.readlink("/proc/%d/cwd" % d.pid) == str(tmp_path)
    assert os.readlink("/proc/%d/fd/0" % d.pid) == "/dev/null"
    assert os.readlink("/proc/%d/fd/2" % d.pid) == str(errpath)
    d.signal(signal.SIGTERM)
    d.wait_gone()
    _wait_for(lambda: not d.pidfile.exists(), "the pid file to go")
    text = errpath.read_text()
    assert "Exiting normally" in text.splitlines(), text
    for mark in wire.SANITIZER_MARKS:
        assert mark not in text, text


# --------------------------------------------------------------------------
# -L


def _thp_usable():
    try:
        with open(THP_PATH) as f:
            return "[never]" not in f.read()
    except OSError:
        return False


LARGE_REFUSED = ["Will use default page size.",
                 "Cannot enable large pages on this system",
                 "(There is no support as of this version)"]


def test_large_pages_start_as_the_kernel_allows(procs):
    p = procs("-L", "-m", "64", *user_args())
    if not _thp_usable():
        assert p.wait_exit() == 1
        assert p.stderr().splitlines()[-3:] == LARGE_REFUSED, p.stderr()
        return
    with p.wait_serving() as c:
        value = b"L" * 5000
        for i in range(50):
            c.cmd("set k%d 0 0 %d" % (i, len(value)))
            c.send(value + b"\r\n")
            assert c.readline() == b"STORED"
        c.cmd("get k7")
        assert c.readline() == b"VALUE k7 0 5000"
        assert c.readline() == value
        assert c.readline() == b"END"
    assert p.stderr() == ""


@pytest.mark.skipif(not _thp_usable(), reason="transparent huge pages are off")
def test_large_pages_print_the_huge_page_size_at_vv(procs):
    size = None
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Hugepagesize:"):
                size = int(line.split()[1]) * 1024
    p = procs("-L", "-vv", *user_args())
    with p.wait_serving() as c:
        version(c)
    assert "huge page size: %d" % size in p.stderr().splitlines(), p.stderr()


def _overcommit_heuristic():
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            return f.read().strip() == "0"
    except OSError:
        return False


@pytest.mark.skipif(not (_thp_usable() and _overcommit_heuristic()),
                    reason="needs THP and the overcommit heuristic")
def test_large_pages_that_cannot_be_reserved_only_warn(procs):
    # 10 TB: more than memory + swap, so the kernel refuses the mapping
    p = procs("-L", "-m", "10000000", *user_args())
    with p.wait_serving() as c:
        c.cmd("set k 0 0 1")
        c.cmd("v")
        assert c.readline() == b"STORED"
    assert p.stderr().splitlines() == [
        "Failed to get aligned memory chunk: 12",
        "Warning: Failed to allocate requested memory in one large chunk.",
        "Will allocate in smaller chunks"], p.stderr()


def _in_mount_namespace(setup, argv):
    """Runs argv after `setup` (shell) in a private mount namespace."""
    unshare = shutil.which("unshare")
    if not ROOT or unshare is None:
        pytest.skip("needs root and unshare")
    script = setup + ' && exec "$@"'
    try:
        p = subprocess.run([unshare, "-m", "sh", "-c", script, "sh"] + argv,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=WAIT)
    except subprocess.TimeoutExpired:
        pytest.fail("the server started although it should not have")
    err = p.stderr.decode(errors="replace")
    if p.returncode != 1 and ("mount" in err or "unshare" in err):
        pytest.skip("cannot set up a mount namespace: " + err)
    return p.returncode, err


@pytest.mark.parametrize("content,reason", [
    ("always madvise [never]\n", "Transparent huge pages support disabled."),
    ("", "Transparent huge pages could not read the configuration."),
    (None, "Transparent huge pages support not detected."),
], ids=["never", "empty", "missing"])
def test_large_pages_are_refused_without_transparent_huge_pages(tmp_path, content, reason):
    if not os.path.exists(THP_PATH):
        pytest.skip("this kernel has no THP setting to stand in for")
    if content is None:
        setup = "mount -t tmpfs none %s" % os.path.dirname(THP_PATH)
    else:
        fake = tmp_path / "enabled"
        fake.write_text(content)
        setup = "mount --bind %s %s" % (fake, THP_PATH)
    argv = [BIN, "-l", "127.0.0.1", "-p", str(free_port()), "-U", "0", "-L"]
    rc, err = _in_mount_namespace(setup, argv + user_args())
    assert rc == 1, err
    assert err.splitlines() == [reason] + LARGE_REFUSED, err


# --------------------------------------------------------------------------
# -o slab_sizes


def test_slab_sizes_set_the_classes_meta_debug_reports(shared_server):
    srv = shared_server("-o", "slab_sizes=100-200-301-1000")
    # value length -> memcached's class with those sizes (104 200 304 1000
    # and the 524288 of slab_chunk_max): item size 48 + key + value + ...
    want = {1: 1, 40: 1, 60: 2, 150: 3, 900: 4, 2000: 5, 600000: 5}
    with srv.connect() as c:
        for n, cls in want.items():
            value = b"s" * n
            c.cmd("set sz%d 0 0 %d" % (n, n))
            c.send(value + b"\r\n")
            assert c.readline() == b"STORED"
            c.cmd("me sz%d" % n)
            line = c.readline()
            assert re.search(rb" cls=%d " % cls, line), (n, line)
            c.cmd("get sz%d" % n)
            assert c.readline() == b"VALUE sz%d 0 %d" % (n, n)
            assert c.read_exact(n + 2) == value + b"\r\n"
            assert c.readline() == b"END"
