"""The outbox: every email authd sends is queued in the commit of the change
that caused it and delivered through a real SMTP server on loopback
(aiosmtpd), or into the spool folder when none is configured. A server that
is down gets retries with backoff (the test clock moves them); a kill -9
between queueing and delivery loses nothing and sends nothing twice; a
clean restart sends nothing again; on PostgreSQL two nodes delivering one
outbox send each message once. Security notices name what happened, when
and from where, and never a secret."""

import glob
import os
import time
import unittest
import uuid

from authd_harness import ENGINE, Authd, OwnAuthd, remember_secret
from phone_harness import Phone
from smtp_harness import SmtpServer

PASSWORD = "correct horse battery"
SCRAPER = "metrics-" + uuid.uuid4().hex + uuid.uuid4().hex
remember_secret(SCRAPER)
NEW_PASSWORD = "a brand new phrase here"


def email():
    return f"o{uuid.uuid4().hex[:12]}@example.com"


def change_password(a, e, current=PASSWORD, new=NEW_PASSWORD):
    remember_secret(new)
    tok = a.session(e, current)
    r = a.put("/1/me/password", {"current_password": current, "new_password": new}, token=tok)
    assert r.status == 204, r
    return tok


def smtp_config(smtp, extra=""):
    return (f"[smtp]\nurl = {smtp.url()}\nfrom = Example Console <security@example.com>\n"
            f"[outbox]\npoll_ms = 100\n{extra}")


def read(path):
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def stats(a):
    return a.get("/1/_test/stats").json["outbox"]


def wait_until(cond, timeout=10):
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


