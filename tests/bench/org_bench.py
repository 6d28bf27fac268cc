#!/usr/bin/env python3
"""Organizations: the access question and API tokens, against GET /1/me.

- Access decisions/s: GET /1/organizations/{org}/products/{product}/access
  by a collaborator of an organization of 1 000 people, 100 teams and 1 000
  products (POST /1/_test/seed_org fills it in one write), the collaborator
  in two teams with its own grant on every tenth product: each decision
  reads the membership, the product, the member's grant, its teams and
  their grants. Every product in turn (allowed and not: both are
  decisions). Against GET /1/me with the same sessions, in alternating
  rounds of the same run (target: access at least 80% of /me).
- Token requests/s: GET /1/me with API tokens (bearer, rate limiter on:
  each allowed request is a read of the token, then a write of its
  record's 60-a-minute ring), against the same with sessions: 200 tokens
  used 60 times each, every request allowed (a pass, not a timed run:
  a token's window is full after its 60). Between rounds the test clock
  moves a minute on, so that every window is empty again.

--engine postgresql: on a private PostgreSQL server. Nothing fails on
time; the figures are printed. Usage: tests/bench/README.md.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from bench import FIXTURE_COST, BenchAuthd, PgServer, say  # noqa: E402

PASSWORD = "bench organization phrase"


def loadgen(binary, port, lines, conns, seconds=None, repeat=False, work=None, out=None):
    """lines: (method, path, body, bearer[, header]); with out, loadgen
    writes each response there ("index TAB status TAB body")."""
    path = os.path.join(work, f"req-{time.monotonic_ns()}.tsv")
    with open(path, "w", encoding="utf-8") as f:
        for method, p, body, bearer, *header in lines:
            text = json.dumps(body, separators=(",", ":")) if body is not None else ""
            f.write(f"{method}\t{p}\t{text}\t{bearer or ''}\t{(header or [''])[0] or ''}\n")
    argv = [binary, "-p", str(port), "-f", path, "-c", str(conns), "-s",
            "-d", f"{seconds or 600:.1f}"]
    if repeat:
        argv.append("-r")
    if out:
        argv += ["-o", out]
    got = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    os.unlink(path)
    return json.loads(got.strip().splitlines()[-1])


def heaviest(pg, n=4):
    """pg_stat_statements' heaviest statements since the last reset."""
    rows = pg.sql("org_bench", "SELECT calls, round(total_exec_time::numeric), "
                  "round(mean_exec_time::numeric * 1000, 1), "
                  "left(regexp_replace(query, '\\s+', ' ', 'g'), 70) FROM "
                  "pg_stat_statements ORDER BY total_exec_time DESC LIMIT " + str(n))
    return [" | ".join(r.split("|", 3)) + " (calls, total ms, mean us)"
            for r in rows.splitlines() if r]


