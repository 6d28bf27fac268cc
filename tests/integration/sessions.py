"""Sessions: Bearer and cookie use, CSRF on cookie writes, logout kills the
session server-side, idle and absolute expiry (with the test clock), and a
password change ends every other session."""

import base64
import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret, totp


def email():
    return f"s{uuid.uuid4().hex[:12]}@example.com"


class Sessions(OwnAuthd, unittest.TestCase):
    def test_logout_kills_session(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        other = self.a.session(e)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        r = self.a.post("/1/logout", token=tok)
        self.assertEqual(r.status, 204, r)
        self.assertIn("Max-Age=0", r.set_cookie())
        me = self.a.get("/1/me", token=tok)
        self.assertEqual((me.status, me.json["code"]), (401, "unauthenticated"))
        self.assertEqual(self.a.get("/1/me", token=other).status, 200)

    def test_missing_or_malformed_token(self):
        for auth in [None, "Bearer ", "Bearer abc", "Bearer " + "A" * 43, "Basic Zm9vOmJhcg==",
                     "Bearer " + "A" * 64, "Bearer " + "A" * 65, "Bearer " + "A" * 63 + "="]:
            with self.subTest(auth=auth):
                h = {"Authorization": auth} if auth else {}
                r = self.a.get("/1/me", headers=h)
                self.assertEqual(r.status, 401, r)
                self.assertEqual(r.json["code"], "unauthenticated")

    def test_token_is_bound_to_its_account(self):
        # A token carries its account id; the same secret under another
        # account's id is a different token and opens nothing.
        e1, e2 = email(), email()
        self.a.signup(e1)
        other = self.a.signup(e2)
        tok = self.a.session(e1)
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        forged = bytes.fromhex(other["account_id"]) + raw[16:]
        forged_tok = base64.urlsafe_b64encode(forged).decode().rstrip("=")
        self.assertEqual(self.a.get("/1/me", token=forged_tok).status, 401)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)

    def test_password_change_ends_pending_logins(self):
        # Whoever knew the old password and waits at the second step is out.
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        secret, _, tok = self.a.enable_totp(tok)
        pending = self.a.login(e)
        self.assertEqual(pending.json["state"], "second_factor", pending)
        remember_secret("another brand new phrase")
        ok = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                           "new_password": "another brand new phrase"}, token=tok)
        self.assertEqual(ok.status, 204, ok)
        self.a.advance(30)  # a fresh code: the one used to enrol is spent
        r = self.a.post("/1/login/totp",
                        {"login_id": pending.json['login_id'], "code": totp(secret, self.a.now())})
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))

    def test_cookie_session_and_csrf(self):
        e = email()
        self.a.signup(e)
        r = self.a.login(e)
        cookie = r.set_cookie().split(";")[0]
        csrf = r.json["csrf_token"]
        me = self.a.get("/1/me", headers={"Cookie": "other=1; " + cookie})
        self.assertEqual(me.status, 200, me)
        # A write with only the cookie is refused (CSRF); with the token it works.
        no = self.a.post("/1/me/2fa/totp", headers={"Cookie": cookie})
        self.assertEqual((no.status, no.json["code"]), (403, "csrf_failed"))
        bad = self.a.post("/1/me/2fa/totp", headers={"Cookie": cookie, "X-CSRF-Token": "0" * 64})
        self.assertEqual(bad.status, 403)
        ok = self.a.post("/1/me/2fa/totp", headers={"Cookie": cookie, "X-CSRF-Token": csrf})
        self.assertEqual(ok.status, 200, ok)
        remember_secret(ok.json["secret"])

    def test_idle_timeout(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        self.a.advance(29 * 60)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)  # activity resets idle
        self.a.advance(29 * 60)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        self.a.advance(30 * 60 + 1)
        r = self.a.get("/1/me", token=tok)
        self.assertEqual((r.status, r.json["code"]), (401, "session_expired"))

    def test_absolute_timeout(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        for _ in range(28):  # active every 25 minutes for 11 h 40 min
            self.a.advance(25 * 60)
            self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        self.a.advance(20 * 60)  # 12 h since login, idle only 20 min
        r = self.a.get("/1/me", token=tok)
        self.assertEqual((r.status, r.json["code"]), (401, "session_expired"))

    def test_password_change(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        other = self.a.session(e)
        wrong = self.a.put("/1/me/password", {"current_password": "not it at all",
                                              "new_password": "a brand new phrase"}, token=tok)
        self.assertEqual((wrong.status, wrong.json["code"]), (403, "wrong_password"))
        weak = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                             "new_password": "password1"}, token=tok)
        self.assertEqual((weak.status, weak.json["code"]), (400, "password_blocklisted"))
        missing = self.a.put("/1/me/password", {"new_password": "a brand new phrase"}, token=tok)
        self.assertEqual((missing.status, missing.json["code"]), (400, "missing_field"))
        remember_secret("a brand new phrase")
        ok = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                           "new_password": "a brand new phrase"}, token=tok)
        self.assertEqual(ok.status, 204, ok)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        self.assertEqual(self.a.get("/1/me", token=other).status, 401)
        self.assertEqual(self.a.login(e).status, 401)
        self.assertEqual(self.a.login(e, "a brand new phrase").status, 200)




