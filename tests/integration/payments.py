"""Payments and the prepaid balance: deposits from 0.10 to 9 999.00 go
through the payment provider (a local fake, tests/lib/provider_harness.py)
and land in the balance when its signed webhook says paid; the balance is
the sum of a double-entry ledger; a payment request carries an
Idempotency-Key, and the same key never starts a second payment, on one
node or on two at once. Only who holds the billing right sees or asks."""

import concurrent.futures
import threading
import unittest
import uuid

from authd_harness import ENGINE, OwnAuthd
from org_harness import PUBLIC, join, org_of
from provider_harness import FakeProvider, sign
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()
PROVIDER = FakeProvider().start()

GENEVA = {"name": "Example SA", "line1": "Rue du Rhone 1", "postal_code": "1204",
          "city": "Geneve", "country": "CH"}
BERLIN = {"name": "Example GmbH", "line1": "Unter den Linden 1", "postal_code": "10117",
          "city": "Berlin", "country": "DE"}

CONFIG = (f"[server]\npublic_url = {PUBLIC}\n"
          f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
          f"[outbox]\npoll_ms = 50\n" + PROVIDER.config())


def email():
    return f"p{uuid.uuid4().hex[:12]}@example.com"


def key():
    return uuid.uuid4().hex


class Payments(OwnAuthd, unittest.TestCase):
    authd_config = CONFIG

    def setUp(self):
        e = self.lr_email = email()
        self.a.signup(e, name="Paula Payer")
        self.lr = self.a.session(e)
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}/billing"
        PROVIDER.fail = 0

    def address(self, a=GENEVA, token=None):
        r = self.a.post(f"{self.base}/addresses", a, token=token or self.lr)
        self.assertEqual(r.status, 201, r)

    def deposit(self, amount, k=None, token=None, **kw):
        return self.a.post(f"{self.base}/deposits", {"amount": amount}, token=token or self.lr,
                           headers={"Idempotency-Key": k or key()}, **kw)

    def balance(self, token=None):
        r = self.a.get(f"{self.base}/balance", token=token or self.lr)
        self.assertEqual(r.status, 200, r)
        return r.json

    def ledger_balanced(self, b):
        """Every entry's legs sum to zero, and the balance is the sum of the
        prepaid legs (all entries are shown while there are few)."""
        total = 0
        for e in b["entries"]:
            legs = {k: round(float(v) * 100) for k, v in e["legs"].items()}
            self.assertEqual(sum(legs.values()), 0, e)
            total += legs.get("prepaid", 0)
        self.assertEqual(total, round(float(b["balance"]) * 100))

    def test_deposit_through_the_provider(self):
        self.assertEqual(self.balance(), {"currency": None, "balance": None, "entries": []})
        r = self.deposit("50.00")
        self.assertEqual((r.status, r.json["code"]), (409, "no_billing_address"))
        self.address()
        self.assertEqual(self.balance(), {"currency": "CHF", "balance": "0.00", "entries": []})
        created = PROVIDER.created()
        r = self.deposit("50.00")
        self.assertEqual(r.status, 201, r)
        p = r.json
        self.assertEqual((p["kind"], p["status"], p["currency"], p["amount"], p["rest"],
                          p["from_balance"], p["settled_at"]),
                         ("deposit", "pending", "CHF", "50.00", "50.00", "0.00", None))
        self.assertEqual(PROVIDER.created(), created + 1)
        c = PROVIDER.checkout(p["id"])
        self.assertEqual(p["checkout_url"], c["checkout_url"])
        self.assertEqual((c["amount"], c["currency"]), ("50.00", "CHF"))
        # Nothing is in the balance until the provider says paid.
        self.assertEqual(self.balance()["balance"], "0.00")
        r = PROVIDER.webhook(self.a, p["id"])
        self.assertEqual((r.status, r.json), (200, {"status": "paid"}), r)
        b = self.balance()
        self.assertEqual(b["balance"], "50.00")
        self.assertEqual([(e["kind"], e["payment_id"], e["balance_change"], e["legs"])
                          for e in b["entries"]],
                         [("deposit", p["id"], "50.00", {"provider": "-50.00",
                                                          "prepaid": "50.00"})])
        # Told twice (providers retry): it moves once.
        r = PROVIDER.webhook(self.a, p["id"])
        self.assertEqual((r.status, r.json), (200, {"status": "paid"}))
        r = PROVIDER.webhook(self.a, p["id"], status="failed")
        self.assertEqual((r.status, r.json), (200, {"status": "paid"}))
        b = self.balance()
        self.assertEqual((b["balance"], len(b["entries"])), ("50.00", 1))
        got = self.a.get(f"{self.base}/payments/{p['id']}", token=self.lr).json
        self.assertEqual((got["status"], got["checkout_url"]), ("paid", None))
        self.assertIsNotNone(got["settled_at"])
        # A second deposit, failed at the provider: nothing moves.
        self.a.advance(1)
        q = self.deposit("9999.00").json
        r = PROVIDER.webhook(self.a, q["id"], status="failed")
        self.assertEqual((r.status, r.json), (200, {"status": "failed"}))
        b = self.balance()
        self.assertEqual((b["balance"], len(b["entries"])), ("50.00", 1))
        self.ledger_balanced(b)
        listed = self.a.get(f"{self.base}/payments", token=self.lr).json["payments"]
        self.assertEqual([(x["id"], x["status"]) for x in listed],
                         [(q["id"], "failed"), (p["id"], "paid")])
        trail = [(x["action"], x["via"], x["detail"].get("amount")) for x in self.a.get(
            f"/1/organizations/{self.org}/audit", token=self.lr).json["audit"]
            if x["action"].startswith("payment_")]
        self.assertEqual(trail, [("payment_failed", "system", "9999.00"),
                                 ("payment_started", "session", "9999.00"),
                                 ("payment_paid", "system", "50.00"),
                                 ("payment_started", "session", "50.00")])

    def test_deposit_range_and_bad_input(self):
        self.address(BERLIN)
        for amount in ("0.09", "9999.01", "0", "-5.00", "12.345", "1e3", "", "ten"):
            r = self.deposit(amount)
            self.assertEqual((r.status, r.json["code"], r.json.get("field")),
                             (400, "invalid_field", "amount"), amount)
        for body in ({"amount": 50}, {"amount": "5.00", "x": 1}, {}):
            r = self.a.post(f"{self.base}/deposits", body, token=self.lr,
                            headers={"Idempotency-Key": key()})
            self.assertEqual(r.status, 400, body)
        self.assertEqual(self.deposit("0.10").json["amount"], "0.10")
        p = self.deposit("9999.00").json
        self.assertEqual((p["amount"], p["currency"]), ("9999.00", "EUR"))
        # Without a key, or with one too long: 400 and nothing started.
        before = PROVIDER.created()
        r = self.a.post(f"{self.base}/deposits", {"amount": "5.00"}, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (400, "idempotency_key_required"))
        r = self.deposit("5.00", k="k" * 65)
        self.assertEqual((r.status, r.json["code"]), (400, "idempotency_key_required"))
        self.assertEqual(PROVIDER.created(), before)
        self.assertEqual(self.deposit("5.00", k="k" * 64).status, 201)

    def test_idempotency_key(self):
        self.address()
        k = key()
        r = self.deposit("25.50", k=k)
        self.assertEqual(r.status, 201, r)
        first = r.json
        before = PROVIDER.created()
        r = self.deposit("25.50", k=k)
        self.assertEqual((r.status, r.header("Idempotent-Replayed")), (200, "true"))
        self.assertEqual(r.json, first)
        self.assertEqual(PROVIDER.created(), before)
        # The same key for another amount is refused.
        r = self.deposit("25.51", k=k)
        self.assertEqual((r.status, r.json["code"]), (422, "idempotency_key_reused"))
        # Paid, then asked again: the answer is the payment as it stands.
        self.assertEqual(PROVIDER.webhook(self.a, first["id"]).status, 200)
        r = self.deposit("25.50", k=k)
        self.assertEqual((r.status, r.json["status"]), (200, "paid"))
        self.assertEqual(self.balance()["balance"], "25.50")
        # One key is one organization's: another's same key is its own.
        e = email()
        self.a.signup(e)
        other = self.a.session(e)
        oorg = org_of(self.a, other)
        self.assertEqual(self.a.post(f"/1/organizations/{oorg}/billing/addresses", GENEVA,
                                     token=other).status, 201)
        r = self.a.post(f"/1/organizations/{oorg}/billing/deposits", {"amount": "25.50"},
                        token=other, headers={"Idempotency-Key": k})
        self.assertEqual(r.status, 201, r)
        self.assertNotEqual(r.json["id"], first["id"])

    def test_provider_down(self):
        self.address()
        k = key()
        PROVIDER.fail = 1
        r = self.deposit("10.00", k=k)
        self.assertEqual((r.status, r.json["code"]), (502, "provider_unavailable"))
        self.assertEqual(self.a.get(f"{self.base}/payments", token=self.lr).json["payments"],
                         [])
        r = self.deposit("10.00", k=k)  # the same key, once the provider is back
        self.assertEqual(r.status, 201, r)

    def test_webhook_signature_and_mismatch(self):
        self.address()
        p = self.deposit("30.00").json
        now = self.a.now()
        c = PROVIDER.checkout(p["id"])
        body = (f'{{"id":"{p["id"]}","ref":"{c["ref"]}","status":"paid","amount":"30.00",'
                f'"currency":"CHF"}}').encode()
        for sig in (sign("whsec_wrong", body, now), sign(PROVIDER.secret, body, now - 301),
                    sign(PROVIDER.secret, body, now + 301), "", "t=1,v1=zz",
                    sign(PROVIDER.secret, body + b" ", now)):
            r = PROVIDER.webhook(self.a, p["id"], raw=body, signature=sig or "x")
            self.assertEqual((r.status, r.json["code"]), (401, "unauthenticated"), sig)
        r = self.a.post("/1/billing/webhook", raw=body)  # no signature at all
        self.assertEqual(r.status, 401)
        for kw, code in (({"amount": "30.01"}, "payment_mismatch"),
                         ({"currency": "EUR"}, "payment_mismatch"),
                         ({"ref": "pay_other"}, "payment_mismatch")):
            r = PROVIDER.webhook(self.a, p["id"], **kw)
            self.assertEqual((r.status, r.json["code"]), (422, code), kw)
        r = PROVIDER.webhook(self.a, "ab" * 16)
        self.assertEqual((r.status, r.json["code"]), (404, "payment_not_found"))
        r = PROVIDER.webhook(self.a, p["id"], status="refunded")
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))
        r = PROVIDER.webhook(self.a, p["id"], raw=b'{"id": 1}')
        self.assertEqual(r.status, 400)
        self.assertEqual(self.balance()["balance"], "0.00")
        # 300 seconds either side is still in time.
        r = PROVIDER.webhook(self.a, p["id"], at=now - 300)
        self.assertEqual((r.status, r.json), (200, {"status": "paid"}))
        self.assertEqual(self.balance()["balance"], "30.00")
        self.assertNotIn(PROVIDER.secret, self.a.log_text())

    def test_only_with_the_billing_right(self):
        self.address()
        admin = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        payer = join(self.a, SMTP, self.lr, self.org, email(), billing=True)
        p = self.deposit("12.00").json
        for who in (admin,):
            for method, path, body in (("GET", f"{self.base}/balance", None),
                                       ("POST", f"{self.base}/deposits", {"amount": "5.00"}),
                                       ("GET", f"{self.base}/payments", None),
                                       ("GET", f"{self.base}/payments/{p['id']}", None)):
                r = self.a.request(method, path, body, token=who,
                                   headers={"Idempotency-Key": key()})
                self.assertEqual((r.status, r.json["code"]), (403, "forbidden"), path)
        self.assertEqual(self.balance(payer)["currency"], "CHF")
        self.assertEqual(self.deposit("5.00", token=payer).status, 201)
        r = self.a.get(f"{self.base}/payments/{'ab' * 16}", token=payer)
        self.assertEqual((r.status, r.json["code"]), (404, "payment_not_found"))
        # Another organization's payment is not found through this one.
        e = email()
        self.a.signup(e)
        other = self.a.session(e)
        oorg = org_of(self.a, other)
        r = self.a.get(f"/1/organizations/{oorg}/billing/payments/{p['id']}", token=other)
        self.assertEqual((r.status, r.json["code"]), (404, "payment_not_found"))

    def test_concurrent_deposits_keep_the_ledger_balanced(self):
        """16 deposits at once, each paid by a webhook at once: every one
        counts once and the ledger stays balanced."""
        self.address()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            got = list(pool.map(lambda i: self.deposit(f"{i + 1}.25"), range(16)))
        self.assertEqual([r.status for r in got], [201] * 16)
        ids = [r.json["id"] for r in got]
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            paid = list(pool.map(lambda i: PROVIDER.webhook(self.a, i), ids + ids))
        self.assertEqual([r.status for r in paid], [200] * 32)
        b = self.balance()
        self.assertEqual(b["balance"], f"{sum(i + 1 for i in range(16)) + 16 * 0.25:.2f}")
        self.assertEqual(len(b["entries"]), 16)
        self.ledger_balanced(b)


