"""The account's own view, GET /1/me/activity: its sign-in steps (when,
from where, in what browser, how, how it went) and its security events,
newest first, a page at a time (limit, and the next page's cursor); bad
query parameters are refused with invalid_field; an account sees its own
activity only."""

import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret, totp

PASSWORD = "correct horse battery"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def email():
    return f"a{uuid.uuid4().hex[:12]}@example.com"


class Activity(OwnAuthd, unittest.TestCase):
    def login(self, e, password=PASSWORD, ip="127.81.0.2"):
        return self.a.post("/1/login", {"email": e, "password": password},
                           headers={"User-Agent": FIREFOX}, source_ip=ip)

    def activity(self, tok, query=""):
        r = self.a.get("/1/me/activity" + query, token=tok)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_sign_ins_and_events_newest_first(self):
        e = email()
        self.a.signup(e)
        self.assertEqual(self.login(e, "not the password", "127.81.0.9").status, 401)
        tok = self.login(e).json["session"]
        secret, codes, tok = self.a.enable_totp(tok)
        self.a.advance(30)
        step = self.login(e, ip="127.82.0.3").json
        self.assertEqual(step["state"], "second_factor")
        remember_secret(step["login_id"])
        bad = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": "000000"},
                          headers={"User-Agent": FIREFOX}, source_ip="127.82.0.3")
        self.assertEqual(bad.status, 401, bad)
        ok = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                           "code": totp(secret, self.a.now())},
                         headers={"User-Agent": FIREFOX}, source_ip="127.82.0.3")
        self.assertEqual(ok.status, 200, ok)
        items = self.activity(ok.json["session"])["activity"]
        seen = [(i["kind"], i.get("method"), i.get("outcome"), i.get("ip")) for i in items]
        self.assertEqual(seen, [
            ("login", "totp", "success", "127.82.0.3"),
            ("login", "totp", "failure", "127.82.0.3"),
            ("login", "password", "second_factor_required", "127.82.0.3"),
            ("totp_enabled", None, None, self.a.source_ip),
            ("login", "password", "success", "127.81.0.2"),
            ("login", "password", "failure", "127.81.0.9"),
        ])
        for i in items:
            self.assertRegex(i["at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(i["location"], "unknown")
            if i["kind"] == "login":
                self.assertEqual(i["browser"], "Firefox 128 on Linux")
        self.assertGreaterEqual(items[0]["at"], items[-1]["at"])
        # Nothing of a secret: no code, no token.
        text = str(items)
        for s in [PASSWORD, secret, tok, step["login_id"]] + codes:
            self.assertNotIn(s, text)

    def test_pages(self):
        e = email()
        self.a.signup(e)
        for i in range(7):
            self.assertEqual(self.login(e, ip=f"127.83.0.{i + 2}").status, 200)
        tok = self.login(e, ip="127.83.0.100").json["session"]
        first = self.activity(tok, "?limit=3")
        self.assertEqual(len(first["activity"]), 3)
        self.assertEqual(first["activity"][0]["ip"], "127.83.0.100")
        ips = [i["ip"] for i in first["activity"]]
        cursor = first["next"]
        pages = 1
        while cursor:
            page = self.activity(tok, f"?limit=3&before={cursor}")
            ips += [i["ip"] for i in page["activity"]]
            cursor = page["next"]
            pages += 1
        self.assertEqual(pages, 3)
        self.assertEqual(ips, ["127.83.0.100"] + [f"127.83.0.{i + 2}" for i in range(6, -1, -1)])
        whole = self.activity(tok)
        self.assertEqual(len(whole["activity"]), 8)
        self.assertIsNone(whole["next"])

    def test_bad_query(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        for q in ("?limit=0", "?limit=101", "?limit=abc", "?limit=-1", "?limit=1e3",
                  "?before=abc", "?before=12", "?before=_1", "?before=1_x", "?page=2",
                  "?limit=5&limit=6", "?before=" + "9" * 70):
            r = self.a.get("/1/me/activity" + q, token=tok)
            self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"), q)
        # A cursor of another time gives what is before it, nothing more.
        self.assertEqual(self.activity(tok, "?before=1_0")["activity"], [])

    def test_own_activity_only(self):
        e, other = email(), email()
        self.a.signup(e)
        self.a.signup(other)
        self.assertEqual(self.login(e, "wrong password here").status, 401)
        tok = self.a.session(other)
        kinds = [(i["kind"], i.get("outcome")) for i in self.activity(tok)["activity"]]
        self.assertEqual(kinds, [("login", "success")])
        self.assertEqual(self.a.get("/1/me/activity").status, 401)


if __name__ == "__main__":
    unittest.main()
