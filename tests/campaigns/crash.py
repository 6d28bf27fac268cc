#!/usr/bin/env python3
"""Crash consistency: rounds of kill -9 under mixed load, each followed by
a check that every acknowledged write is there and nothing is half-done.

One authd (a test build: its test clock keeps TOTP steps moving forward
across restarts) on one data directory or database. Each round starts it,
runs client threads for a random 0.3-1.5 s, kills it with SIGKILL at that
random moment, restarts it on the same data and checks, for everything the
round's clients saw acknowledged:

- a sign-up (201): the account signs in with its password, and its own
  organization is there (one commit made both);
- a login (200): its session still answers GET /1/me;
- a TOTP sign-in (200): the same code is refused now (the step stays
  used: no acknowledged one-time code comes back to life);
- a backup code that signed in (200): refused now;
- a password change (204): the new password signs in, the old one not;
- a push approval (the phone's answer accepted): the login is approved
  (its waiting page gets a session, or got one that still answers);
- an order (201): its invoice is there;
- a payment of an invoice from the organization's prepaid balance (201,
  paid): the invoice is paid by that payment, and asked again with its
  Idempotency-Key the same payment answers (nothing is paid twice);

and for each write under way at the kill (no answer came): it is done
wholly or not at all: a sign-up signs in with its organization or signs up
again; exactly one of the old and new passwords signs in; a TOTP or backup
code either signs in now or is refused as used; a push answer under way
left its login approved (a session) or not approved; an order's invoice is there
or not; a payment under way has paid its invoice once or not at all (asked
again with its key, it pays it once). After each round every paying
organization's ledger balances (each entry's legs sum to zero) and its
balance is its deposit less the totals of its paid invoices, each once. A
client that fails before the kill fails the round. What kill -9 cannot show is a missing fsync (the
page cache survives it): that is the power-loss campaign's.

Usage (one command; CI runs --rounds 3 on each engine through CTest):
    AUTHD_BIN=build-test-plain/authd/authd \\
      python3 tests/campaigns/crash.py --rounds 100 [--engine postgresql]
(--engine postgresql starts a private PostgreSQL server of its own.)
Exit status 0 when every round held; the figures are printed.
"""

import argparse
import http.client
import os
import random
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))

import authd_harness  # noqa: E402
from authd_harness import Authd, remember_secret, totp  # noqa: E402
from org_harness import PUBLIC, org_of  # noqa: E402
from phone_harness import answer, new_linked_phone, next_of  # noqa: E402
from provider_harness import FakeProvider  # noqa: E402

PASSWORD = "crash campaign phrase"
NEW_PASSWORD = "crash campaign phrase two"
CONFIG = ("[password]\nargon2_memory_kib = 64\nargon2_iterations = 1\nargon2_parallelism = 1\n"
          "[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"
          f"[server]\npublic_url = {PUBLIC}\n")
GENEVA = {"name": "Example SA", "line1": "Rue du Rhone 1", "postal_code": "1204",
          "city": "Geneve", "country": "CH"}
DEPOSIT = "9999.00"
PAYERS = 4


def cents(text):
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))


