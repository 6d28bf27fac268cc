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


FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:128.0) Gecko/20100101 Firefox/128.0"


class OwnSessions(OwnAuthd, unittest.TestCase):
    """GET /1/me/sessions lists the account's sessions (the caller's own
    marked current, where and in what each began); DELETE
    /1/me/sessions/{id} ends one, DELETE /1/me/sessions every other one."""

    def login_from(self, e, ip, ua=None):
        r = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                        headers={"User-Agent": ua} if ua else None, source_ip=ip)
        self.assertEqual(r.status, 200, r)
        return r.json["session"]

    def test_list_and_end(self):
        e = email()
        self.a.signup(e)
        mine = self.login_from(e, "127.71.0.2", FIREFOX)
        other = self.login_from(e, "127.72.0.3", "curl/7.88.1")
        third = self.login_from(e, "127.73.0.4")
        r = self.a.get("/1/me/sessions", token=mine)
        self.assertEqual(r.status, 200, r)
        listed = r.json["sessions"]
        self.assertEqual(len(listed), 3)
        by_ip = {s["ip"]: s for s in listed}
        self.assertEqual(set(by_ip), {"127.71.0.2", "127.72.0.3", "127.73.0.4"})
        self.assertTrue(by_ip["127.71.0.2"]["current"])
        self.assertFalse(by_ip["127.72.0.3"]["current"])
        self.assertEqual(by_ip["127.71.0.2"]["browser"], "Firefox 128 on macOS")
        self.assertEqual(by_ip["127.72.0.3"]["browser"], "curl 7")
        self.assertEqual(by_ip["127.73.0.4"]["browser"], "unknown")
        self.assertEqual(by_ip["127.71.0.2"]["location"], "unknown")
        self.assertFalse(by_ip["127.71.0.2"]["second_factor"])
        for s in listed:
            self.assertRegex(s["id"], r"^[0-9a-f]{32}$")
            for k in ("created_at", "last_seen", "expires_at"):
                self.assertRegex(s[k], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            # The id is no credential and no part of the token.
            self.assertNotIn(s["id"], mine + other + third)
        # The list is the same from another session of the account.
        ids = {s["id"] for s in self.a.get("/1/me/sessions", token=other).json["sessions"]}
        self.assertEqual(ids, {s["id"] for s in listed})
        # Ending one: it stops working, the others go on.
        r = self.a.delete(f"/1/me/sessions/{by_ip['127.72.0.3']['id']}", token=mine)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.a.get("/1/me", token=other).status, 401)
        self.assertEqual(self.a.get("/1/me", token=third).status, 200)
        again = self.a.delete(f"/1/me/sessions/{by_ip['127.72.0.3']['id']}", token=mine)
        self.assertEqual((again.status, again.json["code"]), (404, "session_not_found"))
        for bad in ("0" * 32, "zz" * 16, "abc", "0" * 33):
            r = self.a.delete(f"/1/me/sessions/{bad}", token=mine)
            self.assertEqual((r.status, r.json["code"]), (404, "session_not_found"), bad)
        # Another account cannot end this one's session, nor see it.
        stranger = email()
        self.a.signup(stranger)
        stok = self.a.session(stranger)
        r = self.a.delete(f"/1/me/sessions/{by_ip['127.73.0.4']['id']}", token=stok)
        self.assertEqual(r.status, 404)
        self.assertEqual(len(self.a.get("/1/me/sessions", token=stok).json["sessions"]), 1)
        self.assertEqual(self.a.get("/1/me", token=third).status, 200)
        # Every other one: the caller's own stays.
        fourth = self.login_from(e, "127.74.0.5")
        r = self.a.delete("/1/me/sessions", token=mine)
        self.assertEqual((r.status, r.json), (200, {"ended": 2}))
        self.assertEqual(self.a.get("/1/me", token=third).status, 401)
        self.assertEqual(self.a.get("/1/me", token=fourth).status, 401)
        left = self.a.get("/1/me/sessions", token=mine).json["sessions"]
        self.assertEqual([s["current"] for s in left], [True])
        # Ending the current one is a logout.
        r = self.a.delete(f"/1/me/sessions/{left[0]['id']}", token=mine)
        self.assertEqual(r.status, 204)
        self.assertEqual(self.a.get("/1/me", token=mine).status, 401)

    def test_needs_a_session(self):
        self.assertEqual(self.a.get("/1/me/sessions").status, 401)
        self.assertEqual(self.a.delete("/1/me/sessions").status, 401)
        self.assertEqual(self.a.delete("/1/me/sessions/" + "0" * 32).status, 401)

    def test_expired_sessions_are_not_listed(self):
        e = email()
        self.a.signup(e)
        old = self.a.session(e)
        self.a.advance(20 * 60)
        new = self.a.session(e)
        self.a.advance(11 * 60)  # old: idle 31 min; new: 11 min
        listed = self.a.get("/1/me/sessions", token=new).json["sessions"]
        self.assertEqual(len(listed), 1)
        self.assertTrue(listed[0]["current"])
        self.assertEqual(self.a.get("/1/me", token=old).status, 401)
