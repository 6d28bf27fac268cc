"""Running authd: readiness beside liveness, and the Prometheus metrics,
read with Prometheus' own text-format parser (Debian's
python3-prometheus-client), which must take the whole exposition."""

import glob
import json
import os
import secrets
import signal
import tempfile
import time
import unittest

from authd_harness import OwnAuthd, random_loopback, remember_secret, shared
from phone_harness import answer, new_linked_phone, next_of

SCRAPER = "metrics-" + secrets.token_hex(20)
remember_secret(SCRAPER)


def email():
    return f"ops-{secrets.token_hex(6)}@example.com"


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def hup(a, config):
    """Writes a's config file anew, sends SIGHUP and waits for the reload's
    last line (it logs that line once everything else is done)."""
    def done():
        text = a.log_text()
        return text.count("configuration reloaded") + text.count("reload refused")
    before = done()
    a.write_config(config)
    a.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: done() > before), a.log_tail()
    return a.log_text()


def wait_until(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


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
        return self.a.metrics(SCRAPER)

    @staticmethod
    def value(samples, name, **labels):
        return value(samples, name, **labels)

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

    def test_refusals_and_throttle_hits_counted(self):
        before = self.samples()
        e = email()
        self.a.signup(e)
        r = self.a.request("POST", "/1/login", raw=b'{"email": ')
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_json"))
        codes = []
        while codes.count(429) < 3:
            codes.append(self.a.login(e, password="not the password at all").status)
            self.assertLess(len(codes), 50, codes)
        after = self.samples()

        def grew(name, **labels):
            return self.value(after, name, **labels) - self.value(before, name, **labels)

        self.assertEqual(grew("authd_refusals_total", code="invalid_json", status="400"), 1)
        self.assertEqual(grew("authd_refusals_total", code="invalid_credentials", status="401"),
                         codes.count(401))
        self.assertEqual(grew("authd_refusals_total", code="too_many_attempts", status="429"), 3)
        self.assertEqual(grew("authd_throttle_hits_total", code="too_many_attempts"), 3)
        self.assertEqual(set(codes), {401, 429})

    def test_push_counted(self):
        before = self.samples()
        self.assertEqual(self.value(before, "authd_device_channels"), 0)
        e = email()
        phone, ws = new_linked_phone(self.a, e)
        self.assertEqual(self.value(self.samples(), "authd_device_channels"), 1)
        login = self.a.login(e).json["login_id"]
        number = self.a.post("/1/login/push", {"login_id": login}).json["number"]
        result = answer(phone, ws, next_of(ws, "challenge"), "approve", number)
        self.assertEqual(result["result"], "accepted")
        r = self.a.post("/1/login/wait", {"login_id": login})
        self.assertEqual(r.json["state"], "approved")
        remember_secret(r.json["session"])
        ws.close()
        after = self.samples()
        self.assertTrue(wait_until(
            lambda: self.value(self.samples(), "authd_device_channels") == 0))

        def grew(**labels):
            return (self.value(after, "authd_auth_total", **labels)
                    - self.value(before, "authd_auth_total", **labels))

        self.assertEqual(grew(method="push", outcome="sent"), 1)
        self.assertEqual(grew(method="push_answer", outcome="approved"), 1)
        self.assertEqual(grew(method="push", outcome="success"), 1)

    def test_push_expired_counted(self):
        before = self.samples()
        e = email()
        phone, ws = new_linked_phone(self.a, e)
        login = self.a.login(e).json["login_id"]
        self.a.post("/1/login/push", {"login_id": login})
        next_of(ws, "challenge")  # never answered
        self.a.advance(121)
        r = self.a.post("/1/login/wait", {"login_id": login})
        self.assertEqual(r.json["state"], "expired", r)
        # Asked again: still one push expired.
        self.assertEqual(self.a.post("/1/login/wait", {"login_id": login}).json["state"],
                         "expired")
        ws.close()
        grew = (self.value(self.samples(), "authd_auth_total", method="push", outcome="expired")
                - self.value(before, "authd_auth_total", method="push", outcome="expired"))
        self.assertEqual(grew, 1)


class JsonLogs(OwnAuthd, unittest.TestCase):
    """[log] format = json: one object a line, fields from the words; and
    refusals limited per subject and interval, every one still counted."""
    authd_config = (f"[services]\nmetrics_credential = {SCRAPER}\n"
                    "[log]\nformat = json\nrefusal_burst = 3\nrefusal_interval_s = 3600\n")

    def lines(self):
        out = []
        for line in self.a.log_text().splitlines():
            if line.startswith("==") or not line.strip():
                continue  # a sanitizer's report is not ours
            out.append(json.loads(line))  # every line is one JSON object
        return out

    def test_every_line_is_an_object(self):
        e = email()
        self.a.signup(e)
        r = self.a.login(e)
        self.assertEqual(r.status, 200)
        lines = self.lines()
        self.assertTrue(all({"time", "level", "func", "msg", "node"} <= set(o) for o in lines))
        [ok] = [o for o in lines if o["msg"] == "auth" and o.get("outcome") == "success"
                and o.get("ip") == self.a.source_ip and o.get("req") == r.header("X-Request-Id")]
        self.assertEqual(ok["method"], "password")
        self.assertEqual(ok["level"], "info")

    def test_refusals_bounded_and_counted(self):
        e = email()
        self.a.signup(e)
        ip = random_loopback()
        before = self.a.metrics(SCRAPER)
        statuses = [self.a.post("/1/login", {"email": e, "password": "wrong guess " + str(i)},
                                source_ip=ip).status for i in range(200)]
        self.assertEqual(set(statuses), {401, 429})
        after = self.a.metrics(SCRAPER)
        refused = sum(after.get(k, 0) - before.get(k, 0) for k in after
                      if k[0] == "authd_refusals_total")
        self.assertEqual(refused, 200)  # every refusal counted...
        mine = [o for o in self.lines() if o.get("ip") == ip and o["msg"] == "auth"]
        self.assertEqual(len(mine), 3)  # ...the log has the first three
        # and, once the interval is over, one line with the rest's count. New
        # figures end the interval at once (the hour would be long to wait).
        hup(self.a, self.authd_config.replace("refusal_burst = 3", "refusal_burst = 4"))
        [s] = [o for o in self.lines()
               if o["msg"] == "refusals not logged" and o.get("subject") == ip]
        self.assertEqual((s["site"], s["count"], s["interval_s"]), ("log_auth", "197", "3600"))


TEMPLATES = tempfile.mkdtemp(prefix="authd-templates-")
RELOADABLE = (f"[signup]\nburst = 1\nper_hour = 0\n[session]\nidle_timeout = 1800\n"
              f"[outbox]\ntemplates = {TEMPLATES}\n")


def write_template(subject):
    os.makedirs(os.path.join(TEMPLATES, "en"), exist_ok=True)
    with open(os.path.join(TEMPLATES, "en", "password_changed.txt"), "w", encoding="utf-8") as f:
        f.write(f"Subject: {subject}\n\nYour password was changed ({{{{email}}}}).\n")


write_template("Version one")


class Reload(OwnAuthd, unittest.TestCase):
    """SIGHUP: what may change changes, what needs a restart is named and
    kept, and a file that does not load changes nothing."""
    authd_config = RELOADABLE

    def hup(self, config):
        return hup(self.a, config)

    def signup_from(self, ip):
        return self.a.post("/1/accounts", {"email": email(), "password": "correct horse battery",
                                           "name": "R"}, source_ip=ip).status

    def spooled(self, e):
        def found():
            return [f for f in glob.glob(os.path.join(self.a.data_dir, "spool", "*.eml"))
                    if e in open(f, encoding="utf-8", newline="").read()]
        self.assertTrue(wait_until(found))
        [f] = found()
        return open(f, encoding="utf-8", newline="").read()

    def change_password(self, e):
        tok = self.a.session(e)
        r = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                          "new_password": "another phrase entirely"}, token=tok)
        self.assertEqual(r.status, 204, r)

    def test_1_a_bad_file_changes_nothing(self):
        log = self.hup(RELOADABLE + "[log]\nformat = yaml\n")
        self.assertIn("reload refused, nothing changed: [log] format is text or json", log)
        self.assertEqual(self.a.get("/1/ready").status, 200)
        self.assertFalse(self.a.log_text().splitlines()[-1].startswith("{"))

    def test_2_figures_templates_and_format_change(self):
        ip = random_loopback()
        self.assertEqual([self.signup_from(ip) for _ in range(2)], [201, 429])
        e = email()
        self.a.signup(e)
        self.change_password(e)
        self.assertIn("Subject: Version one\r\n", self.spooled(e))

        write_template("Version two")
        log = self.hup(RELOADABLE.replace("burst = 1", "burst = 4").replace(
            "idle_timeout = 1800", "idle_timeout = 900") + "[log]\nformat = json\n")
        summary = [json.loads(x) for x in log.splitlines() if x.startswith("{")
                   and "configuration reloaded" in x]
        self.assertEqual(len(summary), 1, log[-2000:])
        self.assertEqual(summary[0]["msg"],
                         "configuration reloaded: 2 values changed: [log] format, [signup] burst")
        kept = [json.loads(x) for x in log.splitlines() if x.startswith("{")
                and "need a restart" in x]
        self.assertEqual(kept[0]["msg"],
                         "reload: these need a restart and were kept: [session] idle_timeout")
        # A new address gets the new burst; the templates are read again.
        ip = random_loopback()
        self.assertEqual([self.signup_from(ip) for _ in range(5)], [201] * 4 + [429])
        e = email()
        self.a.signup(e)
        self.change_password(e)
        self.assertIn("Subject: Version two\r\n", self.spooled(e))


if __name__ == "__main__":
    unittest.main()
