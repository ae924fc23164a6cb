#!/usr/bin/python3
"""memoria vs memcached, side by side, in one bounded run.

Sections (each server gets the same flags, -t 1, and runs on its own):

  throughput    loadgen workloads; both servers pinned to one CPU, the load
                generator to another; rounds interleaved A B B A ...;
                ops/s, server CPU microseconds per request, p99 latency
  memory        RSS growth per item for 1M items (30-byte keys), every item
                read back and checked
  hitratio      get / set-on-miss at -m 64, the same gets in the same
                order for both servers (loadgen --lockstep): Zipf 0.99
                and 0.9 over ~3x the keys that fit (hit_zipf_099,
                hit_zipf_090); a size shift from 100 B values to new keys
                with 1-4 KiB values, paced so it lasts ~45 s
                (hit_size_shift); a one-pass scan over cold keys in the
                middle of Zipf 0.99 (hit_scan); hit ratio and final RSS
  metadump      keys per second and server CPU per key of `lru_crawler
                metadump all` over 1M items, read to END
  tls           as throughput, over TLS 1.3: both servers with -Z on the
                same certificate (RSA 2048, made here with `openssl`);
                get/set rows (tls_get_set_small, tls_get_set_1k) and
                handshake rows (tls_handshake: connect, full handshake,
                `version`, close; tls_handshake_resume: the same resuming
                the last session, servers with -o ssl_session_cache).
                A server that refuses -Z (or the session cache) is
                reported unavailable, with its words, not failed
  instructions  user-space instructions per request under callgrind, idle
                baseline subtracted
  conns         RSS per idle client: -m 64 -t 4, 2000 TCP connections
                that each did one `version` round trip, then VmRSS

Text, meta and binary-protocol requests are measured side by side;
--workloads picks throughput workloads, instruction requests and
hit-ratio rows by name or pattern, e.g.
  run.py --only hitratio --workloads hit_scan --memoria other/memoria

Writes build/bench/results.json and build/bench/results.md;
--update-doc also rewrites the results block of docs/PERFORMANCE.md.
Benchmarks are not tests: nothing here compares a number to a threshold.
A run fails (exit 1) only if a server returned wrong data, broke the
protocol or died. Python standard library only.
"""

import argparse
import fnmatch
import glob
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "build", "bench")
LOADGEN_SRC = os.path.join(ROOT, "bench", "loadgen.c")
LOADGEN = os.path.join(OUT_DIR, "loadgen")
DOC = os.path.join(ROOT, "docs", "PERFORMANCE.md")
DOC_BEGIN = "<!-- bench:results:begin (written by bench/run.py --update-doc) -->"
DOC_END = "<!-- bench:results:end -->"

# Used when the Makefile's WARN cannot be read; keep in step with it.
WARN_FALLBACK = ("-std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes"
                 " -Wmissing-prototypes -Wformat=2 -Wvla"
                 " -Wimplicit-fallthrough -Wpointer-arith").split()

SERVER_NAMES = ("memoria", "memcached")

# Throughput workloads: name, what it is, loadgen arguments. Every one is
# prefilled with all its keys first, so gets hit unless a set races them.
WORKLOADS = [
    ("get_set_small", "get 90% / set 10%, 32 B values, 50 conns, 1 in flight",
     dict(conns=50, depth=1, get_ratio=0.9, value="32")),
    ("set_only", "set 100%, 32 B values, 50 conns, 1 in flight",
     dict(conns=50, depth=1, get_ratio=0.0, value="32")),
    ("get_set_1k", "get 90% / set 10%, 1 KiB values, 50 conns, 1 in flight",
     dict(conns=50, depth=1, get_ratio=0.9, value="1024")),
    ("multiget_100", "get of 100 keys per request, 32 B values, 20 conns",
     dict(conns=20, depth=1, get_ratio=1.0, value="32", multiget=100)),
    ("pipeline_16", "text get 90% / set 10%, 32 B, 10 conns x 16 in flight",
     dict(conns=10, depth=16, get_ratio=0.9, value="32")),
    ("meta_1", "mg 90% / ms 10%, 32 B values, 50 conns, 1 in flight",
     dict(conns=50, depth=1, get_ratio=0.9, value="32", proto="meta")),
    ("meta_16", "mg 90% / ms 10%, 32 B, 10 conns x 16 in flight",
     dict(conns=10, depth=16, get_ratio=0.9, value="32", proto="meta")),
    ("binary_1", "binary GETK 90% / SET 10%, 32 B values, 50 conns, 1 in "
     "flight",
     dict(conns=50, depth=1, get_ratio=0.9, value="32", proto="binary")),
    ("binary_set", "binary SET 100%, 32 B values, 50 conns, 1 in flight",
     dict(conns=50, depth=1, get_ratio=0.0, value="32", proto="binary")),
    ("binary_16", "binary GETKQ 90% / SETQ 10%, 32 B, 10 conns x batches "
     "of 16 closed by NOOP",
     dict(conns=10, depth=16, get_ratio=0.9, value="32", proto="binary",
          quiet=True)),
    ("zipf_099", "get 90% / set 10%, Zipf s=0.99 keys, 32 B, 50 conns",
     dict(conns=50, depth=1, get_ratio=0.9, value="32", dist="zipf",
          zipf_s=0.99)),
    ("threads_2", "get 90% / set 10%, 32 B, 50 conns, -t 2, server unpinned",
     dict(conns=50, depth=1, get_ratio=0.9, value="32", threads=2)),
]

# TLS rows (section tls): the same table as WORKLOADS. Both servers get
# -Z and the same certificate; a handshake row's "request" is a whole
# cycle (connect, handshake, `version`, close). server_opts are -o
# options added to the TLS ones.
TLS_WORKLOADS = [
    ("tls_get_set_small", "TLS: get 90% / set 10%, 32 B values, 50 conns, "
     "1 in flight (as get_set_small)",
     dict(conns=50, depth=1, get_ratio=0.9, value="32", tls=True)),
    ("tls_get_set_1k", "TLS: get 90% / set 10%, 1 KiB values, 50 conns, "
     "1 in flight (as get_set_1k)",
     dict(conns=50, depth=1, get_ratio=0.9, value="1024", tls=True)),
    ("tls_handshake", "TLS: connect, full handshake, `version`, close; "
     "16 clients",
     dict(conns=16, mode="handshake", duration_key="hs_duration")),
    ("tls_handshake_resume", "TLS: as tls_handshake, each client resuming "
     "its last session; -o ssl_session_cache",
     dict(conns=16, mode="handshake", resume=True,
          duration_key="hs_duration", server_opts=("ssl_session_cache",))),
]

MEMORY_VALUES = [("16 B", "16"), ("100 B", "100"), ("1 KiB", "1024"),
                 ("16-1024 B", "16-1024")]

FULL = dict(rounds=4, duration=3.0, warmup=0.5, keys=100000,
            mem_items=1000000, hit_mem_mb=64, hit_value=100, zipf=(0.99, 0.9),
            shift=dict(gets1=500000, rate1=100000, gets2=1000000, rate2=25000,
                       value="1024-4096"),
            scan_rate=80000, dump_items=1000000, cg_requests=20000,
            hs_duration=2.0, budget=1080)
QUICK = dict(rounds=2, duration=0.5, warmup=0.2, keys=20000,
             mem_items=50000, hit_mem_mb=8, hit_value=100, zipf=(0.99,),
             shift=dict(gets1=50000, rate1=50000, gets2=50000, rate2=25000,
                        value="1024-4096"),
             scan_rate=40000, dump_items=50000, cg_requests=2000,
             hs_duration=0.5, budget=240)

KEY_LEN_MEM = 30  # memory and hit ratio sections: 30-byte keys
IDLE_CONNS = 2000  # conns section: idle clients held open at once


class BenchError(Exception):
    """A server broke: wrong data, protocol error, died, did not start."""


class Unsupported(Exception):
    """The server answered ERROR to a meta command or a binary packet."""


class StartError(BenchError):
    """A server exited at start; `said` is the last line it wrote."""

    def __init__(self, msg, said):
        super().__init__(msg)
        self.said = said