class RevokedDuringHash(OwnAuthd, unittest.TestCase):
    """The policy is asked again inside the write: a session ended while the
    argon2id hashes of a password change run changes nothing. The cost is
    raised so that the hashes take long enough for the logout to land."""

    authd_config = "[password]\nargon2_memory_kib = 65536\nargon2_iterations = 6\n"

    def test_logout_while_password_change_hashes(self):
        import threading
        import time

        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        remember_secret("a brand new passphrase")
        result = {}

        def change():
            result["r"] = self.a.put("/1/me/password",
                                     {"current_password": "correct horse battery",
                                      "new_password": "a brand new passphrase"}, token=tok)

        t = threading.Thread(target=change)
        t0 = time.monotonic()
        t.start()
        time.sleep(0.05)
        self.assertEqual(self.a.post("/1/logout", token=tok).status, 204)
        t.join()
        took = time.monotonic() - t0
        r = result["r"]
        self.assertEqual((r.status, r.json["code"]), (401, "unauthenticated"), r)
        self.assertGreater(took, 0.1, "the hashes were too fast to test the race")
        # The password did not change.
        self.assertEqual(self.a.login(e).json["state"], "done")
        self.assertEqual(self.a.login(e, "a brand new passphrase").status, 401)

class FailedPasswordChangeWrite(OwnAuthd, unittest.TestCase):
    """A password change whose write fails after it decided (a test hook
    fails the commit) answers 503, changes nothing, and its audit line says
    so: the line is written once the outcome is known, never before."""

    def test_audit_line_follows_the_write(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        remember_secret("another new passphrase")
        change = {"current_password": "correct horse battery",
                  "new_password": "another new passphrase"}
        self.assertEqual(self.a.post("/1/_test/fail_writes", {"count": 1}).status, 204)
        r = self.a.put("/1/me/password", change, token=tok)
        self.assertEqual((r.status, r.json["code"]), (503, "store_unavailable"), r)
        log = self.a.log_text()
        self.assertIn("password change outcome=error", log)
        self.assertNotIn("password change outcome=success", log)
        self.assertEqual(self.a.login(e).json["state"], "done")
        self.assertEqual(self.a.login(e, "another new passphrase").status, 401)
        # The hook failed one write only: the same change now goes through,
        # and its line says success.
        self.assertEqual(self.a.put("/1/me/password", change, token=tok).status, 204)
        self.assertIn("password change outcome=success", self.a.log_text())
        self.assertEqual(self.a.login(e, "another new passphrase").json["state"], "done")


if __name__ == "__main__":
    unittest.main()
