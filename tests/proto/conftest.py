"""pytest plugin for memoria's wire tests.

Server under test
-----------------
If MEMCACHED_BIN is set we test the reference ("ref" mode, tests marked
`memoria_only` are skipped); otherwise MEMORIA_BIN, default
<repo>/build/asan/memoria. Each server is started as

    BIN -l 127.0.0.1 -p <free port> -U 0 [-u <user> when root] <extra flags>

and stopped by its PID only (SIGTERM, then SIGKILL after a timeout).
Servers with the same extra flags are shared by the tests that ask for a
shared one (`server`, `shared_server`, transcripts); tests that need a
fresh one use `start_server`. After every test the servers it used must
still run and their stderr must not contain a sanitizer report
("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
"WARNING: ThreadSanitizer"), otherwise the test fails.

Transcripts (tests/proto/*.t)
-----------------------------
One test per file. Each line starts with a marker, then one space, then
the content (the space is not part of the content):

    # text           comment; blank lines are ignored too
    !flags <flags>   extra server flags (before the first send; selects the
                     shared server instance for that flag set)
    !private         run on a fresh server of its own (started for this
                     transcript, stopped after it), e.g. to see CAS
                     uniques from 1 or to change server-wide settings
    !mark <name>     pytest marker for this transcript (memoria_only, slow ...)
    > text           send text + "\\r\\n"
    >> text          send text raw, nothing appended
    < text           expect exactly the line text + "\\r\\n"
    <~ regex         expect one line ending in "\\r\\n" whose text (without
                     the CRLF) fully matches the Python bytes regex
    << text          expect exactly these raw bytes (no CRLF appended)
    <closed          expect the server to close the connection: EOF (or a
                     reset) with no further bytes
    !sleep <secs>    sleep (a float)
    !connect         check the current connection is quiet, close it and
                     open a fresh one

Consecutive sends are written to the socket in a single write (so a block
of `>` lines is a pipeline); they are flushed before the next expectation,
sleep or connect. In `>`, `>>`, `<` and `<<` content the escapes \\r \\n
\\t \\0 \\\\ and \\xNN stand for those bytes (write a trailing space as
\\x20); any other backslash sequence is an error. `<~` content is a regex
and is not unescaped (the regex engine understands \\r \\n \\t \\xNN).

Every expectation reads exactly the bytes it needs (each read waits at most
a few seconds) and fails as soon as they differ. At the end of the
transcript (and at every `!connect`), unless the connection was closed, the
runner sends `version` and expects exactly one `VERSION ...` line and then
nothing more for 0.05 s: replies come in request order, so any unexpected
reply shows up before it, and the server must still be in step with us.
"""

import os
import re
import shlex
import time

import pytest

import wire
from wire import REF, Server, WireError

DEFAULT_FLAGS = ()


# --------------------------------------------------------------------------
# servers

class ServerPool:
    def __init__(self):
        self.servers = {}

    def get(self, flags=DEFAULT_FLAGS):
        key = tuple(flags)
        srv = self.servers.get(key)
        if srv is not None and not srv.alive():
            # it died during an earlier test, which has failed for it;
            # give later tests a fresh instance
            srv.stop()
            srv.cleanup()
            srv = None
        if srv is None:
            srv = Server(key).start()
            self.servers[key] = srv
        return srv

    def stop_all(self):
        servers = list(self.servers.values())
        self.servers.clear()
        for srv in servers:      # all exit in parallel
            srv.terminate()
        problems = []
        for srv in servers:
            problems += srv.stop()
            srv.cleanup()
        return problems


_pool = ServerPool()


@pytest.fixture(scope="session")
def server_pool():
    yield _pool
    problems = _pool.stop_all()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


class _Used:
    """Servers touched by one test, checked after it."""

    def __init__(self):
        self.shared = []
        self.private = []


