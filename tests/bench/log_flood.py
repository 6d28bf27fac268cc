#!/usr/bin/env python3
"""How much a flood of refused requests makes authd's log grow.

One authd (test build, fixture argon2id cost, so that refusals come as fast
as the loop can answer them) with the default refusal limiter ([log]
refusal_burst, refusal_interval_s, refusal_lines_max,
refusal_summaries_max). Each scenario is a burst of --seconds of refused
requests sent by loadgen, from one address or (--many) from one address per
connection:

- wrong passwords for one account (401, then 429 throttled);
- wrong TOTP codes on a login that does not exist (401);
- a wrong credential for GET /metrics (401);
- forgotten-password requests (202, each one logged before the limiter);
- sign-ups from one address past its burst (429).

For each: requests sent, refusals counted by /metrics, and the lines and
bytes the log grew by; then, after the interval, the summary lines. The
bound in docs/RELIABILITY.md follows from the figures. Nothing fails on a
figure. Usage: tests/bench/README.md.
"""

import argparse
import os
import secrets
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from bench import FIXTURE_COST, BenchAuthd, say  # noqa: E402
from outbox_bench import loadgen  # noqa: E402

PASSWORD = "bench flood phrase " + secrets.token_hex(4)
SCRAPER = "metrics-" + secrets.token_hex(24)


def refusals(a):
    return sum(v for (name, _), v in a.metrics(SCRAPER).items()
               if name == "authd_refusals_total")


def log_size(a):
    with open(a.log_path, "rb") as f:
        data = f.read()
    return len(data), data.count(b"\n"), data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="a test build (-DAUTHD_TEST_HOOKS=ON)")
    ap.add_argument("--seconds", type=float, default=10.0, help="each burst")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--format", choices=["text", "json"], default="text")
    ap.add_argument("--many", action="store_true",
                    help="each connection from its own address (127.1.0.2 and up)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    authd_bin = os.path.join(build, "authd", "authd")
    lg = os.path.join(build, "tests", "bench", "loadgen")
    work = tempfile.mkdtemp(prefix="authd-log-flood-")
    cost = "".join(f"{k} = {v}\n" for k, v in FIXTURE_COST.items())
    a = BenchAuthd(authd_bin, name="log-flood", test_clock=True,
                   config=(f"[password]\n{cost}[services]\nmetrics_credential = {SCRAPER}\n"
                           f"[log]\nformat = {args.format}\n"),
                   data_dir=tempfile.mkdtemp(dir=work), extra_args=["--log-level", "info"],
                   key_file=os.path.join(work, "key"))
    a.own_dir = True
    a.start()
    try:
        victim = f"victim-{secrets.token_hex(4)}@bench.example"
        a.signup(victim, password=PASSWORD)
        scenarios = [
            ("wrong passwords, one account", [
                ("POST", "/1/login", {"email": victim, "password": f"guess {i}"})
                for i in range(1000)]),
            ("wrong TOTP codes, no such login", [
                ("POST", "/1/login/totp", {"login_id": secrets.token_urlsafe(32),
                                           "code": f"{i:06d}"}) for i in range(1000)]),
            ("forgotten-password requests", [
                ("POST", "/1/recovery/password", {"login": f"nobody{i}@bench.example"})
                for i in range(1000)]),
            ("sign-ups past the address's burst", [
                ("POST", "/1/accounts", {"email": f"s{i}-{secrets.token_hex(3)}@bench.example",
                                         "password": PASSWORD, "name": "S"})
                for i in range(1000)]),
        ]
        say(f"log flood: {args.seconds:.0f} s bursts, {args.conns} connections from "
            f"{'one address each' if args.many else 'one address'}, {args.format} lines")
        total_lines = total_bytes = total_refused = 0
        longest = 0
        for label, lines in scenarios:
            b0, l0, _ = log_size(a)
            r0 = refusals(a)
            res = loadgen(lg, [a.port], lines, args.conns, args.seconds, repeat=True, work=work,
                          many=args.many)
            b1, l1, data = log_size(a)
            refused = refusals(a) - r0
            grown = data[b0:].splitlines()
            longest = max([longest] + [len(x) + 1 for x in grown])
            total_lines += l1 - l0
            total_bytes += b1 - b0
            total_refused += refused
            say(f"  {label}: {res['requests']} requests ({res['rps']:.0f}/s, statuses {res['status']}),"
                f" {refused} refusals counted; log +{l1 - l0} lines, +{b1 - b0} bytes")
        # The single burst of the metrics' credential (a warn line each).
        b0, l0, _ = log_size(a)
        n = 0
        t_end = time.monotonic() + min(args.seconds, 2)
        while time.monotonic() < t_end:
            r = a.request("GET", "/metrics", headers={"Authorization": "Bearer wrong"})
            n += r.status == 401
        b1, l1, _ = log_size(a)
        say(f"  a wrong scraper credential: {n} refusals; log +{l1 - l0} lines, +{b1 - b0} bytes")
        total_lines += l1 - l0
        total_bytes += b1 - b0
        # The summaries follow the interval (60 s by default).
        b0, l0, _ = log_size(a)
        deadline = time.monotonic() + 75
        while time.monotonic() < deadline:
            time.sleep(1)
            b1, l1, data = log_size(a)
            if b"refusals not logged" in data[b0:] and time.monotonic() > deadline - 70 + 5:
                break
        b1, l1, data = log_size(a)
        summaries = [x for x in data[b0:].splitlines() if b"refusals not logged" in x]
        say(f"  after the interval: +{l1 - l0} lines ({len(summaries)} summaries), "
            f"+{b1 - b0} bytes")
        total_lines += l1 - l0
        total_bytes += b1 - b0
        longest = max([longest] + [len(x) + 1 for x in summaries])
        say(f"in all: {total_refused} refusals counted, the log grew by {total_lines} lines and "
            f"{total_bytes} bytes ({total_bytes / max(total_refused, 1):.3f} bytes a refusal); "
            f"longest line {longest} bytes")
    finally:
        a.stop()
        a.cleanup()


if __name__ == "__main__":
    main()
