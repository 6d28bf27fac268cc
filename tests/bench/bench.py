#!/usr/bin/env python3
"""authd's benchmark, in one run: starts authd and prints each throughput next
to the figure it is judged against, then one JSON line.

--engine lmdb (the default), one node:
- password logins/s through authd vs raw argon2id hashes/s at the same cost
  (argon2_rate, threads = cores), target >= 90%;
- TOTP second steps/s (POST /1/login/totp) vs GET /1/health/s, >= 50%;
- session checks (GET /1/me)/s vs GET /1/health/s, >= 70%;
- durable writes/s with group commit vs one fsync per write (store_bench);
- and each of these again from authd built at a baseline commit (985bfa0
  unless --baseline says otherwise; --no-baseline skips it), measured in the
  same run, baseline and current in turn: current vs baseline, target no
  figure more than 5% below.

--engine postgresql [--nodes N]: a private PostgreSQL server (fsync on), N
authd nodes on one database with one key file, the load spread over them:
- session checks/s vs pgbench's bare primary-key select, >= 50%;
- TOTP second steps/s vs pgbench's bare durable conditional single-row
  update, >= 50%;
- password logins/s vs raw argon2id, as above.
pgbench runs on the same server, in the same run, at the concurrency the
nodes' connections give the server, in turns with authd's rounds.

Targets are information: nothing here fails on time. Only the standard
library; loadgen (C, epoll) sends the requests, for the fixtures too, because
a Python client would measure itself. Usage: see tests/bench/README.md.
"""

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from authd_harness import Authd, totp as oathtool_totp  # noqa: E402

TARGETS = {"logins": 0.90, "totp": 0.50, "me": 0.70}
# PostgreSQL: authd's figure against the bare statement's pgbench rate.
PG_TARGETS = {"logins": 0.90, "me": 0.50, "totp": 0.50}
# Against the baseline build: no figure more than this far below it.
BASELINE_TOLERANCE = 0.05
DEFAULT_BASELINE = "985bfa0"
# store/pg's connection threads per node when [storage] connections = 0.
PG_DEFAULT_CONNECTIONS = 4
# The TOTP fixtures are tens of thousands of sign-ups and logins: at the real
# cost they would take hours on 2 cores. The measured step does no argon2id.
FIXTURE_COST = {"argon2_memory_kib": 64, "argon2_iterations": 1, "argon2_parallelism": 1}
PASSWORD = "bench " + secrets.token_urlsafe(12)
# Cores taken by other processes (or the hypervisor) during a phase above
# which the report calls that phase's figure unreliable.
NOISY_CORES = 0.15
# The longest any single loadgen run may take.
SAFETY_SECONDS = 120
# The TOTP fixture phases share the time cap in these proportions (enrolment
# builds a QR code and is the slowest); time one phase leaves goes to the next.
FIXTURE_WEIGHTS = {"sign-up": 1.0, "login": 1.0, "enrolment": 2.0, "confirmation": 1.0,
                   "second login": 3.0}
# The bare statements pgbench runs (-M prepared, autocommit), on a table of
# --pg-rows rows. The update: each client owns a slice of the rows and a step
# counter that only grows (-D step=...), so every update changes its row and
# commits durably, as a TOTP step consumes its time step.
BARE_SCRIPTS = {
    "select": "\\set id random(1, {rows})\n"
              "SELECT last_step, payload FROM bare_rows WHERE id = :id;\n",
    "update": "\\set id random(:client_id * {slice} + 1, (:client_id + 1) * {slice})\n"
              "\\set step :step + 1\n"
              "UPDATE bare_rows SET last_step = :step WHERE id = :id AND last_step < :step;\n",
}
BARE_LABELS = {"select": "bare primary-key SELECT", "update": "bare durable conditional UPDATE"}
# The write store_bench makes, in bytes: the current one files a session
# record (66 bytes) under its account-cluster key (account id 16, kind 1,
# token hash prefix 16), as every login does. A baseline whose store_bench
# puts raw bytes (985bfa0: 12-byte key, 64-byte value) is built to put these
# sizes, so that both sides of the figure write the same bytes per job: the
# group-commit figure is CPU-bound and LMDB's cost grows with key and value.
STORE_BENCH_SHAPE = {"KEY_LEN": 33, "VALUE_LEN": 66}


# --- small helpers -------------------------------------------------------------------

def say(text=""):
    print(text, flush=True)


