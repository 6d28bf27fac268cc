#!/usr/bin/env python3
"""The outbox: what queueing a notice costs a login, and how fast queued
messages reach a mail server.

- Login steps/s with and without notifications, same run: two authd (test
  build, fixture argon2id cost, so that the store and not the hash is what a
  login costs), one with [outbox] notifications = false. Each account has
  signed in once before (its place is known), and every measured login
  comes from a browser that shows no cookie: with notifications on, each
  queues a "new sign-in" email in its commit. While logins are measured the
  mail server takes connections and never answers: the outbox's first claim
  waits on it and every later message stays queued, untouched, so what is
  measured is the queueing in the login's commit, not the sending.
- Delivery: the messages those logins queued, sent to a local SMTP server
  (aiosmtpd, one connection reused) once it is up: messages/s delivered.

--engine postgresql: both on a private PostgreSQL server (one node each).
Nothing fails on time; the figures are printed. Usage: tests/bench/README.md.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from bench import FIXTURE_COST, BenchAuthd, PgServer, say  # noqa: E402
from smtp_harness import SmtpServer  # noqa: E402

PASSWORD = "bench outbox phrase"


def loadgen(binary, ports, lines, conns, seconds=None, repeat=False, work=None, many=True):
    path = os.path.join(work, f"req-{time.monotonic_ns()}.tsv")
    with open(path, "w", encoding="utf-8") as f:
        for method, p, body in lines:
            f.write(f"{method}\t{p}\t{json.dumps(body, separators=(',', ':'))}\t\n")
    argv = [binary, "-p", ",".join(str(p) for p in ports), "-f", path, "-c", str(conns),
            "-d", f"{seconds or 600:.1f}"] + (["-s"] if many else [])
    if repeat:
        argv.append("-r")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    os.unlink(path)
    return json.loads(out.strip().splitlines()[-1])


def stats(a):
    return a.get("/1/_test/stats").json["outbox"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="a test build (-DAUTHD_TEST_HOOKS=ON)")
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--accounts", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=10.0, help="each measured login run")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    authd_bin = os.path.join(build, "authd", "authd")
    lg = os.path.join(build, "tests", "bench", "loadgen")
    work = tempfile.mkdtemp(prefix="authd-outbox-bench-")
    cores = os.cpu_count() or 1
    smtp = SmtpServer()  # not there until the delivery phase
    # Until then, a server that accepts connections and never says a word.
    mute = socket.socket()
    mute.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    mute.bind(("127.0.0.1", smtp.port))
    mute.listen(512)
    pg = None
    cost = "".join(f"{k} = {v}\n" for k, v in FIXTURE_COST.items())
    common = (f"[password]\n{cost}[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"
              f"[smtp]\nurl = {smtp.url()}\nfrom = bench <bench@example.com>\n")
    nodes = {}
    try:
        if args.engine == "postgresql":
            pg = PgServer(work, rows=0, stat_statements=False)
            pg.start()
        for label, notify in (("on", "true"), ("off", "false")):
            url = pg.createdb(f"outbox_{label}") if pg else None
            a = BenchAuthd(authd_bin, name=f"outbox-{label}", test_clock=True,
                           config=common + f"[outbox]\nnotifications = {notify}\n",
                           data_dir=tempfile.mkdtemp(prefix=f"outbox-{label}-", dir=work),
                           extra_args=["--log-level", "info"], engine=args.engine,
                           pg_url=url, key_file=os.path.join(work, f"{label}.key"))
            a.own_dir = True
            if url:
                a.migrate()
                a.migrated = True
            a.start()
            nodes[label] = a
        emails = [f"ob-{i}@bench.example" for i in range(args.accounts)]
        signups = [("POST", "/1/accounts", {"email": e, "password": PASSWORD, "name": "B"})
                   for e in emails]
        logins = [("POST", "/1/login", {"email": e, "password": PASSWORD}) for e in emails]
        for label, a in nodes.items():
            loadgen(lg, [a.port], signups, 2 * cores, work=work)
            loadgen(lg, [a.port], logins, 2 * cores, work=work)  # first sign-in: no notice
        say(f"outbox benchmark, {args.engine}, {args.accounts} accounts, {cores} cores")
        rates = {"on": [], "off": []}
        for r in range(args.rounds):
            for label in ("on", "off") if r % 2 == 0 else ("off", "on"):
                os.sync()
                res = loadgen(lg, [nodes[label].port], logins, 2 * cores, args.seconds,
                              repeat=True, work=work)
                rates[label].append(res["rps"])
                say(f"  round {r + 1}: notifications {label}: {res['rps']:.0f} logins/s, "
                    f"p50 {res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, "
                    f"statuses {res['status']}")
        on, off = (sorted(rates[k])[len(rates[k]) // 2] for k in ("on", "off"))
        say(f"logins/s (median of {args.rounds}): {on:.0f} with notices queued, {off:.0f} "
            f"without: {100 * on / off:.1f}% ({100 * (off - on) / off:+.1f}% cost)")
        # Delivery: every queued notice to the SMTP server.
        a = nodes["on"]
        queued = sum(rates["on"]) * args.seconds  # about one notice a login
        mute.close()  # the claim waiting on it fails, and is tried again
        smtp.start()
        a.advance(3600)  # past every backoff
        t0 = time.monotonic()
        start = stats(a)["delivered"]
        last, last_t = start, t0
        while time.monotonic() - last_t < 5:
            time.sleep(0.2)
            d = stats(a)["delivered"]
            if d != last:
                last, last_t = d, time.monotonic()
        n = last - start
        secs = last_t - t0
        say(f"delivery: {n} messages (about {queued:.0f} queued) to a local SMTP server in "
            f"{secs:.1f} s: {n / secs if secs else 0:.0f} messages/s; mail server holds "
            f"{len(smtp.messages)}")
    finally:
        for a in nodes.values():
            a.stop()
            a.cleanup()
        smtp.stop()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