@pytest.fixture
def _used(server_pool):
    used = _Used()
    yield used
    problems = []
    for srv in used.private:     # all exit in parallel
        srv.terminate()
    for srv in used.private:
        problems += srv.stop()
        srv.cleanup()
    for srv in used.shared:
        try:
            srv.check()
        except WireError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def shared_server(server_pool, _used):
    """shared_server(*flags): the shared server for that flag set."""
    def get(*flags):
        srv = server_pool.get(flags)
        _used.shared.append(srv)
        return srv
    return get


@pytest.fixture
def server(shared_server):
    """The shared server with default flags."""
    return shared_server()


@pytest.fixture
def start_server(_used):
    """start_server(*flags, listen=True): a private server, stopped after
    the test (and checked for sanitizer reports)."""
    def start(*flags, listen=True):
        srv = Server(flags, listen=listen)
        _used.private.append(srv)
        return srv.start()
    return start


@pytest.fixture(scope="session")
def tls_certs():
    """TLS material for -Z tests (wire.TLSCerts), made once per session in
    a temporary directory readable by every user."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="memtls-")
    try:
        yield wire.TLSCerts(d)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# session, markers

def pytest_sessionstart(session):
    if session.config.option.collectonly:
        return
    if not (os.path.isfile(wire.BIN) and os.access(wire.BIN, os.X_OK)):
        raise pytest.UsageError(
            "server binary %s not found: build it, or set MEMORIA_BIN, or "
            "MEMCACHED_BIN=/usr/bin/memcached to test the reference" % wire.BIN)


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="memoria extension; not in the reference")
    for item in items:
        if REF and item.get_closest_marker("memoria_only"):
            item.add_marker(skip)


# --------------------------------------------------------------------------
# transcripts

_ESC = re.compile(rb"\\(x[0-9a-fA-F]{2}|.|$)")
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0", b"\\": b"\\"}


def unescape(text):
    def sub(m):
        e = m.group(1)
        if e in _SIMPLE:
            return _SIMPLE[e]
        if len(e) == 3 and e[:1] == b"x":
            return bytes([int(e[1:], 16)])
        raise ValueError("bad escape \\%s" % e.decode(errors="replace"))
    return _ESC.sub(sub, text)


class TranscriptError(Exception):
    pass


def parse_transcript(path):
    """-> (flags, private, marks, steps); a step is (lineno, op, arg)."""
    flags, marks, steps = [], [], []
    private = False
    started = False
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for no, raw in enumerate(lines, 1):
        if raw.endswith(b"\r"):
            raise TranscriptError("%s:%d: CR in transcript line" % (path, no))
        if not raw.strip() or raw.startswith(b"#"):
            continue
        m = re.match(rb"(>>|>|<<|<~|<closed|<|!\w+)(?: (.*))?$", raw, re.S)
        if not m:
            raise TranscriptError("%s:%d: cannot parse %r" % (path, no, raw))
        op, arg = m.group(1).decode(), m.group(2) or b""
        try:
            if op in (">", ">>", "<", "<<"):
                arg = unescape(arg)
                if op == ">":
                    arg += b"\r\n"
                    op = ">>"
                elif op == "<":
                    arg += b"\r\n"
                    op = "<<"
                if op == ">>":
                    started = True
            elif op == "<~":
                arg = re.compile(arg, re.S)
            elif op == "<closed":
                if arg:
                    raise ValueError("<closed takes no argument")
            elif op == "!flags":
                if started or flags:
                    raise ValueError("!flags must come once, before any send")
                flags = shlex.split(arg.decode())
                continue
            elif op == "!mark":
                marks.append(arg.decode().strip())
                continue
            elif op == "!private":
                if started or arg:
                    raise ValueError("!private takes no argument and comes before any send")
                private = True
                continue
            elif op == "!sleep":
                arg = float(arg)
            elif op == "!connect":
                if arg:
                    raise ValueError("!connect takes no argument")
            else:
                raise ValueError("unknown directive %s" % op)
        except (ValueError, re.error) as e:
            raise TranscriptError("%s:%d: %s" % (path, no, e))
        steps.append((no, op, arg))
    return flags, private, marks, steps


# later/ holds tests of capabilities that belong to later issues (stats
# sub-commands, admin commands of subsystems memoria does not have yet,
# ASCII auth, the binary protocol). They are checked against the reference
# on every run, so they stay true to memcached; against memoria they are
# collected once MEMORIA_LATER=1 is set, i.e. when the feature lands and
# its tests move up out of later/.
collect_ignore = []
if not wire.REF and os.environ.get("MEMORIA_LATER") != "1":
    collect_ignore.append("later")


def pytest_collect_file(parent, file_path):
    if file_path.suffix == ".t":
        return TranscriptFile.from_parent(parent, path=file_path)
    return None


class TranscriptFile(pytest.File):
    def collect(self):
        flags, private, marks, steps = parse_transcript(self.path)
        item = TranscriptItem.from_parent(self, name=self.path.stem, flags=flags,
                                          private=private, steps=steps)
        for m in marks:
            item.add_marker(m)
        yield item


class TranscriptItem(pytest.Item):
    def __init__(self, *, flags, private, steps, **kw):
        super().__init__(**kw)
        self.flags = flags
        self.private = private
        self.steps = steps
        self.fixturenames = ()

    def runtest(self):
        if self.private:
            srv = Server(self.flags).start()
        else:
            srv = _pool.get(tuple(self.flags))
        problems = []
        try:
            run_steps(srv, self.steps, self.path.name)
        except (WireError, OSError) as e:
            problems.append(str(e))
        finally:
            if self.private:
                problems += srv.stop()
                srv.cleanup()
            else:
                try:
                    srv.check()
                except WireError as e:
                    problems.append(str(e))
        if problems:
            raise WireError("\n".join(problems))

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, (WireError, TranscriptError)):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, "transcript %s" % self.path.name

    def teardown(self):
        pass


def pytest_sessionfinish(session, exitstatus):
    problems = _pool.stop_all()
    if problems:
        session.config.pluginmanager.get_plugin("terminalreporter").write_line(
            "SERVER PROBLEMS AT SHUTDOWN:\n" + "\n".join(problems), red=True)
        session.exitstatus = 1


def finish_connection(conn):
    """The connection must be quiet and still in step: replies come in
    request order, so any unexpected bytes arrive before the answer to a
    final `version`."""
    conn.assert_quiet(0)
    conn.cmd("version")
    line = conn.readline()
    if not re.fullmatch(rb"VERSION \S+", line):
        raise WireError("unexpected bytes after the transcript: %r (version was sent)"
                        % wire.short(line + b"\r\n" + conn.pending(0.1)))
    conn.assert_quiet(0.05)


def run_steps(srv, steps, name):
    conn = srv.connect()
    closed = False
    out = []
    here = ""

    def flush():
        if out:
            data = b"".join(out)
            out.clear()
            try:
                conn.send(data)
            except OSError as e:
                raise WireError("%s: send failed: %s" % (here, e))

    try:
        for no, op, arg in steps:
            here = "%s:%d" % (name, no)
            if op == ">>":
                if closed:
                    raise WireError("%s: send on a closed connection (use !connect)" % here)
                out.append(arg)
                continue
            flush()
            try:
                if op == "<<":
                    conn.expect(arg)
                elif op == "<~":
                    line = conn.readline()
                    if not arg.fullmatch(line):
                        raise WireError("line %r does not match /%s/" % (
                            wire.short(line), arg.pattern.decode(errors="replace")))
                elif op == "<closed":
                    conn.expect_closed()
                    closed = True
                elif op == "!sleep":
                    time.sleep(arg)
                elif op == "!connect":
                    if not closed:
                        finish_connection(conn)
                    conn.close()
                    conn = srv.connect()
                    closed = False
            except WireError as e:
                raise WireError("%s: %s" % (here, e))
        flush()
        here = "%s: end" % name
        if not closed:
            try:
                finish_connection(conn)
            except WireError as e:
                raise WireError("%s: %s" % (here, e))
    finally:
        conn.close()
