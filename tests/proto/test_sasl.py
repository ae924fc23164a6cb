"""SASL authentication of the binary protocol (-S), docs/COMPAT.md#sasl.

Every server here runs with a real Cyrus SASL setup made at test time: a
temporary directory holding memcached.conf (`mech_list: plain`, and the
path of a sasldb that saslpasswd2 fills) named by SASL_CONF_PATH in the
server's environment. Against the reference the server runs as -u nobody,
so the directory and files are readable by everyone.
"""

import os
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time

import pytest

import binproto as bp
import wire
from wire import REF, Server, run_binary, user_args

USER, PASSWORD = b"user", b"secret"
OTHER, OTHER_PASSWORD = b"other", b"other pw"
AUTH_FAILURE = b"Auth failure."


# --------------------------------------------------------------------------
# set-up

def _add_user(db, user, password):
    """saslpasswd2 reads the password on stdin (-p). The realm is the host
    name: the user realm the server hands to Cyrus."""
    subprocess.run(
        ["saslpasswd2", "-a", "memcached", "-c", "-f", db,
         "-u", socket.gethostname(), "-p", user.decode()],
        input=password, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def sasl_dir():
    if shutil.which("saslpasswd2") is None:
        pytest.fail("saslpasswd2 missing: run `make deps` (sasl2-bin)")
    d = tempfile.mkdtemp(prefix="memtest-sasl-")
    try:
        db = os.path.join(d, "sasldb2")
        with open(os.path.join(d, "memcached.conf"), "w") as f:
            f.write("mech_list: plain\nsasldb_path: %s\n" % db)
        _add_user(db, USER, PASSWORD)
        _add_user(db, OTHER, OTHER_PASSWORD)
        os.chmod(d, 0o755)
        for name in os.listdir(d):
            os.chmod(os.path.join(d, name), 0o644)
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _flags(extra=()):
    # The reference drops to nobody (the later -u wins); memoria as root.
    return ["-S"] + (["-u", "nobody"] if REF else []) + list(extra)


@pytest.fixture
def start_sasl(sasl_dir):
    """start_sasl(*flags, env=None): a private -S server with SASL_CONF_PATH
    set (plus env), stopped and checked for sanitizer reports after the
    test."""
    servers = []

    def start(*flags, env=None):
        full_env = {"SASL_CONF_PATH": sasl_dir}
        full_env.update(env or {})
        srv = Server(_flags(flags), env=full_env)
        servers.append(srv)
        return srv.start()

    yield start
    problems = []
    for srv in servers:
        problems += srv.stop()
        srv.cleanup()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def _shared(sasl_dir):
    srv = Server(_flags(), env={"SASL_CONF_PATH": sasl_dir}).start()
    yield srv
    problems = srv.stop()
    srv.cleanup()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def sasl(_shared):
    """The module's shared -S server, checked after each test."""
    yield _shared
    _shared.check()


# --------------------------------------------------------------------------
# helpers

def plain(user=USER, password=PASSWORD, authzid=b""):
    return authzid + b"\0" + user + b"\0" + password


def auth(mech="PLAIN", data=None, **kw):
    return bp.request(bp.SASL_AUTH, key=mech,
                      value=plain() if data is None else data, **kw)


def step(data, mech="PLAIN", **kw):
    return bp.request(bp.SASL_STEP, key=mech, value=data, **kw)


def reply(c, opcode, status=bp.SUCCESS, value=None, opaque=0, cas=0):
    """One response without key or extras; cas=None: any CAS."""
    r = bp.read_response(c)
    assert (r.magic, r.opcode, r.status) == (bp.RES_MAGIC, opcode, status), r
    assert (r.keylen, r.extlen, r.opaque) == (0, 0, opaque), r
    assert cas is None or r.cas == cas, r
    if value is not None:
        assert r.value == value, r
    return r


def authenticated(srv):
    c = srv.connect()
    c.send(auth())
    reply(c, bp.SASL_AUTH, value=b"Authenticated")
    return c


def still_open(c):
    """The connection is in step with us: VERSION is answered next."""
    c.send(bp.request(bp.VERSION, opaque=0x5151))
    reply(c, bp.VERSION, value=b"1.6.18", opaque=0x5151)


def still_authenticated(c):
    c.send(bp.request(bp.GET, key="sasl:probe", opaque=7))
    reply(c, bp.GET, bp.KEY_ENOENT, b"Not found", opaque=7)


def refused_and_closed(c, opcode):
    """A command on an unauthenticated connection: 0x20, then close."""
    reply(c, opcode, bp.AUTH_ERROR, AUTH_FAILURE)
    c.expect_closed()


def stat_group(c, group=""):
    c.send(bp.request(bp.STAT, key=group))
    return {k.decode(): v.decode() for k, v in bp.read_stats(c)}


# --------------------------------------------------------------------------
# options

@pytest.mark.parametrize("proto", ["ascii", "auto"])
def test_sasl_with_a_text_capable_protocol_is_a_startup_error(proto):
    rc, out, err = run_binary(["-S", "-B", proto, "-U", "0"] + user_args())
    assert (rc, out, err) == (
        64, "", "ERROR: You cannot allow the ASCII protocol while using SASL.\n")


def test_sasl_with_udp_is_a_startup_error():
    rc, out, err = run_binary(["-S", "-U", "11299"] + user_args())
    assert (rc, out, err) == (
        64, "",
        "ERROR: Cannot enable UDP while using binary SASL authentication.\n")


def test_the_protocol_check_comes_before_the_udp_check():
    rc, _, err = run_binary(["-U", "11299", "-B", "ascii", "-S"] + user_args())
    assert rc == 64
    assert err == "ERROR: You cannot allow the ASCII protocol while using SASL.\n"


def test_sasl_with_an_explicit_binary_protocol_starts(start_sasl):
    srv = start_sasl("-B", "binary")
    c = authenticated(srv)
    still_authenticated(c)


def test_without_a_config_sasl_does_not_start():
    found = [p for p in ("/etc/sasl/memcached.conf", "/etc/sasl2/memcached.conf")
             if os.path.exists(p)]
    if found:
        pytest.skip("this machine has a SASL config for memcached: %s" % found)
    env = {k: v for k, v in os.environ.items() if k != "SASL_CONF_PATH"}
    p = subprocess.run(
        [wire.BIN, "-l", "127.0.0.1", "-p", str(wire.free_port()), "-U", "0"]
        + user_args() + _flags(),
        env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, b"", b"Error initializing sasl.\n")


def test_no_usable_mechanism_fails_list_and_auth(start_sasl, sasl_dir):
    d = os.path.join(sasl_dir, "nomech")
    os.mkdir(d)
    try:
        with open(os.path.join(d, "memcached.conf"), "w") as f:
            f.write("mech_list: nosuch\n")
        os.chmod(d, 0o755)
        os.chmod(os.path.join(d, "memcached.conf"), 0o644)
        srv = start_sasl(env={"SASL_CONF_PATH": d})
        c = srv.connect()
        c.send(bp.request(bp.SASL_LIST_MECHS) + auth())
        reply(c, bp.SASL_LIST_MECHS, bp.AUTH_ERROR, AUTH_FAILURE)
        reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
        still_open(c)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# before authentication

def test_text_input_is_read_as_a_binary_header_and_closes(sasl):
    c = sasl.connect()
    c.send(b"version\r\n")
    c.assert_quiet()              # nothing happens before 24 bytes
    c.send(b"get foo\r\nget foo\r\n")
    c.expect_closed()             # bad magic: closed without a reply


def test_version_is_allowed_before_authentication(sasl):
    c = sasl.connect()
    still_open(c)
    still_open(c)


def test_list_mechs_lists_what_the_config_allows(sasl):
    c = sasl.connect()
    c.send(bp.request(bp.SASL_LIST_MECHS, opaque=0xabcdef01))
    reply(c, bp.SASL_LIST_MECHS, value=b"PLAIN", opaque=0xabcdef01)
    still_open(c)


# One request per opcode the server refuses before authentication.
BEFORE_AUTH = [
    ("get", bp.request(bp.GET, key="k")),
    ("getq", bp.request(bp.GETQ, key="k")),
    ("getk", bp.request(bp.GETK, key="k")),
    ("set", bp.request(bp.SET, key="k", extras=bp.store_extras(), value="v")),
    ("setq", bp.request(bp.SETQ, key="k", extras=bp.store_extras(),
                        value="v")),
    ("add", bp.request(bp.ADD, key="k", extras=bp.store_extras(), value="v")),
    ("append", bp.request(bp.APPEND, key="k", value="v")),
    ("delete", bp.request(bp.DELETE, key="k")),
    ("incr", bp.request(bp.INCREMENT, key="k", extras=bp.arith_extras())),
    ("touch", bp.request(bp.TOUCH, key="k", extras=bp.exptime_extras(0))),
    ("stat", bp.request(bp.STAT)),
    ("stat settings", bp.request(bp.STAT, key="settings")),
    ("noop", bp.request(bp.NOOP)),
    ("quit", bp.request(bp.QUIT)),
    ("quitq", bp.request(bp.QUITQ)),
    ("flush", bp.request(bp.FLUSH)),
    ("flushq", bp.request(bp.FLUSHQ)),
    ("verbosity (unknown)", bp.request(bp.VERBOSITY, extras=b"\0\0\0\0")),
    ("key over 250", bp.request(bp.GET, key="k" * 251)),
]


@pytest.mark.parametrize("name,packet", BEFORE_AUTH,
                         ids=[n for n, _ in BEFORE_AUTH])
def test_commands_before_authentication_fail_and_close(sasl, name, packet):
    c = sasl.connect()
    c.send(packet + bp.request(bp.VERSION))
    # quiet opcodes are refused out loud too, echoing their own opcode
    refused_and_closed(c, packet[1])


def test_a_failed_authentication_keeps_commands_refused(sasl):
    c = sasl.connect()
    c.send(auth(data=plain(password=b"nope")))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    c.send(bp.request(bp.GET, key="k"))
    refused_and_closed(c, bp.GET)


# --------------------------------------------------------------------------
# SASL_AUTH and SASL_STEP

def test_plain_with_the_right_password_authenticates(sasl):
    c = sasl.connect()
    c.send(auth(opaque=0x01020304, cas=99))
    reply(c, bp.SASL_AUTH, value=b"Authenticated", opaque=0x01020304)
    still_authenticated(c)


def test_each_user_has_its_own_password(sasl):
    c = sasl.connect()
    c.send(auth(data=plain(OTHER, OTHER_PASSWORD)))
    reply(c, bp.SASL_AUTH, value=b"Authenticated")
    c = sasl.connect()
    c.send(auth(data=plain(OTHER, PASSWORD)))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    still_open(c)


@pytest.mark.parametrize("data", [
    plain(password=b"nope"), plain(password=b"secre"), plain(password=b""),
    plain(user=b"nobody-here"), plain(authzid=b"other"), b"no nul bytes",
], ids=["wrong password", "prefix", "empty password", "unknown user",
        "other authzid", "garbage"])
def test_bad_credentials_fail_and_keep_the_connection(sasl, data):
    c = sasl.connect()
    c.send(auth(data=data) + bp.request(bp.VERSION))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    reply(c, bp.VERSION, value=b"1.6.18")
    c.send(auth())
    reply(c, bp.SASL_AUTH, value=b"Authenticated")
    still_authenticated(c)


def test_own_authzid_and_explicit_realm_authenticate(sasl):
    for data in (plain(authzid=USER),
                 plain(user=USER + b"@" + socket.gethostname().encode())):
        c = sasl.connect()
        c.send(auth(data=data))
        reply(c, bp.SASL_AUTH, value=b"Authenticated")


def test_mechanism_names_are_not_case_sensitive(sasl):
    c = sasl.connect()
    c.send(auth(mech="plain"))
    reply(c, bp.SASL_AUTH, value=b"Authenticated")


@pytest.mark.parametrize("mech", ["CRAM-MD5", "NO-SUCH-MECH", "A" * 32])
def test_unknown_mechanism_fails_and_keeps_the_connection(sasl, mech):
    c = sasl.connect()
    c.send(auth(mech=mech) + bp.request(bp.VERSION))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    reply(c, bp.VERSION, value=b"1.6.18")


def test_mechanism_name_over_32_bytes_is_invalid_and_its_value_swallowed(sasl):
    c = sasl.connect()
    c.send(auth(mech="A" * 33) + bp.request(bp.VERSION)
           + auth(mech="PLAIN" + "X" * 28, data=b"") + bp.request(bp.VERSION))
    reply(c, bp.SASL_AUTH, bp.EINVAL, b"Invalid arguments")
    reply(c, bp.VERSION, value=b"1.6.18")
    reply(c, bp.SASL_AUTH, bp.EINVAL, b"Invalid arguments")
    reply(c, bp.VERSION, value=b"1.6.18")


def test_step_key_over_32_bytes_is_invalid_and_changes_nothing(sasl):
    c = sasl.connect()
    c.send(auth(data=b"") + step(plain(), mech="S" * 33)
           + bp.request(bp.VERSION) + step(plain(), mech="S" * 32))
    reply(c, bp.SASL_AUTH, bp.AUTH_CONTINUE, b"")
    reply(c, bp.SASL_STEP, bp.EINVAL, b"Invalid arguments")
    reply(c, bp.VERSION, value=b"1.6.18")
    # the exchange still waits for its step
    reply(c, bp.SASL_STEP, value=b"Authenticated")
    still_authenticated(c)


def test_a_value_too_large_for_one_item_is_out_of_memory(start_sasl):
    """memcached reads the value into an item that must not be chunked:
    past slab_chunk_max (512 KiB by default) the value is swallowed and
    the answer is 0x82; the connection and its authentication stay, and
    nothing is counted."""
    srv = start_sasl()
    c = authenticated(srv)
    big = plain(password=b"x" * 600000)
    c.send(auth(data=big) + bp.request(bp.VERSION) + step(big)
           + bp.request(bp.VERSION))
    reply(c, bp.SASL_AUTH, bp.ENOMEM, b"Out of memory")
    reply(c, bp.VERSION, value=b"1.6.18")
    reply(c, bp.SASL_STEP, bp.ENOMEM, b"Out of memory")
    reply(c, bp.VERSION, value=b"1.6.18")
    still_authenticated(c)
    # well below the limit it is an ordinary (failed) attempt
    c.send(auth(data=plain(password=b"x" * 400000)))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    c = authenticated(srv)
    stats = stat_group(c)
    assert (stats["auth_cmds"], stats["auth_errors"]) == ("3", "1")


def test_mechanism_name_over_32_bytes_leaves_authentication_alone(sasl):
    c = authenticated(sasl)
    c.send(auth(mech="B" * 40))
    reply(c, bp.SASL_AUTH, bp.EINVAL, b"Invalid arguments")
    still_authenticated(c)


@pytest.mark.parametrize("packet", [
    bp.request(bp.SASL_AUTH, value=plain()),
    bp.request(bp.SASL_AUTH, key="PLAIN", extras=b"1234", value=plain()),
    bp.request(bp.SASL_AUTH, key="P" * 251, value=plain()),
    bp.request(bp.SASL_STEP, value=plain()),
    bp.request(bp.SASL_LIST_MECHS, key="PLAIN"),
    bp.request(bp.SASL_LIST_MECHS, value="x"),
], ids=["auth without key", "auth with extras", "auth key over 250",
        "step without key", "list with key", "list with value"])
def test_badly_shaped_sasl_packets_are_invalid_and_close(sasl, packet):
    c = sasl.connect()
    c.send(packet + bp.request(bp.VERSION))
    reply(c, packet[1], bp.EINVAL, b"Invalid arguments")
    c.expect_closed()


def test_step_without_auth_fails_and_keeps_the_connection(sasl):
    c = sasl.connect()
    c.send(step(plain()) + bp.request(bp.VERSION))
    reply(c, bp.SASL_STEP, bp.AUTH_ERROR, AUTH_FAILURE)
    reply(c, bp.VERSION, value=b"1.6.18")


def test_step_after_a_failed_auth_fails(sasl):
    c = sasl.connect()
    c.send(auth(data=plain(password=b"x")) + step(plain()))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    reply(c, bp.SASL_STEP, bp.AUTH_ERROR, AUTH_FAILURE)
    still_open(c)


def test_empty_initial_response_continues_and_step_finishes(sasl):
    c = sasl.connect()
    c.send(auth(data=b""))
    reply(c, bp.SASL_AUTH, bp.AUTH_CONTINUE, b"")
    # the step's key is not looked at: it continues what AUTH started
    c.send(step(plain(), mech="IGNORED"))
    reply(c, bp.SASL_STEP, value=b"Authenticated")
    still_authenticated(c)


def test_a_failed_step_leaves_the_connection_unauthenticated(sasl):
    c = sasl.connect()
    c.send(auth(data=b"") + step(plain(password=b"bad")))
    reply(c, bp.SASL_AUTH, bp.AUTH_CONTINUE, b"")
    reply(c, bp.SASL_STEP, bp.AUTH_ERROR, AUTH_FAILURE)
    c.send(bp.request(bp.NOOP))
    refused_and_closed(c, bp.NOOP)


# --------------------------------------------------------------------------
# after authentication

def test_after_authentication_every_command_works(sasl):
    c = authenticated(sasl)
    ex = bp.store_extras(flags=0x1234)
    c.send(bp.request(bp.SET, key="sasl:a", extras=ex, value="hello"))
    cas = reply(c, bp.SET, value=b"", cas=None).cas
    assert cas != 0
    c.send(bp.request(bp.GET, key="sasl:a"))
    r = bp.read_response(c)
    assert (r.status, r.flags, r.value, r.cas) == (0, 0x1234, b"hello", cas)
    c.send(bp.request(bp.APPEND, key="sasl:a", value="!"))
    reply(c, bp.APPEND, value=b"", cas=None)
    c.send(bp.request(bp.GETK, key="sasl:a"))
    r = bp.read_response(c)
    assert (r.status, r.key, r.value) == (0, b"sasl:a", b"hello!")
    c.send(bp.request(bp.INCREMENT, key="sasl:n",
                      extras=bp.arith_extras(delta=1, initial=5)))
    assert bp.read_response(c).number == 5
    c.send(bp.request(bp.DELETE, key="sasl:a"))
    reply(c, bp.DELETE, value=b"")
    c.send(bp.request(bp.NOOP))
    reply(c, bp.NOOP, value=b"")
    stats = stat_group(c)
    assert int(stats["cmd_set"]) >= 1
    c.send(bp.request(bp.FLUSH))
    reply(c, bp.FLUSH, value=b"")
    c.send(bp.request(bp.QUIT))
    reply(c, bp.QUIT, value=b"")
    c.expect_closed()


def test_quiet_commands_after_authentication(sasl):
    c = authenticated(sasl)
    ex = bp.store_extras()
    c.send(bp.request(bp.SETQ, key="sasl:q", extras=ex, value="1")
           + bp.request(bp.ADDQ, key="sasl:q", extras=ex, value="2",
                        opaque=9)
           + bp.request(bp.GETQ, key="sasl:missing")
           + bp.request(bp.NOOP, opaque=10))
    # the error is sent even though ADDQ is quiet; the rest stay quiet
    reply(c, bp.ADDQ, bp.KEY_EEXISTS, b"Data exists for key.", opaque=9)
    reply(c, bp.NOOP, value=b"", opaque=10)
    c.send(bp.request(bp.QUITQ))
    c.expect_closed()


def test_list_mechs_ends_the_authentication(sasl):
    c = authenticated(sasl)
    c.send(bp.request(bp.SASL_LIST_MECHS))
    reply(c, bp.SASL_LIST_MECHS, value=b"PLAIN")
    c.send(bp.request(bp.GET, key="k"))
    refused_and_closed(c, bp.GET)


def test_a_step_after_success_fails_and_ends_the_authentication(sasl):
    c = authenticated(sasl)
    c.send(step(plain()))
    reply(c, bp.SASL_STEP, bp.AUTH_ERROR, AUTH_FAILURE)
    c.send(bp.request(bp.GET, key="k"))
    refused_and_closed(c, bp.GET)


def test_reauth_with_bad_credentials_ends_the_authentication(sasl):
    c = authenticated(sasl)
    c.send(auth(data=plain(password=b"wrong")))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    c.send(bp.request(bp.GET, key="k"))
    refused_and_closed(c, bp.GET)


def test_reauth_fails_once_then_succeeds(sasl):
    """Cyrus refuses a second exchange on a finished connection (and
    resets it), so the first re-AUTH fails even with the right password
    and leaves the connection unauthenticated; the next one works."""
    c = authenticated(sasl)
    c.send(auth())
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    c.send(auth(data=plain(OTHER, OTHER_PASSWORD)))
    reply(c, bp.SASL_AUTH, value=b"Authenticated")
    still_authenticated(c)
    c2 = authenticated(sasl)
    c2.send(auth() + bp.request(bp.NOOP))
    reply(c2, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)
    refused_and_closed(c2, bp.NOOP)


# --------------------------------------------------------------------------
# stats

def test_auth_counters(start_sasl):
    srv = start_sasl()
    c = srv.connect()
    c.send(auth(data=plain(password=b"bad")))           # cmd + error
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR)
    c.send(auth(mech="NOPE"))                            # cmd + error
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR)
    c.send(step(plain()))                                # cmd + error
    reply(c, bp.SASL_STEP, bp.AUTH_ERROR)
    c.send(auth(mech="M" * 33))                          # not counted
    reply(c, bp.SASL_AUTH, bp.EINVAL)
    c.send(bp.request(bp.SASL_LIST_MECHS))               # not counted
    reply(c, bp.SASL_LIST_MECHS)
    c.send(auth(data=b""))                               # continue: not counted
    reply(c, bp.SASL_AUTH, bp.AUTH_CONTINUE)
    c.send(step(plain()))                                # cmd
    reply(c, bp.SASL_STEP, value=b"Authenticated")
    c.send(auth())                                       # cmd + error (Cyrus)
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR)
    c.send(auth())                                       # cmd
    reply(c, bp.SASL_AUTH, value=b"Authenticated")
    stats = stat_group(c)
    assert (stats["auth_cmds"], stats["auth_errors"]) == ("6", "4")
    # a refused command is not an auth command
    c2 = srv.connect()
    c2.send(bp.request(bp.NOOP))
    refused_and_closed(c2, bp.NOOP)
    stats = stat_group(c)
    assert (stats["auth_cmds"], stats["auth_errors"]) == ("6", "4")


