"""Login end to end as a login page does it: password, then TOTP or a
backup code when 2FA is on; sessions as Bearer tokens and __Host- cookies."""

import base64
import datetime
import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret, shared, totp


def email():
    return f"l{uuid.uuid4().hex[:12]}@example.com"


def step_time(step):
    """The server time a pending login started: its expiry minus 300 s."""
    t = datetime.datetime.strptime(step["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) - 300


class PasswordLogin(unittest.TestCase):
    def setUp(self):
        self.a = shared()

    def test_login_without_2fa_gives_session(self):
        e = email()
        account = self.a.signup(e)
        r = self.a.login(e)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["state"], "done")
        # base64url of the account id and 256 random bits
        raw = base64.urlsafe_b64decode(r.json["session"] + "=" * (-len(r.json["session"]) % 4))
        self.assertEqual(len(r.json["session"]), 64)
        self.assertEqual((len(raw), raw[:16].hex()), (48, account["account_id"]))
        self.assertRegex(r.json["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        cookie = r.set_cookie()
        self.assertTrue(cookie.startswith("__Host-authd_session=" + r.json["session"]))
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"]:
            self.assertIn(attr, cookie)
        self.assertNotIn("Domain", cookie)
        self.assertEqual(r.header("Cache-Control"), "no-store")

    def test_each_login_gets_a_new_session(self):
        e = email()
        self.a.signup(e)
        seen = {self.a.session(e) for _ in range(5)}
        self.assertEqual(len(seen), 5)

    def test_wrong_password_and_unknown_email_look_the_same(self):
        e = email()
        self.a.signup(e)
        wrong = self.a.login(e, "not the password")
        unknown = self.a.login(email(), "not the password")
        self.assertEqual(wrong.status, 401)
        self.assertEqual(unknown.status, 401)
        self.assertEqual(wrong.body, unknown.body)
        self.assertEqual(wrong.json["code"], "invalid_credentials")

    def test_version_less_path_is_latest(self):
        e = email()
        self.a.signup(e)
        r = self.a.post("/login", {"email": e, "password": "correct horse battery"})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        self.assertEqual(self.a.get("/health").status, 200)
        self.assertEqual(self.a.get("/2/health").json["code"], "unsupported_version")


class SecondFactor(OwnAuthd, unittest.TestCase):
    def setUp(self):
        self.e = email()
        self.a.signup(self.e)
        tok = self.a.session(self.e)
        self.secret, self.codes, _ = self.a.enable_totp(tok)

    def start(self):
        r = self.a.login(self.e)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["state"], "second_factor")
        self.assertNotIn("session", r.json)
        self.assertIsNone(r.set_cookie())
        return r.json

    def test_totp_completes_login(self):
        step = self.start()
        self.assertEqual(step["methods"], ["totp", "backup_code"])
        # The step after the one confirmation used: a fresh code.
        now = self.a.advance(30)
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["state"], "done")
        remember_secret(r.json["session"])
        me = self.a.get("/1/me", token=r.json["session"])
        self.assertEqual(me.json["session"]["aal"], 2)
        self.assertTrue(me.json["two_factor"]["totp"])
        self.assertEqual(me.json["two_factor"]["backup_codes_remaining"], 10)
        # The login id is spent.
        again = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        self.assertEqual(again.json["code"], "login_expired")

    def test_deprecated_path_form_still_works(self):
        # One release of grace for the old form; it says it is deprecated
        # and names its successor.
        step = self.start()
        now = self.a.advance(30)
        r = self.a.post(f"/1/login/{step['login_id']}/totp", {"code": totp(self.secret, now)})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        self.assertEqual(r.header("Deprecation"), "@1796515200")
        self.assertEqual(r.header("Link"), '</1/login/totp>; rel="successor-version"')
        step = self.start()
        r = self.a.post(f"/1/login/{step['login_id']}/backup-code", {"code": self.codes[3]})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        self.assertIn("backup-code", r.header("Link"))
        # The new form says nothing of the kind.
        step = self.start()
        r = self.a.post("/1/login/backup-code", {"login_id": step["login_id"],
                                                 "code": self.codes[4]})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        self.assertIsNone(r.header("Deprecation"))

    def test_wrong_code_then_right_code(self):
        step = self.start()
        now = self.a.advance(30)
        good = totp(self.secret, now)
        bad = "000000" if good != "000000" else "111111"
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": bad})
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": good})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_skew_window(self):
        # RFC 6238 5.2: one step either side; two steps is refused.
        now = self.a.advance(300)
        for offset, ok in [(-60, False), (-30, True)]:
            step = self.start()
            r = self.a.post("/1/login/totp",
                            {"login_id": step['login_id'], "code": totp(self.secret, now + offset)})
            self.assertEqual(r.status == 200, ok, (offset, r))
            if r.status == 200:
                remember_secret(r.json["session"])
        now = self.a.advance(300)
        step = self.start()
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now + 30)})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        # T+1 was accepted, so T (earlier) is refused as a replay.
        step = self.start()
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        self.assertEqual(r.json["code"], "code_reused")

    def test_backup_codes_each_once_any_order(self):
        used = []
        for code in reversed(self.codes[:4]):
            step = self.start()
            r = self.a.post("/1/login/backup-code", {"login_id": step['login_id'], "code": code.upper()})
            self.assertEqual(r.status, 200, r)
            remember_secret(r.json["session"])
            used.append(code)
            self.assertEqual(r.json["backup_codes_remaining"], 10 - len(used))
        step = self.start()
        r = self.a.post("/1/login/backup-code", {"login_id": step['login_id'], "code": used[0]})
        self.assertEqual((r.status, r.json["code"]), (401, "code_reused"))
        r = self.a.post("/1/login/backup-code", {"login_id": step['login_id'], "code": "0000-0000-0000-0000"})
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))
        # Dashes and spaces are optional.
        r = self.a.post("/1/login/backup-code",
                        {"login_id": step['login_id'], "code": self.codes[5].replace("-", " ")})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_regenerate_kills_old_set(self):
        now = self.a.advance(30)
        step = self.start()
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        tok = r.json["session"]
        remember_secret(tok)
        g = self.a.post("/1/me/2fa/backup-codes", token=tok)
        self.assertEqual(g.status, 200, g)
        new = g.json["backup_codes"]
        for c in new:
            remember_secret(c)
        self.assertEqual(len(new), 10)
        self.assertEqual(len(set(new)), 10)
        self.assertFalse(set(new) & set(self.codes))
        step = self.start()
        r = self.a.post("/1/login/backup-code", {"login_id": step['login_id'], "code": self.codes[9]})
        self.assertEqual(r.json["code"], "invalid_code")
        r = self.a.post("/1/login/backup-code", {"login_id": step['login_id'], "code": new[9]})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_regenerate_needs_recent_second_factor(self):
        now = self.a.advance(30)
        step = self.start()
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        tok = r.json["session"]
        remember_secret(tok)
        self.a.advance(6 * 60)  # past the 5-minute window, within the idle timeout
        g = self.a.post("/1/me/2fa/backup-codes", token=tok)
        self.assertEqual((g.status, g.json["code"]), (403, "reauth_required"))

    def test_pending_login_expires(self):
        step = self.start()
        now = self.a.advance(5 * 60 + 1)
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))

    def test_five_wrong_codes_end_the_login(self):
        # Five wrong codes kill the pending login well before it expires
        # (it lives 300 s; the waits here add up to about 15 s).
        step = self.start()
        now = self.a.advance(30)
        wrong = 0
        while wrong < 5:
            good = totp(self.secret, now)
            bad = f"{(int(good) + 1) % 1000000:06d}"
            r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": bad})
            if r.status == 429:
                now = self.a.advance(int(r.header("Retry-After")))
                continue
            self.assertEqual(r.json["code"], "invalid_code", r)
            wrong += 1
        self.assertLess(now - step_time(step), 300)
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        self.assertEqual(r.json["code"], "login_expired", r)
        # A new login still works once the delay has passed.
        now = self.a.advance(60)
        step = self.start()
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_disable_totp_needs_valid_code(self):
        now = self.a.advance(30)
        step = self.start()
        r = self.a.post("/1/login/totp", {"login_id": step['login_id'], "code": totp(self.secret, now)})
        tok = r.json["session"]
        remember_secret(tok)
        d = self.a.delete("/1/me/2fa/totp", {"code": "123456" if totp(self.secret, now) != "123456" else "654321"}, token=tok)
        self.assertEqual((d.status, d.json["code"]), (401, "invalid_code"))
        now = self.a.advance(30)
        d = self.a.delete("/1/me/2fa/totp", {"code": totp(self.secret, now)}, token=tok)
        self.assertEqual(d.status, 204, d)
        r = self.a.login(self.e)
        self.assertEqual(r.json["state"], "done")
        remember_secret(r.json["session"])
        me = self.a.get("/1/me", token=tok).json
        self.assertEqual(me["two_factor"], {"totp": False, "backup_codes_remaining": 0})

    def test_disable_totp_with_backup_code(self):
        # Someone who lost the phone turns TOTP off with a backup code.
        step = self.start()
        r = self.a.post("/1/login/backup-code", {"login_id": step['login_id'], "code": self.codes[0]})
        tok = r.json["session"]
        remember_secret(tok)
        d = self.a.delete("/1/me/2fa/totp", {"code": self.codes[0]}, token=tok)
        self.assertEqual((d.status, d.json["code"]), (401, "code_reused"))
        d = self.a.delete("/1/me/2fa/totp", {"code": self.codes[1]}, token=tok)
        self.assertEqual(d.status, 204, d)
        self.assertEqual(self.a.login(self.e).json["state"], "done")


if __name__ == "__main__":
    unittest.main()
