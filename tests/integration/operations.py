"""Running authd: readiness beside liveness, and the Prometheus metrics,
read with Prometheus' own text-format parser (Debian's
python3-prometheus-client), which must take the whole exposition."""

import secrets
import unittest

from prometheus_client.parser import text_string_to_metric_families

from authd_harness import OwnAuthd, remember_secret, shared
from phone_harness import answer, new_linked_phone, next_of

SCRAPER = "metrics-" + secrets.token_hex(20)
remember_secret(SCRAPER)


def email():
    return f"ops-{secrets.token_hex(6)}@example.com"


class Ready(unittest.TestCase):
    def test_ready_reads_the_store(self):
        a = shared()
        r = a.get("/1/ready")
        self.assertEqual((r.status, r.json), (200, {"status": "ready"}))
        self.assertEqual(a.get("/ready").status, 200)  # unversioned, as every route
        self.assertEqual(a.get("/1/health").json["status"], "ok")


class Metrics(OwnAuthd, unittest.TestCase):
    authd_config = f"[services]\nmetrics_credential = {SCRAPER}\n"

    def scrape(self, credential=SCRAPER):
        return self.a.request("GET", "/metrics", headers={"Authorization": "Bearer " + credential})

    def samples(self):
        r = self.scrape()
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.header("Content-Type").startswith("text/plain; version=0.0.4"))
        out = {}
        for fam in text_string_to_metric_families(r.body.decode()):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    @staticmethod
    def value(samples, name, **labels):
        return samples.get((name, tuple(sorted(labels.items()))), 0)

    def test_only_the_scraper(self):
        self.assertEqual(self.a.get("/metrics").status, 401)
        self.assertEqual(self.scrape("metrics-" + "0" * 40).status, 401)
        e = email()
        self.a.signup(e)
        # A session is not the scraper's credential either.
        self.assertEqual(self.a.get("/metrics", token=self.a.session(e)).status, 401)
        self.assertNotIn(SCRAPER, self.a.log_text())

    def test_requests_logins_and_the_store_counted(self):
        before = self.samples()
        e = email()
        self.a.signup(e)
        for _ in range(3):
            self.assertEqual(self.a.login(e).status, 200)
        self.assertEqual(self.a.login(e, password="not the password at all").status, 401)
        self.assertEqual(self.a.get("/1/no/such/route").status, 404)
        self.assertEqual(self.a.get("/login").status, 200)
        after = self.samples()

        def grew(name, **labels):
            return self.value(after, name, **labels) - self.value(before, name, **labels)

        req = "authd_http_requests_total"
        self.assertEqual(grew(req, route="login", method="POST", status="200"), 3)
        self.assertEqual(grew(req, route="login", method="POST", status="401"), 1)
        self.assertEqual(grew(req, route="accounts", method="POST", status="201"), 1)
        self.assertEqual(grew(req, route="unmatched", method="any", status="404"), 1)
        self.assertEqual(grew(req, route="page", method="GET", status="200"), 1)
        self.assertEqual(grew("authd_auth_total", method="password", outcome="success"), 3)
        self.assertEqual(grew("authd_auth_total", method="password", outcome="failure"), 1)
        self.assertGreater(grew("authd_store_commits_total"), 0)
        # The login route's histogram: cumulative buckets, +Inf the count,
        # and a sum of real time (argon2id takes milliseconds).
        h = "authd_http_request_duration_seconds"
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                         if k[0] == h + "_bucket" and dict(k[1])["route"] == "login")
        self.assertEqual(buckets[-1][0], float("inf"))
        self.assertEqual([v for _, v in buckets], sorted(v for _, v in buckets))
        self.assertEqual(buckets[-1][1], self.value(after, h + "_count", route="login", method="POST"))
        self.assertEqual(grew(h + "_count", route="login", method="POST"), 4)
        self.assertGreater(grew(h + "_sum", route="login", method="POST"), 0.004)

    def test_push_counted(self):
        before = self.samples()
        e = email()
        phone, ws = new_linked_phone(self.a, e)
        login = self.a.login(e).json["login_id"]
        number = self.a.post("/1/login/push", {"login_id": login}).json["number"]
        result = answer(phone, ws, next_of(ws, "challenge"), "approve", number)
        self.assertEqual(result["result"], "accepted")
        r = self.a.post("/1/login/wait", {"login_id": login})
        self.assertEqual(r.json["state"], "approved")
        remember_secret(r.json["session"])
        ws.close()
        after = self.samples()

        def grew(**labels):
            return (self.value(after, "authd_auth_total", **labels)
                    - self.value(before, "authd_auth_total", **labels))

        self.assertEqual(grew(method="push", outcome="sent"), 1)
        self.assertEqual(grew(method="push_answer", outcome="approved"), 1)
        self.assertEqual(grew(method="push", outcome="success"), 1)


if __name__ == "__main__":
    unittest.main()
