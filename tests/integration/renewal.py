"""The renewal scheduler: 14 days before expiry a product that renews by
itself gets its renewal ordered and, when the prepaid balance covers it,
paid; unpaid at expiry the product is blocked (nobody reaches it), then
terminated 30 days later; an email goes out before each step. A pass runs
once per cluster: two nodes passing at once order one renewal."""

import concurrent.futures
import datetime
import threading
import unittest
import uuid

from authd_harness import ENGINE, OwnAuthd
from org_harness import PUBLIC, assert_numbered, mail, org_of
from provider_harness import FakeProvider
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()
PROVIDER = FakeProvider().start()
DAY = 86400
LEAD = 14 * DAY

GENEVA = {"name": "Example SA", "line1": "Rue du Rhone 1", "postal_code": "1204",
          "city": "Geneve", "country": "CH"}

CONFIG = (f"[server]\npublic_url = {PUBLIC}\n"
          f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
          f"[outbox]\npoll_ms = 50\n" + PROVIDER.config())


def email():
    return f"r{uuid.uuid4().hex[:12]}@example.com"


def unix(text):
    return int(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp())


def pass_(a):
    r = a.post("/1/_test/billing_pass", {})
    assert r.status == 200, r
    return r.json


class Base(OwnAuthd):
    """Each test class has an authd of its own: a pass's counts are then
    the test's products alone."""
    authd_config = CONFIG

    def setUp(self):
        e = self.lr_email = email()
        self.a.signup(e, name="Renata Renew")
        self.lr = self.a.session(e)
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}"
        self.assertEqual(self.a.post(f"{self.base}/billing/addresses", GENEVA,
                                     token=self.lr).status, 201)
        pass_(self.a)  # what earlier tests left due is done

    def relogin(self):
        self.lr = self.a.session(self.lr_email)

    def product(self, kind, name, expires_in, auto_renew):
        r = self.a.post(f"{self.base}/products", {"kind": kind, "name": name,
                                                  "expires_at": self.a.now() + expires_in},
                        token=self.lr)
        self.assertEqual(r.status, 201, r)
        if auto_renew:
            r = self.a.put(f"{self.base}/products/{r.json['id']}/auto-renewal",
                           {"enabled": True}, token=self.lr)
            self.assertEqual(r.status, 200, r)
        return r.json["id"] if "id" in r.json else r.json["product_id"]

    def deposit(self, amount):
        r = self.a.post(f"{self.base}/billing/deposits", {"amount": amount}, token=self.lr,
                        headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(PROVIDER.webhook(self.a, r.json["id"]).status, 200)

    def products(self):
        return {p["id"]: p for p in self.a.get(f"{self.base}/products",
                                                 token=self.lr).json["products"]}

    def invoices(self):
        return self.a.get(f"{self.base}/billing/invoices", token=self.lr).json["invoices"]



class RenewedFromTheBalance(Base, unittest.TestCase):
    def test_renewed_from_the_balance_once(self):
        self.deposit("100.00")
        pid = self.product("mail", "Renewing mail", 30 * DAY, True)
        expires = unix(self.products()[pid]["expires_at"])
        self.a.advance(expires - LEAD - 1 - self.a.now())
        self.assertEqual(pass_(self.a)["renewed"], 0)  # a second early
        self.a.advance(1)
        st = pass_(self.a)
        self.assertEqual((st["renewed"], st["ordered"]), (1, 0), st)
        self.relogin()
        p = self.products()[pid]
        exp = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
        self.assertEqual(unix(p["expires_at"]), int(exp.replace(year=exp.year + 1).timestamp()))
        inv = self.invoices()[0]
        self.assertEqual((inv["kind"], inv["status"], inv["product_id"], inv["total"]),
                         ("renewal", "paid", pid, "64.86"))
        b = self.a.get(f"{self.base}/billing/balance", token=self.lr).json
        self.assertEqual((b["balance"], b["entries"][0]["kind"]), ("35.14", "pay"))
        m = mail(SMTP, self.lr_email, "renewed from your prepaid balance")
        self.assertIn(f"invoice {inv['number']}", m["body"])
        self.assertIn("CHF 64.86", m["body"])
        # Once: passing again does nothing more.
        st = pass_(self.a)
        self.assertEqual((st["renewed"], st["ordered"], st["blocked"]), (0, 0, 0))
        self.assertEqual(len(self.invoices()), 1)
        trail = [x["action"] for x in self.a.get(f"{self.base}/audit?limit=100",
                                                 token=self.lr).json["audit"]]
        self.assertIn("renewal_ordered", trail)
        self.assertIn("product_renewed", trail)



class UnpaidBlockedThenPaid(Base, unittest.TestCase):
    def test_unpaid_blocked_then_paid(self):
        pid = self.product("hosting", "Site", 30 * DAY, True)
        expires = unix(self.products()[pid]["expires_at"])
        self.a.advance(expires - LEAD - self.a.now())
        st = pass_(self.a)
        self.assertEqual((st["ordered"], st["renewed"]), (1, 0), st)
        self.relogin()
        inv = self.invoices()[0]
        self.assertEqual((inv["kind"], inv["status"], inv["total"]), ("renewal", "open",
                                                                      "155.66"))
        m = mail(SMTP, self.lr_email, f"Renewal of Site: invoice {inv['number']}")
        self.assertIn("CHF 155.66", m["body"])
        # Ordered once for this expiry; by hand it is pending already.
        self.assertEqual(pass_(self.a)["ordered"], 0)
        r = self.a.post(f"{self.base}/billing/orders", {"product_id": pid}, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (409, "order_pending"))
        access = f"{self.base}/products/{pid}/access"
        self.assertEqual(self.a.get(access, token=self.lr).status, 200)
        # At expiry, unpaid: blocked, and nobody reaches it.
        self.a.advance(expires - self.a.now() - 1)
        self.assertEqual(pass_(self.a)["blocked"], 0)
        self.a.advance(1)
        self.assertEqual(pass_(self.a)["blocked"], 1)
        self.relogin()
        r = self.a.get(access, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (403, "product_blocked"))
        self.assertIsNotNone(self.products()[pid]["blocked_at"])
        m = mail(SMTP, self.lr_email, "Site is blocked")
        self.assertIn("terminated on", m["body"])
        # Paid: reached again, and it runs a year from its expiry.
        self.deposit("200.00")
        r = self.a.post(f"{self.base}/billing/payments", {"invoices": [inv["id"]]},
                        token=self.lr, headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertEqual((r.status, r.json["status"]), (201, "paid"), r)
        p = self.products()[pid]
        self.assertIsNone(p["blocked_at"])
        exp = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
        self.assertEqual(unix(p["expires_at"]), int(exp.replace(year=exp.year + 1).timestamp()))
        self.assertEqual(self.a.get(access, token=self.lr).status, 200)
        self.assertEqual(pass_(self.a)["terminated"], 0)



class BlockedThenTerminated(Base, unittest.TestCase):
    def test_blocked_then_terminated(self):
        pid = self.product("drive", "Old drive", 5 * DAY, False)
        expires = unix(self.products()[pid]["expires_at"])
        self.a.advance(expires - self.a.now())
        st = pass_(self.a)
        self.assertEqual((st["ordered"], st["blocked"]), (0, 1), st)  # no auto-renewal
        self.relogin()
        # Renewed by hand, not paid: cancelled at termination.
        inv = self.a.post(f"{self.base}/billing/orders", {"product_id": pid},
                          token=self.lr).json
        self.a.advance(30 * DAY - 1)
        self.assertEqual(pass_(self.a)["terminated"], 0)
        self.a.advance(1)
        self.assertEqual(pass_(self.a)["terminated"], 1)
        self.relogin()
        self.assertNotIn(pid, self.products())
        got = self.a.get(f"{self.base}/billing/invoices/{inv['id']}", token=self.lr).json
        self.assertEqual(got["status"], "cancelled")
        mail(SMTP, self.lr_email, "Old drive is terminated")
        trail = [x["action"] for x in self.a.get(f"{self.base}/audit?limit=100",
                                                 token=self.lr).json["audit"]]
        self.assertIn("product_terminated", trail)
        self.assertIn("product_blocked", trail)
        self.assertEqual(pass_(self.a)["terminated"], 0)


@unittest.skipUnless(ENGINE == "postgresql", "several nodes share only PostgreSQL")
class TwoNodes(unittest.TestCase):
    def test_pass_once_per_cluster(self):
        from cluster import Cluster, UNLIMITED_SIGNUP
        cl = Cluster(2, config=UNLIMITED_SIGNUP + CONFIG).start()
        try:
            a, b = cl.nodes
            e = email()
            a.signup(e)
            lr = a.session(e)
            org = org_of(a, lr)
            base = f"/1/organizations/{org}"
            self.assertEqual(a.post(f"{base}/billing/addresses", GENEVA, token=lr).status, 201)
            ids = []
            for i in range(20):
                r = a.post(f"{base}/products", {"kind": "chat", "name": f"c{i}",
                                                "expires_at": a.now() + 20 * DAY}, token=lr)
                ids.append(r.json["id"])
                a.put(f"{base}/products/{r.json['id']}/auto-renewal", {"enabled": True},
                      token=lr)
            cl.advance(6 * DAY)
            barrier = threading.Barrier(2)

            def run(node):
                barrier.wait()
                return pass_(node)
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                got = list(pool.map(run, (a, b)))
            self.assertEqual(sum(s["ordered"] for s in got), 20, got)
            lr = a.session(e)
            invoices = a.get(f"{base}/billing/invoices", token=lr).json["invoices"]
            self.assertEqual(sorted(i["product_id"] for i in invoices), sorted(ids))
            numbers = sorted(i["number"] for i in invoices)
            assert_numbered(self, numbers, 20)
            self.assertEqual([pass_(n)["ordered"] for n in (a, b)], [0, 0])
        finally:
            reports = cl.stop()
            cl.cleanup()
        self.assertEqual(reports, [])


if __name__ == "__main__":
    unittest.main()