@unittest.skipUnless(ENGINE == "postgresql", "several nodes share only PostgreSQL")
class TwoNodes(unittest.TestCase):
    """The same Idempotency-Key sent to two nodes at once starts one
    payment, and its webhook, delivered to both at once, pays once."""

    def test_same_key_two_nodes(self):
        from cluster import Cluster, UNLIMITED_SIGNUP
        cl = Cluster(2, config=UNLIMITED_SIGNUP + CONFIG).start()
        try:
            a, b = cl.nodes
            e = email()
            a.signup(e)
            lr = a.session(e)
            org = org_of(a, lr)
            base = f"/1/organizations/{org}/billing"
            self.assertEqual(a.post(f"{base}/addresses", GENEVA, token=lr).status, 201)
            for round_ in range(5):
                k = key()
                before = PROVIDER.created()
                barrier = threading.Barrier(2)

                def ask(node):
                    barrier.wait()
                    return node.post(f"{base}/deposits", {"amount": "40.00"}, token=lr,
                                     headers={"Idempotency-Key": k})
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    got = list(pool.map(ask, (a, b)))
                self.assertEqual(sorted(r.status for r in got), [200, 201], got)
                self.assertEqual(got[0].json["id"], got[1].json["id"])
                self.assertEqual(PROVIDER.created(), before + 1)
                pid = got[0].json["id"]
                with concurrent.futures.ThreadPoolExecutor(2) as pool:
                    paid = list(pool.map(lambda n: PROVIDER.webhook(n, pid), (a, b)))
                self.assertEqual([r.status for r in paid], [200, 200], paid)
                listed = a.get(f"{base}/payments", token=lr).json["payments"]
                self.assertEqual(len([x for x in listed if x["id"] == pid]), 1)
            r = b.get(f"{base}/balance", token=lr)
            self.assertEqual((r.json["balance"], len(r.json["entries"])), ("200.00", 5))
        finally:
            reports = cl.stop()
            cl.cleanup()
        self.assertEqual(reports, [])


if __name__ == "__main__":
    unittest.main()
