#!/usr/bin/env python3
"""authd's benchmark, in one run: starts authd and prints each throughput next
to the figure it is judged against, then one JSON line.

- password logins/s through authd vs raw argon2id hashes/s at the same cost
  (argon2_rate, threads = cores), target >= 90%;
- TOTP second steps/s (POST /1/login/{id}/totp) vs GET /1/health/s, >= 50%;
- session checks (GET /1/me)/s vs GET /1/health/s, >= 70%;
- durable writes/s with group commit vs one fsync per write (store_bench).

Targets are information: nothing here fails on time. Only the standard
library; loadgen (C, epoll) sends the requests, for the fixtures too, because
a Python client would measure itself. Usage: python3 tests/bench/bench.py
--build build (a build with -DAUTHD_TEST_HOOKS=ON for the TOTP part).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

from authd_harness import Authd, totp as oathtool_totp  # noqa: E402

TARGETS = {"logins": 0.90, "totp": 0.50, "me": 0.70}
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
    n = len(series[0])
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


class CpuMeter:
    """Where the cores went during one phase: authd, this script's children
    (loadgen, argon2_rate, store_bench), this script, kernel threads (disk
    writeback and journal commits, some of it on authd's behalf), and every
    other process on the machine: other builds and tests, whose share makes
    the phase's figure unreliable. Steal is time the hypervisor gave to
    other guests."""

    TICK = os.sysconf("SC_CLK_TCK")
    PF_KTHREAD = 0x00200000

    def __init__(self, authd=None):
        self.authd = authd
        self.used = {}

    def _machine(self):
        with open("/proc/stat", encoding="ascii") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal
        return (v[0] + v[1] + v[2] + v[5] + v[6]) / self.TICK, v[7] / self.TICK

    def _tasks(self):
        """CPU seconds of authd and of all kernel threads together."""
        authd_pid = self.authd.proc.pid if self.authd and self.authd.proc else None
        authd = kernel = 0.0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            cpu = (int(fields[11]) + int(fields[12])) / self.TICK
            if int(pid) == authd_pid:
                authd = cpu
            elif int(fields[6]) & self.PF_KTHREAD:
                kernel += cpu
        return authd, kernel

    def _snapshot(self):
        t = os.times()
        busy, steal = self._machine()
        authd, kernel = self._tasks()
        return {"wall": time.monotonic(), "busy": busy, "steal": steal, "authd": authd,
                "kernel": kernel, "children": t.children_user + t.children_system,
                "self": t.user + t.system}

    def __enter__(self):
        self.start = self._snapshot()
        return self

    def __exit__(self, *exc):
        end = self._snapshot()
        wall = max(end["wall"] - self.start["wall"], 1e-6)
        d = {k: (end[k] - self.start[k]) / wall for k in end if k != "wall"}
        ours = d["authd"] + d["children"] + d["self"] + d["kernel"]
        self.used = {"authd": d["authd"], "tools": d["children"], "bench_py": d["self"],
                     "kernel": d["kernel"], "others": max(d["busy"] - ours, 0.0),
                     "steal": d["steal"]}
        return False


def cpu_line(u):
    return (f"cores used: authd {u['authd']:.2f}, loadgen/tool {u['tools']:.2f}, "
            f"bench.py {u['bench_py']:.2f}, kernel threads {u['kernel']:.2f}, "
            f"other processes {u['others']:.2f}, stolen {u['steal']:.2f} "
            f"(of {os.cpu_count()})")


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.bin = {n: os.path.join(self.build, "tests", "bench", n)
                    for n in ("loadgen", "argon2_rate", "store_bench")}
        self.authd_bin = os.path.join(self.build, "authd", "authd")
        self.work = tempfile.mkdtemp(prefix="authd-bench-")
        self.cores = os.cpu_count() or 1
        self.problems = []
        self.noisy = []
        self.kept_logs = None
        self.secrets = [PASSWORD]  # a sample of what must never be logged
        self.results = {}
        self.seq = 0

    # --- tools ---------------------------------------------------------------------

    def run_json(self, argv):
        p = subprocess.run(argv, capture_output=True, text=True, check=False)
        if p.returncode != 0:
            raise RuntimeError(f"{os.path.basename(argv[0])} failed ({p.returncode}): "
                               f"{p.stderr.strip()[-500:]}")
        return json.loads(p.stdout.strip().splitlines()[-1])

    def loadgen(self, authd, lines, conns, seconds=None, repeat=False, responses=False,
                what="requests", expect=(200,), measured=False):
        """Sends lines (method, path, body, bearer) with loadgen; returns its
        JSON and, with responses=True, {line index: (status, parsed body)}.
        A measured run starts after a sync, so that the fixtures' writeback
        does not compete with it, and records where the cores went."""
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
        argv = [self.bin["loadgen"], "-p", str(authd.port), "-f", req_path, "-c", str(conns),
                "-s"]
        # A run without a time cap still gets one: a hung authd must not
        # hang the benchmark.
        argv += ["-d", f"{seconds or SAFETY_SECONDS:.1f}"]
        if repeat:
            argv.append("-r")
        if responses:
            argv += ["-o", out_path]
        if measured:
            os.sync()
        with CpuMeter(authd) as cpu:
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
        with CpuMeter() as cpu:
            res = self.run_json(argv)
        res["cpu"] = self.note_cpu(what, cpu)
        return res

    # Fixtures sign thousands of accounts up from one address.
    SIGNUP_UNLIMITED = "[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"

    def start_authd(self, name, config=None, test_clock=False):
        config = (config or "") + self.SIGNUP_UNLIMITED
        a = Authd(name=name, config=config, test_clock=test_clock,
                  data_dir=tempfile.mkdtemp(prefix=f"{name}-", dir=self.work),
                  extra_args=["--log-level", "info"])
        a.own_dir = True
        try:
            a.start()
        except (RuntimeError, OSError) as e:
            # A hung authd ignores the harness: make sure none outlives us.
            self.kill_authd(a)
            tail = a.log_tail(300).strip().splitlines()
            raise RuntimeError(f"{name}: {e} (last log line: "
                               f"{tail[-1] if tail else 'none'})") from e
        return a

    @staticmethod
    def kill_authd(a):
        if a.proc is not None and a.proc.poll() is None:
            a.proc.kill()
            a.proc.wait()
        a.cleanup()

    def stop_authd(self, a):
        """Stops a, and records any early death, error line or sanitizer
        report in its log as a problem found in authd."""
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

    @staticmethod
    def logged_cost(a):
        """The argon2id cost authd says it runs with (its start-up line)."""
        for line in a.log_text().splitlines():
            if " argon2id m=" in line:
                tail = line.split(" argon2id ", 1)[1].split()
                return {k: int(v) for k, v in (kv.split("=") for kv in tail[:3])}
        raise RuntimeError("authd did not log its argon2id cost")

    def is_test_build(self):
        out = subprocess.run([self.authd_bin, "--version"], capture_output=True, text=True,
                             check=False).stdout
        return "test build" in out

    # --- the figures -------------------------------------------------------------------

    def accounts(self, authd, prefix, n, conns, seconds=None):
        """Signs up n accounts; returns the emails that were created."""
        emails = [f"{prefix}-{i}@bench.example" for i in range(n)]
        lines = [("POST", "/1/accounts", {"email": e, "password": PASSWORD,
                                          "name": "Bench Person"}, None) for e in emails]
        res, got = self.loadgen(authd, lines, conns, seconds=seconds, responses=True,
                                what=f"{prefix} sign-up", expect=(201,))
        return [emails[i] for i, (s, _) in sorted(got.items()) if s == 201], res

    def logins(self, authd, emails, conns, seconds=None, what="login"):
        lines = [("POST", "/1/login", {"email": e, "password": PASSWORD}, None) for e in emails]
        res, got = self.loadgen(authd, lines, conns, seconds=seconds, responses=True, what=what)
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

    def http_rounds(self, a, label, lines, conns, seconds, what):
        res, _ = self.loadgen(a, lines, conns, seconds=seconds, repeat=True, what=what,
                              measured=True)
        say(f"  {label}: {what}: {res['rps']:.1f}/s, {conns} connections, "
            f"p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, statuses {res['status']}")
        say(f"    {cpu_line(res['cpu'])}")
        return res

    def password_and_sessions(self):
        n = self.args.login_accounts
        rounds = self.args.rounds
        a = self.start_authd("bench-main")
        try:
            cost = self.logged_cost(a)
            self.results["cost"] = cost
            say(f"  authd with its default config: argon2id m={cost['m']} t={cost['t']} "
                f"p={cost['p']}, log level info (one line per auth decision)")

            t0 = time.time()
            emails, _ = self.accounts(a, "pw", n, conns=2 * self.cores)
            bodies, _ = self.logins(a, emails, conns=2 * self.cores, what="first login")
            sessions = [b["session"] for b in bodies if b and b.get("session")]
            self.secrets += sessions[:50]
            say(f"  fixtures: {len(emails)} accounts at that same cost (no rehash at login) "
                f"and {len(sessions)} sessions, {time.time() - t0:.1f} s")
            if not emails or not sessions:
                raise RuntimeError("no fixture accounts or sessions: see problems")

            # Each figure and its baseline take turns in short rounds, so that
            # both see the same machine: on a shared VM the speed of the
            # cores drifts by tens of percent within a minute.
            logins = [("POST", "/1/login", {"email": e, "password": PASSWORD}, None)
                      for e in emails]
            # Each account is in flight at most once at a time: more would be
            # throttled (attempts in flight count as possible failures).
            conns = min(len(emails) // 2, 4 * self.cores)
            raw, got = [], []
            for i in range(rounds):
                label = f"round {i + 1}/{rounds}"
                raw.append(self.argon2_raw(cost, self.args.argon2_seconds / rounds, label))
                got.append(self.http_rounds(a, label, logins, conns,
                                            self.args.login_seconds / rounds,
                                            "password logins"))
            use = quiet_rounds(raw, got)
            self.results["argon2"] = {
                "hashes_per_s": sum(raw[i]["hashes_per_s"] for i in use[0]) / len(use[0]),
                "rounds": [r["hashes_per_s"] for r in raw]}
            self.results["logins"] = merge_runs(got, use)

            health, me = [], []
            for i in range(rounds):
                label = f"round {i + 1}/{rounds}"
                health.append(self.http_rounds(a, label, [("GET", "/1/health", None, None)],
                                               self.args.conns,
                                               self.args.http_seconds / rounds,
                                               "GET /1/health"))
                me.append(self.http_rounds(a, label, [("GET", "/1/me", None, s)
                                                      for s in sessions],
                                           self.args.conns, self.args.http_seconds / rounds,
                                           f"GET /1/me ({len(sessions)} sessions in turn)"))
            use = quiet_rounds(health, me)
            self.results["health"] = merge_runs(health, use)
            self.results["me"] = merge_runs(me, use)
        finally:
            self.stop_authd(a)

    def durable_writes(self):
        res = self.tool("store_bench", [self.bin["store_bench"], "-D", self.work, "-d",
                                        str(self.args.store_seconds)])
        self.results["store"] = res
        g, s = res["group_commit"], res["one_fsync_per_write"]
        say(f"  LMDB on {fs_type(self.work)} under {self.work}, 64-byte values:")
        say(f"  group commit, {g['producers']} producers x {g['in_flight_each']} in flight: "
            f"{g['writes_per_s']:.0f} writes/s, {g['jobs_per_commit']:.0f} jobs per commit")
        say(f"  one fsync per write: {s['writes_per_s']:.0f} writes/s "
            f"({s['ms_per_write']:.3f} ms each)")
        say(f"    {cpu_line(res['cpu'])}")

    def fixture_phase(self, name, deadline, weights_left):
        """This phase's share of the time left before the fixture deadline."""
        left = max(deadline - time.time(), 1.0)
        share = FIXTURE_WEIGHTS[name] / sum(FIXTURE_WEIGHTS[w] for w in weights_left)
        weights_left.remove(name)
        return max(left * share, 1.0)

    def totp_steps(self):
        if not self.is_test_build():
            say("  skipped: the fixtures need a cost below the minimum and the test clock, "
                "which only a test build (-DAUTHD_TEST_HOOKS=ON) accepts")
            return
        config = "[password]\n" + "".join(f"{k} = {v}\n" for k, v in FIXTURE_COST.items())
        a = self.start_authd("bench-totp", config=config, test_clock=True)
        try:
            cost = self.logged_cost(a)
            say(f"  a second authd whose fixtures use a LOWER argon2id cost: m={cost['m']} "
                f"t={cost['t']} p={cost['p']} (the measured step does no argon2id)")
            n = self.args.totp_accounts
            conns = self.args.conns
            t0 = time.time()
            deadline = t0 + self.args.fixture_seconds
            left = list(FIXTURE_WEIGHTS)

            emails, r1 = self.accounts(a, "totp", n, conns,
                                       seconds=self.fixture_phase("sign-up", deadline, left))
            bodies, r2 = self.logins(a, emails, conns, what="totp fixture login",
                                     seconds=self.fixture_phase("login", deadline, left))
            have = [(e, b["session"]) for e, b in zip(emails, bodies) if b and b.get("session")]

            lines = [("POST", "/1/me/2fa/totp", None, s) for _, s in have]
            r3, got = self.loadgen(a, lines, conns, responses=True, what="totp enrolment",
                                   seconds=self.fixture_phase("enrolment", deadline, left))
            enrolled = [(have[i][0], have[i][1], b["secret"])
                        for i, (st, b) in sorted(got.items()) if st == 200 and b]

            offset = a.now() - time.time()  # authd's clock, test offset included
            lines = [("POST", "/1/me/2fa/totp/confirm",
                      {"code": totp_code(sec, time.time() + offset)}, s)
                     for _, s, sec in enrolled]
            r4, got = self.loadgen(a, lines, conns, responses=True, what="totp confirmation",
                                   seconds=self.fixture_phase("confirmation", deadline, left))
            confirmed = [(enrolled[i][0], enrolled[i][2])
                         for i, (st, _) in sorted(got.items()) if st == 200]

            # A code is accepted once per account, and confirming used this
            # time step: move authd's clock past the window so that the
            # measured step gets a fresh one.
            a.advance(90)
            # One pending login per account and round: a round's codes are
            # for one time step, and the next round moves the clock a step.
            rounds = self.args.totp_rounds
            bodies, r5 = self.logins(a, [e for e, _ in confirmed] * rounds, conns,
                                     what="totp fixture second login",
                                     seconds=self.fixture_phase("second login", deadline, left))
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
            say(f"  fixtures in {fixture_s:.1f} s: {len(emails)} sign-ups ({r1['rps']:.0f}/s), "
                f"logins ({r2['rps']:.0f}/s), {len(enrolled)} enrolments ({r3['rps']:.0f}/s), "
                f"{len(confirmed)} confirmations ({r4['rps']:.0f}/s), {len(pending)} pending "
                f"logins ({r5['rps']:.0f}/s)")
            if not pending:
                raise RuntimeError("no pending logins: see problems")

            # The baseline for this figure: health on this same authd, before
            # and after each round, so that both see the same machine (the
            # host's speed drifts from one minute to the next).
            health_parts = []

            def health(tag):
                hp, _ = self.loadgen(a, [("GET", "/1/health", None, None)], conns,
                                     seconds=self.args.http_seconds / 4, repeat=True,
                                     what=f"GET /1/health (TOTP authd, {tag})", measured=True)
                health_parts.append(hp)

            health("before round 1")
            w0 = a.get("/1/_test/stats").json
            parts = []
            for k, batch in enumerate(per_round):
                if k:
                    # Two steps on: a code that also matched the next step
                    # (one in a million) may have used that one already.
                    a.advance(60)
                offset = a.now() - time.time()
                at = time.time() + offset
                lines = [("POST", f"/1/login/{lid}/totp", {"code": totp_code(sec, at)}, None)
                         for lid, sec in batch]
                parts.append(self.loadgen(a, lines, conns,
                                          what=f"TOTP second steps, round {k + 1}",
                                          measured=True)[0])
                health(f"after round {k + 1}")
            # (Health writes nothing: the writer's counters are the rounds'.)
            w1 = a.get("/1/_test/stats").json
            h = combine_rounds(health_parts)
            self.results["totp_health"] = h
            each = ", ".join(f"{hp['rps']:.0f}" for hp in health_parts)
            say(f"  GET /1/health on this authd, before and after each round: "
                f"{h['rps']:.0f}/s ({each}), "
                f"{conns} connections, p50 {h['p50_ms']:.2f} ms p99 {h['p99_ms']:.2f} ms")
            say(f"    {cpu_line(h['cpu'])}")
            res = combine_rounds(parts)
            res["accounts"] = len(per_round[0])
            res["rounds"] = len(parts)
            commits = w1["commits"] - w0["commits"]
            if commits:
                work, sync = (w1[k] - w0[k] for k in ("work_us", "sync_us"))
                res["writer"] = {
                    "jobs_per_commit": round((w1["jobs"] - w0["jobs"]) / commits, 1),
                    "work_ms_per_commit": round(work / commits / 1000, 2),
                    "sync_ms_per_commit": round(sync / commits / 1000, 2),
                    "busy_percent": round(100 * (work + sync) / 1e6 / res["seconds"], 1)}
            res["fixture_seconds"] = round(fixture_s, 1)
            self.results["totp"] = res
            say(f"  TOTP second steps: {res['rps']:.0f}/s ({res['requests']} in "
                f"{res['seconds']:.2f} s: {res['accounts']} accounts, {res['rounds']} rounds "
                f"two time steps apart, each login once; {conns} connections), "
                f"p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, "
                f"statuses {res['status']}")
            say(f"    {cpu_line(res['cpu'])}")
            if "writer" in res:
                w = res["writer"]
                say(f"    group commit: {w['jobs_per_commit']} jobs per commit; per commit "
                    f"{w['work_ms_per_commit']} ms running the jobs and "
                    f"{w['sync_ms_per_commit']} ms writing and syncing; writer busy "
                    f"{w['busy_percent']}% of the time")
        finally:
            self.stop_authd(a)

    # --- the report --------------------------------------------------------------------------

    def summary(self):
        r = self.results
        out = {"cores": self.cores, "load_generator_shares_cores": True,
               "problems": self.problems}
        rows = []

        def row(key, label, res, base, base_label, quiet):
            value = res["rps"]
            ratio = pct(value, base)
            target = TARGETS[key] * 100
            verdict = "meets" if ratio >= target else "below"
            used = res.get("rounds_used")
            note = (f" [rounds {','.join(map(str, used))} of {len(res['rounds'])}]"
                    if used and len(used) < len(res["rounds"]) else "")
            if not quiet:
                note += " [not one quiet round: unreliable]"
            rows.append(f"  {label:<26} {value:>9.1f}/s = {ratio:5.1f}% of {base_label} "
                        f"({base:.1f}/s); target >= {target:.0f}%: {verdict}{note}")
            out[key] = {"per_s": round(value, 1), "baseline_per_s": round(base, 1),
                        "percent": round(ratio, 1), "target_percent": target,
                        "p50_ms": res["p50_ms"], "p99_ms": res["p99_ms"],
                        "cpu": res.get("cpu"), "quiet": quiet}

        if "logins" in r and "argon2" in r:
            row("logins", "password logins", r["logins"], r["argon2"]["hashes_per_s"],
                "raw argon2id", r["logins"]["quiet"])
            out["logins"]["argon2_cost"] = r.get("cost")
            out["logins"]["raw_argon2_rounds"] = r["argon2"]["rounds"]
            out["logins"]["rounds"] = r["logins"]["rounds"]
            out["logins"]["rounds_used"] = r["logins"]["rounds_used"]
        if "health" in r:
            out["health_per_s"] = round(r["health"]["rps"], 1)
            out["health_cpu"] = r["health"].get("cpu")
            if "me" in r:
                row("me", "session checks GET /1/me", r["me"], r["health"]["rps"],
                    "GET /1/health", r["me"]["quiet"])
            out["me"]["rounds"] = r["me"]["rounds"]
            out["me"]["rounds_used"] = r["me"]["rounds_used"]
            out["health_rounds"] = r["health"]["rounds"]
        if "totp" in r and "totp_health" in r:
            row("totp", "TOTP second steps", r["totp"], r["totp_health"]["rps"],
                "GET /1/health on that authd",
                is_quiet(r["totp"]) and is_quiet(r["totp_health"]))
            out["totp"]["fixture_argon2"] = FIXTURE_COST
            out["totp"]["accounts"] = r["totp"]["accounts"]
            out["totp"]["health_cpu"] = r["totp_health"].get("cpu")
        if "store" in r:
            g = r["store"]["group_commit"]
            s = r["store"]["one_fsync_per_write"]
            rows.append(f"  {'durable writes':<26} {g['writes_per_s']:>9.1f}/s with group "
                        f"commit vs {s['writes_per_s']:.1f}/s with one fsync per write "
                        f"(x{g['writes_per_s'] / max(s['writes_per_s'], 1e-9):.0f})")
            out["durable_writes"] = {
                "group_commit_per_s": g["writes_per_s"],
                "one_fsync_per_write_per_s": s["writes_per_s"],
                "jobs_per_commit": g["jobs_per_commit"], "fs": fs_type(self.work)}
        say()
        say("Summary (information only: nothing fails on these numbers)")
        for line in rows:
            say(line)
        say(f"  caveat: loadgen runs on the same {self.cores} cores as authd and takes its "
            f"share of them; each figure and its baseline ran in {self.args.rounds} "
            f"alternating rounds (raw argon2id with authd idle), and rounds that shared "
            f"the machine with other processes are left out when a quiet one exists")
        if "totp" in r:
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

    def run(self):
        t0 = time.time()
        os.environ["AUTHD_BIN"] = self.authd_bin
        # The harness writes authd's logs there; a run's own folder keeps
        # them apart from a test suite's.
        os.environ["AUTHD_TEST_STATE"] = os.path.join(self.work, "state")
        for path in list(self.bin.values()) + [self.authd_bin]:
            if not os.access(path, os.X_OK):
                raise SystemExit(f"bench: {path} is missing: build first (see README.md)")
        say(f"authd benchmark: {self.cores} cores shared by authd and the load generator "
            f"(loadgen, one thread); temp files in {self.work} ({fs_type(self.work)})")
        with CpuMeter() as quiet:
            time.sleep(1)
        say(f"before the run, other processes kept {quiet.used['others']:.2f} of {self.cores} "
            f"cores busy (kernel threads {quiet.used['kernel']:.2f}, stolen "
            f"{quiet.used['steal']:.2f})")
        steps = [("Password logins, health, session checks", self.password_and_sessions),
                 ("Durable writes (store_bench, authd's store without HTTP)",
                  self.durable_writes),
                 ("TOTP second steps", self.totp_steps)]
        if self.args.only:
            steps = [st for st in steps if self.args.only in st[1].__name__]
        try:
            for title, fn in steps:
                say()
                say(title)
                try:
                    fn()
                except (RuntimeError, OSError, ValueError, KeyError) as e:
                    self.problems.append(f"{title}: {e}")
                    say(f"  failed: {e}")
        finally:
            state = os.path.join(self.work, "state")
            if self.problems and os.path.isdir(state):
                self.kept_logs = tempfile.mkdtemp(prefix="authd-bench-logs-")
                shutil.copytree(state, self.kept_logs, dirs_exist_ok=True)
            shutil.rmtree(self.work, ignore_errors=True)
        say(f"\n(total {time.time() - t0:.0f} s)")
        self.summary()


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
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build", help="the CMake build folder (default: build)")
    ap.add_argument("--conns", type=int, default=64, help="connections for the HTTP figures")
    ap.add_argument("--login-accounts", type=int, default=128)
    ap.add_argument("--totp-accounts", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=3,
                    help="turns each figure and its baseline take, one after the other")
    ap.add_argument("--argon2-seconds", type=float, default=6,
                    help="raw argon2id, all rounds together")
    ap.add_argument("--login-seconds", type=float, default=10,
                    help="password logins, all rounds together")
    ap.add_argument("--http-seconds", type=float, default=6,
                    help="GET /1/health and GET /1/me each, all rounds together")
    ap.add_argument("--store-seconds", type=float, default=3)
    ap.add_argument("--totp-rounds", type=int, default=3,
                    help="TOTP rounds, each one login per account, two time steps apart")
    ap.add_argument("--fixture-seconds", type=float, default=60,
                    help="time cap of the five TOTP fixture phases together")
    ap.add_argument("--only", choices=["password_and_sessions", "durable_writes", "totp_steps"],
                    help="run one part (its figures only; the summary lists the rest as missing)")
    Bench(ap.parse_args()).run()


if __name__ == "__main__":
    main()