def totp_code(secret_b32, at, period=30, digits=6):
    """RFC 6238 (HMAC-SHA-1, 6 digits) in-process: oathtool per code would
    take minutes for the fixtures."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at) // period), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return f"{value:0{digits}d}"


def fs_type(path):
    """The file system under path, from /proc/self/mounts (fsync costs depend
    on it: on tmpfs durable writes would be free)."""
    best, kind = "", "unknown"
    try:
        with open("/proc/self/mounts", encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                mnt = parts[1]
                if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                    best, kind = mnt, parts[2]
    except OSError:
        pass
    return kind


def pct(x, y):
    return 100.0 * x / y if y else 0.0


def is_quiet(run):
    return run["cpu"]["others"] + run["cpu"]["steal"] <= NOISY_CORES


def quiet_rounds(*series):
    """(rounds, True): the rounds in which neither the figure nor its
    baseline shared the machine; (all rounds, False) when none was quiet."""
    n = min(len(s) for s in series)
    use = [i for i in range(n) if all(is_quiet(s[i]) for s in series)]
    return (use, True) if use else (list(range(n)), False)


def merge_runs(runs, picked):
    """One figure from the rounds in use: the rate over all of them; p50 the
    median of the rounds', p99 the worst round's."""
    use, quiet = picked
    sel = [runs[i] for i in use]
    secs = max(sum(r["seconds"] for r in sel), 1e-9)
    out = {"requests": sum(r["requests"] for r in sel),
           "seconds": sum(r["seconds"] for r in sel), "status": {},
           "errors": sum(r["errors"] for r in sel),
           "p50_ms": sorted(r["p50_ms"] for r in sel)[len(sel) // 2],
           "p99_ms": max(r["p99_ms"] for r in sel),
           "rounds": [round(r["rps"], 1) for r in runs],
           "rounds_used": [i + 1 for i in use], "quiet": quiet,
           "cpu": {k: round(sum(r["cpu"][k] * r["seconds"] for r in sel) / secs, 2)
                   for k in sel[0]["cpu"]}}
    out["rps"] = out["requests"] / secs
    for r in sel:
        for k, v in r["status"].items():
            out["status"][k] = out["status"].get(k, 0) + v
    return out


def combine_rounds(parts):
    """One figure from measured loadgen runs one after the other: their
    requests over their summed time; the worst round's latencies; the mean
    core use."""
    out = dict(parts[0])
    out["requests"] = sum(p["requests"] for p in parts)
    out["seconds"] = sum(p["seconds"] for p in parts)
    out["rps"] = out["requests"] / out["seconds"] if out["seconds"] else 0.0
    out["p50_ms"] = max(p["p50_ms"] for p in parts)
    out["p99_ms"] = max(p["p99_ms"] for p in parts)
    status = {}
    for p in parts:
        for k, v in p["status"].items():
            status[k] = status.get(k, 0) + v
    out["status"] = status
    out["cpu"] = {k: round(sum(p["cpu"][k] for p in parts) / len(parts), 2)
                  for k in parts[0]["cpu"]}
    out["round_rps"] = [round(p["rps"], 1) for p in parts]
    return out


class CpuMeter:
    """Where the cores went during one phase: authd (every node measured),
    PostgreSQL (its postmaster and backends, with the backends that ended
    during the phase), this script's children (loadgen, argon2_rate,
    store_bench, pgbench), this script, kernel threads (disk writeback and
    journal commits, some of it on authd's behalf), and every other process
    on the machine: other builds and tests, whose share makes the phase's
    figure unreliable. Steal is time the hypervisor gave to other guests."""

    TICK = os.sysconf("SC_CLK_TCK")
    PF_KTHREAD = 0x00200000

    def __init__(self, authds=(), pg_pid=None):
        self.pids = {a.proc.pid for a in authds if a.proc is not None}
        self.pg_pid = pg_pid
        self.used = {}

    def _machine(self):
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / self.TICK, v[7] / self.TICK

    def _tasks(self):
        """CPU seconds of authd, of PostgreSQL and of all kernel threads."""
        authd = kernel = pg = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            cpu = (int(fields[11]) + int(fields[12])) / self.TICK
            if int(pid) in self.pids:
                authd += cpu
            elif self.pg_pid and int(pid) == self.pg_pid:
                # With its reaped children: the backends that ended.
                pg += cpu + (int(fields[13]) + int(fields[14])) / self.TICK
            elif self.pg_pid and int(fields[1]) == self.pg_pid:
                pg += cpu
            elif int(fields[6]) & self.PF_KTHREAD:
                kernel += cpu
        return authd, kernel, pg

    def _snapshot(self):
        t = os.times()
        busy, steal = self._machine()
        authd, kernel, pg = self._tasks()
        return {"wall": time.monotonic(), "busy": busy, "steal": steal, "authd": authd,
                "kernel": kernel, "postgres": pg,
                "children": t.children_user + t.children_system, "self": t.user + t.system}

    def __enter__(self):
        self.start = self._snapshot()
        return self

    def __exit__(self, *exc):
        end = self._snapshot()
        wall = max(end["wall"] - self.start["wall"], 1e-6)
        d = {k: (end[k] - self.start[k]) / wall for k in end if k != "wall"}
        ours = d["authd"] + d["children"] + d["self"] + d["kernel"] + d["postgres"]
        self.used = {"authd": d["authd"], "tools": d["children"], "bench_py": d["self"],
                     "kernel": d["kernel"], "others": max(d["busy"] - ours, 0.0),
                     "steal": d["steal"]}
        if self.pg_pid:
            self.used["postgres"] = d["postgres"]
        return False


def cpu_line(u):
    pg = f"postgres {u['postgres']:.2f}, " if "postgres" in u else ""
    return (f"cores used: authd {u['authd']:.2f}, {pg}loadgen/tool {u['tools']:.2f}, "
            f"bench.py {u['bench_py']:.2f}, kernel threads {u['kernel']:.2f}, "
            f"other processes {u['others']:.2f}, stolen {u['steal']:.2f} "
            f"(of {os.cpu_count()})")


# --- builds: the current one and the baseline's -----------------------------------------

class Variant:
    """One authd build under test: the current tree's, or the baseline
    commit's. What differs between them on the wire is here."""

    def __init__(self, key, label, build, src):
        self.key = key            # "cur" or "base"
        self.label = label        # how the output names it
        self.build = build
        self.authd_bin = os.path.join(build, "authd", "authd")
        self.store_bench = os.path.join(build, "tests", "bench", "store_bench")
        # Read from the build's sources: 985bfa0 knows no [signup] section
        # (and refuses an unknown one), and its only second-factor form is
        # the path form /1/login/{id}/totp.
        self.knows_signup = '"signup"' in self._source(src, "authd", "config.c")
        # Builds with the outbox send a "new sign-in" notice for every login
        # from a client without the device cookie, which loadgen never
        # keeps: off here (every login would queue one, and the delivery of
        # a fixture's tens of thousands would run under the measured
        # phases); tests/bench/outbox_bench.py measures what notices cost.
        self.knows_outbox = '"notifications"' in self._source(src, "authd", "config.c")
        self.totp_in_body = '"login/totp"' in self._source(src, "authd", "router.c")

    @staticmethod
    def _source(src, *path):
        try:
            with open(os.path.join(src, *path), encoding="utf-8") as f:
                return f.read()
        except OSError:
            return ""

    def is_test_build(self):
        out = subprocess.run([self.authd_bin, "--version"], capture_output=True, text=True,
                             check=False).stdout
        return "test build" in out


def cmake_cache(build):
    vals = {}
    try:
        with open(os.path.join(build, "CMakeCache.txt"), encoding="utf-8") as f:
            for line in f:
                if line.startswith(("#", "//")) or "=" not in line:
                    continue
                k, v = line.rstrip("\n").split("=", 1)
                vals[k.split(":", 1)[0]] = v
    except OSError:
        pass
    return vals


def c_flags(build):
    """The flags authd's own sources were compiled with (CMake's flags.make)."""
    path = os.path.join(build, "authd", "CMakeFiles", "authd.dir", "flags.make")
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("C_FLAGS = "):
                    return line[len("C_FLAGS = "):].strip()
    except OSError:
        pass
    return "?"


def git(*args):
    return subprocess.run(["git", "-C", REPO] + list(args), capture_output=True, text=True,
                          check=True).stdout.strip()


def build_baseline(commit, current_build, where=None):
    """Builds authd and the bench tools at `commit` with the current build's
    CMake settings, from `git archive` into a folder of its own (the
    repository's work trees are left alone). A finished build with the same
    commit and flags is reused. Returns the build folder."""
    sha = git("rev-parse", "--verify", f"{commit}^{{commit}}")
    cache = cmake_cache(current_build)
    flags = [f"-DAUTHD_TEST_HOOKS={cache.get('AUTHD_TEST_HOOKS', 'ON')}",
             "-DAUTHD_BUILD_TESTS=OFF"]
    for k in ("CMAKE_BUILD_TYPE", "CMAKE_C_COMPILER", "CMAKE_C_FLAGS", "AUTHD_SANITIZE"):
        if cache.get(k):
            flags.append(f"-D{k}={cache[k]}")
    root = where or os.path.join(tempfile.gettempdir(), f"authd-bench-baseline-{sha[:12]}")
    build = os.path.join(root, "build")
    marker = os.path.join(root, "built.json")
    want = {"sha": sha, "flags": flags, "store_bench_shape": STORE_BENCH_SHAPE}
    targets = ["authd", "loadgen", "argon2_rate", "store_bench"]
    try:
        with open(marker, encoding="utf-8") as f:
            if json.load(f) == want and os.access(os.path.join(build, "authd", "authd"),
                                                  os.X_OK):
                say(f"baseline {sha[:12]}: reusing the build in {build}")
                return build, sha, os.path.join(root, "src")
    except (OSError, ValueError):
        pass
    t0 = time.time()
    shutil.rmtree(root, ignore_errors=True)
    src = os.path.join(root, "src")
    os.makedirs(src)
    archive = subprocess.Popen(["git", "-C", REPO, "archive", sha], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0:
        raise SystemExit(f"bench: git archive {sha} failed")
    shaped = shape_store_bench(os.path.join(src, "tests", "bench", "store_bench.c"))
    for argv in (["cmake", "-S", src, "-B", build] + flags,
                 ["cmake", "--build", build, "-j", str(os.cpu_count() or 1), "--target"]
                 + targets):
        p = subprocess.run(argv, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise SystemExit(f"bench: building the baseline failed: {' '.join(argv)}\n"
                             f"{(p.stdout + p.stderr)[-3000:]}")
    with open(marker, "w", encoding="utf-8") as f:
        json.dump(want, f)
    say(f"baseline {sha[:12]}: built in {time.time() - t0:.0f} s into {build} "
        f"({' '.join(flags)})")
    if shaped:
        say(f"baseline {sha[:12]}: its store_bench puts {shaped}, as the current one writes")
    return build, sha, src


def shape_store_bench(path):
    """Sets a raw-put store_bench's key and value sizes to STORE_BENCH_SHAPE.
    Returns what it set, or "" when the file has no such sizes (a store_bench
    that writes records, as the current one does, is left alone)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if "store_put(" not in text:
        return ""
    for name, size in STORE_BENCH_SHAPE.items():
        text, n = re.subn(rf"^#define {name}\s+\d+", f"#define {name} {size}", text,
                          flags=re.M)
        if n != 1:
            raise SystemExit(f"bench: {path} has no single #define {name}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return ", ".join(f"{k} {v}" for k, v in STORE_BENCH_SHAPE.items())


class BenchAuthd(Authd):
    """The harness's Authd, run from a given binary (the harness reads
    AUTHD_BIN when it starts or migrates one)."""

    def __init__(self, binary, **kw):
        self.binary = binary
        super().__init__(**kw)

    def _as_binary(self, fn, *args):
        old = os.environ.get("AUTHD_BIN")
        os.environ["AUTHD_BIN"] = self.binary
        try:
            return fn(*args)
        finally:
            if old is None:
                os.environ.pop("AUTHD_BIN", None)
            else:
                os.environ["AUTHD_BIN"] = old

    def start(self, timeout=20):
        return self._as_binary(super().start, timeout)

    def migrate(self):
        return self._as_binary(super().migrate)


# --- PostgreSQL --------------------------------------------------------------------------

class PgServer:
    """The private server of a postgresql run (tests/lib/pg_harness.py), the
    table pgbench's bare statements use, and pgbench itself."""

    def __init__(self, work, rows, stat_statements):
        import pg_harness  # noqa: E402 - only PostgreSQL runs need it
        self.h = pg_harness
        self.state_path = os.path.join(work, "pg-state.json")
        # Authd (harness) and pg_harness find the server through it.
        os.environ["AUTHD_TEST_PG_STATE"] = self.state_path
        self.rows = rows
        self.stat_statements = stat_statements
        self.pgbench_bin = next((p for p in (os.path.join(pg_harness.bindir(), "pgbench"),
                                             shutil.which("pgbench") or "")
                                 if p and os.access(p, os.X_OK)), None)
        if self.pgbench_bin is None:
            raise RuntimeError("no pgbench (Debian: postgresql-client-15)")
        self.scripts = {}
        self.step = 0

    def start(self):
        self.h.start(self.state_path)
        with open(self.state_path, encoding="utf-8") as f:
            self.state = json.load(f)
        if self.stat_statements:
            self.h.sql("authd_test", "ALTER SYSTEM SET shared_preload_libraries = "
                       "'pg_stat_statements'", self.state_path)
            self.pg_ctl("restart", "-m", "fast")
        self.settings = dict(
            line.split("|", 1) for line in self.h.sql(
                "authd_test", "SELECT name, setting FROM pg_settings WHERE name IN "
                "('fsync', 'synchronous_commit', 'shared_buffers', 'wal_sync_method', "
                "'max_connections', 'server_version')", self.state_path).split("\n") if line)

    def pg_ctl(self, *args):
        data = os.path.join(self.state["dir"], "data")
        argv = [os.path.join(self.state["bindir"], "pg_ctl"), "-D", data, "-l",
                os.path.join(self.state["dir"], "server.log"), "-w", "-t", "60"] + list(args)
        if os.geteuid() == 0:  # the server runs as postgres (pg_harness)
            argv = ["runuser", "-u", "postgres", "--"] + argv
        subprocess.run(argv, check=True, capture_output=True)

    def postmaster_pid(self):
        with open(os.path.join(self.state["dir"], "data", "postmaster.pid"),
                  encoding="ascii") as f:
            return int(f.readline())

    def stop(self):
        if os.path.exists(self.state_path):
            self.h.stop(self.state_path)

    def log_mark(self):
        """Where the server's log ends now (for serialization_failures)."""
        try:
            return os.path.getsize(os.path.join(self.state["dir"], "server.log"))
        except OSError:
            return 0

    def serialization_failures(self, since):
        """Serialization failures the server logged after log_mark() gave
        `since` (pgbench's statements never fail: they are authd's)."""
        try:
            with open(os.path.join(self.state["dir"], "server.log"), "rb") as f:
                f.seek(since)
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return 0
        return text.count("could not serialize access")

    def log_errors(self):
        """The server log's ERROR lines, counted by message and DETAIL (the
        serialization failures of SERIALIZABLE transactions land there)."""
        counts = {}
        try:
            with open(os.path.join(self.state["dir"], "server.log"), encoding="utf-8",
                      errors="replace") as f:
                lines = f.read().splitlines()
        except (OSError, AttributeError):
            return counts
        for i, line in enumerate(lines):
            if "ERROR:" not in line:
                continue
            msg = line.split("ERROR:", 1)[1].strip()
            msg = re.sub(r"\b\d+\b", "N", msg)
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            if "DETAIL:" in nxt:
                msg += " / " + re.sub(r"\b\d+\b", "N", nxt.split("DETAIL:", 1)[1].strip())
            counts[msg] = counts.get(msg, 0) + 1
        return counts

    def createdb(self, name):
        return self.h.createdb(self.state_path, name)

    def sql(self, db, statement):
        return self.h.sql(db, statement, self.state_path)

    def setup_bare(self, work, clients):
        """The database and table of the bare statements: --pg-rows rows,
        bigint keys, a 64-byte payload (a session row's size, about)."""
        self.createdb("bare")
        self.sql("bare", "CREATE TABLE bare_rows (id bigint PRIMARY KEY, "
                 "last_step bigint NOT NULL, payload bytea NOT NULL); "
                 f"INSERT INTO bare_rows SELECT g, 0, sha512(int8send(g)) "
                 f"FROM generate_series(1, {self.rows}) g")
        self.sql("bare", "VACUUM ANALYZE bare_rows")
        if self.stat_statements:
            self.sql("bare", "CREATE EXTENSION pg_stat_statements")
        slice_rows = self.rows // max(clients, 1)
        if slice_rows < 1:
            raise RuntimeError(f"--pg-rows {self.rows} is fewer than the {clients} clients")
        for kind, text in BARE_SCRIPTS.items():
            path = os.path.join(work, f"bare-{kind}.sql")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.format(rows=self.rows, slice=slice_rows))
            self.scripts[kind] = path

    def pgbench(self, kind, clients, seconds):
        """Runs one bare statement; returns {"tps", "transactions", ...}."""
        argv = [self.pgbench_bin, "-n", "-M", "prepared", "-f", self.scripts[kind],
                "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),
                "-T", str(max(1, int(round(seconds)))),
                "-h", "127.0.0.1", "-p", str(self.state["port"]), "-U", "postgres"]
        if kind == "update":
            # Each client's step starts above every step written before.
            argv += ["-D", f"step={self.step}"]
        argv.append("bare")
        p = subprocess.run(argv, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise RuntimeError(f"pgbench failed ({p.returncode}): {p.stderr.strip()[-500:]}")
        out = p.stdout
        tps = re.search(r"^tps = ([0-9.]+) \(without initial connection time\)", out, re.M)
        n = re.search(r"^number of transactions actually processed: (\d+)", out, re.M)
        failed = re.search(r"^number of failed transactions: (\d+)", out, re.M)
        lat = re.search(r"^latency average = ([0-9.]+) ms", out, re.M)
        if not tps or not n:
            raise RuntimeError(f"pgbench said nothing usable: {out[-500:]}")
        self.step += int(n.group(1)) + 1
        return {"tps": float(tps.group(1)), "transactions": int(n.group(1)),
                "failed": int(failed.group(1)) if failed else 0,
                "latency_ms": float(lat.group(1)) if lat else None,
                "clients": clients, "seconds": max(1, int(round(seconds)))}

    def top_statements(self, n=14):
        """pg_stat_statements' heaviest statements since the last reset."""
        rows = self.sql("bare", "SELECT calls, round(total_exec_time::numeric, 1), "
                        "round(mean_exec_time::numeric * 1000, 1), "
                        "left(regexp_replace(query, '\\s+', ' ', 'g'), 90) "
                        "FROM pg_stat_statements ORDER BY total_exec_time DESC "
                        f"LIMIT {n}")
        return [r.split("|", 3) for r in rows.splitlines() if r]

    def reset_statements(self):
        self.sql("bare", "SELECT pg_stat_statements_reset()")


# --- the benchmark -----------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.engine = args.engine
        self.pg_mode = args.engine == "postgresql"
        self.nodes = args.nodes if self.pg_mode else 1
        self.build = os.path.abspath(args.build)
        self.bin = {n: os.path.join(self.build, "tests", "bench", n)
                    for n in ("loadgen", "argon2_rate", "store_bench")}
        self.work = tempfile.mkdtemp(prefix="authd-bench-")
        self.cores = os.cpu_count() or 1
        self.problems = []
        self.noisy = []
        self.kept_logs = None
        self.secrets = [PASSWORD]  # a sample of what must never be logged
        self.results = {"shared": {}, "cur": {}, "base": {}}
        self.seq = 0
        self.pg = None
        self.pg_pid = None
        # Each node's connection threads, plus the loop's own connection
        # (store/pg/loop.c) that answers the session checks.
        self.pg_conns = ((args.pg_connections or PG_DEFAULT_CONNECTIONS) + 1) * self.nodes
        self.pgbench_clients = args.pgbench_clients or self.pg_conns
        self.variants = [Variant("cur", "current", self.build, REPO)]
        self.baseline_sha = None

    # --- tools ---------------------------------------------------------------------

    def run_json(self, argv):
        p = subprocess.run(argv, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(argv[0])} failed ({p.returncode}): "
                               f"{p.stderr.strip()[-500:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def meter(self, nodes=()):
        return CpuMeter(nodes, self.pg_pid)

    def loadgen(self, nodes, lines, conns, seconds=None, repeat=False, responses=False,
                what="requests", expect=(200,), measured=False):
        """Sends lines (method, path, body, bearer) with loadgen to the nodes
        (connections take them in turn); returns its JSON and, with
        responses=True, {line index: (status, parsed body)}. A measured run
        starts after a sync, so that the fixtures' writeback does not compete
        with it, and records where the cores went."""
        self.seq += 1
        req_path = os.path.join(self.work, f"req-{self.seq}.tsv")
        out_path = os.path.join(self.work, f"resp-{self.seq}.tsv")
        with open(req_path, "w", encoding="utf-8") as f:
            for method, path, body, bearer in lines:
                text = json.dumps(body, separators=(",", ":")) if body is not None else ""
                f.write(f"{method}\t{path}\t{text}\t{bearer or ''}\n")
        # -s: each connection from its own 127.x address, as clients would
        # be; from one address, authd's per-address throttle (which counts
        # logins in flight) would be what is measured.
        argv = [self.bin["loadgen"], "-p", ",".join(str(a.port) for a in nodes),
                "-f", req_path, "-c", str(conns), "-s"]
        # A run without a time cap still gets one: a hung authd must not
        # hang the benchmark.
        argv += ["-d", f"{seconds or SAFETY_SECONDS:.1f}"]
        if repeat:
            argv.append("-r")
        if responses:
            argv += ["-o", out_path]
        if measured:
            os.sync()
        with self.meter(nodes) as cpu:
            res = self.run_json(argv)
        if measured:
            res["cpu"] = self.note_cpu(what, cpu)
        if seconds is None and res["incomplete"]:
            self.problems.append(f"{what}: {res['incomplete']} requests unanswered after "
                                 f"{SAFETY_SECONDS} s")
        odd = {s: n for s, n in res["status"].items() if int(s) not in expect}
        if odd or res["errors"]:
            self.problems.append(f"{what}: unexpected statuses {odd}, "
                                 f"{res['errors']} transport errors")
        bodies = {}
        if responses:
            with open(out_path, encoding="utf-8") as f:
                for line in f:
                    idx, status, body = line.rstrip("\n").split("\t", 2)
                    try:
                        parsed = json.loads(body) if body else None
                    except ValueError:
                        parsed = None
                    bodies[int(idx)] = (int(status), parsed)
            os.unlink(out_path)
        os.unlink(req_path)
        return res, bodies

    def note_cpu(self, what, cpu):
        """Keeps a phase's core use; remembers a phase that shared the
        machine with others, whose figure is then not worth much."""
        if cpu.used["others"] + cpu.used["steal"] > NOISY_CORES:
            self.noisy.append(f"{what} ({cpu.used['others']:.2f} cores to others, "
                              f"{cpu.used['steal']:.2f} stolen)")
        return {k: round(v, 2) for k, v in cpu.used.items()}

    def tool(self, what, argv):
        """Runs argon2_rate or store_bench as a measured phase."""
        os.sync()
        with self.meter() as cpu:
            res = self.run_json(argv)
        res["cpu"] = self.note_cpu(what, cpu)
        return res

    def pgbench(self, kind, label):
        """One measured round of a bare statement on the authd's server."""
        what = f"pgbench {BARE_LABELS[kind]}"
        os.sync()
        with self.meter() as cpu:
            res = self.pg.pgbench(kind, self.pgbench_clients,
                                  self.args.http_seconds / self.args.rounds)
        res["cpu"] = self.note_cpu(f"{what} ({label})", cpu)
        res["rps"] = res["tps"]
        say(f"  {label}: {what}: {res['tps']:.1f}/s, {res['clients']} clients, "
            f"latency average {res['latency_ms']} ms, failed {res['failed']}")
        say(f"    {cpu_line(res['cpu'])}")
        if res["failed"]:
            self.problems.append(f"{what}: {res['failed']} failed transactions")
        return res

    # Fixtures sign thousands of accounts up from one address.
    SIGNUP_UNLIMITED = "[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"

    def start_authd(self, name, v, config=None, test_clock=False, pg_url=None, key_file=None,
                    node_id=None, migrated=False):
        """One authd of build v. Its key file lives outside its data folder
        (authd warns about one inside); PostgreSQL nodes share theirs."""
        config = config or ""
        if v.knows_signup:
            config += self.SIGNUP_UNLIMITED
        if v.knows_outbox:
            config += "[outbox]\nnotifications = false\n"
        if pg_url and self.args.pg_connections:
            config += f"[storage]\nconnections = {self.args.pg_connections}\n"
        extra = ["--log-level", "info"]
        if node_id:
            extra += ["--node-id", node_id]
        a = BenchAuthd(v.authd_bin, name=name, config=config, test_clock=test_clock,
                       data_dir=tempfile.mkdtemp(prefix=f"{name}-", dir=self.work),
                       extra_args=extra, engine="postgresql" if pg_url else "lmdb",
                       pg_url=pg_url,
                       key_file=key_file or os.path.join(self.work, f"{name}.key"))
        a.own_dir = True
        try:
            if pg_url and not migrated:
                a.migrate()  # once per database: the other nodes find it done
            a.migrated = True
            a.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            # A hung authd ignores the harness: make sure none outlives us.
            self.kill_authd(a)
            tail = a.log_tail(300).strip().splitlines()
            raise RuntimeError(f"{name}: {e} (last log line: "
                               f"{tail[-1] if tail else 'none'})") from e
        return a

    def start_cluster(self, name, v, config=None, test_clock=False):
        """LMDB: one authd. PostgreSQL: --nodes authds on a new database,
        sharing one key file (the first node creates it), each with its own
        port and data folder; their test clocks are set to one time."""
        if not self.pg_mode:
            return [self.start_authd(name, v, config, test_clock)]
        db = name.replace("-", "_")
        url = self.pg.createdb(db)
        key = os.path.join(self.work, f"{db}.key")
        nodes = []
        try:
            for i in range(self.nodes):
                nodes.append(self.start_authd(f"{name}-node{i + 1}", v, config, test_clock,
                                              pg_url=url, key_file=key,
                                              node_id=f"node{i + 1}", migrated=i > 0))
            if test_clock and len(nodes) > 1:
                # Each froze its clock when it started: line them up.
                nows = [a.now() for a in nodes]
                for a, t in zip(nodes, nows):
                    if max(nows) > t:
                        a.advance(max(nows) - t)
        except BaseException:
            for a in nodes:
                self.kill_authd(a)
            raise
        return nodes

    @staticmethod
    def kill_authd(a):
        if a.proc is not None and a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()
        a.cleanup()

    def stop_authd(self, a):
        """Stops a, and records any early death, error line or sanitizer
        report in its log as a problem found in authd. Returns its log."""
        alive = a.proc is not None and a.proc.poll() is None
        if not alive:
            self.problems.append(f"{a.name}: authd was not running at the end "
                                 f"(exit {a.proc.returncode if a.proc else '?'})")
        try:
            rc = a.stop()
        except subprocess.TimeoutExpired:
            self.problems.append(f"{a.name}: authd ignored SIGTERM for 20 s and was killed")
            a.proc.kill()
            a.proc.wait()
            rc = None  # reported just above
        if alive and rc not in (0, None):
            self.problems.append(f"{a.name}: authd exited with {rc} on SIGTERM")
        text = a.log_text()
        errors = [ln for ln in text.splitlines() if " error " in ln or " warn " in ln]
        if errors:
            self.problems.append(f"{a.name}: {len(errors)} error/warn log lines, first: "
                                 f"{errors[0][:300]}")
        leaked = [x for x in self.secrets if x and x in text]
        if leaked:
            self.problems.append(f"{a.name}: {len(leaked)} secrets of the run (password, "
                                 f"session tokens, login ids or TOTP secrets) in its log")
        for m in a.sanitizer_reports():
            self.problems.append(f"{a.name}: sanitizer report ({m})")
        a.cleanup()
        return text

    def stop_cluster(self, nodes):
        retries = 0
        for a in nodes:
            text = self.stop_authd(a)
            # store/pg's last words: "N write jobs, M committed, K retries ..."
            m = re.findall(r"postgresql: (\d+) write jobs, (\d+) committed, (\d+) retries",
                           text)
            if m:
                retries += int(m[-1][2])
        return retries

    @staticmethod
    def logged_cost(a):
        """The argon2id cost authd says it runs with (its start-up line)."""
        for line in a.log_text().splitlines():
            if " argon2id m=" in line:
                tail = line.split(" argon2id ", 1)[1].split()
                return {k: int(v) for k, v in (kv.split("=") for kv in tail[:3])}
        raise RuntimeError("authd did not log its argon2id cost")

    def vlabel(self, v):
        """How a line names the build it measured ("" with one build)."""
        return f" [{v.label}]" if len(self.variants) > 1 else ""

    # --- the figures -------------------------------------------------------------------

    def accounts(self, nodes, prefix, n, conns, seconds=None):
        """Signs up n accounts; returns the emails that were created."""
        emails = [f"{prefix}-{i}@bench.example" for i in range(n)]
        lines = [("POST", "/1/accounts", {"email": e, "password": PASSWORD,
                                          "name": "Bench Person"}, None) for e in emails]
        res, got = self.loadgen(nodes, lines, conns, seconds=seconds, responses=True,
                                what=f"{prefix} sign-up", expect=(201,))
        return [emails[i] for i, (s, _) in sorted(got.items()) if s == 201], res

    def logins(self, nodes, emails, conns, seconds=None, what="login"):
        lines = [("POST", "/1/login", {"email": e, "password": PASSWORD}, None) for e in emails]
        res, got = self.loadgen(nodes, lines, conns, seconds=seconds, responses=True, what=what)
        return [got.get(i, (0, None))[1] for i in range(len(emails))], res

    def argon2_raw(self, cost, seconds, label):
        raw = self.tool(f"raw argon2id ({label})",
                        [self.bin["argon2_rate"], "-m", str(cost["m"]), "-t", str(cost["t"]),
                         "-p", str(cost["p"]), "-n", str(self.cores), "-d", f"{seconds:.1f}"])
        say(f"  {label}: raw argon2id, {raw['threads']} threads, authd idle: "
            f"{raw['hashes_per_s']:.1f} hashes/s ({raw['ms_per_hash_per_thread']:.1f} ms per "
            f"hash per thread)")
        say(f"    {cpu_line(raw['cpu'])}")
        return raw

    def http_rounds(self, nodes, label, lines, conns, seconds, what):
        res, _ = self.loadgen(nodes, lines, conns, seconds=seconds, repeat=True, what=what,
                              measured=True)
        say(f"  {label}: {what}: {res['rps']:.1f}/s, {conns} connections, "
            f"p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, statuses {res['status']}")
        say(f"    {cpu_line(res['cpu'])}")
        return res

    def password_and_sessions(self):
        n = self.args.login_accounts
        rounds = self.args.rounds
        clusters = {}
        sessions = {}
        emails = {}
        try:
            for v in self.variants:
                clusters[v.key] = nodes = self.start_cluster(f"bench-main-{v.key}", v)
                cost = self.logged_cost(nodes[0])
                if "cost" in self.results["shared"] and cost != self.results["shared"]["cost"]:
                    self.problems.append(f"{v.label} runs argon2id at {cost}, the other build "
                                         f"at {self.results['shared']['cost']}")
                self.results["shared"]["cost"] = cost
                say(f"  authd{self.vlabel(v)} with its default config"
                    f"{f', {len(nodes)} nodes on one database' if self.pg_mode else ''}: "
                    f"argon2id m={cost['m']} t={cost['t']} p={cost['p']}, log level info "
                    f"(one line per auth decision)")

                t0 = time.time()
                emails[v.key], _ = self.accounts(nodes, "pw", n, conns=2 * self.cores)
                bodies, _ = self.logins(nodes, emails[v.key], conns=2 * self.cores,
                                        what="first login")
                sessions[v.key] = [b["session"] for b in bodies if b and b.get("session")]
                self.secrets += sessions[v.key][:50]
                say(f"  fixtures{self.vlabel(v)}: {len(emails[v.key])} accounts at that same "
                    f"cost (no rehash at login) and {len(sessions[v.key])} sessions, "
                    f"{time.time() - t0:.1f} s")
                if not emails[v.key] or not sessions[v.key]:
                    raise RuntimeError("no fixture accounts or sessions: see problems")
            cost = self.results["shared"]["cost"]

            # Each figure and its baseline take turns in short rounds, so that
            # both see the same machine: on a shared VM the speed of the
            # cores drifts by tens of percent within a minute. With a
            # baseline build, it takes its turn right before the current.
            # Each account is in flight at most once at a time: more would be
            # throttled (attempts in flight count as possible failures).
            conns = min(min(len(e) for e in emails.values()) // 2, 4 * self.cores)
            raw = []
            got = {v.key: [] for v in self.variants}
            for i in range(rounds):
                label = f"round {i + 1}/{rounds}"
                raw.append(self.argon2_raw(cost, self.args.argon2_seconds / rounds, label))
                for v in self.variants:
                    logins = [("POST", "/1/login", {"email": e, "password": PASSWORD}, None)
                              for e in emails[v.key]]
                    got[v.key].append(self.http_rounds(clusters[v.key], label, logins, conns,
                                                       self.args.login_seconds / rounds,
                                                       f"password logins{self.vlabel(v)}"))
            use = quiet_rounds(raw, *got.values())
            self.results["shared"]["argon2"] = {
                "hashes_per_s": sum(raw[i]["hashes_per_s"] for i in use[0]) / len(use[0]),
                "rounds": [r["hashes_per_s"] for r in raw]}
            for v in self.variants:
                self.results[v.key]["logins"] = merge_runs(got[v.key], use)

            health = {v.key: [] for v in self.variants}
            me = {v.key: [] for v in self.variants}
            bare = []
            if self.pg and self.args.pg_stat_statements:
                self.pg.reset_statements()
            for i in range(rounds):
                label = f"round {i + 1}/{rounds}"
                if self.pg_mode:
                    bare.append(self.pgbench("select", label))
                for v in self.variants:
                    nodes = clusters[v.key]
                    health[v.key].append(self.http_rounds(
                        nodes, label, [("GET", "/1/health", None, None)], self.args.conns,
                        self.args.http_seconds / rounds, f"GET /1/health{self.vlabel(v)}"))
                    me[v.key].append(self.http_rounds(
                        nodes, label, [("GET", "/1/me", None, s) for s in sessions[v.key]],
                        self.args.conns, self.args.http_seconds / rounds,
                        f"GET /1/me ({len(sessions[v.key])} sessions in turn)"
                        f"{self.vlabel(v)}"))
            if self.pg and self.args.pg_stat_statements:
                self.show_statements("session checks and the bare SELECT")
            use = quiet_rounds(*health.values(), *me.values(), *([bare] if bare else []))
            for v in self.variants:
                self.results[v.key]["health"] = merge_runs(health[v.key], use)
                self.results[v.key]["me"] = merge_runs(me[v.key], use)
            if bare:
                self.results["shared"]["bare_select"] = self.merge_bare(bare, use)
        finally:
            for nodes in clusters.values():
                self.stop_cluster(nodes)

    @staticmethod
    def merge_bare(runs, picked):
        use, quiet = picked
        sel = [runs[i] for i in use]
        secs = sum(r["seconds"] for r in sel)
        return {"rps": sum(r["tps"] * r["seconds"] for r in sel) / secs,
                "clients": sel[0]["clients"], "rounds": [round(r["tps"], 1) for r in runs],
                "rounds_used": [i + 1 for i in use], "quiet": quiet,
                "latency_ms": max(r["latency_ms"] or 0 for r in sel),
                "cpu": {k: round(sum(r["cpu"][k] * r["seconds"] for r in sel) / secs, 2)
                        for k in sel[0]["cpu"]}}

    def show_statements(self, what):
        say(f"  pg_stat_statements during {what} (calls, total ms, mean us, statement):")
        for calls, total, mean, query in self.pg.top_statements():
            say(f"    {calls:>9} {total:>10} {mean:>8}  {query}")

    def durable_writes(self):
        if self.pg_mode:
            say("  skipped: store_bench measures the LMDB engine")
            return
        rounds = self.args.rounds if len(self.variants) > 1 else 1
        runs = {v.key: [] for v in self.variants}
        for i in range(rounds):
            for v in self.variants:
                res = self.tool(f"store_bench{self.vlabel(v)}",
                                [v.store_bench, "-D", self.work, "-d",
                                 f"{self.args.store_seconds / rounds:.2f}"])
                runs[v.key].append(res)
                g, s = res["group_commit"], res["one_fsync_per_write"]
                label = f"round {i + 1}/{rounds}: " if rounds > 1 else ""
                say(f"  {label}LMDB{self.vlabel(v)} on {fs_type(self.work)} under "
                    f"{self.work}, "
                    + (f"{res['record']} records:" if "record" in res
                       else f"raw {res.get('value_bytes')}-byte values:"))
                say(f"  group commit, {g['producers']} producers x {g['in_flight_each']} in "
                    f"flight: {g['writes_per_s']:.0f} writes/s, {g['jobs_per_commit']:.0f} "
                    f"jobs per commit")
                say(f"  one fsync per write: {s['writes_per_s']:.0f} writes/s "
                    f"({s['ms_per_write']:.3f} ms each)")
                say(f"    {cpu_line(res['cpu'])}")
        for v in self.variants:
            rs = runs[v.key]
            out = json.loads(json.dumps(rs[0]))
            for part in ("group_commit", "one_fsync_per_write"):
                secs = sum(r[part]["seconds"] for r in rs)
                out[part]["writes"] = sum(r[part]["writes"] for r in rs)
                out[part]["seconds"] = secs
                out[part]["writes_per_s"] = out[part]["writes"] / secs if secs else 0.0
                out[part]["commits"] = sum(r[part]["commits"] for r in rs)
            g = out["group_commit"]
            g["jobs_per_commit"] = g["writes"] / g["commits"] if g["commits"] else 0.0
            s = out["one_fsync_per_write"]
            s["ms_per_write"] = 1000 * s["seconds"] / s["writes"] if s["writes"] else 0.0
            out["rounds"] = [round(r["group_commit"]["writes_per_s"]) for r in rs]
            out["fsync_rounds"] = [round(r["one_fsync_per_write"]["writes_per_s"]) for r in rs]
            self.results[v.key]["store"] = out

    @contextlib.contextmanager
    def perf(self, nodes, tag):
        """With --perf DIR: perf record -g of the nodes while the block runs,
        into DIR/<tag>.data (perf report -i ... --no-children)."""
        if not self.args.perf:
            yield
            return
        os.makedirs(self.args.perf, exist_ok=True)
        pids = ",".join(str(a.proc.pid) for a in nodes if a.proc is not None)
        rec = subprocess.Popen(["perf", "record", "-q", "-g", "-p", pids, "-o",
                                os.path.join(self.args.perf, f"{tag}.data")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # perf attaches before the load starts
        try:
            yield
        finally:
            rec.send_signal(signal.SIGINT)
            rec.wait()

    def fixture_phase(self, name, deadline, weights_left):
        """This phase's share of the time left before the fixture deadline."""
        left = max(deadline - time.time(), 1.0)
        share = FIXTURE_WEIGHTS[name] / sum(FIXTURE_WEIGHTS[w] for w in weights_left)
        weights_left.remove(name)
        return max(left * share, 1.0)

    @staticmethod
    def advance_all(nodes, seconds):
        for a in nodes:
            a.advance(seconds)

    def totp_fixtures(self, nodes, v):
        """Accounts with TOTP on and, per round, one pending login each.
        Returns [[(login_id, secret), ...] per round]."""
        n = self.args.totp_accounts
        conns = self.args.conns
        t0 = time.time()
        deadline = t0 + self.args.fixture_seconds
        left = list(FIXTURE_WEIGHTS)
        # PostgreSQL: the serialization failures of each fixture phase.
        marks = [self.pg.log_mark()] if self.pg else []

        def mark():
            if self.pg:
                marks.append(self.pg.log_mark())

        emails, r1 = self.accounts(nodes, f"totp{v.key}", n, conns,
                                   seconds=self.fixture_phase("sign-up", deadline, left))
        mark()
        bodies, r2 = self.logins(nodes, emails, conns, what="totp fixture login",
                                 seconds=self.fixture_phase("login", deadline, left))
        mark()
        have = [(e, b["session"]) for e, b in zip(emails, bodies) if b and b.get("session")]

        lines = [("POST", "/1/me/2fa/totp", None, s) for _, s in have]
        r3, got = self.loadgen(nodes, lines, conns, responses=True, what="totp enrolment",
                               seconds=self.fixture_phase("enrolment", deadline, left))
        enrolled = [(have[i][0], have[i][1], b["secret"])
                    for i, (st, b) in sorted(got.items()) if st == 200 and b]
        mark()

        offset = nodes[0].now() - time.time()  # authd's clock, test offset included
        lines = [("POST", "/1/me/2fa/totp/confirm",
                  {"code": totp_code(sec, time.time() + offset)}, s)
                 for _, s, sec in enrolled]
        r4, got = self.loadgen(nodes, lines, conns, responses=True, what="totp confirmation",
                               seconds=self.fixture_phase("confirmation", deadline, left))
        confirmed = [(enrolled[i][0], enrolled[i][2])
                     for i, (st, _) in sorted(got.items()) if st == 200]
        mark()

        # A code is accepted once per account, and confirming used this
        # time step: move authd's clock past the window so that the
        # measured step gets a fresh one.
        self.advance_all(nodes, 90)
        # One pending login per account and round: a round's codes are
        # for one time step, and the next round moves the clock a step.
        rounds = self.args.totp_rounds
        bodies, r5 = self.logins(nodes, [e for e, _ in confirmed] * rounds, conns,
                                 what="totp fixture second login",
                                 seconds=self.fixture_phase("second login", deadline, left))
        mark()
        per_round = []
        for k in range(rounds):
            got = [(bodies[k * len(confirmed) + i], sec)
                   for i, (_, sec) in enumerate(confirmed)
                   if k * len(confirmed) + i < len(bodies)]
            per_round.append([(b["login_id"], sec) for b, sec in got
                              if b and b.get("state") == "second_factor"])
        per_round = [r for r in per_round if r]
        pending = [x for r in per_round for x in r]
        fixture_s = time.time() - t0
        self.secrets += [x for _, x in have[:50]] + [sec for _, _, sec in enrolled[:50]]
        self.secrets += [lid for lid, _ in pending[:50]]
        if enrolled and shutil.which("oathtool"):
            # The in-process RFC 6238 must agree with the reference.
            sec, at = enrolled[0][2], int(time.time())
            if totp_code(sec, at) != oathtool_totp(sec, at):
                self.problems.append("bench.py's TOTP code differs from oathtool's")
        say(f"  fixtures{self.vlabel(v)} in {fixture_s:.1f} s: {len(emails)} sign-ups "
            f"({r1['rps']:.0f}/s), logins ({r2['rps']:.0f}/s), {len(enrolled)} enrolments "
            f"({r3['rps']:.0f}/s), {len(confirmed)} confirmations ({r4['rps']:.0f}/s), "
            f"{len(pending)} pending logins ({r5['rps']:.0f}/s)")
        if self.pg:
            counts = [self.pg.serialization_failures(marks[i]) -
                      self.pg.serialization_failures(marks[i + 1])
                      for i in range(len(marks) - 1)]
            say("    serialization failures (transactions run again) per fixture phase: "
                + ", ".join(f"{name} {c}" for name, c in zip(FIXTURE_WEIGHTS, counts)))
        if not pending:
            raise RuntimeError("no pending logins: see problems")
        self.results[v.key]["totp_fixture_seconds"] = round(fixture_s, 1)
        return per_round

    def totp_steps(self):
        for v in self.variants:
            if not v.is_test_build():
                say(f"  skipped: {v.label}: the fixtures need a cost below the minimum and the "
                    f"test clock, which only a test build (-DAUTHD_TEST_HOOKS=ON) accepts")
                return
        # The rounds move the clock a minute each: the pending logins made
        # before round 1 must outlive the last round (default 5 minutes).
        config = ("[password]\n" + "".join(f"{k} = {val}\n" for k, val in FIXTURE_COST.items())
                  + f"[session]\nlogin_timeout = {min(3600, 60 * self.args.totp_rounds + 300)}\n")
        clusters = {}
        retries = {}
        try:
            batches = {}
            for v in self.variants:
                clusters[v.key] = nodes = self.start_cluster(f"bench-totp-{v.key}", v,
                                                             config=config, test_clock=True)
                cost = self.logged_cost(nodes[0])
                say(f"  {'a second authd' if not self.pg_mode else f'{len(nodes)} new nodes'}"
                    f"{self.vlabel(v)} whose fixtures use a LOWER argon2id cost: "
                    f"m={cost['m']} t={cost['t']} p={cost['p']} (the measured step does no "
                    f"argon2id)")
                batches[v.key] = self.totp_fixtures(nodes, v)
            # Both builds measure the same number of steps per round.
            rounds = min(len(b) for b in batches.values())
            for k in range(rounds):
                size = min(len(b[k]) for b in batches.values())
                for b in batches.values():
                    b[k] = b[k][:size]
            conns = self.args.conns

            # The baseline for this figure (LMDB): health on this same authd,
            # before and after each round, so that both see the same machine
            # (the host's speed drifts from one minute to the next). With
            # PostgreSQL, pgbench's bare update before each round.
            health_parts = {v.key: [] for v in self.variants}

            def health(v, tag):
                hp, _ = self.loadgen(clusters[v.key], [("GET", "/1/health", None, None)],
                                     conns, seconds=self.args.http_seconds / 4, repeat=True,
                                     what=f"GET /1/health (TOTP authd{self.vlabel(v)}, {tag})",
                                     measured=True)
                health_parts[v.key].append(hp)

            def stats(nodes):
                tot = {}
                for a in nodes:
                    for key, val in a.get("/1/_test/stats").json.items():
                        if isinstance(val, (int, float)):  # the writer's counters
                            tot[key] = tot.get(key, 0) + val
                return tot

            for v in self.variants:
                health(v, "before round 1")
            w0 = {v.key: stats(clusters[v.key]) for v in self.variants}
            parts = {v.key: [] for v in self.variants}
            bare = []
            if self.pg and self.args.pg_stat_statements:
                self.pg.reset_statements()
            mark = self.pg.log_mark() if self.pg else 0
            for k in range(rounds):
                if self.pg_mode:
                    bare.append(self.pgbench("update", f"round {k + 1}/{rounds}"))
                for v in self.variants:
                    nodes = clusters[v.key]
                    if k:
                        # Two steps on: a code that also matched the next step
                        # (one in a million) may have used that one already.
                        self.advance_all(nodes, 60)
                    offset = nodes[0].now() - time.time()
                    at = time.time() + offset
                    if v.totp_in_body and not self.args.totp_path_form:
                        lines = [("POST", "/1/login/totp",
                                  {"login_id": lid, "code": totp_code(sec, at)}, None)
                                 for lid, sec in batches[v.key][k]]
                    else:
                        lines = [("POST", f"/1/login/{lid}/totp", {"code": totp_code(sec, at)},
                                  None) for lid, sec in batches[v.key][k]]
                    with self.perf(nodes, f"totp-{v.key}-round{k + 1}"):
                        res = self.loadgen(nodes, lines, conns, measured=True,
                                           what=f"TOTP second steps, round {k + 1}"
                                                f"{self.vlabel(v)}")[0]
                    parts[v.key].append(res)
                    say(f"  round {k + 1}/{rounds}: TOTP second steps{self.vlabel(v)}: "
                        f"{res['rps']:.0f}/s ({res['requests']} in {res['seconds']:.2f} s), "
                        f"p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, "
                        f"statuses {res['status']}")
                    say(f"    {cpu_line(res['cpu'])}")
                    health(v, f"after round {k + 1}")
            failures = self.pg.serialization_failures(mark) if self.pg else 0
            if self.pg and self.args.pg_stat_statements:
                self.show_statements("TOTP steps and the bare UPDATE")
            # (Health writes nothing: the writer's counters are the rounds'.)
            w1 = {v.key: stats(clusters[v.key]) for v in self.variants}
            # As the other figures: the rounds (and health turns) in which no
            # build shared the machine with other processes, when there are.
            steps_used, _ = quiet_rounds(*parts.values())
            health_used, _ = quiet_rounds(*health_parts.values())

            def quiet_only(runs, used):
                out = combine_rounds([runs[i] for i in used])
                out["round_rps"] = [round(p["rps"], 1) for p in runs]
                out["rounds_used"] = [i + 1 for i in used]
                return out

            for v in self.variants:
                h = quiet_only(health_parts[v.key], health_used)
                self.results[v.key]["totp_health"] = h
                each = ", ".join(f"{hp['rps']:.0f}" for hp in health_parts[v.key])
                say(f"  GET /1/health on {'this authd' if not self.pg_mode else 'these nodes'}"
                    f"{self.vlabel(v)}, before and after each round: {h['rps']:.0f}/s "
                    f"({each}), {conns} connections, p50 {h['p50_ms']:.2f} ms "
                    f"p99 {h['p99_ms']:.2f} ms")
                say(f"    {cpu_line(h['cpu'])}")
                res = quiet_only(parts[v.key], steps_used)
                res["accounts"] = len(batches[v.key][0])
                res["rounds"] = len(parts[v.key])
                a0, a1 = w0[v.key], w1[v.key]
                commits = a1["commits"] - a0["commits"]
                if commits:
                    work, sync = (a1[x] - a0[x] for x in ("work_us", "sync_us"))
                    res["writer"] = {
                        "jobs_per_commit": round((a1["jobs"] - a0["jobs"]) / commits, 1),
                        "work_ms_per_commit": round(work / commits / 1000, 2),
                        "sync_ms_per_commit": round(sync / commits / 1000, 2),
                        "busy_percent": round(100 * (work + sync) / 1e6 /
                                              sum(p["seconds"] for p in parts[v.key]), 1)}
                self.results[v.key]["totp"] = res
                if self.pg_mode:
                    res["serialization_failures"] = failures
                say(f"  TOTP second steps{self.vlabel(v)}: {res['rps']:.0f}/s "
                    f"({res['requests']} in {res['seconds']:.2f} s: {res['accounts']} accounts, "
                    f"{res['rounds']} rounds two time steps apart, each login once"
                    + (f"; rounds used {res['rounds_used']}"
                       if len(res["rounds_used"]) < res["rounds"] else "") + "; "
                    f"{conns} connections), p50 {res['p50_ms']:.2f} ms "
                    f"p99 {res['p99_ms']:.2f} ms, statuses {res['status']}")
                say(f"    {cpu_line(res['cpu'])}")
                if self.pg_mode:
                    say(f"    serialization failures during these rounds (each one a "
                        f"transaction run again): {failures}, "
                        f"{failures / max(res['requests'], 1):.2f} per step")
                if "writer" in res and not self.pg_mode:
                    w = res["writer"]
                    say(f"    group commit: {w['jobs_per_commit']} jobs per commit; per commit "
                        f"{w['work_ms_per_commit']} ms running the jobs and "
                        f"{w['sync_ms_per_commit']} ms writing and syncing; writer busy "
                        f"{w['busy_percent']}% of the time")
            if bare:
                use = quiet_rounds(bare, *parts.values())
                self.results["shared"]["bare_update"] = self.merge_bare(bare, use)
        finally:
            for key, nodes in clusters.items():
                retries[key] = self.stop_cluster(nodes)
        if self.pg_mode and "totp" in self.results["cur"]:
            self.results["cur"]["totp"]["retries_whole_phase"] = retries.get("cur", 0)
            say(f"  store/pg retries after lost races, fixtures included, all nodes "
                f"(their last log lines): {retries.get('cur', 0)}")

    # --- the report --------------------------------------------------------------------------

    def summary(self):
        shared, cur, base = self.results["shared"], self.results["cur"], self.results["base"]
        out = {"engine": self.engine, "nodes": self.nodes, "cores": self.cores,
               "load_generator_shares_cores": True, "problems": self.problems}
        rows = []
        targets = PG_TARGETS if self.pg_mode else TARGETS
        has_base = len(self.variants) > 1

        def row(key, label, res, ref, ref_label, quiet, base_res=None):
            value = res["rps"]
            ratio = pct(value, ref)
            target = targets[key] * 100
            verdict = "meets" if ratio >= target else f"below by {target - ratio:.1f} points"
            used = res.get("rounds_used")
            rounds = res.get("rounds")
            n = rounds if isinstance(rounds, int) else len(rounds or [])
            note = (f" [rounds {','.join(map(str, used))} of {n}]"
                    if used and len(used) < n else "")
            if not quiet:
                note += " [not one quiet round: unreliable]"
            rows.append(f"  {label:<26} {value:>9.1f}/s = {ratio:5.1f}% of {ref_label} "
                        f"({ref:.1f}/s); target >= {target:.0f}%: {verdict}{note}")
            out[key] = {"per_s": round(value, 1), "baseline_per_s": round(ref, 1),
                        "percent": round(ratio, 1), "target_percent": target,
                        "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"],
                        "cpu": res.get("cpu"), "quiet": quiet}
            if base_res is not None:
                b = base_res["rps"]
                rows.append(f"  {'  ' + self.variants[0].label:<26} {b:>9.1f}/s = "
                            f"{pct(b, ref if key == 'logins' else base_ref[key]):5.1f}% of its "
                            f"{ref_label}")

        base_ref = {}
        if has_base:
            if "health" in base:
                base_ref["me"] = base["health"]["rps"]
            if "totp_health" in base:
                base_ref["totp"] = base["totp_health"]["rps"]

        if "logins" in cur and "argon2" in shared:
            row("logins", "password logins", cur["logins"], shared["argon2"]["hashes_per_s"],
                "raw argon2id", cur["logins"]["quiet"],
                base.get("logins") if has_base else None)
            out["logins"]["argon2_cost"] = shared.get("cost")
            out["logins"]["raw_argon2_rounds"] = shared["argon2"]["rounds"]
            out["logins"]["rounds"] = cur["logins"]["rounds"]
            out["logins"]["rounds_used"] = cur["logins"]["rounds_used"]
        if "me" in cur:
            out["health_per_s"] = round(cur["health"]["rps"], 1)
            out["health_cpu"] = cur["health"].get("cpu")
            out["health_rounds"] = cur["health"]["rounds"]
            if self.pg_mode and "bare_select" in shared:
                bs = shared["bare_select"]
                row("me", "session checks GET /1/me", cur["me"], bs["rps"],
                    f"{BARE_LABELS['select']} ({bs['clients']} clients)",
                    cur["me"]["quiet"] and bs["quiet"])
                out["me"]["bare"] = bs
                rows.append(f"  {'  GET /1/health':<26} {cur['health']['rps']:>9.1f}/s "
                            f"(HTTP alone, same nodes, same connections: /me = "
                            f"{pct(cur['me']['rps'], cur['health']['rps']):.1f}% of it)")
            elif not self.pg_mode:
                row("me", "session checks GET /1/me", cur["me"], cur["health"]["rps"],
                    "GET /1/health", cur["me"]["quiet"], base.get("me") if has_base else None)
            out["me"]["rounds"] = cur["me"]["rounds"]
            out["me"]["rounds_used"] = cur["me"]["rounds_used"]
        if "totp" in cur:
            if self.pg_mode and "bare_update" in shared:
                bu = shared["bare_update"]
                row("totp", "TOTP second steps", cur["totp"], bu["rps"],
                    f"{BARE_LABELS['update']} ({bu['clients']} clients)",
                    is_quiet(cur["totp"]) and bu["quiet"])
                out["totp"]["bare"] = bu
                sf = cur["totp"].get("serialization_failures", 0)
                out["totp"]["serialization_failures"] = sf
                rows.append(f"  {'':<26} serialization failures during the measured steps: "
                            f"{sf} ({sf / max(cur['totp']['requests'], 1):.2f} per step), "
                            f"each a transaction run again")
            elif not self.pg_mode and "totp_health" in cur:
                row("totp", "TOTP second steps", cur["totp"], cur["totp_health"]["rps"],
                    "GET /1/health on that authd",
                    is_quiet(cur["totp"]) and is_quiet(cur["totp_health"]),
                    base.get("totp") if has_base else None)
                out["totp"]["health_cpu"] = cur["totp_health"].get("cpu")
            if "totp" in out:
                out["totp"]["fixture_argon2"] = FIXTURE_COST
                out["totp"]["accounts"] = cur["totp"]["accounts"]
        if "store" in cur:
            g = cur["store"]["group_commit"]
            s = cur["store"]["one_fsync_per_write"]
            rows.append(f"  {'durable writes':<26} {g['writes_per_s']:>9.1f}/s with group "
                        f"commit vs {s['writes_per_s']:.1f}/s with one fsync per write "
                        f"(x{g['writes_per_s'] / max(s['writes_per_s'], 1e-9):.0f})")
            if has_base and "store" in base:
                bg = base["store"]["group_commit"]
                bs = base["store"]["one_fsync_per_write"]
                rows.append(f"  {'  ' + self.variants[0].label:<26} {bg['writes_per_s']:>9.1f}"
                            f"/s with group commit vs {bs['writes_per_s']:.1f}/s with one "
                            f"fsync per write")
            out["durable_writes"] = {
                "group_commit_per_s": g["writes_per_s"],
                "one_fsync_per_write_per_s": s["writes_per_s"],
                "jobs_per_commit": g["jobs_per_commit"], "fs": fs_type(self.work)}
        say()
        say("Summary (information only: nothing fails on these numbers)")
        for line in rows:
            say(line)
        if has_base:
            self.baseline_table(out)
        if self.pg_mode:
            s = getattr(self.pg, "settings", {})
            say(f"  PostgreSQL {s.get('server_version', '?')}: fsync={s.get('fsync')}, "
                f"synchronous_commit={s.get('synchronous_commit')}, "
                f"wal_sync_method={s.get('wal_sync_method')}, shared_buffers="
                f"{s.get('shared_buffers')} x 8 kB; {self.nodes} authd node(s) x "
                f"({self.pg_conns // self.nodes - 1} + the loop's) connections = "
                f"{self.pg_conns} server "
                f"connections; pgbench: {self.pgbench_clients} clients, -M prepared, "
                f"{self.args.pg_rows} rows")
            errs = self.results["shared"].get("pg_errors") or {}
            if errs:
                say(f"  PostgreSQL's log: {sum(errs.values())} ERROR lines over the run "
                    f"(authd retries the serialization failures):")
                for msg, n in sorted(errs.items(), key=lambda kv: -kv[1])[:6]:
                    say(f"    {n:>7} x {msg[:150]}")
            out["postgresql_errors"] = errs
            say(f"  caveat: PostgreSQL, {self.nodes} authd node(s), loadgen and pgbench all "
                f"share the same {self.cores} cores")
            out["postgresql"] = {"settings": s, "server_connections": self.pg_conns,
                                 "pgbench_clients": self.pgbench_clients,
                                 "rows": self.args.pg_rows}
        say(f"  caveat: loadgen runs on the same {self.cores} cores as authd and takes its "
            f"share of them; each figure and its baseline ran in {self.args.rounds} "
            f"alternating rounds (raw argon2id with authd idle), and rounds that shared "
            f"the machine with other processes are left out when a quiet one exists")
        if "totp" in cur:
            say(f"  caveat: the TOTP fixtures were created at a lower argon2id cost "
                f"(m={FIXTURE_COST['argon2_memory_kib']} KiB "
                f"t={FIXTURE_COST['argon2_iterations']}); the measured step does no argon2id")
        out["noisy_phases"] = self.noisy
        if self.noisy:
            say("  WARNING: other processes used the cores during: " + "; ".join(self.noisy)
                + ". Those figures understate authd; the host may also slow the cores unseen "
                "(no steal): run again on a quiet machine.")
        if self.problems:
            say("Problems seen during the run:")
            for p in self.problems:
                say(f"  - {p}")
            if self.kept_logs:
                say(f"  authd logs kept in {self.kept_logs}")
        else:
            say("No problem seen in authd (statuses as expected, no error lines, clean exit).")
        print(json.dumps(out, separators=(",", ":")), flush=True)

    def baseline_table(self, out):
        """Every throughput of both builds, and how far the current one is
        from the baseline's."""
        cur, base = self.results["cur"], self.results["base"]
        figures = [("password logins/s", "logins", lambda r: r["rps"], "rounds"),
                   ("GET /1/health/s", "health", lambda r: r["rps"], "rounds"),
                   ("session checks GET /1/me/s", "me", lambda r: r["rps"], "rounds"),
                   ("TOTP second steps/s", "totp", lambda r: r["rps"], "round_rps"),
                   ("GET /1/health/s, TOTP authd", "totp_health", lambda r: r["rps"],
                    "round_rps"),
                   ("durable writes/s, group", "store",
                    lambda r: r["group_commit"]["writes_per_s"], "rounds"),
                   ("durable writes/s, 1 fsync", "store",
                    lambda r: r["one_fsync_per_write"]["writes_per_s"], "fsync_rounds")]
        tol = 100 * BASELINE_TOLERANCE
        say()
        say(f"Current build vs baseline {self.baseline_sha[:12]} (same run, in turns; "
            f"target: no figure more than {tol:.0f}% below the baseline)")
        say(f"  {'figure':<30} {'current':>10} {'baseline':>10} {'current/baseline':>17}  "
            f"{'round by round (median)':<26} verdict")
        table = {}
        below = []
        for label, key, get, rounds_key in figures:
            if key not in cur or key not in base:
                continue
            c, b = get(cur[key]), get(base[key])
            ratio = pct(c, b)
            # Each round's current against the baseline's turn just before
            # it: a round the host slowed unseen moves one of these, not all.
            rc, rb = cur[key].get(rounds_key), base[key].get(rounds_key)
            if not isinstance(rc, list) or not isinstance(rb, list):
                rc = rb = []
            each = [pct(x, y) for x, y in zip(rc, rb)]
            srt = sorted(each)
            med = (srt[(len(srt) - 1) // 2] + srt[len(srt) // 2]) / 2 if each else ratio
            each_text = ("/".join(f"{x:.0f}" for x in each) + f"% ({med:.0f}%)") if each else ""
            verdict = "ok" if ratio >= 100 - tol else f"BELOW by {100 - ratio:.1f}%"
            if ratio < 100 - tol:
                below.append(label)
            say(f"  {label:<30} {c:>10.1f} {b:>10.1f} {ratio:>16.1f}%  {each_text:<26} "
                f"{verdict}")
            table[label] = {"current": round(c, 1), "baseline": round(b, 1),
                            "percent": round(ratio, 1),
                            "round_percents": [round(x, 1) for x in each],
                            "median_round_percent": round(med, 1)}
        say(f"  => {len(below)} of {len(table)} figures more than {tol:.0f}% below the "
            f"baseline{': ' + ', '.join(below) if below else ''}")
        say("  (the host can slow the cores for a while without reporting steal: when one "
            "round's ratio stands apart, the median of the rounds is the better guide; "
            "--baseline HEAD shows the spread of two builds of the same code)")
        out["vs_baseline"] = {"commit": self.baseline_sha, "tolerance_percent": tol,
                              "figures": table, "below": below}

    def setup_builds(self):
        for path in list(self.bin.values()) + [self.variants[0].authd_bin]:
            if not os.access(path, os.X_OK):
                raise SystemExit(f"bench: {path} is missing: build first (see README.md)")
        try:
            here = git("describe", "--always", "--dirty")
        except (subprocess.CalledProcessError, OSError):
            here = "?"
        say(f"current build: {self.build} (tree {here}; C flags: {c_flags(self.build)})")
        cache = cmake_cache(self.build)
        if cache.get("AUTHD_SANITIZE"):
            say(f"  WARNING: built with sanitizers ({cache['AUTHD_SANITIZE']}): figures "
                f"are not those of a release build")
        if self.pg_mode or self.args.no_baseline:
            if self.pg_mode and not self.args.no_baseline:
                say("no baseline build for PostgreSQL: the baseline commit has no such engine")
            return
        build, self.baseline_sha, src = build_baseline(self.args.baseline, self.build,
                                                       self.args.baseline_dir)
        base = Variant("base", f"baseline {self.baseline_sha[:7]}", build, src)
        self.variants.insert(0, base)
        body, path = "POST /1/login/totp (body)", "POST /1/login/{id}/totp (path)"
        cur = self.variants[1]
        say(f"  baseline: [signup] section {'yes' if base.knows_signup else 'no'}, TOTP step "
            f"{body if base.totp_in_body else path}; current: TOTP step "
            f"{body if cur.totp_in_body and not self.args.totp_path_form else path}")
        if c_flags(build) != c_flags(self.build):
            say(f"  WARNING: the baseline's C flags differ: {c_flags(build)}")
        say("  each measured phase runs the baseline, then the current build, in turns")

    def run(self):
        t0 = time.time()
        # The harness writes authd's logs there; a run's own folder keeps
        # them apart from a test suite's.
        os.environ["AUTHD_TEST_STATE"] = os.path.join(self.work, "state")
        say(f"authd benchmark, engine {self.engine}"
            f"{f', {self.nodes} node(s)' if self.pg_mode else ''}: {self.cores} cores shared "
            f"by authd, {'PostgreSQL, pgbench, ' if self.pg_mode else ''}and the load "
            f"generator (loadgen, one thread); temp files in {self.work} "
            f"({fs_type(self.work)})")
        try:
            self.setup_builds()
            with CpuMeter() as quiet:
                time.sleep(1)
            say(f"before the run, other processes kept {quiet.used['others']:.2f} of "
                f"{self.cores} cores busy (kernel threads {quiet.used['kernel']:.2f}, stolen "
                f"{quiet.used['steal']:.2f})")
            if self.pg_mode:
                self.pg = PgServer(self.work, self.args.pg_rows, self.args.pg_stat_statements)
                t1 = time.time()
                self.pg.start()
                self.pg_pid = self.pg.postmaster_pid()
                self.pg.setup_bare(self.work, self.pgbench_clients)
                say(f"PostgreSQL on 127.0.0.1:{self.pg.state['port']} "
                    f"(data in {self.pg.state['dir']}, {fs_type(self.pg.state['dir'])}; "
                    f"fsync={self.pg.settings.get('fsync')}), bare table of "
                    f"{self.args.pg_rows} rows, {time.time() - t1:.1f} s")
            steps = [("Password logins, health, session checks", self.password_and_sessions),
                     ("Durable writes (store_bench, authd's store without HTTP)",
                      self.durable_writes),
                     ("TOTP second steps", self.totp_steps)]
            if self.args.only:
                steps = [st for st in steps if self.args.only in st[1].__name__]
            for title, fn in steps:
                say()
                say(title)
                try:
                    fn()
                except (RuntimeError, OSError, ValueError, KeyError,
                        subprocess.SubprocessError) as e:
                    self.problems.append(f"{title}: {e}")
                    say(f"  failed: {e}")
        finally:
            if self.pg is not None:
                self.results["shared"]["pg_errors"] = self.pg.log_errors()
                try:
                    self.pg.stop()
                except (OSError, subprocess.SubprocessError) as e:
                    self.problems.append(f"stopping PostgreSQL: {e}")
            state = os.path.join(self.work, "state")
            if self.problems and os.path.isdir(state):
                self.kept_logs = tempfile.mkdtemp(prefix="authd-bench-logs-")
                shutil.copytree(state, self.kept_logs, dirs_exist_ok=True)
            shutil.rmtree(self.work, ignore_errors=True)
        say(f"\n(total {time.time() - t0:.0f} s)")
        self.summary()


QUICK = {"rounds": 2, "argon2_seconds": 3, "login_seconds": 4, "http_seconds": 3,
         "store_seconds": 1, "totp_accounts": 5000, "totp_rounds": 2, "fixture_seconds": 20}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="the CMake build folder (default: build)")
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--nodes", type=int, choices=[1, 3], default=1,
                    help="postgresql: authd nodes sharing the database (default 1)")
    ap.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="COMMIT",
                    help=f"lmdb: the commit to compare with (default {DEFAULT_BASELINE})")
    ap.add_argument("--no-baseline", action="store_true", help="lmdb: skip the baseline")
    ap.add_argument("--baseline-dir", default=None,
                    help="where the baseline is unpacked and built (default: "
                         "$TMPDIR/authd-bench-baseline-<commit>, reused when complete)")
    ap.add_argument("--quick", action="store_true",
                    help="shorter phases and fewer TOTP accounts (rougher figures): "
                         + ", ".join(f"{k.replace('_', '-')} {v}" for k, v in QUICK.items()))
    ap.add_argument("--conns", type=int, default=64, help="connections for the HTTP figures")
    ap.add_argument("--login-accounts", type=int, default=128)
    ap.add_argument("--totp-accounts", type=int, default=None, help="default 20000")
    ap.add_argument("--rounds", type=int, default=None,
                    help="turns each figure and its baseline take, one after the other "
                         "(default 3; 6 against a baseline build, whose figures need more "
                         "rounds to tell a few percent from the host's drift)")
    ap.add_argument("--argon2-seconds", type=float, default=None,
                    help="raw argon2id, all rounds together (default 2 s a round: 6)")
    ap.add_argument("--login-seconds", type=float, default=None,
                    help="password logins, all rounds together (default 10/3 s a round: 10)")
    ap.add_argument("--http-seconds", type=float, default=None,
                    help="GET /1/health and GET /1/me each, and each pgbench statement, "
                         "all rounds together (default 2 s a round: 6)")
    ap.add_argument("--store-seconds", type=float, default=None,
                    help="store_bench, all rounds together (default 3; against a baseline "
                         "build 1 s a round)")
    ap.add_argument("--totp-rounds", type=int, default=None,
                    help="TOTP rounds, each one login per account, two time steps apart "
                         "(default 3; 6 against a baseline build)")
    ap.add_argument("--fixture-seconds", type=float, default=None,
                    help="time cap of the five TOTP fixture phases together (default 60)")
    ap.add_argument("--totp-path-form", action="store_true",
                    help="send the current build's TOTP steps to the deprecated "
                         "/1/login/{id}/totp too (the baseline knows only that form)")
    ap.add_argument("--pg-connections", type=int, default=0,
                    help="postgresql: [storage] connections per node (default: the "
                         f"engine's, {PG_DEFAULT_CONNECTIONS})")
    ap.add_argument("--pgbench-clients", type=int, default=0,
                    help="postgresql: pgbench clients (default: the nodes' server "
                         "connections together)")
    ap.add_argument("--pg-rows", type=int, default=100000,
                    help="postgresql: rows of pgbench's table")
    ap.add_argument("--pg-stat-statements", action="store_true",
                    help="postgresql: load pg_stat_statements (server restart) and print "
                         "the heaviest statements of each phase")
    ap.add_argument("--perf", metavar="DIR", default=None,
                    help="record each measured TOTP round with perf record -g into DIR")
    ap.add_argument("--only", choices=["password_and_sessions", "durable_writes", "totp_steps"],
                    help="run one part (its figures only; the summary lists the rest as missing)")
    args = ap.parse_args()
    with_baseline = args.engine == "lmdb" and not args.no_baseline
    defaults = {"rounds": 6 if with_baseline else 3, "totp_accounts": 20000,
                "totp_rounds": 6 if with_baseline else 3, "fixture_seconds": 60}
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, QUICK[k] if args.quick else v)
    # The phases' lengths: per round as they have always been (3 rounds).
    per_round = {"argon2_seconds": 2, "login_seconds": 10 / 3, "http_seconds": 2,
                 "store_seconds": 1 if with_baseline else 3 / args.rounds}
    for k, v in per_round.items():
        if getattr(args, k) is None:
            setattr(args, k, QUICK[k] if args.quick else v * args.rounds)
    if args.engine == "lmdb" and args.nodes != 1:
        ap.error("--nodes needs --engine postgresql (LMDB is one node)")
    Bench(args).run()


if __name__ == "__main__":
    main()
