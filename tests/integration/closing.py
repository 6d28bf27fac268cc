"""Closing an account: asked with the current password after a recent
sign-in, confirmed by a link emailed to the login address (24 hours,
single use); then the account and everything filed under it are gone on
both engines, its sessions end, the email is free again, and the address
is told."""

import re
import time
import unittest
import uuid
from urllib.parse import parse_qs, urlparse

from authd_harness import OwnAuthd, remember_secret, totp
from smtp_harness import SmtpServer

PASSWORD = "correct horse battery"
PUBLIC = "https://console.example.test"
SMTP = SmtpServer().start()


def email():
    return f"x{uuid.uuid4().hex[:12]}@example.com"


class Closing(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def link(self, address):
        deadline = time.monotonic() + 10
        m = []
        while not m and time.monotonic() < deadline:
            m = [x for x in SMTP.to(address) if x["subject"] == "Confirm closing your account"]
            time.sleep(0.02)
        self.assertTrue(m, [x["subject"] for x in SMTP.to(address)])
        url = re.search(r"(https?://\S+)", m[-1]["body"]).group(1)
        self.assertTrue(url.startswith(PUBLIC + "/account/close?token="), url)
        token = parse_qs(urlparse(url).query)["token"][0]
        remember_secret(token)
        return token

    def test_close_by_link(self):
        e = email()
        self.a.signup(e)
        tok, other = self.a.session(e), self.a.session(e)
        secret, codes, tok = self.a.enable_totp(tok)
        # Its own organization (nobody else in it) goes, with its tokens.
        org = self.a.get("/1/organizations", token=tok).json["organizations"][0]["id"]
        r = self.a.post(f"/1/organizations/{org}/tokens",
                        {"name": "ci", "scopes": ["organizations:read"]}, token=tok)
        self.assertEqual(r.status, 201, r)
        remember_secret(r.json["token"])
        org_token = r.json["token"]
        self.assertEqual(self.a.get(f"/1/organizations/{org}/members", token=org_token).status,
                         200)
        r = self.a.post("/1/me/close", {"password": "not the password"}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "wrong_password"))
        r = self.a.post("/1/me/close", {"password": PASSWORD}, token=tok)
        self.assertEqual((r.status, r.json["sent_to"]), (202, e), r)
        token = self.link(e)
        # Nothing changes before the link comes back.
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        r = self.a.post("/1/account/close", {"token": token})
        self.assertEqual((r.status, r.json), (200, {"closed": True}))
        # Gone: its sessions, its sign-in, its second factor; the email is
        # free for a new account, and the link was used.
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)
        r = self.a.get(f"/1/organizations/{org}/members", token=org_token)
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"))
        self.assertEqual(self.a.login(e).status, 401)
        self.assertEqual(self.a.post("/1/account/close", {"token": token}).json["code"],
                         "code_expired")
        self.a.signup(e)
        r = self.a.login(e)
        self.assertEqual((r.status, r.json["state"]), (200, "done"))  # no TOTP any more
        deadline = time.monotonic() + 10
        while ("Your account was closed" not in [m["subject"] for m in SMTP.to(e)] and
               time.monotonic() < deadline):
            time.sleep(0.02)
        self.assertIn("Your account was closed", [m["subject"] for m in SMTP.to(e)])

    def test_needs_a_recent_sign_in(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        self.a.advance(600)
        r = self.a.post("/1/me/close", {"password": PASSWORD}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        self.assertEqual(self.a.post("/1/me/close", {"password": PASSWORD}).status, 401)

    def test_link_expires_after_24_hours(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        self.assertEqual(self.a.post("/1/me/close", {"password": PASSWORD}, token=tok).status,
                         202)
        token = self.link(e)
        self.a.advance(86400)
        r = self.a.post("/1/account/close", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (410, "code_expired"))
        self.assertEqual(self.a.login(e).status, 200)

    def test_bad_input(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        for body, status, code in (({}, 400, "missing_field"), ({"token": 5}, 400, "invalid_field"),
                                   ({"token": "abc"}, 410, "code_expired"),
                                   ({"token": "abc", "x": 1}, 400, "unknown_field")):
            r = self.a.post("/1/account/close", body)
            self.assertEqual((r.status, r.json["code"]), (status, code), body)
        r = self.a.post("/1/me/close", {"password": PASSWORD, "now": True}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (400, "unknown_field"))
        self.assertEqual(self.a.login(e).status, 200)


if __name__ == "__main__":
    unittest.main()
