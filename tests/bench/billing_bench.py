#!/usr/bin/env python3
"""Billing: invoice payments from the prepaid balance, and the renewal
scheduler's pass.

- Invoice payments/s: POST /1/organizations/{org}/billing/payments of one
  open invoice each, paid from the prepaid balance (each a durable write
  job that reads the invoice and the balance, checks the ledger
  transaction, writes the ledger entry, the balance, the payment, the
  paid invoice and the product it makes, and three audit records), each
  with its own Idempotency-Key, from --orgs organizations at once. Against
  durable single writes/s in the same run: PATCH of a billing address (one
  record and one audit record), in alternating rounds.
- The renewal scheduler: one organization with --products products that
  renew by themselves, their expiries spread over a year (about 1/365 of
  them a day): the first pass (the 14 days ahead), then one daily pass a
  day later; and the worst day, every product due at once.

--engine postgresql: on a private PostgreSQL server. Nothing fails on
time; the figures are printed. Usage: tests/bench/README.md.
"""

import argparse
import json
import os
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from bench import FIXTURE_COST, BenchAuthd, PgServer, say  # noqa: E402
from org_bench import loadgen, median  # noqa: E402
from provider_harness import FakeProvider  # noqa: E402

PASSWORD = "bench billing phrase"
DAY = 86400
GENEVA = {"name": "Bench SA", "line1": "Rue du Rhone 1", "postal_code": "1204",
          "city": "Geneve", "country": "CH"}


def report_pg_conflicts(pg):
    """How many transactions PostgreSQL refused as lost races, by kind."""
    try:
        state = json.load(open(pg.state_path, encoding="utf-8"))
        text = open(os.path.join(state["dir"], "server.log"), encoding="utf-8",
                    errors="replace").read()
    except (OSError, ValueError, KeyError):
        return
    kinds = {"serialization failures": "could not serialize access",
             "deadlocks": "deadlock detected",
             "unique violations": "duplicate key value"}
    say("  PostgreSQL refused: " + ", ".join(f"{text.count(v)} {k}"
                                            for k, v in kinds.items()))
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "deadlock detected" in line:
            for extra in lines[i:i + 6]:
                say("    " + extra[:240])
            break