def test_stats_settings_show_sasl_and_the_binary_protocol(sasl):
    c = authenticated(sasl)
    settings = stat_group(c, "settings")
    assert settings["auth_enabled_sasl"] == "yes"
    assert settings["auth_enabled_ascii"] == "no"
    assert settings["binding_protocol"] == "binary"
    assert settings["udpport"] == "0"


# --------------------------------------------------------------------------
# without -S

def test_sasl_opcodes_without_sasl_are_unknown_commands(server):
    c = server.connect()
    c.send(bp.request(bp.SASL_LIST_MECHS) + auth() + step(plain())
           + bp.request(bp.VERSION))
    for op in (bp.SASL_LIST_MECHS, bp.SASL_AUTH, bp.SASL_STEP):
        # the value is swallowed properly: the stream stays in step
        reply(c, op, bp.UNKNOWN_COMMAND, b"Unknown command")
    reply(c, bp.VERSION, value=b"1.6.18")


# --------------------------------------------------------------------------
# MEMCACHED_SASL_PWDB (memoria extension; Debian's memcached lacks it)

@pytest.fixture
def pwdb(sasl_dir):
    realm = socket.gethostname()
    path = os.path.join(sasl_dir, "pwdb")
    with open(path, "w") as f:
        f.write("alice@%s:wonder land\n" % realm)
        f.write("bob@%s:builder:more fields\r\n" % realm)
        f.write("user@%s:from-pwdb\n" % realm)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    yield path
    os.unlink(path)


