"""Helpers shared by the wire tests: starting a server, talking to it.

The server binary comes from one variable: MEMCACHED_BIN set means we are
testing the reference (`REF` is true); otherwise MEMORIA_BIN, by default
<repo>/build/asan/memoria.
"""

import os
import pwd
import re
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REF = bool(os.environ.get("MEMCACHED_BIN"))
BIN = (os.environ.get("MEMCACHED_BIN") or os.environ.get("MEMORIA_BIN")
       or str(REPO / "build" / "asan" / "memoria"))

# Any of these in a server's stderr fails the test that owned the server.
SANITIZER_MARKS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "WARNING: ThreadSanitizer",
)

IO_TIMEOUT = 5.0       # seconds one read may wait for expected bytes
START_TIMEOUT = 10.0   # seconds a server may take to accept connections
STOP_TIMEOUT = 10.0    # seconds between SIGTERM and SIGKILL


# MEMORIA_SANDBOX=1 (make wire-sandbox): every memoria server the suite
# starts runs under the seccomp filter, `-o drop_privileges` (before the
# test's own flags, which may say no_drop_privileges). Never the reference.
SANDBOX = os.environ.get("MEMORIA_SANDBOX") == "1"


class WireError(AssertionError):
    pass


def sandbox_args():
    """`-o drop_privileges` when MEMORIA_SANDBOX=1 and BIN is memoria."""
    if SANDBOX and not REF and "memoria" in os.path.basename(BIN):
        return ["-o", "drop_privileges"]
    return []


def user_args():
    """memcached refuses to run as root without -u."""
    if os.geteuid() == 0:
        return ["-u", pwd.getpwuid(os.geteuid()).pw_name]
    return []


