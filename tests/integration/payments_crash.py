"""kill -9 in the middle of payments loses or duplicates nothing: a deposit
whose provider call was under way when authd died is one payment when
asked again with its key; payments from the balance acknowledged before
the kill are all there after it, none twice, the ledger balanced."""

import concurrent.futures
import threading
import time
import unittest
import uuid

from authd_harness import OwnAuthd
from org_harness import PUBLIC, org_of
from provider_harness import FakeProvider

PROVIDER = FakeProvider().start()

GENEVA = {"name": "Example SA", "line1": "Rue du Rhone 1", "postal_code": "1204",
          "city": "Geneve", "country": "CH"}


def cents(text):
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return sign * (abs(int(whole)) * 100 + int((frac + "00")[:2]))


class PaymentsCrash(OwnAuthd, unittest.TestCase):
    authd_config = f"[server]\npublic_url = {PUBLIC}\n" + PROVIDER.config()

    def setUp(self):
        self.email = f"k{uuid.uuid4().hex[:12]}@example.com"
        self.a.signup(self.email)
        self.lr = self.a.session(self.email)
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}/billing"
        self.assertEqual(self.a.post(f"{self.base}/addresses", GENEVA, token=self.lr).status,
                         201)
        PROVIDER.delay = 0

    def restart(self):
        self.a.kill9()
        self.a.start()
        self.lr = self.a.session(self.email)

    def balance(self):
        b = self.a.get(f"{self.base}/balance", token=self.lr).json
        for e in b["entries"]:
            self.assertEqual(sum(cents(v) for v in e["legs"].values()), 0, e)
        return b

    def test_kill_during_the_provider_call(self):
        k = uuid.uuid4().hex
        PROVIDER.delay = 3.0
        before = PROVIDER.created()
        got = {}

        def ask():
            try:
                got["r"] = self.a.post(f"{self.base}/deposits", {"amount": "42.00"},
                                       token=self.lr, headers={"Idempotency-Key": k})
            except OSError as e:  # the connection dies with authd
                got["error"] = e
        t = threading.Thread(target=ask)
        t.start()
        deadline = time.monotonic() + 10
        while not any(x.get("amount") == "42.00" for x in PROVIDER.arrived):
            self.assertLess(time.monotonic(), deadline, "the provider was never asked")
            time.sleep(0.02)
        self.restart()  # mid-call: the provider answers a dead authd
        t.join()
        self.assertNotIn("r", got)
        PROVIDER.delay = 0
        # Asked again with its key: the same payment, one checkout.
        r = self.a.post(f"{self.base}/deposits", {"amount": "42.00"}, token=self.lr,
                        headers={"Idempotency-Key": k})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(PROVIDER.created(), before + 1)
        pid = r.json["id"]
        self.assertEqual(PROVIDER.webhook(self.a, pid).status, 200)
        # Killed right after the webhook's answer: paid once, and stays so.
        self.restart()
        self.assertEqual(PROVIDER.webhook(self.a, pid).json, {"status": "paid"})
        b = self.balance()
        self.assertEqual((b["balance"], len(b["entries"])), ("42.00", 1))
        r = self.a.post(f"{self.base}/deposits", {"amount": "42.00"}, token=self.lr,
                        headers={"Idempotency-Key": k})
        self.assertEqual((r.status, r.json["id"], r.json["status"]), (200, pid, "paid"))

    def test_kill_under_balance_payments(self):
        r = self.a.post(f"{self.base}/deposits", {"amount": "9999.00"}, token=self.lr,
                        headers={"Idempotency-Key": uuid.uuid4().hex})
        self.assertEqual(PROVIDER.webhook(self.a, r.json["id"]).status, 200)
        ids = [self.a.post(f"{self.base}/orders",
                           {"product": {"kind": "domain", "name": f"d{i}.ch"}, "months": 1},
                           token=self.lr).json["id"] for i in range(60)]
        acked = {}
        stop = threading.Event()

        def pay(iid):
            if stop.is_set():
                return
            try:
                r = self.a.post(f"{self.base}/payments", {"invoices": [iid]}, token=self.lr,
                                headers={"Idempotency-Key": iid})
                if r.status == 201 and r.json["status"] == "paid":
                    acked[iid] = r.json["id"]
            except OSError:
                pass  # in flight when authd died: either way is right
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(pay, i) for i in ids]
            while len(acked) < 10:
                time.sleep(0.005)
            self.a.kill9()
            stop.set()
            for f in futures:
                f.result()
        self.a.start()
        self.lr = self.a.session(self.email)
        paid = {}
        for iid in ids:
            inv = self.a.get(f"{self.base}/invoices/{iid}", token=self.lr).json
            if inv["status"] == "paid":
                paid[iid] = inv["payment_id"]
        # Every acknowledged payment is there, as acknowledged.
        for iid, pid in acked.items():
            self.assertEqual(paid.get(iid), pid, iid)
        # And the balance is the deposit less what was paid, exactly once.
        b = self.balance()
        self.assertEqual(cents(b["balance"]), 999900 - 162 * len(paid))
        pays = [e for e in self.a.get(f"{self.base}/balance", token=self.lr).json["entries"]
                if e["kind"] == "pay"]
        self.assertLessEqual(len(pays), 20)  # the balance shows the 20 latest
        # The rest can still be paid, each once, with the same keys.
        for iid in ids:
            if iid not in paid:
                r = self.a.post(f"{self.base}/payments", {"invoices": [iid]}, token=self.lr,
                                headers={"Idempotency-Key": iid})
                self.assertEqual((r.status, r.json["status"]), (201, "paid"), r)
        b = self.balance()
        self.assertEqual(cents(b["balance"]), 999900 - 162 * len(ids))


if __name__ == "__main__":
    unittest.main()
