"""SMS as a second factor: a verified mobile number turned on (with the 10
backup codes when it is the account's first factor) and off after a recent
sign-in; POST /1/login/sms sends a code for a pending login (through a local
SMS gateway) and checks it: single use, bound to its login, dying with it,
wrong codes counted with the account's other second factors, at most 3
sends per login, daily quotas per account and per number prefix (the test
clock moves the day); bad input refused with nothing changed."""

import re
import time
import unittest
import uuid

from authd_harness import OwnAuthd, random_loopback, remember_secret, totp
from sms_harness import SmsReceiver
from smtp_harness import SmtpServer

PASSWORD = "correct horse battery"
SMS = SmsReceiver()
SMTP = SmtpServer().start()


def email():
    return f"s{uuid.uuid4().hex[:12]}@example.com"


def phone(prefix=None):
    """A number of a random 5-digit prefix (each has its own daily quota),
    or of the given one."""
    digits = lambda n: "".join(str(b % 10) for b in uuid.uuid4().bytes[:n])  # noqa: E731
    prefix = prefix or "+" + str(uuid.uuid4().int % 9 + 1) + digits(4)
    return prefix + digits(7)


def code_in(text, digits):
    m = re.search(r"\b(\d{%d})\b" % digits, text)
    assert m, text
    remember_secret(m.group(1))
    return m.group(1)