def _die_with_parent():
    """In the child before exec: get SIGTERM when the test process dies, so
    a crashed or killed test run leaves no servers behind (Linux only)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_binary(args, timeout=10.0):
    """Run the binary to completion (option validation, -V).

    Returns (exit code, stdout, stderr) as text."""
    p = subprocess.run([BIN] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=timeout)
    return (p.returncode, p.stdout.decode(errors="replace"),
            p.stderr.decode(errors="replace"))


class Server:
    """One server process we started; only ever stopped by its PID."""

    def __init__(self, flags=(), listen=True, env=None):
        self.flags = list(flags)
        self.listen = listen   # False: no -l (default listen address)
        self.env = env         # variables added to the server's environment
        self.proc = None
        self.port = None
        self.stderr_path = None
        self.argv = None
        self.reported = 0      # stderr bytes already checked
        self.exit_expected = False
        self.term_sent = False

    # -- lifecycle --------------------------------------------------------
    def start(self):
        fd, self.stderr_path = tempfile.mkstemp(prefix="memtest-", suffix=".err")
        os.close(fd)
        last = ""
        for _ in range(8):
            self.port = free_port()
            argv = [BIN]
            if self.listen:
                argv += ["-l", "127.0.0.1"]
            argv += ["-p", str(self.port), "-U", "0"] + user_args()
            argv += sandbox_args() + self.flags
            self.argv = argv
            with open(self.stderr_path, "wb"):
                pass
            self.term_sent = False
            with open(self.stderr_path, "ab") as err:
                self.proc = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                    env=dict(os.environ, **self.env) if self.env else None,
                    start_new_session=True, preexec_fn=_die_with_parent)
            if self._wait_accepting():
                return self
            last = self.stderr()
            self._reap()
            self.proc = None
            if "listen" in last or "in use" in last or "bind" in last:
                continue      # somebody took the port meanwhile: retry
            break
        raise WireError("server did not start: %s\n%s" % (" ".join(self.argv), last))

    def _wait_accepting(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def terminate(self):
        """Send SIGTERM without waiting (stop() then waits)."""
        if self.alive():
            self.term_sent = True
            self.proc.send_signal(signal.SIGTERM)

    def _reap(self):
        """SIGTERM, wait, SIGKILL. Returns (exit code, killed)."""
        if self.proc is None:
            return None, False
        killed = False
        if self.proc.poll() is None:
            if not self.term_sent:
                self.term_sent = True
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                killed = True
        return self.proc.returncode, killed

    def stop(self):
        """Stop the process; returns the list of problems found (empty if ok).

        Set `exit_expected` before stopping a server that a test made exit
        on purpose."""
        problems = []
        if self.proc is None:
            return problems
        if (self.proc.poll() is not None and not self.exit_expected
                and not self.term_sent):
            problems.append("server exited before the end of the test (rc=%s)"
                            % self.proc.returncode)
        rc, killed = self._reap()
        if killed:
            problems.append("server ignored SIGTERM for %ss and was killed" % STOP_TIMEOUT)
        elif rc is not None and rc < 0 and rc != -signal.SIGTERM:
            problems.append("server died with signal %d" % -rc)
        elif rc and not self.exit_expected:
            problems.append("server exited with status %d after SIGTERM" % rc)
        problems += self.sanitizer_problems()
        if problems:
            problems.insert(0, repr(self))
        return problems

    def cleanup(self):
        if self.stderr_path:
            try:
                os.unlink(self.stderr_path)
            except OSError:
                pass

    # -- health -----------------------------------------------------------
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except (OSError, TypeError):
            return ""

    def sanitizer_problems(self):
        """Sanitizer reports printed since the last call."""
        text = self.stderr()
        done, self.reported = self.reported, len(text)
        for mark in SANITIZER_MARKS:
            i = text.find(mark, max(0, done - len(mark) + 1))
            if i >= 0:
                return ["sanitizer report in server stderr:\n"
                        + text[max(0, min(i, done) - 200):][-8000:]]
        return []

    def check(self):
        """Raise if the server died or printed a sanitizer report."""
        problems = self.sanitizer_problems()
        if not self.alive():
            problems.append("server %s exited (rc=%s); stderr:\n%s" % (
                " ".join(self.argv), self.proc.returncode, self.stderr()[-8000:]))
        if problems:
            raise WireError("\n".join(problems))

    # -- clients ----------------------------------------------------------
    def connect(self, timeout=IO_TIMEOUT):
        return Conn(self.port, timeout)

    def stats(self, sub=""):
        with self.connect() as c:
            return c.stats(sub)

    def __repr__(self):
        return "<Server %s pid=%s>" % (" ".join(self.argv or []),
                                        self.proc.pid if self.proc else None)


class Conn:
    """A text-protocol client connection with exact, buffered reads."""

    def __init__(self, port, timeout=IO_TIMEOUT, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # -- raw I/O ------------------------------------------------------------
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        """Send one command line (CRLF appended)."""
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out")
        self.sock.settimeout(left)
        data = self.sock.recv(1 << 20)
        if not data:
            raise EOFError("connection closed by server")
        self.buf += data

    def read_until(self, end, timeout=None):
        """Bytes up to and including `end` (a dump's END, a watch line)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while end not in self.buf:
            self._fill(deadline)
        i = self.buf.index(end) + len(end)
        data, self.buf = self.buf[:i], self.buf[i:]
        return data

    CRAWLER_BUSY = b"BUSY currently processing crawler request\r\n"

    def dump_or_busy(self, timeout=30.0):
        """A dump's bytes up to END, or None for memcached's BUSY line (its
        crawler answers a dump with BUSY while a crawl is still running)."""
        deadline = time.monotonic() + timeout
        while b"END\r\n" not in self.buf and not self.buf.startswith(self.CRAWLER_BUSY):
            self._fill(deadline)
        if self.buf.startswith(self.CRAWLER_BUSY):
            self.buf = self.buf[len(self.CRAWLER_BUSY):]
            return None
        return self.read_until(b"END\r\n", timeout)

    def dump_when_idle(self, cmd, timeout=20.0):
        """Sends a dump command until the crawler takes it (memcached answers
        BUSY while a crawl of its own runs) and returns the dump's bytes."""
        deadline = time.monotonic() + timeout
        while True:
            self.cmd(cmd)
            dump = self.dump_or_busy(timeout)
            if dump is not None:
                return dump
            assert time.monotonic() < deadline, "crawler still BUSY"
            time.sleep(0.05)

    def read_exact(self, n, timeout=None, expect=None):
        """Read exactly n bytes. With `expect`, fail as soon as the bytes
        received can no longer be a prefix of it."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            if expect is not None and not expect.startswith(self.buf):
                break
            try:
                self._fill(deadline)
            except (socket.timeout, EOFError, ConnectionError) as e:
                raise WireError("wanted %d bytes%s, got %d before %s: %r" % (
                    n, "" if expect is None else " %r" % short(expect),
                    len(self.buf), e, short(self.buf)))
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def readline(self, timeout=None):
        """Read one line ending in \\n; returns it without the \\r\\n.
        Raises if the line does not end in \\r\\n."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while b"\n" not in self.buf:
            try:
                self._fill(deadline)
            except (socket.timeout, EOFError, ConnectionError) as e:
                raise WireError("wanted a line, got %r before %s" % (short(self.buf), e))
        i = self.buf.index(b"\n")
        line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        if not line.endswith(b"\r\n"):
            raise WireError("line not terminated by CRLF: %r" % short(line))
        return line[:-2]

    def expect(self, data):
        """The next bytes must be exactly `data`."""
        if isinstance(data, str):
            data = data.encode()
        got = self.read_exact(len(data), expect=data)
        if got != data:
            raise WireError("expected %r, got %r" % (short(data), short(got)))

    def expect_line(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.expect(line + b"\r\n")

    def expect_closed(self, timeout=None):
        """The server must close the connection without sending anything more."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            if self.buf:
                raise WireError("expected close, got %r" % short(self.buf))
            try:
                self._fill(deadline)
            except EOFError:
                return
            except ConnectionResetError:
                return
            except socket.timeout:
                raise WireError("expected the server to close the connection")

    def pending(self, grace=0.2):
        """Bytes that arrive within `grace` seconds (plus buffered ones)."""
        if grace <= 0:         # only what has already arrived
            self.sock.setblocking(False)
            try:
                while True:
                    data = self.sock.recv(1 << 20)
                    if not data:
                        break
                    self.buf += data
            except (BlockingIOError, ConnectionError):
                pass
            finally:
                self.sock.settimeout(self.timeout)
        else:
            deadline = time.monotonic() + grace
            try:
                while True:
                    self._fill(deadline)
            except (socket.timeout, EOFError, ConnectionError):
                pass
        data, self.buf = self.buf, b""
        return data

    def assert_quiet(self, grace=0.2):
        extra = self.pending(grace)
        if extra:
            raise WireError("unexpected extra bytes from server: %r" % short(extra))

    # -- protocol helpers --------------------------------------------------
    def call(self, line):
        """One command, one reply line."""
        self.cmd(line)
        return self.readline().decode(errors="replace")

    def store(self, cmd, key, value, flags=0, exptime=0, cas=None, noreply=False):
        if isinstance(key, str):
            key = key.encode()
        if isinstance(value, str):
            value = value.encode()
        line = b"%s %s %d %d %d" % (cmd.encode(), key, flags, exptime, len(value))
        if cas is not None:
            line += b" %d" % cas
        if noreply:
            line += b" noreply"
        self.send(line + b"\r\n" + value + b"\r\n")
        if noreply:
            return None
        return self.readline().decode()

    def set(self, key, value, flags=0, exptime=0, noreply=False):
        return self.store("set", key, value, flags, exptime, noreply=noreply)

    def read_values(self, with_cas=False):
        """Read VALUE blocks up to END: {key: (flags, value[, cas])}, list order."""
        out = []
        while True:
            line = self.readline()
            if line == b"END":
                return out
            parts = line.split(b" ")
            if parts[0] != b"VALUE" or len(parts) != (5 if with_cas else 4):
                raise WireError("unexpected line in get reply: %r" % short(line))
            n = int(parts[3])
            data = self.read_exact(n + 2)
            if data[-2:] != b"\r\n":
                raise WireError("value not terminated by CRLF: %r" % short(data))
            item = (parts[1], int(parts[2]), data[:-2])
            if with_cas:
                item += (int(parts[4]),)
            out.append(item)

    def get(self, key):
        """Value bytes of one key, or None."""
        if isinstance(key, str):
            key = key.encode()
        self.send(b"get " + key + b"\r\n")
        vals = self.read_values()
        if not vals:
            return None
        assert len(vals) == 1 and vals[0][0] == key, vals
        return vals[0][2]

    def gets(self, key):
        """(flags, value, cas) of one key, or None."""
        if isinstance(key, str):
            key = key.encode()
        self.send(b"gets " + key + b"\r\n")
        vals = self.read_values(with_cas=True)
        if not vals:
            return None
        assert len(vals) == 1 and vals[0][0] == key, vals
        return vals[0][1:]

    def stats(self, sub=""):
        self.cmd(("stats " + sub).strip())
        out = {}
        while True:
            line = self.readline().decode()
            if line == "END":
                return out
            m = re.fullmatch(r"STAT (\S+) (.*)", line)
            if not m:
                raise WireError("bad stats line %r" % line)
            out[m.group(1)] = m.group(2)


def short(b, n=300):
    if len(b) <= n:
        return b
    return b[:n] + b"...(%d bytes)" % len(b)


class UnixConn(Conn):
    """Conn over a unix stream socket."""

    def __init__(self, path, timeout=IO_TIMEOUT):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.timeout = timeout
        self.buf = b""


class UnixServer(Server):
    """A server on `-s path`; -p is still passed (it must be ignored)."""

    def __init__(self, path, flags=()):
        super().__init__(["-s", path] + list(flags), listen=False)
        self.path = path

    def _wait_accepting(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                self.connect(0.5).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def connect(self, timeout=IO_TIMEOUT):
        return UnixConn(self.path, timeout)


# --------------------------------------------------------------------------
# TLS (-Z): certificates made at test time, a TLS client connection

def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True,
                   stdin=subprocess.DEVNULL, capture_output=True)


class TLSCerts:
    """A CA, two server certificates (for reloads), a client certificate
    signed by the CA and one signed by another CA, made with the openssl
    command in a directory every user can read (servers started as root
    run as their -u user)."""

    def __init__(self, path):
        self.dir = Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        d = str(self.dir)
        for ca in ("ca", "otherca"):
            _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes",
                     "-keyout", ca + ".key", "-out", ca + ".crt", "-days", "2",
                     "-subj", "/CN=memoria test " + ca, cwd=d)
        for name, ca in (("server", "ca"), ("server2", "ca"),
                         ("client", "ca"), ("stranger", "otherca")):
            _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout",
                     name + ".key", "-out", name + ".csr",
                     "-subj", "/CN=" + name, cwd=d)
            _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt",
                     "-CAkey", ca + ".key", "-CAcreateserial", "-out",
                     name + ".crt", "-days", "2", cwd=d)
        os.chmod(d, 0o755)
        for f in self.dir.iterdir():
            os.chmod(f, 0o644)

    def path(self, name):
        return str(self.dir / name)

    def flags(self, extra="", cert="server"):
        """-Z with this server certificate, plus extra -o ssl_* options."""
        opts = "ssl_chain_cert=%s,ssl_key=%s" % (self.path(cert + ".crt"),
                                                 self.path(cert + ".key"))
        return ["-Z", "-o", opts + ("," + extra if extra else "")]

    def context(self, client=None, maximum=None, minimum=None, ciphers=None):
        """A client context that does not check the server's certificate;
        client: "client" or "stranger" to present that certificate."""
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if client:
            ctx.load_cert_chain(self.path(client + ".crt"),
                                self.path(client + ".key"))
        if maximum:
            ctx.maximum_version = maximum
        if minimum:
            ctx.minimum_version = minimum
        if ciphers:
            ctx.set_ciphers(ciphers)
        return ctx

    def der(self, name):
        """A certificate as DER bytes (getpeercert(binary_form=True))."""
        import ssl
        return ssl.PEM_cert_to_DER_cert((self.dir / (name + ".crt")).read_text())


class TLSConn(Conn):
    """A Conn over TLS: the handshake runs in the constructor."""

    def __init__(self, port, context, timeout=IO_TIMEOUT, host="127.0.0.1"):
        raw = socket.create_connection((host, port), timeout=timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = context.wrap_socket(raw)
        except BaseException:
            raw.close()
            raise
        self.timeout = timeout
        self.buf = b""