def long_post(a, path, timeout=600):
    """A POST that may take minutes (the harness's requests time out at 30 s)."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=timeout)
    try:
        c.request("POST", path, body=b"{}", headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, json.loads(r.read() or b"{}")
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="a test build (-DAUTHD_TEST_HOOKS=ON)")
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--orgs", type=int, default=32)
    ap.add_argument("--invoices", type=int, default=600, help="per organization")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=4.0, help="each baseline run")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--products", type=int, default=100000)
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    authd_bin = os.path.join(build, "authd", "authd")
    lg = os.path.join(build, "tests", "bench", "loadgen")
    work = tempfile.mkdtemp(prefix="authd-billing-bench-")
    provider = FakeProvider().start()
    cost = "".join(f"{k} = {v}\n" for k, v in FIXTURE_COST.items())
    config = (f"[password]\n{cost}[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"
              "[outbox]\nnotifications = false\n" + provider.config())
    pg = None
    a = None
    try:
        url = None
        if args.engine == "postgresql":
            pg = PgServer(work, rows=0, stat_statements=False)
            pg.start()
            url = pg.createdb("billing_bench")
        a = BenchAuthd(authd_bin, name="billing-bench", config=config,
                       data_dir=tempfile.mkdtemp(prefix="billing-", dir=work),
                       extra_args=["--log-level", "warn"], engine=args.engine, pg_url=url,
                       key_file=os.path.join(work, "billing.key"))
        a.own_dir = True
        if url:
            a.migrate()
            a.migrated = True
        a.start()
        say(f"billing benchmark, {args.engine}, {os.cpu_count()} cores")
        # Organizations, each with an address and a prepaid balance.
        orgs = []
        for i in range(args.orgs):
            e = f"payer{i}@bench.example"
            a.signup(e, password=PASSWORD)
            s = a.session(e, PASSWORD)
            org = a.get("/1/organizations", token=s).json["organizations"][0]["id"]
            base = f"/1/organizations/{org}/billing"
            addr = a.post(f"{base}/addresses", GENEVA, token=s).json["id"]
            r = a.post(f"{base}/deposits", {"amount": "9999.00"}, token=s,
                       headers={"Idempotency-Key": uuid.uuid4().hex})
            assert provider.webhook(a, r.json["id"]).status == 200
            orgs.append((org, s, base, addr))
        # Open invoices: a month of a domain each (1.62 with tax).
        out = os.path.join(work, "orders.out")
        lines = [("POST", f"{base}/orders", {"product": {"kind": "domain", "name": f"d{k}"},
                                              "months": 1}, s, None)
                 for k in range(args.invoices) for (_, s, base, _) in orgs]
        t0 = time.monotonic()
        res = loadgen(lg, a.port, lines, args.conns, work=work, out=out)
        say(f"  {len(lines)} orders placed at {res['rps']:.0f}/s "
            f"({time.monotonic() - t0:.1f} s), statuses {res['status']}")
        ids = [None] * len(lines)
        with open(out, encoding="utf-8") as f:
            for row in f:
                idx, status, body = row.rstrip("\n").split("\t", 2)
                if status == "201":
                    ids[int(idx)] = json.loads(body)["id"]
        pays = [("POST", f"{lines[i][1].rsplit('/', 1)[0]}/payments", {"invoices": [iid]},
                 lines[i][3], f"Idempotency-Key: {iid}") for i, iid in enumerate(ids) if iid]
        writes = [("PATCH", f"{base}/addresses/{addr}", {"city": "Geneve"}, s, None)
                  for (_, s, base, addr) in orgs]
        per_round = len(pays) // args.rounds
        rates = {"pay": [], "write": []}
        statuses = {"pay": {}, "write": {}}
        for rnd in range(args.rounds):
            order = ("pay", "write") if rnd % 2 == 0 else ("write", "pay")
            for kind in order:
                if kind == "pay":
                    res = loadgen(lg, a.port, pays[rnd * per_round:(rnd + 1) * per_round],
                                  args.conns, work=work)
                else:
                    res = loadgen(lg, a.port, writes, args.conns, args.seconds, repeat=True,
                                  work=work)
                rates[kind].append(res["rps"])
                for k, v in res["status"].items():
                    statuses[kind][k] = statuses[kind].get(k, 0) + v
                say(f"  round {rnd + 1}: {kind:5}: {res['rps']:.0f}/s, p50 "
                    f"{res['p50_ms']:.2f} ms p99 {res['p99_ms']:.2f} ms, statuses "
                    f"{res['status']}")
        # The ledger checked: each organization's balance is the deposit less
        # what it paid, and every entry balances.
        paid_total = 0
        for (_, s, base, _) in orgs:
            b = a.get(f"{base}/balance", token=s).json
            for e in b["entries"]:
                assert sum(round(float(v) * 100) for v in e["legs"].values()) == 0, e
            paid_total += round((9999.00 - float(b["balance"])) * 100)
        expected = statuses["pay"].get("201", 0) * 162
        say(f"  ledger: {paid_total / 100:.2f} paid from the balances, "
            f"{expected / 100:.2f} expected ({statuses['pay'].get('201', 0)} payments)")
        p, w = median(rates["pay"]), median(rates["write"])
        say(f"invoice payments from the prepaid balance: {p:.0f}/s vs durable single writes "
            f"{w:.0f}/s: {100 * p / w:.1f}%; statuses {statuses['pay']}")
        # The scheduler: a year of expiries, then every product due at once.
        e = "renewals@bench.example"
        a.signup(e, password=PASSWORD)
        s = a.session(e, PASSWORD)
        org = a.get("/1/organizations", token=s).json["organizations"][0]["id"]
        a.post(f"/1/organizations/{org}/billing/addresses", GENEVA, token=s)
        now = a.now()
        t0 = time.monotonic()
        r = a.post("/1/_test/seed_org", {"organization_id": org, "account_id": "ab" * 16,
                                         "members": 0, "teams": 0, "products": args.products,
                                         "expires_at": now + DAY,
                                         "expires_step": 365 * DAY // args.products,
                                         "auto_renew": True})
        assert r.status == 200, r
        say(f"  {args.products} products seeded in {time.monotonic() - t0:.1f} s, expiries "
            f"spread over a year")
        passes = {}
        for name, advance in (("first pass (14 days ahead)", 0), ("a day later", DAY)):
            a.advance(advance)
            t0 = time.monotonic()
            r = a.post("/1/_test/billing_pass", {})
            assert r.status == 200, r
            passes[name] = r.json
            say(f"  renewal pass, {name}: {r.json['ms']} ms ({time.monotonic() - t0:.2f} s "
                f"wall): {r.json['walked']} products walked, {r.json['ordered']} renewals "
                f"ordered, {r.json['slices']} slices")
        e = "worstday@bench.example"
        a.signup(e, password=PASSWORD)
        s = a.session(e, PASSWORD)
        org = a.get("/1/organizations", token=s).json["organizations"][0]["id"]
        a.post(f"/1/organizations/{org}/billing/addresses", GENEVA, token=s)
        r = a.post("/1/_test/seed_org", {"organization_id": org, "account_id": "cd" * 16,
                                         "members": 0, "teams": 0, "products": args.products,
                                         "expires_at": a.now() + DAY, "expires_step": 0,
                                         "auto_renew": True})
        assert r.status == 200, r
        t0 = time.monotonic()
        status, got = long_post(a, "/1/_test/billing_pass")
        assert status == 200, (status, got)
        passes["worst day"] = got
        say(f"  renewal pass, worst day ({args.products} due at once): {got['ms']} ms "
            f"({time.monotonic() - t0:.2f} s wall): {got['walked']} walked, "
            f"{got['ordered']} renewals ordered, {got['slices']} slices")
        print(json.dumps({"engine": args.engine, "pay_rps": round(p, 1),
                          "write_rps": round(w, 1), "pay_vs_write": round(p / w, 3),
                          "rounds": rates, "passes": passes}))
    finally:
        if a:
            a.stop()
            a.cleanup()
        if pg:
            report_pg_conflicts(pg)
            pg.stop()
        provider.stop()


if __name__ == "__main__":
    main()