def log(msg):
    print("[bench %6.1fs] %s" % (time.monotonic() - T0, msg),
          file=sys.stderr, flush=True)


T0 = time.monotonic()


# ---------------------------------------------------------------- building

def makefile_warn():
    """The WARN flags of the top-level Makefile (one source of truth)."""
    try:
        with open(os.path.join(ROOT, "Makefile")) as f:
            text = f.read()
    except OSError:
        return WARN_FALLBACK
    m = re.search(r"^WARN\s*:?=\s*((?:.*\\\n)*.*)$", text, re.M)
    if not m:
        return WARN_FALLBACK
    return m.group(1).replace("\\\n", " ").split()


def loadgen_command(cc="cc"):
    return ([cc, "-O2"] + makefile_warn() +
            ["-o", LOADGEN, LOADGEN_SRC, "-lm", "-lssl", "-lcrypto"])


def build_loadgen():
    os.makedirs(os.path.dirname(LOADGEN), exist_ok=True)
    if (os.path.exists(LOADGEN) and
            os.path.getmtime(LOADGEN) >= os.path.getmtime(LOADGEN_SRC)):
        return
    cmd = loadgen_command(os.environ.get("CC", "cc"))
    log("building: " + " ".join(cmd))
    subprocess.run(cmd, check=True, timeout=120)


# ---------------------------------------------------------------- machine

def machine_info():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return dict(nproc=os.cpu_count(), cpu=model, kernel=platform.release(),
                date=time.strftime("%Y-%m-%d %H:%M:%S %Z"))


def pick_cpus():
    """CPU for the servers, CPU for the load generator (or None, None)."""
    if not shutil.which("taskset"):
        return None, None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return cpus[0], cpus[0]
    return cpus[0], cpus[1]


SERVER_CPU, LOADGEN_CPU = pick_cpus()


def pinned(cmd, cpu):
    if cpu is None:
        return cmd
    return ["taskset", "-c", str(cpu)] + cmd


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def version_of(binary):
    try:
        out = subprocess.run([binary, "-V"], capture_output=True, text=True,
                             timeout=10)
        return " / ".join(out.stdout.split("\n")[:2]).strip(" /")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


# ---------------------------------------------------------------- servers

LIVE = []  # servers started by this process, stopped on any exit

# Under valgrind the file limit needs care: valgrind only lets its client
# "set" the hard limit to the value it already shows (our soft limit less
# the descriptors valgrind keeps). memcached sets soft and hard to exactly
# -c, so it needs -c equal to that visible limit; a server that only
# raises the limit when -c plus some reserve exceeds it needs a smaller
# -c. callgrind_run tries the visible limit first, then 256. The
# connection limit does not change the per-request counts.
VALGRIND_NOFILE = 1100
_valgrind_conns = []