@pytest.mark.memoria_only
def test_pwdb_users_authenticate(start_sasl, pwdb):
    srv = start_sasl(env={"MEMCACHED_SASL_PWDB": pwdb})
    for user, password, status in [
            (b"alice", b"wonder land", bp.SUCCESS),
            (b"bob", b"builder", bp.SUCCESS),
            (b"alice", b"wonder", bp.AUTH_ERROR),
            (b"bob", b"builder:more fields", bp.AUTH_ERROR),
            (b"carol", b"wonder land", bp.AUTH_ERROR),
            # the sasldb still answers, and either password works
            (USER, PASSWORD, bp.SUCCESS),
            (USER, b"from-pwdb", bp.SUCCESS),
            (OTHER, OTHER_PASSWORD, bp.SUCCESS)]:
        c = srv.connect()
        c.send(auth(data=plain(user, password)))
        r = bp.read_response(c)
        assert r.status == status, (user, password, r)
        if status == bp.SUCCESS:
            still_authenticated(c)
        else:
            still_open(c)
    stats = stat_group(authenticated(srv))
    assert (stats["auth_cmds"], stats["auth_errors"]) == ("9", "3")


@pytest.mark.memoria_only
def test_pwdb_users_are_unknown_without_it(sasl, pwdb):
    c = sasl.connect()
    c.send(auth(data=plain(b"alice", b"wonder land")))
    reply(c, bp.SASL_AUTH, bp.AUTH_ERROR, AUTH_FAILURE)


