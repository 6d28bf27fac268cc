"""Recovery: an account's recovery email and mobile number, each verified by
a code (through a real SMTP server and a local SMS gateway), changes that
need the current password and a recent sign-in and tell the address they
replace; a forgotten password by SMS code (10 minutes) or email link (24
hours, on the configured public URL, never the Host header), single use,
stored hashed, throttled, answering alike whether the account exists, and
never bypassing the second factor; bad input refused with nothing changed."""

import re
import statistics
import time
import unittest
import uuid
from urllib.parse import parse_qs, urlparse

from authd_harness import OwnAuthd, random_loopback, remember_secret, totp
from sms_harness import SmsReceiver
from smtp_harness import SmtpServer

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a wholly new passphrase"
PUBLIC = "https://console.example.test"
SMS = SmsReceiver()
SMTP = SmtpServer().start()
SMS_AUTH = "Bearer sms-" + uuid.uuid4().hex


def email():
    return f"r{uuid.uuid4().hex[:12]}@example.com"


def phone():
    return "+4179" + "".join(str(b % 10) for b in uuid.uuid4().bytes[:7])


def code_in(text):
    m = re.search(r"\b(\d{8})\b", text)
    assert m, text
    remember_secret(m.group(1))
    return m.group(1)


class Recovery(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
                    f"[sms]\nurl = {SMS.url()}\nauthorization = {SMS_AUTH}\n"
                    f"[outbox]\npoll_ms = 100\n")

    @classmethod
    def setUpClass(cls):
        remember_secret(SMS_AUTH.split()[1])
        super().setUpClass()

    def account(self):
        e = email()
        self.a.signup(e)
        return e, self.a.session(e)

    def set_phone(self, tok, number):
        n = len(SMS.to(number))
        r = self.a.put("/1/me/recovery/phone", {"phone": number, "password": PASSWORD}, token=tok)
        self.assertEqual(r.status, 202, r)
        msg = SMS.wait_for(number, n + 1)[n]
        r = self.a.post("/1/me/recovery/verify", {"code": code_in(msg["text"])}, token=tok)
        self.assertEqual(r.status, 200, r)
        return r.json

    def set_email(self, tok, address):
        n = len(SMTP.to(address))
        r = self.a.put("/1/me/recovery/email", {"email": address, "password": PASSWORD},
                       token=tok)
        self.assertEqual(r.status, 202, r)
        m = SMTP.wait_for(address, n + 1)[n]
        self.assertEqual(m["subject"], "Your verification code")
        r = self.a.post("/1/me/recovery/verify", {"code": code_in(m["body"])}, token=tok)
        self.assertEqual(r.status, 200, r)
        return r.json

    def anon(self, path, body, **kw):
        """An unauthenticated recovery request, from an address of its own
        (each counts against its address: see test_address_limit)."""
        return self.a.post(path, body, source_ip=random_loopback(), **kw)

    def forgot(self, e, headers=None):
        r = self.anon("/1/recovery/password", {"login": e}, headers=headers)
        self.assertEqual(r.status, 202, r)
        return r

    def test_options_then_reset_by_sms_code(self):
        e, tok = self.account()
        number, backup = phone(), email()
        view = self.set_phone(tok, number)
        self.assertEqual(view["phone"], number)
        msg = SMS.to(number)[0]
        self.assertEqual(SMS.messages[-1]["headers"]["Authorization"], SMS_AUTH)
        self.assertEqual(set(msg), {"v", "id", "to", "text"})
        self.set_email(tok, backup)
        got = self.a.get("/1/me/recovery", token=tok).json
        self.assertEqual((got["email"], got["phone"], got["pending"]), (backup, number, None))
        # The owner is told of each change.
        subjects = [m["subject"] for m in SMTP.wait_for(e, 2)]
        self.assertIn("Your recovery phone number was changed", subjects)
        self.assertIn("Your recovery email was changed", subjects)
        other = self.a.session(e)
        self.forgot(e)
        sms = SMS.wait_for(number, 2)[1]
        code = code_in(sms["text"])
        self.assertIn("reset code", sms["text"])
        r = self.anon("/1/recovery/password/verify", {"login": e, "code": code})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["second_factor"], [])
        grant = r.json["reset_token"]
        remember_secret(grant)
        remember_secret(NEW_PASSWORD)
        # The code is used: once only (no code waiting reads as a wrong one).
        again = self.anon("/1/recovery/password/verify", {"login": e, "code": code})
        self.assertEqual((again.status, again.json["code"]), (401, "invalid_code"))
        r = self.anon("/1/recovery/password/reset", {"reset_token": grant,
                                                       "new_password": NEW_PASSWORD})
        self.assertEqual(r.status, 204, r)
        # The old password is out, and every session with it.
        self.assertEqual(self.a.login(e).status, 401)
        self.assertEqual(self.a.get("/1/me", token=other).status, 401)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)
        self.assertEqual(self.a.login(e, NEW_PASSWORD).status, 200)
        # The grant is used too.
        r = self.anon("/1/recovery/password/reset", {"reset_token": grant,
                                                       "new_password": "yet another phrase"})
        self.assertEqual((r.status, r.json["code"]), (410, "code_expired"))
        subjects = lambda: [m["subject"] for m in SMTP.to(e)]  # noqa: E731
        deadline = time.monotonic() + 10
        while "Your password was reset" not in subjects() and time.monotonic() < deadline:
            time.sleep(0.02)
        self.assertIn("Your password was reset", subjects())

    def test_reset_by_email_link_on_the_public_url(self):
        e, tok = self.account()
        backup = email()
        self.set_email(tok, backup)
        self.forgot(e, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
        m = SMTP.wait_for(backup, 2)[1]
        self.assertEqual(m["subject"], "Reset your password")
        link = re.search(r"(https?://\S+)", m["body"]).group(1)
        self.assertTrue(link.startswith(PUBLIC + "/recovery/reset?token="), link)
        self.assertNotIn("evil.example", m["body"])
        token = parse_qs(urlparse(link).query)["token"][0]
        remember_secret(token)
        self.assertGreaterEqual(len(token), 43)  # >= 256 bits
        # 24 hours: still good just before, gone after.
        self.a.advance(24 * 3600 - 5)
        r = self.anon("/1/recovery/password/verify", {"token": token})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["reset_token"])
        r2 = self.anon("/1/recovery/password/verify", {"token": token})
        self.assertEqual((r2.status, r2.json["code"]), (410, "code_expired"))
        # The grant lasts 15 minutes.
        self.a.advance(15 * 60)
        r3 = self.anon("/1/recovery/password/reset", {"reset_token": r.json["reset_token"],
                                                        "new_password": NEW_PASSWORD})
        self.assertEqual((r3.status, r3.json["code"]), (410, "code_expired"))
        self.assertEqual(self.a.login(e).status, 200)

    def test_link_expires_after_24_hours(self):
        e, tok = self.account()
        backup = email()
        self.set_email(tok, backup)
        self.forgot(e)
        m = SMTP.wait_for(backup, 2)[1]
        token = parse_qs(urlparse(re.search(r"(https?://\S+)", m["body"]).group(1)).query)
        token = token["token"][0]
        remember_secret(token)
        # A newer request replaces the link: the old one stops working.
        self.forgot(e)
        m = SMTP.wait_for(backup, 3)[2]
        newer = parse_qs(urlparse(re.search(r"(https?://\S+)", m["body"]).group(1)).query)
        newer = newer["token"][0]
        remember_secret(newer)
        r = self.anon("/1/recovery/password/verify", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (410, "code_expired"))
        self.a.advance(24 * 3600)
        r = self.anon("/1/recovery/password/verify", {"token": newer})
        self.assertEqual((r.status, r.json["code"]), (410, "code_expired"))

    def test_code_expires_after_10_minutes(self):
        e, tok = self.account()
        number = phone()
        self.set_phone(tok, number)
        self.forgot(e)
        code = code_in(SMS.wait_for(number, 2)[1]["text"])
        self.a.advance(600)
        r = self.anon("/1/recovery/password/verify", {"login": e, "code": code})
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))

    def test_wrong_codes_count_and_a_resend_does_not_reset_them(self):
        e, tok = self.account()
        number = phone()
        self.set_phone(tok, number)
        self.forgot(e)
        SMS.wait_for(number, 2)
        for i in range(4):
            r = self.anon("/1/recovery/password/verify", {"login": e, "code": "00000000"})
            self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"), i)
        self.forgot(e)  # a resend: a new code, the count stays
        code = code_in(SMS.wait_for(number, 3)[2]["text"])
        r = self.anon("/1/recovery/password/verify", {"login": e, "code": "00000001"})
        self.assertEqual(r.status, 401)
        r = self.anon("/1/recovery/password/verify", {"login": e, "code": code})
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_attempts"))
        self.assertIsNotNone(r.header("Retry-After"))

    def test_verify_answers_alike_for_every_login(self):
        with_code, _ = self.account()
        self.set_phone(self.a.session(with_code), phone())
        self.forgot(with_code)
        no_option, _ = self.account()
        unknown = email()
        for who in (with_code, no_option, unknown):
            got = [self.anon("/1/recovery/password/verify",
                               {"login": who, "code": f"0000000{i}"}) for i in range(6)]
            self.assertEqual([(r.status, r.json["code"]) for r in got],
                             [(401, "invalid_code")] * 5 + [(429, "too_many_attempts")], who)
            self.assertEqual(got[0].body, got[1].body)
        # An hour later (the sweeper's quiet time) as a day later: alike.
        self.a.advance(3700)
        for who in (with_code, no_option, unknown):
            r = self.anon("/1/recovery/password/verify", {"login": who, "code": "00000009"})
            self.assertEqual(r.status, 429, who)
        self.a.advance(24 * 3600)
        for who in (with_code, no_option, unknown):
            r = self.anon("/1/recovery/password/verify", {"login": who, "code": "00000009"})
            self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"), who)

    def test_sends_capped_per_hour(self):
        e, tok = self.account()
        number = phone()
        self.set_phone(tok, number)  # one send
        for _ in range(6):
            self.forgot(e)
        time.sleep(0.5)
        self.assertEqual(len(SMS.wait_for(number, 5)), 5)
        time.sleep(0.5)
        self.assertEqual(len(SMS.to(number)), 5)

    def test_second_factor_is_still_asked(self):
        e, tok = self.account()
        secret, codes, tok = self.a.enable_totp(tok)
        number = phone()
        self.set_phone(tok, number)
        self.forgot(e)
        code = code_in(SMS.wait_for(number, 2)[1]["text"])
        r = self.anon("/1/recovery/password/verify", {"login": e, "code": code})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["second_factor"], ["totp", "backup_code"])
        grant = r.json["reset_token"]
        remember_secret(grant)
        body = {"reset_token": grant, "new_password": NEW_PASSWORD}
        r = self.anon("/1/recovery/password/reset", body)
        self.assertEqual((r.status, r.json["code"]), (400, "second_factor_required"))
        r = self.anon("/1/recovery/password/reset", dict(body, code="000000"))
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))
        self.a.advance(30)
        r = self.anon("/1/recovery/password/reset", dict(body, code=totp(secret, self.a.now())))
        self.assertEqual(r.status, 204, r)
        step = self.a.login(e, NEW_PASSWORD)
        self.assertEqual(step.json["state"], "second_factor")

    def test_same_answer_whether_the_account_exists(self):
        e, tok = self.account()
        self.set_phone(tok, phone())
        known, unknown = [], []
        for i in range(30):
            for who, times in ((e, known), (f"nobody{i}-{uuid.uuid4().hex[:6]}@example.com",
                                            unknown)):
                t0 = time.perf_counter()
                r = self.anon("/1/recovery/password", {"login": who})
                times.append(time.perf_counter() - t0)
                self.assertEqual(r.status, 202)
                self.assertEqual(r.body, self.anon("/1/recovery/password",
                                                     {"login": "x" + who}).body)
        # One time class: medians within a factor of 3 (a write each).
        mk, mu = statistics.median(known), statistics.median(unknown)
        self.assertLess(max(mk, mu) / min(mk, mu), 3, (mk, mu))

    def test_changes_need_the_password_and_a_recent_sign_in(self):
        e, tok = self.account()
        number = phone()
        r = self.a.put("/1/me/recovery/phone", {"phone": number, "password": "not it at all"},
                       token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "wrong_password"))
        self.assertEqual(SMS.to(number), [])
        self.a.advance(6 * 60)
        self.a.get("/1/me", token=tok)  # keeps the session alive
        r = self.a.put("/1/me/recovery/phone", {"phone": number, "password": PASSWORD},
                       token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        fresh = self.a.session(e)
        self.set_phone(fresh, number)
        # A replaced number is told; removing needs the password too.
        second = phone()
        self.set_phone(fresh, second)
        old = SMS.wait_for(number, 2)
        self.assertIn("no longer the recovery number", old[1]["text"])
        r = self.a.delete("/1/me/recovery/phone", {"password": "not it at all"}, token=fresh)
        self.assertEqual(r.status, 403)
        r = self.a.delete("/1/me/recovery/phone", {"password": PASSWORD}, token=fresh)
        self.assertEqual(r.status, 204, r)
        self.assertIsNone(self.a.get("/1/me/recovery", token=fresh).json["phone"])

    def test_forgotten_login_goes_to_the_accounts_own_channels(self):
        e, tok = self.account()
        number, backup = phone(), email()
        self.set_phone(tok, number)
        # Without a recovery email: the number alone; the login comes by
        # SMS, never in the answer.
        r = self.anon("/1/recovery/login", {"phone": number})
        self.assertEqual(r.status, 202, r)
        self.assertNotIn(e, r.body.decode())
        sms = SMS.wait_for(number, 2)[1]
        self.assertIn(e, sms["text"])
        # With a recovery email, it must be named too; then both get it.
        self.set_email(tok, backup)
        n = len(SMS.to(number))
        for body in ({"phone": number}, {"phone": number, "email": "someone@else.example"}):
            r = self.anon("/1/recovery/login", body)
            self.assertEqual(r.status, 202)
        time.sleep(0.5)
        self.assertEqual(len(SMS.to(number)), n)
        r = self.anon("/1/recovery/login", {"phone": number, "email": backup})
        self.assertEqual(r.status, 202)
        self.assertIn(e, SMS.wait_for(number, n + 1)[n]["text"])
        m = [x for x in SMTP.wait_for(backup, 2) if x["subject"] == "Your login"]
        self.assertEqual(len(m), 1)
        self.assertIn(e, m[0]["body"])
        # A number nobody uses: the same answer.
        other = self.anon("/1/recovery/login", {"phone": phone()})
        self.assertEqual((other.status, other.body), (r.status, r.body))

    def test_login_email_change_by_link(self):
        e, tok = self.account()
        new = email()
        taken, _ = self.account()
        r = self.a.put("/1/me/email", {"email": taken, "password": PASSWORD}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (409, "email_taken"))
        r = self.a.put("/1/me/email", {"email": new.upper(), "password": PASSWORD}, token=tok)
        self.assertEqual(r.status, 202, r)
        self.assertEqual((r.json["pending"]["kind"], r.json["pending"]["to"]),
                         ("login_email", new))
        m = SMTP.wait_for(new)[0]
        self.assertEqual(m["subject"], "Confirm your new login email")
        link = re.search(r"(https?://\S+)", m["body"]).group(1)
        self.assertTrue(link.startswith(PUBLIC + "/email/verify?token="), link)
        token = parse_qs(urlparse(link).query)["token"][0]
        remember_secret(token)
        # Nothing changes before the link comes back.
        self.assertEqual(self.a.login(e).status, 200)
        r = self.a.post("/1/email/verify", {"token": token})
        self.assertEqual((r.status, r.json), (200, {"email": new}))
        # The old login stops working, the new one works with the same
        # password, and the session goes on.
        self.assertEqual(self.a.login(e).status, 401)
        self.assertEqual(self.a.login(new).status, 200)
        self.assertEqual(self.a.get("/1/me", token=tok).json["email"], new)
        told = [x for x in SMTP.wait_for(e, 1) if x["subject"] == "Your login email was changed"]
        deadline = time.monotonic() + 10
        while not told and time.monotonic() < deadline:
            time.sleep(0.05)
            told = [x for x in SMTP.to(e) if x["subject"] == "Your login email was changed"]
        self.assertEqual(len(told), 1)
        self.assertIn(new, told[0]["body"])
        # Once only.
        r = self.a.post("/1/email/verify", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (410, "code_expired"))
        # A link lasts 24 hours.
        other = email()
        fresh = self.a.session(new)
        self.assertEqual(self.a.put("/1/me/email", {"email": other, "password": PASSWORD},
                                    token=fresh).status, 202)
        token = parse_qs(urlparse(re.search(r"(https?://\S+)", SMTP.wait_for(other)[0]["body"])
                                  .group(1)).query)["token"][0]
        remember_secret(token)
        self.a.advance(24 * 3600)
        r = self.a.post("/1/email/verify", {"token": token})
        self.assertEqual((r.status, r.json["code"]), (410, "code_expired"))
        self.assertEqual(self.a.login(new).status, 200)

    def test_address_limit(self):
        # 20 requests of one address are free (and the 21st, which is the
        # 21st counted), then it waits (a scan of logins or numbers slows
        # to a crawl); other addresses do not.
        ip = random_loopback()
        for i in range(21):
            r = self.a.post("/1/recovery/password", {"login": email()}, source_ip=ip)
            self.assertEqual(r.status, 202, i)
        for path, body in (("/1/recovery/password", {"login": email()}),
                           ("/1/recovery/password/verify", {"login": email(), "code": "12345678"}),
                           ("/1/recovery/login", {"phone": phone()})):
            r = self.a.post(path, body, source_ip=ip)
            self.assertEqual((r.status, r.json["code"]), (429, "too_many_attempts"), path)
            self.assertGreaterEqual(int(r.header("Retry-After")), 1)
        self.assertEqual(self.anon("/1/recovery/password", {"login": email()}).status, 202)
        # Its own count: the address's logins are not delayed by it.
        e, _ = self.account()
        r = self.a.post("/1/login", {"email": e, "password": PASSWORD}, source_ip=ip)
        self.assertEqual(r.status, 200, r)

    def test_bad_input(self):
        e, tok = self.account()
        cases = [
            ("PUT", "/1/me/recovery/phone", {"phone": "0791234567", "password": PASSWORD},
             "invalid_phone"),
            ("PUT", "/1/me/recovery/phone", {"phone": "+41 79x", "password": PASSWORD},
             "invalid_phone"),
            ("PUT", "/1/me/recovery/email", {"email": "not an email", "password": PASSWORD},
             "invalid_email"),
            ("PUT", "/1/me/recovery/email", {"email": "a@b.example"}, "missing_field"),
            ("PUT", "/1/me/recovery/email", {"email": "a@b.example", "password": PASSWORD,
                                             "extra": 1}, "unknown_field"),
            ("POST", "/1/me/recovery/verify", {"code": "12"}, "invalid_code"),
            ("POST", "/1/me/recovery/verify", {"code": 12345678}, "invalid_field"),
            ("POST", "/1/recovery/password", {"login": 5}, "invalid_field"),
            ("POST", "/1/recovery/password", {}, "missing_field"),
            ("POST", "/1/recovery/password/verify", {"login": e}, "invalid_field"),
            ("POST", "/1/recovery/password/verify", {"token": "abc", "login": e, "code": "1"},
             "invalid_field"),
            ("POST", "/1/recovery/password/verify", {"token": "abc"}, "code_expired"),
            ("POST", "/1/recovery/password/reset", {"reset_token": "abc",
                                                    "new_password": NEW_PASSWORD},
             "code_expired"),
            ("POST", "/1/recovery/password/reset", {"reset_token": "x", "new_password": "y",
                                                    "code": "1", "backup_code": "2"},
             "invalid_field"),
            ("POST", "/1/recovery/login", {"phone": "12345"}, "invalid_phone"),
            ("POST", "/1/recovery/login", {"phone": "+41791234567", "email": "x"},
             "invalid_email"),
            ("POST", "/1/recovery/login", {"email": "a@b.example"}, "missing_field"),
            ("PUT", "/1/me/email", {"email": "nope", "password": PASSWORD}, "invalid_email"),
            ("POST", "/1/email/verify", {"token": "abc"}, "code_expired"),
            ("POST", "/1/email/verify", {}, "missing_field"),
        ]
        for method, path, body, want in cases:
            r = self.a.request(method, path, body, token=tok if "/me/" in path else None)
            self.assertEqual(r.json.get("code"), want, (method, path, body, r))
            self.assertTrue(400 <= r.status < 500, r)
        got = self.a.get("/1/me/recovery", token=tok).json
        self.assertEqual((got["email"], got["phone"], got["pending"]), (None, None, None))


MAIL_CREDENTIAL = "mail-" + uuid.uuid4().hex + uuid.uuid4().hex


class LoginEmailDeleted(OwnAuthd, unittest.TestCase):
    """The mail service reports a login's mailbox deleted: a recovery login
    identifier (initials and digits) takes the email's place and goes to
    the account's recovery number and email; the old email and password no
    longer sign in; the identifier and the unchanged password give a
    session that must set a new login email before anything else."""
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
                    f"[sms]\nurl = {SMS.url()}\n"
                    f"[services]\nmail_credential = {MAIL_CREDENTIAL}\n"
                    f"[outbox]\npoll_ms = 50\n")

    @classmethod
    def setUpClass(cls):
        remember_secret(MAIL_CREDENTIAL)
        super().setUpClass()

    account = Recovery.account
    set_phone = Recovery.set_phone
    set_email = Recovery.set_email
    anon = Recovery.anon

    def deleted(self, address, credential=MAIL_CREDENTIAL):
        return self.a.post("/1/service/login-email-deleted", {"email": address},
                           headers={"Authorization": "Bearer " + credential})

    def test_recovery_login_then_a_new_email(self):
        e, tok = self.account()
        number, backup = phone(), email()
        self.set_phone(tok, number)
        self.set_email(tok, backup)
        other = self.a.session(e)
        r = self.deleted(e.upper())
        self.assertEqual((r.status, r.json), (200, {"replaced": True, "told": ["sms", "email"]}))
        sms = SMS.wait_for(number, 2)[1]["text"]
        login = re.search(r"\b([A-Z]{1,3}-\d{8})\b", sms).group(1)
        self.assertTrue(login.startswith("TP-"), login)  # "Test Person"
        mail = SMTP.wait_for(backup, 2)[1]
        self.assertIn(login, mail["body"])
        self.assertIn(e, mail["body"])
        # The old email no longer signs in, and every session has ended.
        self.assertEqual(self.a.login(e).status, 401)
        for t in (tok, other):
            self.assertEqual(self.a.get("/1/me", token=t).status, 401)
        # The identifier (typed loosely) and the same password sign in (from
        # a new network: the notice goes to the recovery email, the login
        # email being gone)...
        r = self.a.post("/1/login", {"email": login.lower().replace("-", " "),
                                     "password": PASSWORD}, source_ip=random_loopback())
        self.assertEqual((r.status, r.json["state"]), (200, "done"), r)
        s = r.json["session"]
        remember_secret(s)
        self.assertEqual(self.a.get("/1/me", token=s).json["email"], login)
        deadline = time.monotonic() + 10
        while ("New sign-in to your account" not in [m["subject"] for m in SMTP.to(backup)]
               and time.monotonic() < deadline):
            time.sleep(0.02)
        self.assertIn("New sign-in to your account", [m["subject"] for m in SMTP.to(backup)])
        # ...to a session that must set a new login email first.
        for method, path, body in (("GET", "/1/me/sessions", None),
                                   ("GET", "/1/me/recovery", None),
                                   ("PUT", "/1/me/password", {"current_password": PASSWORD,
                                                              "new_password": NEW_PASSWORD}),
                                   ("POST", "/1/me/devices", None)):
            r = self.a.request(method, path, body, token=s)
            self.assertEqual((r.status, r.json["code"]), (403, "login_email_required"), path)
        new = email()
        r = self.a.put("/1/me/email", {"email": new, "password": PASSWORD}, token=s)
        self.assertEqual(r.status, 202, r)
        link = re.search(r"(https?://\S+)", SMTP.wait_for(new)[0]["body"]).group(1)
        token = parse_qs(urlparse(link).query)["token"][0]
        remember_secret(token)
        r = self.a.post("/1/email/verify", {"token": token})
        self.assertEqual((r.status, r.json), (200, {"email": new}))
        # The session may do everything again; the identifier is spent.
        self.assertEqual(self.a.get("/1/me/sessions", token=s).status, 200)
        self.assertEqual(self.a.login(login).status, 401)
        self.assertEqual(self.a.login(new).status, 200)
        # Reported again: nobody signs in with it any more.
        r = self.deleted(e)
        self.assertEqual((r.status, r.json), (200, {"replaced": False, "told": []}))

    def test_a_forgotten_password_with_the_identifier(self):
        e, tok = self.account()
        number = phone()
        self.set_phone(tok, number)
        self.assertEqual(self.deleted(e).status, 200)
        login = re.search(r"\b([A-Z]{1,3}-\d{8})\b",
                          SMS.wait_for(number, 2)[1]["text"]).group(1)
        r = self.anon("/1/recovery/password", {"login": login})
        self.assertEqual(r.status, 202)
        code = code_in(SMS.wait_for(number, 3)[2]["text"])
        r = self.anon("/1/recovery/password/verify", {"login": login, "code": code})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["reset_token"])

    def test_only_the_mail_service(self):
        e, tok = self.account()
        for headers in ({}, {"Authorization": "Bearer " + MAIL_CREDENTIAL[:-1] + "x"},
                        {"Authorization": "Bearer " + tok},
                        {"Authorization": MAIL_CREDENTIAL}):
            r = self.a.post("/1/service/login-email-deleted", {"email": e}, headers=headers)
            self.assertEqual((r.status, r.json["code"]), (401, "unauthenticated"), headers)
        r = self.a.post("/1/service/login-email-deleted", {"email": e}, token=tok)
        self.assertEqual(r.status, 401)
        self.assertEqual(self.a.login(e).status, 200)  # nothing changed
        self.assertNotIn(MAIL_CREDENTIAL, self.a.log_text())

    def test_bad_input(self):
        e, tok = self.account()
        for body, code in (({}, "missing_field"), ({"email": "nope"}, "invalid_email"),
                           ({"email": e, "x": 1}, "unknown_field"),
                           ({"email": 5}, "invalid_field")):
            r = self.a.post("/1/service/login-email-deleted", body,
                            headers={"Authorization": "Bearer " + MAIL_CREDENTIAL})
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        self.assertEqual(self.a.login(e).status, 200)


class NoMailService(OwnAuthd, unittest.TestCase):
    """Without [services] mail_credential the endpoint takes nobody."""

    def test_refused(self):
        e = email()
        self.a.signup(e)
        r = self.a.post("/1/service/login-email-deleted", {"email": e},
                        headers={"Authorization": "Bearer " + "x" * 40})
        self.assertEqual((r.status, r.json["code"]), (401, "unauthenticated"))
        self.assertEqual(self.a.login(e).status, 200)


if __name__ == "__main__":
    unittest.main()
