#!/usr/bin/env python3
"""Push sign-in as a person sees it, in Chromium: the time from pressing
"Log in" on authd's sign-in page to the challenge reaching the phone, and
from the phone's approval (the page's number typed in) to the console's
first page on screen. Both ends are taken where they happen: in the page
(performance.timeOrigin + performance.now()) and in the phone's process
(time.time()), on the same machine's clock.

The page is Playwright driving Debian's chromium (tests/e2e/bench_push.mjs);
the phones are the tests' reference phone (phone_harness: Ed25519 keys,
the device channel held open as an app holds it), one per account, each
signing in at most PUSH_HOURLY_MAX (10) times: 100 logins use 10 accounts.
Prints p50/p99 of both; asserts nothing about time.

usage: page_push_bench.py --build DIR [--logins 100] [--engine postgresql]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from bench import BenchAuthd, PgServer, say  # noqa: E402
from phone_harness import answer, new_linked_phone, next_of  # noqa: E402

PASSWORD = "page push bench password"
PER_ACCOUNT = 10  # push/push.h PUSH_HOURLY_MAX


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True, help="a build with authd (test hooks not needed)")
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--logins", type=int, default=100)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="page-push-bench-")
    authd_bin = os.path.join(os.path.abspath(args.build), "authd", "authd")
    pg = None
    a = None
    node = None
    try:
        url = None
        if args.engine == "postgresql":
            pg = PgServer(work, rows=0, stat_statements=False)
            pg.start()
            url = pg.createdb("page_push_bench")
        a = BenchAuthd(authd_bin, name="page-push-bench", config="[outbox]\nnotifications = false\n",
                       data_dir=tempfile.mkdtemp(prefix="data-", dir=work),
                       extra_args=["--log-level", "warn"], engine=args.engine, pg_url=url,
                       key_file=os.path.join(work, "bench.key"))
        a.own_dir = True
        if url:
            a.migrate()
            a.migrated = True
        a.start()
        accounts = []
        for i in range((args.logins + PER_ACCOUNT - 1) // PER_ACCOUNT):
            email = f"pusher{i}@bench.example"
            phone, ws = new_linked_phone(a, email, PASSWORD)
            accounts.append((email, phone, ws))
        say(f"page push benchmark, {args.engine}, {args.logins} logins, "
            f"{len(accounts)} accounts with a linked phone each, {os.cpu_count()} cores")
        env = dict(os.environ, AUTHD_URL=f"http://127.0.0.1:{a.port}", BENCH_PASSWORD=PASSWORD)
        node = subprocess.Popen(["node", os.path.join(ROOT, "tests", "e2e", "bench_push.mjs")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

        def tell(o):
            node.stdin.write(json.dumps(o) + "\n")
            node.stdin.flush()

        def hear():
            line = node.stdout.readline()
            if not line:
                raise RuntimeError("the browser script ended")
            return json.loads(line)

        to_phone, to_console = [], []
        for k in range(args.logins):
            email, phone, ws = accounts[k % len(accounts)]
            got = {}

            def receive(ws=ws, got=got):
                got["challenge"] = next_of(ws, "challenge", timeout=15)
                got["at"] = time.time() * 1000

            t = threading.Thread(target=receive)
            t.start()
            tell({"email": email})
            shown = hear()
            t.join(20)
            if "challenge" not in got:
                raise RuntimeError("the challenge did not reach the phone")
            to_phone.append(got["at"] - shown["click"])
            approved_at = time.time() * 1000
            r = answer(phone, ws, got["challenge"], "approve", shown["number"])
            assert r.get("result") == "accepted", r
            tell({"approved": True})
            to_console.append(hear()["console"] - approved_at)
        tell({"end": True})
        for name, v in (("press \"Log in\" -> challenge on the phone", to_phone),
                        ("approve on the phone -> console on screen", to_console)):
            say(f"{name}: p50 {statistics.median(v):.1f} ms, p99 {pct(v, 99):.1f} ms, "
                f"min {min(v):.1f} ms, max {max(v):.1f} ms ({len(v)} logins)")
        node.wait(30)
    finally:
        if node and node.poll() is None:
            node.kill()
        if a:
            a.cleanup()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