def valgrind_limits():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft = VALGRIND_NOFILE if hard == resource.RLIM_INFINITY else min(
        VALGRIND_NOFILE, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def valgrind_conns():
    if not _valgrind_conns:
        out = subprocess.run(
            ["valgrind", "--tool=none", "--quiet", "/bin/sh", "-c",
             "ulimit -Hn"], capture_output=True, text=True, timeout=60,
            preexec_fn=valgrind_limits)
        _valgrind_conns.append(int(out.stdout.split()[-1]))
    return _valgrind_conns[0]


class Server:
    """One server process we started; stopped by its PID only."""

    def __init__(self, name, binary, mem_mb, cpu=None, valgrind_out=None,
                 conns=1024, threads=1, extra=()):
        self.name = name
        self.conns = conns
        self.port = free_port()
        args = [binary]
        if os.geteuid() == 0:
            args += ["-u", "root"]
        args += ["-l", "127.0.0.1", "-p", str(self.port), "-U", "0",
                 "-t", str(threads), "-m", str(mem_mb), "-c", str(conns)]
        args += list(extra)
        if valgrind_out:
            args = ["valgrind", "--tool=callgrind", "--quiet",
                    "--separate-threads=yes",
                    "--callgrind-out-file=" + valgrind_out] + args
        self.cmd = pinned(args, cpu)
        os.makedirs(os.path.join(OUT_DIR, "logs"), exist_ok=True)
        self.log_path = os.path.join(OUT_DIR, "logs", "%s.log" % name)
        self.log = open(self.log_path, "ab")
        self.log_start = self.log.tell()
        self.proc = subprocess.Popen(
            self.cmd, stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=valgrind_limits if valgrind_out else None)
        self.pid = self.proc.pid  # taskset and valgrind exec in place
        LIVE.append(self)
        self.wait_ready(60 if valgrind_out else 10)

    def wait_ready(self, limit):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise StartError("%s exited with %s at start (see %s)" %
                                 (self.name, self.proc.returncode,
                                  self.log_path), self.log_tail())
            try:
                with socket.create_connection(("127.0.0.1", self.port),
                                              timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise BenchError("%s did not listen within %ds" % (self.name, limit))

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self):
        """The last line this start of the server wrote to its log."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self.log_start)
                lines = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        lines = [x.strip() for x in lines if x.strip()]
        return lines[-1][:200] if lines else ""

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise BenchError("no VmRSS for %s" % self.name)

    def stop(self, limit=10):
        """SIGTERM, wait; SIGKILL only this PID if it will not go."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=limit)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.log.close()
        if self in LIVE:
            LIVE.remove(self)
        return self.proc.returncode


def stop_all():
    for s in list(LIVE):
        try:
            s.stop()
        except Exception as e:  # keep stopping the others
            print("bench: stopping %s: %s" % (s.name, e), file=sys.stderr)


# ---------------------------------------------------------------- loadgen

def loadgen(server, mode, timeout, **kw):
    """Run the load generator once; its JSON result as a dict."""
    args = [LOADGEN, "--port", str(server.port), "--mode", mode,
            "--server-pid", str(server.pid), "--timeout", str(timeout)]
    for k, v in kw.items():
        if v is None or v is False:
            continue
        args += ["--" + k.replace("_", "-")]
        if v is not True:  # True: a flag without a value
            args.append(str(v))
    try:
        p = subprocess.run(pinned(args, LOADGEN_CPU), capture_output=True,
                           text=True, timeout=timeout + 30)
    except subprocess.TimeoutExpired:
        raise BenchError("loadgen did not finish: " + " ".join(args))
    result = None
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            result = json.loads(line)
    if p.returncode == 3:
        raise Unsupported("%s answered ERROR to a %s request" % (
            server.name, kw.get("proto") or "meta"))
    if p.returncode != 0 or result is None or not result.get("ok"):
        raise BenchError("%s: loadgen %s failed (exit %d): %s %s" % (
            server.name, mode, p.returncode, p.stderr.strip()[-400:],
            (result or {}).get("error", "")))
    if not server.alive():
        raise BenchError("%s died during %s" % (server.name, mode))
    return result


# ---------------------------------------------------------------- sections

def over_budget(cfg):
    return time.monotonic() - T0 > cfg["budget"]


def median(xs):
    return statistics.median(xs) if xs else None


def ratio_stats(a, b):
    """Ratio of medians a/b and min..max of the per-round ratios."""
    pairs = [x / y for x, y in zip(a, b) if x is not None and y]
    ma, mb = median(a), median(b)
    if not pairs or ma is None or not mb:
        return None
    return dict(median=ma / mb, min=min(pairs), max=max(pairs))


def selected(cfg, name):
    """Whether --workloads (fnmatch patterns) picks this workload."""
    pats = cfg.get("workloads")
    return pats is None or any(fnmatch.fnmatchcase(name, p) for p in pats)


def throughput(cfg, bins, failures):
    results = {}
    for name, desc, w in WORKLOADS:
        if not selected(cfg, name):
            continue
        if over_budget(cfg):
            results[name] = dict(desc=desc, skipped="time budget")
            continue
        log("throughput: %s" % name)
        results[name] = throughput_one(cfg, bins, name, desc, w, failures)
    return results


def fill_depth(w):
    """Sets in flight per connection of a workload's prefill: 32, or over
    TLS no more than 8 KiB of them. memcached 1.6.18 reads TLS into its
    16 KiB read buffer and leaves the rest decrypted inside OpenSSL until
    the socket has more: a pipelined write larger than that is answered
    only in part (20 sets of 1 KiB in one write: 16 STOREDs), which
    stalls the end of a deep fill. 1.6.45 answers them all."""
    if not w.get("tls"):
        return 32
    largest = int(str(w["value"]).split("-")[-1])
    return max(1, min(32, 8192 // (largest + 64)))


def throughput_one(cfg, bins, name, desc, w, failures, extra=(),
                   unavailable=None):
    """One workload on both servers. extra: server flags both get;
    unavailable: {server: why} for servers not to run (refused extra)."""
    mode = w.get("mode", "run")
    duration = w.get("duration", cfg["duration"])
    if mode == "handshake":
        args = dict(conns=w["conns"], tls=True, tls_resume=w.get("resume"),
                    warmup=cfg["warmup"], duration=duration)
    else:
        args = dict(conns=w["conns"], depth=w["depth"],
                    get_ratio=w["get_ratio"], value_size=w["value"],
                    multiget=w.get("multiget"), proto=w.get("proto"),
                    quiet=w.get("quiet"), dist=w.get("dist"),
                    zipf_s=w.get("zipf_s"), keys=cfg["keys"],
                    warmup=cfg["warmup"], duration=duration,
                    tls=w.get("tls"))
    entry = dict(desc=desc, args=args, server_flags=list(extra))
    servers = {}
    state = {}
    try:
        threads = w.get("threads", 1)
        for sname in SERVER_NAMES:
            why = (unavailable or {}).get(sname)
            if why is not None:
                state[sname] = dict(runs=[], status="unavailable: " + why)
                continue
            # -t 1: the server alone on its CPU; -t N: free to use them all.
            servers[sname] = Server(sname, bins[sname], 1024,
                                    SERVER_CPU if threads == 1 else None,
                                    threads=threads, extra=extra)
            state[sname] = dict(runs=[], status="ok")
        for sname in servers:
            if mode == "handshake":
                continue  # nothing to read back
            try:
                loadgen(servers[sname], "fill", 120, keys=cfg["keys"],
                        value_size=w["value"], conns=4,
                        depth=fill_depth(w), tls=w.get("tls"))
            except BenchError as e:
                state[sname]["status"] = "FAILED: %s" % e
                failures.append("%s/%s: %s" % (name, sname, e))
        for r in range(cfg["rounds"]):
            order = SERVER_NAMES if r % 2 == 0 else SERVER_NAMES[::-1]
            for sname in order:
                st = state[sname]
                if st["status"] != "ok":
                    continue
                try:
                    res = loadgen(servers[sname], mode,
                                  cfg["warmup"] + duration + 20,
                                  seed=r + 1, **args)
                    st["runs"].append(res)
                except Unsupported:
                    st["status"] = "unsupported"
                except BenchError as e:
                    st["status"] = "FAILED: %s" % e
                    failures.append("%s/%s: %s" % (name, sname, e))
    finally:
        for s in servers.values():
            s.stop()
    for sname, st in state.items():
        runs = st["runs"]
        st["ops_per_s"] = [x["ops_per_s"] for x in runs]
        st["keys_per_s"] = [x["keys_per_s"] for x in runs]
        st["cpu_us_per_req"] = [x["cpu_us_per_req"] for x in runs]
        st["p99_us"] = [x["lat_us"]["p99"] for x in runs]
        if runs and "tls" in runs[0]:
            st["tls"] = dict(version=runs[0]["tls"]["version"],
                             cipher=runs[0]["tls"]["cipher"],
                             resumed=[x["tls"]["resumed"] for x in runs],
                             requests=[x["requests"] for x in runs])
        st["median"] = {k: median([v for v in st[k] if v is not None])
                        for k in ("ops_per_s", "keys_per_s",
                                  "cpu_us_per_req", "p99_us")}
        st["runs"] = runs
    entry.update(state)
    entry["ratio"] = {}
    if all(state.get(s, {}).get("status") == "ok" for s in SERVER_NAMES):
        for k in ("ops_per_s", "cpu_us_per_req", "p99_us"):
            entry["ratio"][k] = ratio_stats(state["memoria"][k],
                                            state["memcached"][k])
    return entry


# ---------------------------------------------------------------- TLS

def make_cert():
    """A self-signed RSA 2048 certificate and key for 127.0.0.1, made
    fresh in the output directory: (certificate path, key path)."""
    d = os.path.join(OUT_DIR, "tls")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    p = subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
         "-keyout", key, "-out", cert, "-days", "2", "-subj",
         "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise BenchError("openssl req: %s" % p.stderr.strip()[-300:])
    return cert, key


def tls_flags(cert, key, opts=()):
    return ["-Z", "-o", ",".join(["ssl_chain_cert=" + cert,
                                  "ssl_key=" + key] + list(opts))]


def refused(binary, sname, extra):
    """None if the server starts with these flags, else why not: its last
    words. A server that does not start without them either is broken,
    not refusing: BenchError."""
    try:
        Server(sname, binary, 64, extra=extra).stop()
        return None
    except StartError as e:
        why = e.said or str(e)
    Server(sname, binary, 64).stop()  # raises if it cannot start at all
    return why


def tls(cfg, bins, failures):
    if not shutil.which("openssl"):
        return dict(skipped="openssl command not installed")
    cert, key = make_cert()
    results = dict(cert="RSA 2048, self-signed", rows={}, unavailable={})
    probed = {}
    for name, desc, w in TLS_WORKLOADS:
        if not selected(cfg, name):
            continue
        if over_budget(cfg):
            results["rows"][name] = dict(desc=desc, skipped="time budget")
            continue
        opts = tuple(w.get("server_opts", ()))
        extra = tls_flags(cert, key, opts)
        if opts not in probed:
            probed[opts] = {}
            for sname in SERVER_NAMES:
                why = refused(bins[sname], sname, extra)
                if why is not None:
                    log("tls: %s refuses %s: %s" % (sname, " ".join(
                        ["-Z"] + ["-o " + o for o in opts]), why))
                    probed[opts][sname] = why
                    results["unavailable"]["%s (-Z%s)" % (sname, "".join(
                        " -o " + o for o in opts))] = why
        wl = dict(w)
        if "duration_key" in w:
            wl["duration"] = cfg[w["duration_key"]]
        log("tls: %s" % name)
        results["rows"][name] = throughput_one(
            cfg, bins, name, desc, wl, failures, extra=extra,
            unavailable=probed[opts])
    return results


def memory(cfg, bins, failures):
    n = cfg["mem_items"]
    results = {}
    for label, size in MEMORY_VALUES:
        row = dict(items=n, key_len=KEY_LEN_MEM, value_size=size)
        for sname in SERVER_NAMES:
            if over_budget(cfg):
                row[sname] = dict(status="skipped: time budget")
                continue
            log("memory: %s values, %s" % (label, sname))
            row[sname] = memory_one(cfg, bins[sname], sname, size, failures)
        results[label] = row
    return results


def memory_one(cfg, binary, sname, size, failures):
    n = cfg["mem_items"]
    keys = dict(keys=n, key_len=KEY_LEN_MEM, value_size=size)
    server = Server(sname, binary, 4096, SERVER_CPU)
    try:
        time.sleep(0.2)
        rss0 = server.rss_kib()
        fill = loadgen(server, "fill", 300, conns=4, depth=32, **keys)
        time.sleep(0.5)
        rss1 = server.rss_kib()
        check = loadgen(server, "verify", 300, conns=4, depth=4,
                        multiget=100, **keys)
        rss2 = server.rss_kib()
    except (BenchError, Unsupported) as e:
        failures.append("memory %s/%s: %s" % (size, sname, e))
        return dict(status="FAILED: %s" % e)
    finally:
        server.stop()
    payload = fill["payload_bytes"] / n
    growth = (max(rss1, rss2) - rss0) * 1024 / n
    return dict(status="ok", rss_before_kib=rss0, rss_after_fill_kib=rss1,
                rss_after_verify_kib=rss2, payload_per_item=payload,
                rss_per_item=growth, overhead_per_item=growth - payload,
                verified=check["hits"], fill_s=fill["seconds"])


def conns(cfg, bins, failures):
    results = dict(conns=IDLE_CONNS, mem_mb=64, threads=4)
    for sname in SERVER_NAMES:
        if over_budget(cfg):
            results[sname] = dict(status="skipped: time budget")
            continue
        log("conns: %d idle connections, %s" % (IDLE_CONNS, sname))
        results[sname] = conns_one(bins[sname], sname, failures)
    return results


def conns_one(binary, sname, failures):
    """VmRSS before and after IDLE_CONNS clients each did one `version`
    round trip and stayed open, idle."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = IDLE_CONNS + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            failures.append("conns %s: needs %d descriptors, hard limit %d" %
                            (sname, want, hard))
            return dict(status="FAILED: descriptor limit %d" % hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    server = Server(sname, binary, 64, SERVER_CPU, conns=want, threads=4)
    socks = []
    try:
        time.sleep(0.2)
        rss0 = server.rss_kib()
        for _ in range(IDLE_CONNS):
            c = socket.create_connection(("127.0.0.1", server.port),
                                         timeout=10)
            socks.append(c)
            c.sendall(b"version\r\n")
            reply = b""
            while not reply.endswith(b"\r\n"):
                data = c.recv(256)
                if not data:
                    raise BenchError("%s closed a client" % sname)
                reply += data
            if not reply.startswith(b"VERSION "):
                raise BenchError("%s answered %r" % (sname, reply[:60]))
        time.sleep(0.5)
        rss1 = server.rss_kib()
        if not server.alive():
            raise BenchError("%s died" % sname)
    except (BenchError, OSError) as e:
        failures.append("conns %s: %s" % (sname, e))
        return dict(status="FAILED: %s" % e)
    finally:
        for c in socks:
            c.close()
        server.stop()
    return dict(status="ok", rss_before_kib=rss0, rss_after_kib=rss1,
                kib_per_conn=(rss1 - rss0) / IDLE_CONNS)


def hit_workloads(cfg):
    """The hit-ratio rows: (name, JSON key, what it is, loadgen arguments).

    Every row runs loadgen --lockstep: one connection, gets in batches of
    64, the sets of a batch's misses ahead of the next batch, so both
    servers are sent the same gets in the same order (fixed seed). Each
    first sets the keys of Zipf ranks fit-1 .. 0 (hottest last), so the
    cache starts full.
    """
    mem_mb, value = cfg["hit_mem_mb"], cfg["hit_value"]
    fit = mem_mb * 1024 * 1024 // (KEY_LEN_MEM + value)
    nkeys = 3 * fit
    base = dict(keys=nkeys, key_len=KEY_LEN_MEM, value_size=value,
                dist="zipf", conns=1, depth=64, lockstep=True, prefill=fit,
                seed=1)
    rows = []
    for s in cfg["zipf"]:
        rows.append(("hit_zipf_%03d" % round(s * 100), "%.2f" % s,
                     "Zipf s=%.2f" % s,
                     dict(base, zipf_s=s, warmup_requests=nkeys,
                          requests=nkeys // 2)))
    sh = cfg["shift"]
    rows.append(("hit_size_shift", "size_shift",
                 "size shift: Zipf 0.99, %s B values, then new keys with "
                 "%s B values" % (value, sh["value"]),
                 dict(base, zipf_s=0.99, warmup_requests=sh["gets1"],
                      warmup_rate=sh["rate1"], shift_at=sh["gets1"],
                      shift_value_size=sh["value"], requests=sh["gets2"],
                      rate=sh["rate2"])))
    warm, before, scan, after = (nkeys, fit // 2, fit, fit // 2)
    rows.append(("hit_scan", "scan",
                 "scan: Zipf 0.99 with one sequential pass over %s cold "
                 "keys" % fmt(scan),
                 dict(base, zipf_s=0.99, warmup_requests=warm,
                      requests=before + scan + after, scan_at=warm + before,
                      scan_keys=scan, rate=cfg["scan_rate"])))
    return fit, nkeys, rows


HIT_NAMES = ["hit_zipf_099", "hit_zipf_090", "hit_size_shift", "hit_scan"]

# Server stats read at the end of a hit-ratio row (those a server has).
HIT_STATS = ("curr_items", "evictions", "total_items", "slabs_moved",
             "slab_reassign_rescues", "slab_reassign_evictions_nomem",
             "slab_global_page_pool", "bytes", "limit_maxbytes")


def server_stats(port, names):
    """Some lines of a server's `stats`, as {name: int}."""
    c = Client(port)
    c.sock.settimeout(10)
    try:
        c.sock.sendall(b"stats\r\n")
        out = {}
        while True:
            line = c.line()
            if line == b"END":
                return out
            parts = line.split()
            if (len(parts) == 3 and parts[0] == b"STAT" and
                    parts[1].decode() in names and parts[2].isdigit()):
                out[parts[1].decode()] = int(parts[2])
    finally:
        c.close()


def hitratio(cfg, bins, failures):
    mem_mb = cfg["hit_mem_mb"]
    value = cfg["hit_value"]
    fit, nkeys, rows = hit_workloads(cfg)
    results = dict(mem_mb=mem_mb, value_size=value, key_len=KEY_LEN_MEM,
                   payload_fit=fit, keys=nkeys, rows={})
    for name, key, desc, args in rows:
        if not selected(cfg, name):
            continue
        row = dict(name=name, desc=desc, args=args)
        for sname in SERVER_NAMES:
            if over_budget(cfg):
                row[sname] = dict(status="skipped: time budget")
                continue
            log("hitratio: %s, %s" % (name, sname))
            row[sname] = hitratio_one(bins[sname], sname, mem_mb, args,
                                      failures, name)
        if key in ("size_shift", "scan"):
            results[key] = row
        else:
            results["rows"][key] = row
    return results


def hitratio_one(binary, sname, mem_mb, args, failures, name):
    server = Server(sname, binary, mem_mb, SERVER_CPU)
    try:
        res = loadgen(server, "hitratio", 600, **args)
        seg = res.get("segments", {})
        out = dict(status="ok", hit_ratio=res["hit_ratio"],
                   gets=res["gets"], final_rss_kib=server.rss_kib(),
                   seconds=res["seconds"], server_cpu_s=res["server_cpu_s"],
                   store_failed=res.get("store_failed"),
                   prefill_seconds=res.get("prefill_seconds"),
                   segments=seg, stats=server_stats(server.port, HIT_STATS))
        after = seg.get("after_scan", {})
        if after.get("gets"):
            out["after_scan_hit_ratio"] = after["hit_ratio"]
        return out
    except (BenchError, Unsupported) as e:
        failures.append("hitratio %s/%s: %s" % (name, sname, e))
        return dict(status="FAILED: %s" % e)
    finally:
        server.stop()


# ---------------------------------------------------------------- metadump

DUMP_VALUE = "32"


def task_ticks(pid):
    """utime + stime of every thread of pid, in clock ticks."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # the thread exited
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def metadump(cfg, bins, failures):
    """Keys per second and server CPU per key of `lru_crawler metadump
    all`, read to its END on a fresh connection after a fill."""
    n = cfg["dump_items"]
    results = dict(items=n, key_len=KEY_LEN_MEM, value_size=DUMP_VALUE)
    for sname in SERVER_NAMES:
        if over_budget(cfg):
            results[sname] = dict(status="skipped: time budget")
            continue
        log("metadump: %s items, %s" % (fmt(n), sname))
        results[sname] = metadump_one(bins[sname], sname, n, failures)
    return results


def metadump_one(binary, sname, n, failures):
    server = Server(sname, binary, 1024, SERVER_CPU)
    try:
        loadgen(server, "fill", 300, keys=n, key_len=KEY_LEN_MEM,
                value_size=DUMP_VALUE, conns=4, depth=32)
        time.sleep(0.2)
        rss0 = server.rss_kib()
        run = dump_all(server, n)
        run["rss_before_kib"] = rss0
        run["rss_after_kib"] = server.rss_kib()
        if not server.alive():
            raise BenchError("%s died during the dump" % sname)
        return run
    except Unsupported:
        return dict(status="unsupported")
    except BenchError as e:
        failures.append("metadump/%s: %s" % (sname, e))
        return dict(status="FAILED: %s" % e)
    finally:
        server.stop()


def dump_all(server, n, tries=20):
    """One timed metadump; BUSY (the crawler is at work) is retried.
    This process reads it on the load generator's CPU."""
    mask = os.sched_getaffinity(0)
    if LOADGEN_CPU is not None:
        os.sched_setaffinity(0, {LOADGEN_CPU})
    try:
        return dump_all_pinned(server, n, tries)
    finally:
        os.sched_setaffinity(0, mask)


def dump_all_pinned(server, n, tries):
    for _ in range(tries):
        c = Client(server.port)
        c.sock.settimeout(120)
        try:
            chunks = []
            tail = b""
            cpu0 = task_ticks(server.pid)
            t0 = time.monotonic()
            c.sock.sendall(b"lru_crawler metadump all\r\n")
            # Item lines end in a bare LF (as memcached writes them).
            while not (tail.endswith(b"\nEND\r\n") or
                       tail == b"END\r\n"):
                try:
                    chunk = c.sock.recv(1 << 20)
                except OSError as e:
                    raise BenchError("metadump: %s" % e)
                if not chunk:
                    raise BenchError("metadump: connection closed after "
                                     "%d bytes" % sum(map(len, chunks)))
                chunks.append(chunk)
                tail = (tail + chunk[-64:])[-64:]
                if len(chunks) == 1 and chunk.startswith((b"BUSY", b"ERROR")):
                    break
            seconds = time.monotonic() - t0
            cpu = (task_ticks(server.pid) - cpu0) / os.sysconf("SC_CLK_TCK")
        finally:
            c.close()
        data = b"".join(chunks)
        if data == b"ERROR\r\n":
            raise Unsupported("metadump")
        if data.startswith(b"BUSY"):
            time.sleep(0.5)
            continue
        if not data.endswith(b"END\r\n"):
            raise BenchError("metadump: %r" % data[:200])
        if data.startswith(b"OK\r\n"):
            data = data[4:]  # newer memcached (1.6.45) answers OK first
        lines = data[:-5].split(b"\n")
        if lines[-1] != b"":
            raise BenchError("metadump: last line %r" % lines[-1][:200])
        lines = lines[:-1]
        keys = set()
        for line in lines:
            f = line.split(b" ")
            if not f[0].startswith(b"key=") or len(f) < 7:
                raise BenchError("metadump line %r" % line[:200])
            keys.add(f[0])
        # memcached's crawler walks each LRU in turn while its maintainer
        # moves items between them: a few items are missed (or listed
        # twice) in a dump of a live cache. Rates count the lines sent.
        if len(keys) < n * 0.99 or len(lines) > n * 1.01:
            raise BenchError("metadump: %d lines, %d keys, %d items" % (
                len(lines), len(keys), n))
        return dict(status="ok", lines=len(lines), unique_keys=len(keys),
                    bytes=len(data), seconds=seconds,
                    keys_per_s=len(lines) / seconds, server_cpu_s=cpu,
                    cpu_us_per_key=cpu * 1e6 / len(lines))
    raise BenchError("metadump: still BUSY after %d tries" % tries)


# ------------------------------------------------------------ instructions

CG_KEYS = 1000


# Binary protocol: the 24-byte header (magic, opcode, key length, extras
# length, data type, vbucket or status, body length, opaque, CAS).
BIN_HEADER = struct.Struct(">BBHBBHIIQ")
BIN_GETK, BIN_SET, BIN_NOOP = 0x0C, 0x01, 0x0A


class Client:
    """A blocking client for the callgrind sequences (text or binary)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""

    def close(self):
        self.sock.close()

    def more(self):
        try:
            chunk = self.sock.recv(65536)
        except OSError as e:  # a timeout too: the server stopped answering
            raise BenchError("reading a reply: %s" % e)
        if not chunk:
            raise BenchError("server closed the connection")
        self.buf += chunk

    def line(self):
        while b"\r\n" not in self.buf:
            self.more()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self.more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def call(self, req, kind, expect=None):
        """Send one request and check its reply against kind/expect."""
        self.sock.sendall(req)
        if kind == "bin":
            self.bin_reply(expect)
            return
        line = self.line()
        if line == b"ERROR" and kind in ("mg", "hd"):
            raise Unsupported("meta")
        if kind == "get":
            found = 0
            while line.startswith(b"VALUE "):
                nbytes = int(line.split()[3])
                data = self.exact(nbytes + 2)
                if data[-2:] != b"\r\n" or data[:-2] != cg_value(
                        line.split()[1]):
                    raise BenchError("bad value for %r" % line)
                found += 1
                line = self.line()
            if line != b"END" or found != expect:
                raise BenchError("get: %r after %d values" % (line, found))
        elif kind == "mg":
            if not line.startswith(b"VA "):
                raise BenchError("mg: %r" % line)
            data = self.exact(int(line.split()[1]) + 2)
            if data[:-2] != cg_value(req.split()[1]):
                raise BenchError("mg: bad value")
        elif kind == "num":
            if not line.isdigit():
                raise BenchError("incr: %r" % line)
        elif line != expect:
            raise BenchError("%r: %r (wanted %r)" % (req[:40], line, expect))

    def bin_reply(self, want):
        """Read one binary reply and check all of it against want (a dict:
        opcode, opaque, and for a GETK hit key and value)."""
        first = self.exact(1)
        if first != b"\x81":
            rest = b"ERROR\r\n"[1:] if first == b"E" else b""
            if rest and self.exact(len(rest)) == rest:
                raise Unsupported("binary")
            raise BenchError("binary reply without magic 0x81: %r" % first)
        (_magic, opcode, keylen, extlen, dtype, status, bodylen, opaque,
         cas) = BIN_HEADER.unpack(first + self.exact(BIN_HEADER.size - 1))
        body = self.exact(bodylen)
        got = dict(opcode=opcode, keylen=keylen, extlen=extlen, dtype=dtype,
                   status=status, bodylen=bodylen, opaque=opaque)
        key, value = want.get("key", b""), want.get("value")
        expect = dict(opcode=want["opcode"], keylen=len(key),
                      extlen=4 if value else 0, dtype=0, status=0,
                      bodylen=(4 + len(key) + len(value)) if value else 0,
                      opaque=want["opaque"])
        if got != expect or (cas == 0) != (want.get("cas") == 0):
            raise BenchError("binary reply %r (CAS %d, body %r), wanted %r "
                             "and %s CAS" % (got, cas, body[:60], expect,
                                             "no" if "cas" in want else "a"))
        if value and body != struct.pack(">I", 0) + key + value:
            raise BenchError("binary GETK: flags, key or value wrong: %r"
                             % body[:80])


def cg_key(i):
    return b"k%015d" % (i % CG_KEYS)


def cg_value(key):
    return (key * 2)[:32]


def cg_setup(c):
    for i in range(CG_KEYS):
        k = cg_key(i)
        c.call(b"set %s 0 0 32\r\n%s\r\n" % (k, cg_value(k)), "line",
               b"STORED")
        c.call(b"set c%015d 0 0 7\r\n1000000\r\n" % i, "line", b"STORED")


def cg_bin_packet(opcode, opaque, key, extras=b"", value=b""):
    return BIN_HEADER.pack(0x80, opcode, len(key), len(extras), 0, 0,
                           len(extras) + len(key) + len(value), opaque,
                           0) + extras + key + value


def cg_request(kind, i):
    k = cg_key(i)
    opaque = 0x5A000000 + i
    if kind == "bin_get_hit":
        return cg_bin_packet(BIN_GETK, opaque, k), "bin", dict(
            opcode=BIN_GETK, opaque=opaque, key=k, value=cg_value(k))
    if kind == "bin_set":
        return cg_bin_packet(BIN_SET, opaque, k, struct.pack(">II", 0, 0),
                             cg_value(k)), "bin", dict(opcode=BIN_SET,
                                                       opaque=opaque)
    if kind == "get_hit":
        return b"get %s\r\n" % k, "get", 1
    if kind == "get_miss":
        return b"get m%015d\r\n" % i, "get", 0
    if kind == "set":
        return b"set %s 0 0 32\r\n%s\r\n" % (k, cg_value(k)), "line", \
            b"STORED"
    if kind == "multiget_10":
        keys = b" ".join(cg_key(i * 10 + j) for j in range(10))
        return b"get %s\r\n" % keys, "get", 10
    if kind == "incr":
        return b"incr c%015d 1\r\n" % (i % CG_KEYS), "num", None
    if kind == "mg":
        return b"mg %s v f\r\n" % k, "mg", None
    if kind == "ms":
        return b"ms %s 32 F0\r\n%s\r\n" % (k, cg_value(k)), "hd", b"HD"
    raise ValueError(kind)


CG_KINDS = ["get_hit", "get_miss", "set", "multiget_10", "incr", "mg", "ms",
            "bin_get_hit", "bin_set"]
# The protocol is fixed by a connection's first byte, so binary requests
# go over a second connection opened after the (text) setup; their idle
# baseline opens and closes that connection too.
CG_BINARY = ("bin_get_hit", "bin_set")


def callgrind_threads(path):
    """{thread number: total Ir} from callgrind's per-thread files."""
    threads = {}
    for name in glob.glob(glob.escape(path) + "-*"):
        m = re.search(r"-(\d+)$", name)
        if not m:
            continue
        with open(name) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    threads[int(m.group(1))] = int(line.split()[1])
                    break
    if not threads:
        raise BenchError("no callgrind totals in %s-*" % path)
    return threads


_cg_conns = {}  # server name -> the -c it accepted under valgrind


def callgrind_run(binary, sname, kind, n, second_conn=False):
    """Total Ir of: start, setup sequence, n requests of kind, SIGTERM.

    second_conn: the requests go over a second connection (binary)."""
    out = os.path.join(OUT_DIR, "callgrind", "%s.%s.%d.out" % (
        sname, kind or ("idle_2conns" if second_conn else "idle"), n))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    for old in glob.glob(glob.escape(out) + "*"):
        os.unlink(old)
    server = None
    tries = [_cg_conns[sname]] if sname in _cg_conns else [
        valgrind_conns(), 256]
    for conns in tries:
        try:
            server = Server(sname, binary, 64, None, valgrind_out=out,
                            conns=conns)
            _cg_conns[sname] = conns
            break
        except BenchError as e:
            if conns == tries[-1] or "exited with 71" not in str(e):
                raise
            log("%s under valgrind refused -c %d; trying -c 256" %
                (sname, conns))
    try:
        c = Client(server.port)
        cg_setup(c)
        c2 = Client(server.port) if second_conn else c
        for i in range(n):
            req, how, expect = cg_request(kind, i)
            c2.call(req, how, expect)
        if second_conn:
            c2.close()
        c.close()
    finally:
        rc = server.stop(limit=120)
    if rc != 0:
        raise BenchError("%s under valgrind exited %s" % (sname, rc))
    return callgrind_threads(out)


def speaks_binary(binary, sname):
    """Probe a server (natively) with one binary NOOP: True if it answers
    one, False if it answers ERROR. A server without the binary protocol
    reads the NOOP's opcode byte (0x0a) as a text line's end, so it does
    answer; this keeps it from waiting under valgrind for a reply that
    never comes."""
    server = Server(sname, binary, 64)
    try:
        c = Client(server.port)
        c.sock.settimeout(10)
        try:
            c.call(cg_bin_packet(BIN_NOOP, 7, b""), "bin",
                   dict(opcode=BIN_NOOP, opaque=7, cas=0))
            return True
        except Unsupported:
            return False
        finally:
            c.close()
    finally:
        server.stop()


def instructions(cfg, bins, failures):
    """Ir per request: all threads, and the thread that grew the most.

    The second number is there because a server's background threads
    (memcached's LRU maintainer) run by wall-clock time, and under
    valgrind a request takes ~50x longer than natively, so their share of
    the total depends on how fast valgrind ran; the busiest thread is
    (nearly always) the worker serving the connection.
    """
    if not shutil.which("valgrind"):
        return dict(skipped="valgrind not installed")
    kinds = [k for k in CG_KINDS if selected(cfg, k)]
    if not kinds:
        return {}
    n = cfg["cg_requests"]
    results = dict(requests=n, rows={k: {} for k in kinds},
                   busiest={k: {} for k in kinds}, baseline={},
                   baseline_2conns={}, threads={k: {} for k in kinds})
    for sname in SERVER_NAMES:
        if over_budget(cfg):
            continue
        bases = {}
        binary_ok = True
        if any(k in CG_BINARY for k in kinds):
            try:
                binary_ok = speaks_binary(bins[sname], sname)
            except BenchError as e:
                failures.append("instructions/%s binary probe: %s" % (
                    sname, e))
                binary_ok = False
            if not binary_ok:
                for k in CG_BINARY:
                    if k in kinds:
                        results["rows"][k][sname] = "unsupported"
        for second in (False, True):
            if not any((k in CG_BINARY) == second for k in kinds):
                continue
            if second and not binary_ok:
                continue
            log("instructions: %s idle baseline%s" % (
                sname, ", two connections" if second else ""))
            try:
                bases[second] = callgrind_run(bins[sname], sname, None, 0,
                                              second_conn=second)
            except BenchError as e:
                failures.append("instructions/%s: %s" % (sname, e))
                continue
            key = "baseline_2conns" if second else "baseline"
            results[key][sname] = bases[second]
        for kind in kinds:
            second = kind in CG_BINARY
            if second not in bases:
                continue
            base = bases[second]
            if over_budget(cfg):
                results["rows"][kind][sname] = "skipped: time budget"
                continue
            log("instructions: %s %s" % (sname, kind))
            try:
                run = callgrind_run(bins[sname], sname, kind, n,
                                    second_conn=second)
            except Unsupported:
                results["rows"][kind][sname] = "unsupported"
                continue
            except BenchError as e:
                failures.append("instructions %s/%s: %s" % (kind, sname, e))
                results["rows"][kind][sname] = "FAILED"
                continue
            delta = {t: (ir - base.get(t, 0)) / n for t, ir in run.items()}
            results["rows"][kind][sname] = (
                sum(run.values()) - sum(base.values())) / n
            results["busiest"][kind][sname] = max(delta.values())
            results["threads"][kind][sname] = delta
    return results


# ---------------------------------------------------------------- report

def fmt(v, digits=0):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if digits == 0:
        return "{:,.0f}".format(v)
    return "{:,.{d}f}".format(v, d=digits)


def fmt_ratio(r):
    if not r:
        return "-"
    return "%.2f (%.2f..%.2f)" % (r["median"], r["min"], r["max"])


def side_by_side(heading, a, b, rows):
    """A section "### heading" with a table "| title | memoria | memcached
    | ratio |" of results a and b; rows: (key, title, divisor, digits)."""
    out = ["### " + heading, "", "| | memoria | memcached | memoria/memcached |",
           "|---|---:|---:|---:|"]
    for key, title, scale, digits in rows:
        ratio = "-"
        if a.get("status") == "ok" and b.get("status") == "ok" and b.get(key):
            ratio = "%.2f" % (a[key] / b[key])
        cells = [status_cell(x, fmt(x[key] / scale if x.get(key) is not None
                                    else None, digits)) for x in (a, b)]
        out.append("| %s | %s | %s | %s |" % (title, cells[0], cells[1], ratio))
    return out


def status_cell(st, value):
    if st is None:
        return "-"
    status = st.get("status", "ok")
    if status == "ok":
        return value
    if status in ("unsupported",) or status.startswith("unavailable"):
        return status.split(":")[0]
    return "**%s**" % status.split(":")[0]


def workload_tables(tp, workloads, prefix):
    """The requests/s, CPU and p99 tables of some throughput rows."""
    out = []
    metrics = [("ops_per_s", "Requests per second (higher is better)", 0),
               ("cpu_us_per_req",
                "Server CPU µs per request (lower is better)", 2),
               ("p99_us", "p99 latency µs (lower is better)", 0)]
    for key, title, digits in metrics:
        out.append("### %s%s" % (prefix, title))
        out.append("")
        out.append("| workload | memoria | memcached | "
                   "memoria/memcached (min..max) |")
        out.append("|---|---:|---:|---:|")
        for name, _, _ in workloads:
            if name not in tp:  # not picked by --workloads
                continue
            e = tp[name]
            if "skipped" in e:
                out.append("| %s | skipped | skipped | - |" % name)
                continue
            cells = []
            for s in SERVER_NAMES:
                st = e.get(s)
                v = st["median"][key] if st and st.get("median") else None
                cells.append(status_cell(st, fmt(v, digits)))
            out.append("| %s | %s | %s | %s |" % (
                name, cells[0], cells[1],
                fmt_ratio(e.get("ratio", {}).get(key))))
        out.append("")
    return out


def tls_markdown(tl):
    """The TLS rows: the throughput tables, what was negotiated, how many
    handshakes resumed, and why a server was unavailable."""
    rows = tl["rows"]
    out = workload_tables(rows, TLS_WORKLOADS, "TLS: ")
    negotiated = set()
    resumed = []
    for name, _, w in TLS_WORKLOADS:
        e = rows.get(name, {})
        parts = []
        for s in SERVER_NAMES:
            t = e.get(s, {}).get("tls")
            if not t:
                continue
            negotiated.add("%s %s" % (t["version"], t["cipher"]))
            parts.append("%s %s of %s" % (s, fmt(sum(t["resumed"])),
                                          fmt(sum(t["requests"]))))
        if w.get("resume") and parts:
            resumed.append("%s: handshakes resumed: %s" % (
                name, "; ".join(parts)))
    out.append("TLS rows: both servers with `-Z` on the same certificate "
               "(%s); a handshake row's request is one cycle: connect, "
               "handshake, `version`, close. Negotiated: %s." % (
                   tl.get("cert", "?"), ", ".join(sorted(negotiated)) or "-"))
    out.append("")
    for n in resumed:
        out.append("- %s" % n)
    for who, why in sorted(tl.get("unavailable", {}).items()):
        out.append("- %s: unavailable: %s" % (who, why))
    out.append("")
    return out


def markdown(res):
    m = res["machine"]
    out = []
    out.append("Measured %s on %d CPUs (%s), kernel %s; %s mode: %d rounds "
               "of %.1f s per workload and server. memoria: %s; memcached: "
               "%s." % (m["date"], m["nproc"], m["cpu"], m["kernel"],
                        res["mode"], res["config"]["rounds"],
                        res["config"]["duration"], res["versions"]["memoria"],
                        res["versions"]["memcached"]))
    out.append("")
    tp = res.get("throughput")
    if tp:
        out += workload_tables(tp, WORKLOADS, "")
    tl = res.get("tls")
    if tl and "rows" in tl:
        out += tls_markdown(tl)
    mem = res.get("memory")
    if mem:
        out.append("### Memory: RSS growth per item (%s items, %d-byte keys, "
                   "-m 4096)" % (fmt(next(iter(mem.values()))["items"]),
                                 KEY_LEN_MEM))
        out.append("")
        out.append("| values | key+value B | memoria B/item | memcached "
                   "B/item | memoria overhead | memcached overhead | "
                   "overhead memoria/memcached | B/item memoria/memcached |")
        out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, row in mem.items():
            a, b = row.get("memoria", {}), row.get("memcached", {})
            payload = a.get("payload_per_item", b.get("payload_per_item"))
            ratio = oratio = "-"
            if a.get("status") == "ok" and b.get("status") == "ok":
                ratio = "%.2f" % (a["rss_per_item"] / b["rss_per_item"])
                oratio = "%.2f" % (a["overhead_per_item"] /
                                   b["overhead_per_item"])
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, fmt(payload, 1),
                status_cell(a, fmt(a.get("rss_per_item"), 1)),
                status_cell(b, fmt(b.get("rss_per_item"), 1)),
                status_cell(a, fmt(a.get("overhead_per_item"), 1)),
                status_cell(b, fmt(b.get("overhead_per_item"), 1)), oratio,
                ratio))
        out.append("")
    hr = res.get("hitratio")
    if hr:
        out += hit_markdown(hr)
    md = res.get("metadump")
    if md:
        a, b = md.get("memoria", {}), md.get("memcached", {})
        out += side_by_side(
            "`lru_crawler metadump all` (%s items, %d-byte keys, %s B values, "
            "read to END on one connection)" % (
                fmt(md["items"]), md["key_len"], md["value_size"]), a, b, (
            ("keys_per_s", "keys per second (higher is better)", 1, 0),
            ("cpu_us_per_key",
             "server CPU µs per key (lower is better)", 1, 3),
            ("seconds", "seconds", 1, 2)))
        out.append("| server RSS growth during the dump MiB | %s | %s | |" % (
            tuple(status_cell(x, fmt((x.get("rss_after_kib", 0) -
                                      x.get("rss_before_kib", 0)) / 1024, 1))
                  for x in (a, b))))
        out.append("")
    ins = res.get("instructions")
    if ins and "rows" in ins:
        out.append("### User-space instructions per request (callgrind, "
                   "%s requests, idle baseline subtracted)" %
                   fmt(ins["requests"]))
        out.append("")
        out.append("| request | memoria | memcached | memoria/memcached | "
                   "memoria busiest thread | memcached busiest thread | "
                   "memoria/memcached |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        for kind, row in ins["rows"].items():
            cells = []
            for r in (row, ins.get("busiest", {}).get(kind, {})):
                a, b = r.get("memoria"), r.get("memcached")
                ratio = "-"
                if isinstance(a, float) and isinstance(b, float) and b > 0:
                    ratio = "%.2f" % (a / b)
                cells += [fmt(a), fmt(b), ratio]
            out.append("| %s | %s |" % (kind, " | ".join(cells)))
        out.append("")
    cn = res.get("conns")
    if cn:
        a, b = cn.get("memoria", {}), cn.get("memcached", {})
        out += side_by_side(
            "Memory: RSS per idle connection (%s TCP clients after one "
            "`version` each, -m %d, -t %d)" % (
                fmt(cn["conns"]), cn["mem_mb"], cn["threads"]), a, b, (
            ("kib_per_conn", "KiB per idle connection", 1, 2),
            ("rss_before_kib", "RSS before, MiB", 1024, 1),
            ("rss_after_kib", "RSS with the connections, MiB", 1024, 1)))
        out.append("")
    if res.get("failures"):
        out.append("**FAILURES:**")
        out.append("")
        for f in res["failures"]:
            out.append("- %s" % f)
        out.append("")
    return "\n".join(out)


def points(a, b, key="hit_ratio"):
    """memoria's hit ratio minus memcached's, in percentage points."""
    if a.get("status") != "ok" or b.get("status") != "ok":
        return "-"
    if a.get(key) is None or b.get(key) is None:
        return "-"
    return "%+.1f" % (100 * (a[key] - b[key]))


def rss_mib(st):
    return status_cell(st, fmt(st.get("final_rss_kib", 0) / 1024, 1))


def hit_markdown(hr):
    out = []
    lockstep = "lockstep" in json.dumps(hr)  # older results: 8 x 32
    if hr.get("rows"):
        args = next(iter(hr["rows"].values())).get("args")
        out.append("### Hit ratio at -m %d (get, set on miss; %s keys of "
                   "%d+%d B, 3x the %s that fit as raw key+value%s)" % (
                       hr["mem_mb"], fmt(hr["keys"]), hr["key_len"],
                       hr["value_size"], fmt(hr["payload_fit"]),
                       "; prefilled, %s warm-up gets, %s measured" % (
                           fmt(args["warmup_requests"]),
                           fmt(args["requests"])) if args else ""))
        out.append("")
        out.append("| Zipf s | memoria hit ratio | memcached hit ratio | "
                   "memoria - memcached (points) | "
                   "memoria final RSS MiB | memcached final RSS MiB |"
                   if lockstep else
                   "| Zipf s | memoria hit ratio | memcached hit ratio | "
                   "memoria final RSS MiB | memcached final RSS MiB |")
        out.append("|---|---:|---:|---:|---:|---:|" if lockstep else
                   "|---|---:|---:|---:|---:|")
        for s, row in hr["rows"].items():
            a, b = row.get("memoria", {}), row.get("memcached", {})
            cells = [s, status_cell(a, fmt(a.get("hit_ratio"), 4)),
                     status_cell(b, fmt(b.get("hit_ratio"), 4))]
            if lockstep:
                cells.append(points(a, b))
            cells += [rss_mib(a), rss_mib(b)]
            out.append("| %s |" % " | ".join(cells))
        out.append("")
    sh = hr.get("size_shift")
    if sh:
        a, b = sh.get("memoria", {}), sh.get("memcached", {})
        args = sh["args"]
        out.append("### Hit ratio after a size shift at -m %d (Zipf 0.99; "
                   "%s gets with %s B values, then %s gets of new keys with "
                   "%s B values; measured over the second part)" % (
                       hr["mem_mb"], fmt(args["warmup_requests"]),
                       args["value_size"], fmt(args["requests"]),
                       args["shift_value_size"]))
        out.append("")
        out.append("| | memoria | memcached | memoria - memcached |")
        out.append("|---|---:|---:|---:|")
        out.append("| hit ratio after the shift | %s | %s | %s points |" % (
            status_cell(a, fmt(a.get("hit_ratio"), 4)),
            status_cell(b, fmt(b.get("hit_ratio"), 4)), points(a, b)))
        out.append("| final RSS MiB | %s | %s | |" % (rss_mib(a), rss_mib(b)))
        out.append("| seconds after the shift | %s | %s | |" % tuple(
            status_cell(x, fmt(x.get("segments", {}).get(
                "before_scan", {}).get("seconds"), 1)) for x in (a, b)))
        out.append("| pages moved (`slabs_moved`) | %s | %s | |" % tuple(
            status_cell(x, fmt(x.get("stats", {}).get("slabs_moved")))
            for x in (a, b)))
        out.append("")
    sc = hr.get("scan")
    if sc:
        a, b = sc.get("memoria", {}), sc.get("memcached", {})
        args = sc["args"]
        out.append("### Hit ratio with a scan at -m %d (Zipf 0.99; %s "
                   "measured gets, the middle %s of them one pass over cold "
                   "keys)" % (hr["mem_mb"], fmt(args["requests"]),
                              fmt(args["scan_keys"])))
        out.append("")
        out.append("| | memoria | memcached | memoria - memcached |")
        out.append("|---|---:|---:|---:|")
        out.append("| hit ratio, whole measured phase | %s | %s | %s points "
                   "|" % (status_cell(a, fmt(a.get("hit_ratio"), 4)),
                          status_cell(b, fmt(b.get("hit_ratio"), 4)),
                          points(a, b)))
        out.append("| hit ratio after the scan | %s | %s | %s points |" % (
            status_cell(a, fmt(a.get("after_scan_hit_ratio"), 4)),
            status_cell(b, fmt(b.get("after_scan_hit_ratio"), 4)),
            points(a, b, "after_scan_hit_ratio")))
        out.append("| final RSS MiB | %s | %s | |" % (rss_mib(a), rss_mib(b)))
        out.append("")
    return out


def update_doc(md):
    with open(DOC) as f:
        text = f.read()
    if DOC_BEGIN not in text or DOC_END not in text:
        raise SystemExit("bench: %s lacks the results markers" % DOC)
    head, rest = text.split(DOC_BEGIN, 1)
    _, tail = rest.split(DOC_END, 1)
    with open(DOC, "w") as f:
        f.write(head + DOC_BEGIN + "\n" + md.rstrip() + "\n" + DOC_END + tail)
    log("rewrote results in %s" % DOC)


# ---------------------------------------------------------------- main

SECTIONS = {"throughput": throughput, "tls": tls, "memory": memory,
            "hitratio": hitratio, "metadump": metadump,
            "instructions": instructions, "conns": conns}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="short smoke run (about a minute)")
    p.add_argument("--update-doc", action="store_true",
                   help="also rewrite the results in docs/PERFORMANCE.md")
    p.add_argument("--doc-only", action="store_true",
                   help="rewrite docs/PERFORMANCE.md from the last "
                   "results.json without running anything")
    p.add_argument("--memoria",
                   default=os.path.join(ROOT, "build", "release", "memoria"))
    p.add_argument("--memcached", default="/usr/bin/memcached")
    p.add_argument("--only", default=",".join(SECTIONS),
                   help="comma-separated sections: " + ",".join(SECTIONS))
    p.add_argument("--workloads", metavar="PATTERNS",
                   help="comma-separated names or fnmatch patterns of the "
                   "throughput workloads, instruction requests and "
                   "hit-ratio rows to run (default all), e.g. --only "
                   "hitratio --workloads 'hit_s*': " + ",".join(
                       [w[0] for w in WORKLOADS + TLS_WORKLOADS] +
                       CG_KINDS + HIT_NAMES))
    p.add_argument("--out", metavar="DIR",
                   help="write results.json, results.md, server logs and "
                   "callgrind files here (default build/bench; the load "
                   "generator stays there), so two runs do not share them")
    p.add_argument("--rounds", type=int, help="override rounds per workload")
    p.add_argument("--duration", type=float, help="override seconds/round")
    p.add_argument("--print-build-command", action="store_true",
                   help="print the loadgen compile command and exit")
    return p.parse_args()


def main():
    global OUT_DIR
    opts = parse_args()
    if opts.out:
        OUT_DIR = os.path.abspath(opts.out)
    if opts.print_build_command:
        print(" ".join(loadgen_command()))
        return 0
    json_path = os.path.join(OUT_DIR, "results.json")
    md_path = os.path.join(OUT_DIR, "results.md")
    if opts.doc_only:
        with open(json_path) as f:
            update_doc(markdown(json.load(f)))
        return 0
    cfg = dict(QUICK if opts.quick else FULL)
    if opts.rounds:
        cfg["rounds"] = max(1, min(opts.rounds, 50))
    if opts.duration:
        cfg["duration"] = max(0.1, min(opts.duration, 60.0))
    cfg["workloads"] = None
    if opts.workloads is not None:
        if opts.update_doc:
            raise SystemExit("bench: --update-doc needs every workload; "
                             "drop --workloads")
        names = ([w[0] for w in WORKLOADS + TLS_WORKLOADS] + CG_KINDS +
                 HIT_NAMES)
        cfg["workloads"] = [x for x in opts.workloads.split(",") if x]
        for pat in cfg["workloads"]:
            if not fnmatch.filter(names, pat):
                raise SystemExit("bench: --workloads %r matches none of %s"
                                 % (pat, ", ".join(names)))
    bins = dict(memoria=os.path.abspath(opts.memoria),
                memcached=os.path.abspath(opts.memcached))
    for name, path in bins.items():
        if not os.access(path, os.X_OK):
            raise SystemExit("bench: %s binary not found: %s (make "
                             "VARIANT=release?)" % (name, path))
    sections = [s for s in opts.only.split(",") if s]
    for s in sections:
        if s not in SECTIONS:
            raise SystemExit("bench: unknown section %r" % s)
    build_loadgen()
    res = dict(mode="quick" if opts.quick else "full", config=cfg,
               machine=machine_info(), binaries=bins,
               versions={k: version_of(v) for k, v in bins.items()},
               pinning=dict(server_cpu=SERVER_CPU, loadgen_cpu=LOADGEN_CPU),
               failures=[])
    try:
        for s in sections:
            t = time.monotonic()
            res[s] = SECTIONS[s](cfg, bins, res["failures"])
            res.setdefault("seconds", {})[s] = round(time.monotonic() - t, 1)
    finally:
        stop_all()
    res["seconds"]["total"] = round(time.monotonic() - T0, 1)
    if over_budget(cfg):
        log("time budget of %ds reached: some work was skipped" %
            cfg["budget"])
    md = markdown(res)
    os.makedirs(OUT_DIR, exist_ok=True)
    with open(json_path, "w") as f:
        json.dump(res, f, indent=1)
    with open(md_path, "w") as f:
        f.write(md + "\n")
    print(md)
    log("wrote %s and %s (%.0f s)" % (json_path, md_path,
                                       res["seconds"]["total"]))
    if opts.update_doc:
        update_doc(md)
    if res["failures"]:
        print("bench: FAILED:\n  " + "\n  ".join(res["failures"]),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(main())
    finally:
        stop_all()