class Campaign:
    def __init__(self, engine, seed, data_dir=None, config=""):
        self.rng = random.Random(seed)
        self.provider = FakeProvider().start()
        self.a = Authd(name=f"crash-{engine}", config=CONFIG + self.provider.config() + config,
                       engine=engine, data_dir=data_dir)
        # Organizations paying invoices from their balance: [email, org,
        # session, every invoice id ordered] (sessions renewed each round).
        self.payers = []
        self.pushers = []  # this round's: [email, phone, ws], each used once
        self.offset = 0  # the test clock's advance, kept across restarts
        self.prefix = uuid.uuid4().hex[:6]
        self.n = 0
        self.lock = threading.Lock()
        self.totp_pool = []  # [email, secret, backup codes], 12 a round
        self.totp_accounts = []  # this round's share of the pool
        self.figures = {k: 0 for k in ("signups", "logins", "totp", "backup", "password",
                                       "push", "orders", "payments", "in_flight",
                                       "in_flight_signup", "in_flight_push",
                                       "in_flight_password", "in_flight_totp",
                                       "in_flight_backup", "in_flight_order", "in_flight_pay",
                                       "in_flight_done")}
        self.killed_at = None

    def email(self):
        with self.lock:
            self.n += 1
            return f"c{self.prefix}-{self.n}@example.com"

    def login(self, e, password):
        """POST /1/login from an address of its own: failed sign-ins (an old
        password checked on purpose) must not throttle the others' address."""
        r = self.a.post("/1/login", {"email": e, "password": password},
                        source_ip=authd_harness.random_loopback())
        for k in ("session", "login_id"):
            if r.json and r.json.get(k):
                remember_secret(r.json[k])
        return r

    def session(self, e):
        r = self.login(e, PASSWORD)
        assert r.status == 200 and r.json["state"] == "done", r
        return r.json["session"]

    def start(self):
        self.a.start()
        if self.offset:
            self.a.advance(self.offset)

    def advance(self, s):
        self.offset += s
        return self.a.advance(s)

    def setup(self, n_totp):
        """Accounts with TOTP (and backup codes) for the rounds to sign in
        with, and organizations with a prepaid balance to pay with."""
        for _ in range(PAYERS):
            e = self.email()
            self.a.signup(e, PASSWORD)
            tok = self.session(e)
            org = org_of(self.a, tok)
            base = f"/1/organizations/{org}/billing"
            r = self.a.post(f"{base}/addresses", GENEVA, token=tok)
            assert r.status == 201, r
            r = self.a.post(f"{base}/deposits", {"amount": DEPOSIT}, token=tok,
                            headers={"Idempotency-Key": uuid.uuid4().hex})
            assert r.status == 201, r
            assert self.provider.webhook(self.a, r.json["id"]).status == 200
            self.payers.append([e, org, tok, []])
        for _ in range(n_totp):
            e = self.email()
            self.a.signup(e, PASSWORD)
            secret, codes, _ = self.a.enable_totp(self.session(e))
            self.totp_pool.append([e, secret, list(codes)])

    # --- one round ----------------------------------------------------------------

    def load(self, acked, inflight, now):
        """A client thread's mix until the kill; acknowledged writes into
        acked, the write a request was making when it got no answer into
        inflight. Any other error before the kill fails the round."""
        rng = random.Random(self.rng.random())
        # One-time codes are rare in the mix, so that their use spreads over
        # the round and some are under way at the kill.
        kinds = (["signup"] * 30 + ["login"] * 25 + ["password"] * 25 + ["totp", "backup"]
                 + ["pay"] * 10 + ["push"] * 2)
        while True:
            kind = rng.choice(kinds)
            doing = None
            try:
                if kind == "signup":
                    e = self.email()
                    doing = ("signup", e)
                    r = self.a.post("/1/accounts", {"email": e, "password": PASSWORD,
                                                    "name": "Crash"},
                                    source_ip=authd_harness.random_loopback())
                    if r.status != 201:
                        raise AssertionError(f"sign-up of {e}: {r}")
                    with self.lock:
                        acked["signups"].append(e)
                        acked["signed_up"] += 1
                elif kind == "login":
                    with self.lock:
                        e = rng.choice(acked["signups"]) if acked["signups"] else None
                    if e is None:
                        continue
                    r = self.login(e, PASSWORD)
                    if r.status != 200 or r.json.get("state") != "done":
                        with self.lock:  # its password may be changing now
                            if e in acked["changing"]:
                                continue
                        raise AssertionError(f"login of {e}: {r}")
                    with self.lock:
                        acked["logins"].append((e, r.json["session"]))
                elif kind in ("totp", "backup"):
                    with self.lock:
                        if not self.totp_accounts:
                            continue
                        e, secret, codes = self.totp_accounts.pop(
                            rng.randrange(len(self.totp_accounts)))
                    r = self.login(e, PASSWORD)
                    if r.status != 200 or r.json.get("state") != "second_factor":
                        raise AssertionError(f"password step of {e}: {r}")
                    code = totp(secret, now) if kind == "totp" else codes.pop()
                    path = "/1/login/totp" if kind == "totp" else "/1/login/backup-code"
                    doing = (kind, e, code)
                    r = self.a.post(path, {"login_id": r.json["login_id"], "code": code})
                    if r.status != 200:
                        raise AssertionError(f"the {kind} code of {e}: {r}")
                    remember_secret(r.json["session"])
                    with self.lock:
                        acked[kind].append((e, code))
                elif kind == "push":
                    with self.lock:
                        if not self.pushers:
                            continue
                        e, phone, ws = self.pushers.pop(rng.randrange(len(self.pushers)))
                    r = self.login(e, PASSWORD)
                    if r.status != 200 or r.json.get("state") != "second_factor":
                        raise AssertionError(f"{e}'s password step: {r}")
                    login_id = r.json["login_id"]
                    r = self.a.post("/1/login/push", {"login_id": login_id})
                    if r.status != 200:
                        raise AssertionError(f"{e}'s push: {r}")
                    ch = next_of(ws, "challenge")
                    doing = ("push", e, login_id)
                    res = answer(phone, ws, ch, "approve", r.json["number"])
                    if res.get("result") != "accepted":
                        raise AssertionError(f"{e}'s approval: {res}")
                    with self.lock:
                        acked["push"].append((e, login_id))
                elif kind == "pay":
                    e, org, tok, invoices = rng.choice(self.payers)
                    base = f"/1/organizations/{org}/billing"
                    doing = ("order", org)
                    r = self.a.post(f"{base}/orders",
                                    {"product": {"kind": "domain",
                                                 "name": f"d{uuid.uuid4().hex[:10]}.ch"},
                                     "months": 1}, token=tok)
                    if r.status != 201:
                        raise AssertionError(f"an order of {org}: {r}")
                    iid = r.json["id"]
                    with self.lock:
                        invoices.append(iid)
                        acked["orders"].append((org, iid))
                    doing = ("pay", org, iid)
                    r = self.a.post(f"{base}/payments", {"invoices": [iid]}, token=tok,
                                    headers={"Idempotency-Key": iid})
                    if r.status != 201 or r.json.get("status") != "paid":
                        raise AssertionError(f"a payment of {iid}: {r}")
                    with self.lock:
                        acked["pay"].append((org, iid, r.json["id"]))
                elif kind == "password":
                    with self.lock:
                        if not acked["signups"]:
                            continue
                        e = acked["signups"].pop(rng.randrange(len(acked["signups"])))
                        # A password change ends the account's other
                        # sessions: theirs are not checked.
                        acked["changing"].add(e)
                    tok = self.session(e)
                    doing = ("password", e)
                    r = self.a.put("/1/me/password", {"current_password": PASSWORD,
                                                      "new_password": NEW_PASSWORD}, token=tok)
                    if r.status == 204:
                        with self.lock:
                            acked["password"].append(e)
                    else:
                        raise AssertionError(f"password change of {e}: {r}")
            except (OSError, http.client.HTTPException) as exc:
                if self.killed_at is None:
                    with self.lock:
                        acked["errors"].append(f"{kind}: {exc!r} before the kill")
                elif doing:
                    with self.lock:
                        inflight.append(doing)
                return
            except Exception as exc:  # noqa: BLE001 - a broken client fails the round
                with self.lock:
                    if self.killed_at is None:
                        acked["errors"].append(f"{kind}: {exc!r}")
                return

    def round(self, i):
        # Each TOTP account signs in once at most, in one round only.
        self.totp_accounts = self.totp_pool[12 * (i - 1):12 * i]
        self.start()
        now = self.advance(30)  # a fresh TOTP step for this round
        acked = {"signups": [], "logins": [], "totp": [], "backup": [], "password": [],
                 "push": [], "orders": [], "pay": [], "changing": set(), "signed_up": 0,
                 "errors": []}
        # Accounts with a linked phone whose channel is open, one push each.
        self.pushers = []
        for _ in range(6):
            e = self.email()
            phone, ws = new_linked_phone(self.a, e, PASSWORD)
            self.pushers.append([e, phone, ws])
        channels = [p[2] for p in self.pushers]
        for p in self.payers:  # a fresh session each round (the clock moves)
            p[2] = self.session(p[0])
        inflight = []
        self.killed_at = None
        threads = [threading.Thread(target=self.load, args=(acked, inflight, now))
                   for _ in range(6)]
        for t in threads:
            t.start()
        time.sleep(self.rng.uniform(0.3, 1.5))
        self.killed_at = time.monotonic()
        self.crash()
        for t in threads:
            t.join()
        for ws in channels:  # authd's end died with it
            try:
                ws.close()
            except OSError:
                pass
        if acked["errors"]:
            raise AssertionError(f"round {i}: clients failed before the kill: {acked['errors']}")
        self.start()
        self.check(i, acked, inflight)
        self.a.stop()
        self.figures["signups"] += acked["signed_up"]
        for k in ("logins", "totp", "backup", "password", "push"):
            self.figures[k] += len(acked[k])
        self.figures["orders"] += len(acked["orders"])
        self.figures["payments"] += len(acked["pay"])
        self.figures["in_flight"] += len(inflight)

    def check_balances(self, i):
        """Each paying organization: its ledger balances, and its balance is
        its deposit less its paid invoices' totals, each once."""
        for e, org, tok, invoices in self.payers:
            base = f"/1/organizations/{org}/billing"
            b = self.a.get(f"{base}/balance", token=tok).json
            for entry in b["entries"]:
                if sum(cents(v) for v in entry["legs"].values()) != 0:
                    raise AssertionError(f"round {i}: an unbalanced entry of {org}: {entry}")
            paid = 0
            for iid in invoices:
                inv = self.a.get(f"{base}/invoices/{iid}", token=tok)
                if inv.status == 200 and inv.json["status"] == "paid":
                    paid += cents(inv.json["total"])
            if cents(b["balance"]) != cents(DEPOSIT) - paid:
                raise AssertionError(f"round {i}: {org}'s balance {b['balance']}, expected "
                                     f"{DEPOSIT} less {paid / 100:.2f}")

    def run(self, rounds):
        """The fixtures, then `rounds` rounds, with the figures every ten.
        An AssertionError says which round failed and why."""
        self.start()
        self.setup(n_totp=12 * rounds)
        self.a.stop()
        for i in range(1, rounds + 1):
            self.round(i)
            if i % 10 == 0 or i == rounds:
                print(f"round {i}/{rounds}: {self.figures}", flush=True)

    def crash(self):
        """The fault: kill -9 (the power-loss campaign cuts the disk too)."""
        self.a.kill9()

    def second_factor(self, e, kind, code):
        """The response to signing in to e with code (a TOTP or backup code)."""
        r = self.login(e, PASSWORD)
        if r.status != 200 or "login_id" not in (r.json or {}):
            raise AssertionError(f"{e} does not reach its second factor: {r}")
        path = "/1/login/totp" if kind == "totp" else "/1/login/backup-code"
        return self.a.post(path, {"login_id": r.json["login_id"], "code": code})

    def check(self, i, acked, inflight):
        def fail(what):
            raise AssertionError(f"round {i}: {what}")

        def whole(e, password):
            """e signs in with password and has its organization."""
            r = self.login(e, password)
            if r.status != 200:
                return False
            orgs = self.a.get("/1/organizations", token=r.json["session"]).json
            if not orgs.get("organizations"):
                fail(f"half a sign-up: {e} signs in without its organization")
            return True

        for e in acked["signups"]:
            if not whole(e, PASSWORD):
                fail(f"acknowledged sign-up {e} does not sign in")
        for e, tok in acked["logins"]:
            if e not in acked["changing"] and self.a.get("/1/me", token=tok).status != 200:
                fail(f"an acknowledged session of {e} is gone")
        for kind in ("totp", "backup"):
            want = "code_reused"
            for e, code in acked[kind]:
                r = self.second_factor(e, kind, code)
                if (r.status, (r.json or {}).get("code")) != (401, want):
                    fail(f"a {kind} code acknowledged before the kill: {r} (want 401 {want})")
        for e in acked["password"]:
            if self.login(e, NEW_PASSWORD).status != 200:
                fail(f"acknowledged password change of {e} lost")
            r = self.login(e, PASSWORD)
            if (r.status, r.json.get("code")) != (401, "invalid_credentials"):
                fail(f"the old password of {e}: {r}")
        payer = {p[1]: p for p in self.payers}

        def waited(login_id):
            r = self.a.post("/1/login/wait", {"login_id": login_id, "timeout": 1})
            if r.json and r.json.get("session"):
                remember_secret(r.json["session"])
            return r

        for e, login_id in acked["push"]:
            r = waited(login_id)
            if (r.status, r.json.get("state")) != (200, "approved"):
                fail(f"an acknowledged push approval of {e}: its login is {r}")
            if self.a.get("/1/me", token=r.json["session"]).status != 200:
                fail(f"the session of {e}'s approved login does not answer")

        def invoice(org, iid):
            p = payer[org]
            r = self.a.get(f"/1/organizations/{org}/billing/invoices/{iid}", token=p[2])
            if r.status != 200:
                fail(f"acknowledged order {iid} of {org}: {r}")
            return r.json

        for org, iid in acked["orders"]:
            invoice(org, iid)
        for org, iid, pid in acked["pay"]:
            inv = invoice(org, iid)
            if (inv["status"], inv.get("payment_id")) != ("paid", pid):
                fail(f"acknowledged payment {pid} of {iid}: invoice {inv['status']} "
                     f"{inv.get('payment_id')}")
        # What was under way at the kill: done wholly, or not at all.
        for doing in inflight:
            kind, e = doing[0], doing[1]
            self.figures["in_flight_" + kind] += 1
            if kind == "signup":
                if whole(e, PASSWORD):
                    self.figures["in_flight_done"] += 1
                    continue
                r = self.a.post("/1/accounts", {"email": e, "password": PASSWORD, "name": "C"},
                                source_ip=authd_harness.random_loopback())
                if r.status != 201:
                    fail(f"half a sign-up: {e} neither signs in nor signs up ({r})")
            elif kind == "push":
                r = waited(doing[2])
                state = (r.json or {}).get("state")
                if state == "approved":
                    self.figures["in_flight_done"] += 1
                elif state not in ("pending", "expired"):
                    fail(f"a push answer under way at the kill: {r}")
            elif kind == "order":
                pass  # an invoice or none: either is whole (its id never came back)
            elif kind == "pay":
                org, iid = doing[1], doing[2]
                p = payer[org]
                before = invoice(org, iid)
                r = self.a.post(f"/1/organizations/{org}/billing/payments",
                                {"invoices": [iid]}, token=p[2], headers={"Idempotency-Key": iid})
                if before["status"] == "paid":
                    self.figures["in_flight_done"] += 1
                    if (r.status, r.json.get("id")) != (200, before.get("payment_id")):
                        fail(f"a payment under way, paid, asked again: {r}")
                elif (r.status, r.json.get("status")) != (201, "paid"):
                    fail(f"a payment under way, not paid, asked again: {r}")
            elif kind == "password":
                old, new = (self.login(e, p).status == 200 for p in (PASSWORD, NEW_PASSWORD))
                if old == new:
                    fail(f"a password change under way: old {old}, new {new} for {e}")
                self.figures["in_flight_done"] += new
            elif kind in ("totp", "backup"):
                r = self.second_factor(e, kind, doing[2])
                want = "code_reused"
                if r.status == 200:
                    remember_secret(r.json["session"])  # it was not used: fine
                elif (r.status, (r.json or {}).get("code")) != (401, want):
                    fail(f"a {kind} code under way at the kill: {r}")
                else:
                    self.figures["in_flight_done"] += 1
        self.check_balances(i)