def median(xs):
    return sorted(xs)[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="a test build (-DAUTHD_TEST_HOOKS=ON)")
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--members", type=int, default=1000)
    ap.add_argument("--teams", type=int, default=100)
    ap.add_argument("--products", type=int, default=1000)
    ap.add_argument("--sessions", type=int, default=64)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=5.0, help="each measured run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--pg-stat-statements", action="store_true",
                    help="print PostgreSQL's heaviest statements of each measured run")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    authd_bin = os.path.join(build, "authd", "authd")
    lg = os.path.join(build, "tests", "bench", "loadgen")
    work = tempfile.mkdtemp(prefix="authd-org-bench-")
    cost = "".join(f"{k} = {v}\n" for k, v in FIXTURE_COST.items())
    config = (f"[password]\n{cost}[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"
              "[outbox]\nnotifications = false\n")
    pg = None
    a = None
    try:
        url = None
        if args.engine == "postgresql":
            pg = PgServer(work, rows=0, stat_statements=args.pg_stat_statements)
            pg.start()
            url = pg.createdb("org_bench")
            if args.pg_stat_statements:
                pg.sql("org_bench", "CREATE EXTENSION pg_stat_statements")
        a = BenchAuthd(authd_bin, name="org-bench", config=config,
                       data_dir=tempfile.mkdtemp(prefix="org-", dir=work),
                       extra_args=["--log-level", "warn"], engine=args.engine, pg_url=url,
                       key_file=os.path.join(work, "org.key"))
        a.own_dir = True
        if url:
            a.migrate()
            a.migrated = True
        a.start()
        # The organization, its owner, and the collaborator who asks.
        owner, asker = "owner@bench.example", "asker@bench.example"
        n_token_accounts = (args.tokens + 49) // 50
        helpers = [f"tok{i}@bench.example" for i in range(n_token_accounts)]
        for e in [owner, asker] + helpers:
            a.signup(e, password=PASSWORD)
        otok = a.session(owner, PASSWORD)
        org = a.get("/1/organizations", token=otok).json["organizations"][0]["id"]
        asker_id = a.get("/1/me", token=a.session(asker, PASSWORD)).json["account_id"]
        t0 = time.monotonic()
        r = a.post("/1/_test/seed_org", {"organization_id": org, "account_id": asker_id,
                                         "members": args.members, "teams": args.teams,
                                         "products": args.products})
        assert r.status == 200, r
        products = r.json["products"]
        say(f"organization benchmark, {args.engine}, {os.cpu_count()} cores: an "
            f"organization of {args.members} members, {args.teams} teams and "
            f"{args.products} products, seeded in {time.monotonic() - t0:.1f} s")
        sessions = [a.session(asker, PASSWORD) for _ in range(args.sessions)]
        tokens = []
        for e in helpers:
            s = a.session(e, PASSWORD)
            for _ in range(min(50, args.tokens - len(tokens))):
                r = a.post("/1/me/tokens", {"name": "bench", "scopes": ["account:read"]},
                           token=s)
                assert r.status == 201, r
                tokens.append(r.json["token"])
        access = [("GET", f"/1/organizations/{org}/products/{p}/access", None,
                   sessions[i % len(sessions)]) for i, p in enumerate(products)]
        me = [("GET", "/1/me", None, s) for s in sessions]
        by_token = [("GET", "/1/me", None, t) for _ in range(60) for t in tokens]
        rates = {"me": [], "access": [], "token": []}
        statuses = {k: {} for k in rates}
        for rnd in range(args.rounds):
            order = ("me", "access", "token") if rnd % 2 == 0 else ("token", "access", "me")
            for kind in order:
                lines = {"me": me, "access": access, "token": by_token}[kind]
                if pg and args.pg_stat_statements:
                    pg.sql("org_bench", "SELECT pg_stat_statements_reset()")
                res = loadgen(lg, a.port, lines, args.conns, args.seconds,
                              repeat=kind != "token", work=work)
                rates[kind].append(res["rps"])
                for k, v in res["status"].items():
                    statuses[kind][k] = statuses[kind].get(k, 0) + v
                say(f"  round {rnd + 1}: {kind:6}: {res['rps']:.0f}/s, p50 "
                    f"{res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, statuses "
                    f"{res['status']}")
                if pg and args.pg_stat_statements:
                    for row in heaviest(pg):
                        say(f"      {row}")
            a.advance(61)  # every token's window empties between rounds
        m, acc, tok = (median(rates[k]) for k in ("me", "access", "token"))
        say(f"GET .../access: {acc:.0f} decisions/s vs GET /1/me {m:.0f}/s: "
            f"{100 * acc / m:.1f}% (target >= 80%); statuses {statuses['access']}")
        say(f"GET /1/me with API tokens (rate limiter on): {tok:.0f}/s vs sessions {m:.0f}/s: "
            f"{100 * tok / m:.1f}%; statuses {statuses['token']}")
        print(json.dumps({"engine": args.engine, "me_rps": round(m, 1),
                          "access_rps": round(acc, 1), "token_rps": round(tok, 1),
                          "access_vs_me": round(acc / m, 3), "token_vs_me": round(tok / m, 3),
                          "rounds": rates}))
    finally:
        if a:
            a.stop()
            a.cleanup()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