class SmsFactor(OwnAuthd, unittest.TestCase):
    authd_config = (f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
                    f"[sms]\nurl = {SMS.url()}\naccount_daily_max = 6\n"
                    f"prefix_daily_max = 8\n"
                    f"[outbox]\npoll_ms = 50\n")

    def setUp(self):
        self.ip = random_loopback()  # this test's client address (per-IP delays)

    def account(self, number=None):
        """An account with a verified number (not yet a factor): (email,
        session, number)."""
        e, number = email(), number or phone()
        self.a.signup(e)
        tok = self.a.session(e)
        self.set_phone(tok, number)
        return e, tok, number

    def set_phone(self, tok, number):
        n = len(SMS.to(number))
        r = self.a.put("/1/me/recovery/phone", {"phone": number, "password": PASSWORD}, token=tok)
        self.assertEqual(r.status, 202, r)
        msg = SMS.wait_for(number, n + 1)[n]
        r = self.a.post("/1/me/recovery/verify", {"code": code_in(msg["text"], 8)}, token=tok)
        self.assertEqual(r.status, 200, r)

    def sms_on(self, tok):
        r = self.a.put("/1/me/2fa/sms", token=tok)
        self.assertEqual(r.status, 200, r)
        for c in r.json.get("backup_codes", []):
            remember_secret(c)
        return r.json

    def login(self, e):
        r = self.a.post("/1/login", {"email": e, "password": PASSWORD}, source_ip=self.ip)
        for k in ("session", "login_id"):
            if r.json and r.json.get(k):
                remember_secret(r.json[k])
        return r

    def pending(self, e):
        r = self.login(e)
        self.assertEqual((r.status, r.json["state"]), (200, "second_factor"), r)
        return r.json

    def send(self, login_id):
        return self.a.post("/1/login/sms", {"login_id": login_id}, source_ip=self.ip)

    def check(self, login_id, code, path="/1/login/sms"):
        return self.a.post(path, {"login_id": login_id, "code": code}, source_ip=self.ip)

    def sent_code(self, number, n):
        """The code of the nth message to number (waits for it)."""
        return code_in(SMS.wait_for(number, n)[n - 1]["text"], 6)

    def test_on_then_sign_in_with_a_code(self):
        e, tok, number = self.account()
        on = self.sms_on(tok)
        self.assertTrue(on["enabled"])
        self.assertNotIn(number, on["phone"])  # masked
        self.assertTrue(on["phone"].endswith(number[-2:]))
        # The first factor of the account: the backup codes come with it, once.
        self.assertEqual(len(on["backup_codes"]), 10)
        again = self.sms_on(tok)
        self.assertNotIn("backup_codes", again)
        self.assertEqual(again["enabled_at"], on["enabled_at"])
        self.assertTrue(self.a.get("/1/me/recovery", token=tok).json["sms_factor"])
        # The owner is told by email.
        subject = "Text-message codes now sign in to your account"
        deadline = time.monotonic() + 10
        while subject not in [m["subject"] for m in SMTP.to(e)] and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(subject, [m["subject"] for m in SMTP.to(e)])
        # A login asks the second factor and offers SMS (not TOTP).
        p = self.pending(e)
        self.assertEqual(p["methods"], ["sms", "backup_code"])
        n = len(SMS.to(number))
        r = self.send(p["login_id"])
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json["sends_left"], 2)
        self.assertEqual(r.json["sent_to"], on["phone"])
        code = self.sent_code(number, n + 1)
        self.assertIn("sign-in code", SMS.to(number)[-1]["text"])
        r = self.check(p["login_id"], code)
        self.assertEqual((r.status, r.json["state"]), (200, "done"), r)
        remember_secret(r.json["session"])
        me = self.a.get("/1/me", token=r.json["session"]).json
        self.assertEqual(me["session"]["aal"], 2)
        # Used once: the login is over, and the code with it.
        r = self.check(p["login_id"], code)
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))
        # The activity names the method.
        act = self.a.get("/1/me/activity", token=tok).json["activity"]
        self.assertIn(("sms", "success"), [(x.get("method"), x.get("outcome")) for x in act])

    def test_code_bound_to_its_login_and_latest_only(self):
        e, tok, number = self.account()
        self.sms_on(tok)
        a, b = self.pending(e), self.pending(e)
        n = len(SMS.to(number))
        self.assertEqual(self.send(a["login_id"]).status, 202)
        first = self.sent_code(number, n + 1)
        # Another login's code is not this one's.
        r = self.check(b["login_id"], first)
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))
        # A resend: the first code dies, the latest works.
        self.assertEqual(self.send(a["login_id"]).status, 202)
        second = self.sent_code(number, n + 2)
        if second != first:
            r = self.check(a["login_id"], first)
            self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))
        r = self.check(a["login_id"], second)
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_three_sends_per_login_and_expiry(self):
        e, tok, number = self.account()
        self.sms_on(tok)
        p = self.pending(e)
        n = len(SMS.to(number))
        for left in (2, 1, 0):
            r = self.send(p["login_id"])
            self.assertEqual((r.status, r.json["sends_left"]), (202, left), r)
        r = self.send(p["login_id"])
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_messages"), r)
        self.assertGreater(int(r.header("Retry-After")), 0)
        code = self.sent_code(number, n + 3)
        self.assertEqual(len(SMS.to(number)), n + 3)
        # The code dies with its login (5 minutes).
        self.a.advance(301)
        r = self.check(p["login_id"], code)
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))
        r = self.send(p["login_id"])
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))

    def test_wrong_codes_count_with_the_other_factors(self):
        e, tok, number = self.account()
        self.sms_on(tok)
        p = self.pending(e)
        n = len(SMS.to(number))
        self.assertEqual(self.send(p["login_id"]).status, 202)
        code = self.sent_code(number, n + 1)
        wrong = "000000" if code != "000000" else "111111"
        for i in range(4):
            r = self.check(p["login_id"], wrong)
            self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"), (i, r))
        # Past the free failures the account's second factors wait, the
        # right code included, and no code is sent meanwhile (another
        # login's neither: the failures are the account's).
        r = self.check(p["login_id"], code)
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_attempts"), r)
        wait = int(r.header("Retry-After"))
        q = self.pending(e)
        r = self.send(q["login_id"])
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_attempts"), r)
        self.assertGreater(int(r.header("Retry-After")), 0)
        self.a.advance(wait)
        r = self.check(p["login_id"], code)
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_daily_quotas(self):
        # The account's quota of sign-in codes (6 a day here; the
        # verification code counted apart).
        e, tok, number = self.account()
        self.sms_on(tok)
        sent = 0
        while sent < 6:
            p = self.pending(e)
            self.assertEqual(self.send(p["login_id"]).status, 202)
            sent += 1
        p = self.pending(e)
        r = self.send(p["login_id"])
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_messages"), r)
        wait = int(r.header("Retry-After"))
        self.assertTrue(0 < wait <= 86400, wait)
        # A new UTC day renews it.
        self.a.advance(wait)
        p = self.pending(e)
        self.assertEqual(self.send(p["login_id"]).status, 202)
        # The prefix's quota (8 a day here) counts every account's messages
        # to numbers that begin alike: other accounts' numbers reach it; a number elsewhere does not.
        prefix = phone()[:6]
        others = []
        for _ in range(4):
            others.append(self.account(phone(prefix))[:2])  # one message each
        for oe, otok in others:
            self.sms_on(otok)
        for oe, _ in others[:4]:
            self.assertEqual(self.send(self.pending(oe)["login_id"]).status, 202)
        oe = others[0][0]
        r = self.send(self.pending(oe)["login_id"])
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_messages"), r)
        # Recovery codes to that prefix stay within it too: no message, the
        # same answer.
        before = len(SMS.messages)
        r = self.a.post("/1/recovery/password", {"login": oe}, source_ip=random_loopback())
        self.assertEqual(r.status, 202)
        e2, tok2, n2 = self.account()
        self.assertEqual(len(SMS.to(n2)), 1)
        self.assertEqual([m for m in SMS.messages[before:] if m["body"]["to"].startswith(prefix)
                          and "reset code" in m["body"]["text"]], [])

    def test_off_and_method_not_enabled(self):
        e, tok, number = self.account()
        # Not on: no code is sent.
        totp_secret, codes, tok = self.a.enable_totp(tok)
        self.a.advance(30)  # the code that confirmed TOTP is used
        p = self.pending(e)
        self.assertNotIn("sms", p["methods"])
        r = self.send(p["login_id"])
        self.assertEqual((r.status, r.json["code"]), (400, "method_not_enabled"))
        r = self.check(p["login_id"], "123456")
        self.assertEqual((r.status, r.json["code"]), (400, "method_not_enabled"))
        # The login goes on with TOTP.
        r = self.check(p["login_id"], totp(totp_secret, self.a.now()), "/1/login/totp")
        self.assertEqual(r.status, 200, r)
        tok = r.json["session"]
        remember_secret(tok)
        # With TOTP on, SMS is one more method: no new backup codes.
        on = self.sms_on(tok)
        self.assertNotIn("backup_codes", on)
        self.assertEqual(self.pending(e)["methods"], ["totp", "sms", "backup_code"])
        # Off: after a recent sign-in only.
        self.a.advance(600)
        r = self.a.delete("/1/me/2fa/sms", token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        p = self.pending(e)
        r = self.check(p["login_id"], codes[0], "/1/login/backup-code")
        self.assertEqual(r.status, 200, r)
        tok = r.json["session"]
        remember_secret(tok)
        self.assertEqual(self.a.delete("/1/me/2fa/sms", token=tok).status, 204)
        self.assertFalse(self.a.get("/1/me/recovery", token=tok).json["sms_factor"])
        self.assertNotIn("sms", self.pending(e)["methods"])
        self.assertEqual(self.a.delete("/1/me/2fa/sms", token=tok).status, 204)  # idempotent

    def test_removing_the_number_turns_it_off(self):
        e, tok, number = self.account()
        self.sms_on(tok)
        r = self.a.delete("/1/me/recovery/phone", {"password": PASSWORD}, token=tok)
        self.assertEqual(r.status, 204, r)
        # 2FA was SMS alone: a login is done with the password again, and
        # the backup codes went with it.
        self.assertEqual(self.login(e).json["state"], "done")
        self.set_phone(tok, number)
        self.assertEqual(len(self.sms_on(tok)["backup_codes"]), 10)  # a fresh set
        subject = "Text-message codes no longer sign in to your account"
        deadline = time.monotonic() + 10
        while subject not in [m["subject"] for m in SMTP.to(e)] and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn(subject, [m["subject"] for m in SMTP.to(e)])

    def test_needs_a_verified_number_and_a_recent_sign_in(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        r = self.a.put("/1/me/2fa/sms", token=tok)
        self.assertEqual((r.status, r.json["code"]), (409, "phone_not_verified"))
        # A number waiting for its code is not verified.
        r = self.a.put("/1/me/recovery/phone", {"phone": phone(), "password": PASSWORD},
                       token=tok)
        self.assertEqual(r.status, 202)
        r = self.a.put("/1/me/2fa/sms", token=tok)
        self.assertEqual((r.status, r.json["code"]), (409, "phone_not_verified"))
        e2, tok2, _ = self.account()
        self.a.advance(600)  # past the reauth window, within the idle timeout
        r = self.a.put("/1/me/2fa/sms", token=tok2)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        self.assertEqual(self.a.put("/1/me/2fa/sms").status, 401)

    def test_turning_it_on_ends_other_sessions(self):
        e, tok, number = self.account()
        other = self.a.session(e)
        self.sms_on(tok)
        self.assertEqual(self.a.get("/1/me", token=other).status, 401)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)

    def test_a_reset_asks_a_backup_code(self):
        # The reset's own code goes to the number SMS signs in with: it is
        # not asked twice; a backup code stands in for it.
        e, tok, number = self.account()
        codes = self.sms_on(tok)["backup_codes"]
        n = len(SMS.to(number))
        r = self.a.post("/1/recovery/password", {"login": e}, source_ip=random_loopback())
        self.assertEqual(r.status, 202)
        reset = code_in(SMS.wait_for(number, n + 1)[n]["text"], 8)
        r = self.a.post("/1/recovery/password/verify", {"login": e, "code": reset},
                        source_ip=random_loopback())
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["second_factor"], r.json["second_factor_required"]),
                         (["backup_code"], True))
        grant = r.json["reset_token"]
        remember_secret(grant)
        new = "another long passphrase"
        remember_secret(new)
        r = self.a.post("/1/recovery/password/reset", {"reset_token": grant, "new_password": new},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["code"]), (400, "second_factor_required"))
        r = self.a.post("/1/recovery/password/reset", {"reset_token": grant, "new_password": new,
                                                       "backup_code": codes[0]},
                        source_ip=random_loopback())
        self.assertEqual(r.status, 204, r)

    def test_bad_input(self):
        e, tok, number = self.account()
        self.sms_on(tok)
        p = self.pending(e)
        n = len(SMS.messages)
        for body, code in (
                ({}, "missing_field"),
                ({"login_id": 5}, "invalid_field"),
                ({"login_id": p["login_id"], "code": 123456}, "invalid_field"),
                ({"login_id": p["login_id"], "extra": 1}, "unknown_field"),
                ({"login_id": p["login_id"], "code": "x" * 65}, "invalid_field"),
        ):
            r = self.a.post("/1/login/sms", body, source_ip=self.ip)
            self.assertEqual((r.status, r.json["code"]), (400, code), (body, r))
        r = self.a.post("/1/login/sms", raw=b"{not json", headers={
            "Content-Type": "application/json"})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_json"))
        r = self.a.post("/1/login/sms", {"login_id": "not-a-login"}, source_ip=self.ip)
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))
        r = self.a.put("/1/me/2fa/sms", {"phone": "+41790000000"}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (400, "unknown_field"))
        self.assertEqual(len(SMS.messages), n)  # nothing was sent
        # Malformed codes count as wrong ones.
        r = self.check(p["login_id"], "12ab56")
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))


if __name__ == "__main__":
    unittest.main()