# --------------------------------------------------------------------------
# -v / -vv lines on stderr

SASL_LINE = re.compile(
    r"^(Reading configuration from: .*|Initialized SASL\.|mech:  .*"
    r"|SASL \(severity \d\): .*|\d+: SASL_STEP called but .*"
    r"|sasl result code:  .*|Unknown sasl response:  .*"
    r"|authenticated\(\) in cmd .*)$", re.M)


def sasl_lines(srv, last, count=1, timeout=5.0):
    """The SASL lines of srv's stderr (fds written as FD), once `last` has
    appeared `count` times."""
    deadline = time.monotonic() + timeout
    while True:
        lines = [re.sub(r"^\d+:", "FD:", m.group(0))
                 for m in SASL_LINE.finditer(srv.stderr())]
        if lines.count(last) >= count:
            return lines
        assert time.monotonic() < deadline, srv.stderr()[-3000:]
        time.sleep(0.05)


def test_verbose_prints_each_exchange(start_sasl, sasl_dir):
    srv = start_sasl("-v")
    c = srv.connect()
    c.send(auth(data=plain(password=b"bad")) + auth(mech="NOPE", data=b"x")
           + step(b"x") + auth(data=b"") + step(plain()) + auth()
           + auth(mech="L" * 33, data=b"not shown"))
    for op, status in [(bp.SASL_AUTH, bp.AUTH_ERROR),
                       (bp.SASL_AUTH, bp.AUTH_ERROR),
                       (bp.SASL_STEP, bp.AUTH_ERROR),
                       (bp.SASL_AUTH, bp.AUTH_CONTINUE),
                       (bp.SASL_STEP, bp.SUCCESS),
                       (bp.SASL_AUTH, bp.AUTH_ERROR),
                       (bp.SASL_AUTH, bp.EINVAL)]:
        reply(c, op, status)
    assert sasl_lines(srv, "Unknown sasl response:  -1", 2) == [
        "Reading configuration from: <%s>" % sasl_dir,
        "Initialized SASL.",
        "mech:  ``PLAIN'' with 9 bytes of data",
        "SASL (severity 2): Password verification failed",
        "sasl result code:  -13",
        "Unknown sasl response:  -13",
        "mech:  ``NOPE'' with 1 bytes of data",
        "SASL (severity 2): Couldn't find mech NOPE",
        "sasl result code:  -4",
        "Unknown sasl response:  -4",
        "mech:  ``PLAIN'' with 1 bytes of data",
        "FD: SASL_STEP called but sasl_server_start not called for this "
        "connection!",
        "sasl result code:  -1",
        "Unknown sasl response:  -1",
        "mech:  ``PLAIN'' with 0 bytes of data",
        "sasl result code:  1",
        "mech:  ``PLAIN'' with 12 bytes of data",
        "sasl result code:  0",
        "mech:  ``PLAIN'' with 12 bytes of data",
        "SASL (severity 1): attempting server step after doneflag",
        "sasl result code:  -1",
        "Unknown sasl response:  -1",
    ]


def test_very_verbose_shows_the_authentication_check(start_sasl):
    srv = start_sasl("-vv")
    c = srv.connect()
    c.send(bp.request(bp.VERSION) + bp.request(bp.SASL_LIST_MECHS) + auth()
           + bp.request(bp.NOOP) + bp.request(bp.SASL_LIST_MECHS)
           + bp.request(bp.GETQ, key="k"))
    for op in (bp.VERSION, bp.SASL_LIST_MECHS, bp.SASL_AUTH, bp.NOOP,
               bp.SASL_LIST_MECHS):
        reply(c, op)
    refused_and_closed(c, bp.GETQ)
    lines = sasl_lines(srv, "authenticated() in cmd 0x09 is false")
    assert [l for l in lines if l.startswith("authenticated()")] == [
        "authenticated() in cmd 0x0b is true",
        "authenticated() in cmd 0x20 is true",
        "authenticated() in cmd 0x21 is true",
        "authenticated() in cmd 0x0a is true",
        "authenticated() in cmd 0x20 is true",
        "authenticated() in cmd 0x09 is false",
    ]