class Smtp(OwnAuthd, unittest.TestCase):
    SMTP = SmtpServer().start()
    authd_config = smtp_config(SMTP)

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.SMTP.stop()

    def test_password_change_notice(self):
        e = email()
        self.a.signup(e)
        change_password(self.a, e)
        [m] = self.SMTP.wait_for(e)
        self.assertEqual(m["subject"], "Your password was changed")
        self.assertEqual(m["from"], "security@example.com")
        self.assertEqual(str(m["msg"]["From"]), "Example Console <security@example.com>")
        self.assertEqual(str(m["msg"]["To"]), e)
        self.assertRegex(m["message_id"], r"^<[0-9a-f]{32}@authd>$")
        self.assertEqual(m["msg"]["Auto-Submitted"], "auto-generated")
        self.assertIn(e, m["body"])
        self.assertIn(self.a.source_ip, m["body"])
        self.assertRegex(m["body"], r"When: +\d{4}-\d\d-\d\d \d\d:\d\d UTC")
        self.assertIn("Forgot password", m["body"])
        # No secret: neither password, nor anything but the notice.
        self.assertNotIn(PASSWORD.encode(), m["raw"])
        self.assertNotIn(NEW_PASSWORD.encode(), m["raw"])
        time.sleep(0.3)
        self.assertEqual(len(self.SMTP.to(e)), 1)

    def test_device_linked_and_removed_notices(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        offer = self.a.post("/1/me/devices", token=tok).json
        phone = Phone()
        ws, linked = phone.link(self.a.port, offer["link_uri"])
        self.assertEqual(linked["type"], "linked")
        [m] = self.SMTP.wait_for(e)
        self.assertEqual(m["subject"], "A device was linked to your account")
        self.assertNotIn(offer["link_uri"].encode(), m["raw"])
        self.assertEqual(self.a.delete(f"/1/me/devices/{offer['id']}", token=tok).status, 204)
        msgs = self.SMTP.wait_for(e, 2)
        self.assertEqual([x["subject"] for x in msgs],
                         ["A device was linked to your account",
                          "A device was removed from your account"])
        ws.close()

    def test_new_place_notice(self):
        e = email()
        self.a.signup(e)
        firefox = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                                 "Firefox/128.0"}

        def login(ip, cookie=None):
            h = dict(firefox)
            if cookie:
                h["Cookie"] = cookie
            r = self.a.post("/1/login", {"email": e, "password": PASSWORD}, headers=h,
                            source_ip=ip)
            self.assertEqual(r.status, 200, r)
            return r.set_cookie("__Host-authd_device").split(";")[0]

        # The first sign-in has nothing to compare with: no notice.
        cookie = login("127.61.1.2")
        time.sleep(0.5)
        self.assertEqual(self.SMTP.to(e), [])
        # The same browser (its cookie) on the same network: known.
        login("127.61.1.3", cookie)
        # Another browser (no cookie) on that network: a notice.
        login("127.61.1.4")
        [m] = self.SMTP.wait_for(e)
        self.assertEqual(m["subject"], "New sign-in to your account")
        self.assertIn("127.61.1.4", m["body"])
        self.assertIn("Firefox 128 on Linux", m["body"])
        self.assertIn("If it was not you", m["body"])
        self.assertNotIn(PASSWORD.encode(), m["raw"])
        self.assertNotIn(cookie.split("=", 1)[1].encode(), m["raw"])
        # The known browser on a new network: a notice; then it is known.
        login("127.62.9.9", cookie)
        self.assertEqual(len(self.SMTP.wait_for(e, 2)), 2)
        self.assertIn("127.62.9.9", self.SMTP.to(e)[1]["body"])
        login("127.62.9.10", cookie)
        time.sleep(0.5)
        self.assertEqual(len(self.SMTP.to(e)), 2)
        # A wrong password from anywhere tells nothing.
        r = self.a.post("/1/login", {"email": e, "password": "not the password"},
                        source_ip="127.63.1.1")
        self.assertEqual(r.status, 401)
        time.sleep(0.5)
        self.assertEqual(len(self.SMTP.to(e)), 2)

    def test_no_notice_without_a_change(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        wrong = self.a.put("/1/me/password", {"current_password": "not the password",
                                              "new_password": NEW_PASSWORD}, token=tok)
        self.assertEqual(wrong.status, 403, wrong)
        time.sleep(0.5)
        self.assertEqual(self.SMTP.to(e), [])


class Spool(OwnAuthd, unittest.TestCase):
    """Nothing configured: each message is a file in <data_dir>/spool."""

    def test_message_is_a_file(self):
        e = email()
        self.a.signup(e)
        change_password(self.a, e)
        spool = os.path.join(self.a.data_dir, "spool")
        self.assertTrue(wait_until(lambda: glob.glob(spool + "/*.eml")))
        files = [f for f in glob.glob(spool + "/*.eml") if e in read(f)]
        self.assertEqual(len(files), 1)
        self.assertEqual(os.stat(files[0]).st_mode & 0o777, 0o600)
        text = read(files[0])
        self.assertIn("Subject: Your password was changed\r\n", text)
        self.assertIn(f"To: {e}\r\n", text)
        self.assertNotIn(NEW_PASSWORD, text)
        self.assertEqual(glob.glob(spool + "/*.tmp"), [])


class Retries(unittest.TestCase):
    """A mail server that is down: retried with backoff, delivered once it
    is back; kill -9 and clean restarts send each message once."""

    def setUp(self):
        self.smtp = SmtpServer()  # not listening yet
        self.a = Authd(name="OutboxRetries",
                       config=smtp_config(self.smtp, f"[services]\nmetrics_credential = {SCRAPER}\n"))
        self.a.start()

    def tearDown(self):
        rc = self.a.stop()
        reports = self.a.sanitizer_reports()
        self.a.cleanup()
        self.smtp.stop()
        self.assertEqual(rc, 0)
        self.assertEqual(reports, [])

    def test_down_then_back_delivers_once(self):
        e = email()
        self.a.signup(e)
        change_password(self.a, e)
        self.assertTrue(wait_until(lambda: stats(self.a)["retried"] >= 1))
        # Waiting out its backoff: pending, and not yet late.
        m = self.a.metrics(SCRAPER)
        self.assertEqual(m[("authd_outbox_pending", ())], 1)
        self.assertEqual(m[("authd_outbox_oldest_due_seconds", ())], 0)
        self.smtp.start()
        time.sleep(0.5)
        self.assertEqual(self.smtp.to(e), [])  # waits for its backoff (10 s)
        self.a.advance(11)
        self.assertEqual(len(self.smtp.wait_for(e)), 1)
        # Counted once its outcome is settled (a write after the send).
        self.assertTrue(wait_until(lambda: stats(self.a)["delivered"] == 1))
        self.assertEqual(self.a.metrics(SCRAPER)[("authd_outbox_pending", ())], 0)
        # Nothing more comes, however long.
        self.a.advance(3600)
        time.sleep(0.5)
        self.assertEqual(len(self.smtp.to(e)), 1)

    def test_kill9_loses_nothing_and_sends_nothing_twice(self):
        people = [email() for _ in range(5)]
        for e in people:
            self.a.signup(e)
            change_password(self.a, e)
        self.assertTrue(wait_until(lambda: stats(self.a)["retried"] >= 1))
        self.a.kill9()
        self.smtp.start()
        self.a.start()
        # Claimed before the kill: due again when its lease ends (2 min).
        self.a.advance(121)
        for e in people:
            self.assertEqual(len(self.smtp.wait_for(e)), 1, e)
        # A clean restart, and hours later: nothing is sent again.
        self.assertEqual(self.a.stop(), 0)
        self.a.start()
        self.a.advance(7200)
        time.sleep(1)
        for e in people:
            self.assertEqual(len(self.smtp.to(e)), 1, e)
        ids = [m["message_id"] for e in people for m in self.smtp.to(e)]
        self.assertEqual(len(set(ids)), 5)


@unittest.skipUnless(ENGINE == "postgresql", "several nodes share PostgreSQL only")
class TwoNodes(unittest.TestCase):
    """Two nodes on one database, one mail server: every message once."""

    def test_each_message_once(self):
        from cluster import UNLIMITED_SIGNUP, Cluster
        # Slow to accept: while one node sends its claim, the other claims.
        smtp = SmtpServer(delay=0.02)
        c = Cluster(2, config=UNLIMITED_SIGNUP + smtp_config(smtp))
        try:
            c.start()
            people = [email() for _ in range(40)]
            for i, e in enumerate(people):
                node = c.nodes[i % 2]
                node.signup(e)
                change_password(node, e)
                change_password(node, e, NEW_PASSWORD, PASSWORD)
            # Both nodes tried while the server was down; then both claim
            # the backlog at once: for each person two password notices
            # and one new sign-in (the second login, from a browser that
            # showed no cookie), 120 messages.
            self.assertTrue(wait_until(
                lambda: all(stats(n)["retried"] >= 1 for n in c.nodes)))
            smtp.start()
            c.advance(3600)
            for e in people:
                self.assertEqual(len(smtp.wait_for(e, 3)), 3, e)
            time.sleep(1)
            for e in people:
                self.assertEqual(sorted(m["subject"] for m in smtp.to(e)),
                                 ["New sign-in to your account", "Your password was changed",
                                  "Your password was changed"], e)
            ids = [m["message_id"] for m in smtp.messages]
            self.assertEqual(len(ids), 120)
            self.assertEqual(len(set(ids)), 120)
            self.assertTrue(wait_until(lambda: sum(stats(n)["delivered"] for n in c.nodes) == 120))
            delivered = [stats(n)["delivered"] for n in c.nodes]
            self.assertTrue(all(d > 0 for d in delivered), delivered)
        finally:
            reports = c.stop()
            c.cleanup()
            smtp.stop()
        self.assertEqual(reports, [])


if __name__ == "__main__":
    unittest.main()