def tempfile_dir():
    import tempfile
    return tempfile.mkdtemp(prefix="authd-crash-state-")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--engine", choices=["lmdb", "postgresql"],
                    default=os.environ.get("AUTHD_TEST_ENGINE", "lmdb"))
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    own_pg = None
    if args.engine == "postgresql" and not os.environ.get("AUTHD_TEST_PG_STATE"):
        # Run by hand: a private PostgreSQL server (Debian's postgresql-15).
        import pg_harness
        import tempfile
        own_pg = os.path.join(tempfile.mkdtemp(prefix="authd-crash-pg-"), "state.json")
        os.environ["AUTHD_TEST_PG_STATE"] = own_pg
        pg_harness.start(own_pg)
    if not os.environ.get("AUTHD_TEST_STATE"):
        os.environ["AUTHD_TEST_STATE"] = tempfile_dir()
    remember_secret(PASSWORD)  # the suite's log check looks for them
    remember_secret(NEW_PASSWORD)
    c = Campaign(args.engine, seed)
    t0 = time.monotonic()
    try:
        c.run(args.rounds)
    except AssertionError as e:
        print(f"crash campaign FAILED (engine {args.engine}, seed {seed}): {e}")
        print(c.a.log_tail(3000))
        return 1
    finally:
        c.a.cleanup()
        c.provider.stop()
        if own_pg:
            import pg_harness
            pg_harness.stop(own_pg)
    print(f"crash campaign: {args.rounds} rounds of kill -9 on {args.engine} (seed {seed}) held "
          f"in {time.monotonic() - t0:.0f} s; acknowledged and checked: {c.figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
