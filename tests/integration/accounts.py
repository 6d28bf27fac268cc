"""Sign-up: POST /1/accounts creates the account and its own organization;
the password policy (8..128 characters, no composition rules, a blocklist,
context words) and email rules answer 4xx problem+json with stable codes."""

import unittest
import uuid

from authd_harness import remember_secret, shared


def email():
    return f"u{uuid.uuid4().hex[:12]}@example.com"


class SignUp(unittest.TestCase):
    def setUp(self):
        self.a = shared()

    def test_creates_account_and_organization(self):
        e = email()
        r = self.a.post("/1/accounts", {"email": e, "password": "river stone lamp", "name": "Ann B"})
        remember_secret("river stone lamp")
        self.assertEqual(r.status, 201, r)
        self.assertRegex(r.json["account_id"], "^[0-9a-f]{32}$")
        self.assertRegex(r.json["organization_id"], "^[0-9a-f]{32}$")
        self.assertNotEqual(r.json["account_id"], r.json["organization_id"])
        tok = self.a.session(e, "river stone lamp")
        me = self.a.get("/1/me", token=tok)
        self.assertEqual(me.status, 200, me)
        self.assertEqual(me.json["account_id"], r.json["account_id"])
        self.assertEqual(me.json["organization_id"], r.json["organization_id"])
        self.assertEqual(me.json["email"], e)
        self.assertEqual(me.json["name"], "Ann B")
        self.assertFalse(me.json["two_factor"]["totp"])

    def test_email_is_case_insensitive_and_unique(self):
        e = email()
        self.a.signup(e)
        r = self.a.post("/1/accounts", {"email": e.upper(), "password": "another long one",
                                        "name": "X"})
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json["code"], "email_taken")
        self.assertEqual(r.header("Content-Type"), "application/problem+json")
        self.assertEqual(self.a.login(e.upper()).status, 200)

    def test_password_length_rules(self):
        cases = [("seven77", 400, "password_too_short"),
                 ("eight8x8", 201, None),
                 ("é" * 8, 201, None),              # 8 code points, 16 bytes
                 ("x" * 127 + "y", 201, None),     # 128 characters
                 ("x" * 128 + "y", 400, "password_too_long"),
                 ("ab\x01cdefghij", 400, "invalid_field")]
        for pw, status, code in cases:
            with self.subTest(pw=pw[:12]):
                r = self.a.post("/1/accounts", {"email": email(), "password": pw, "name": "N"})
                self.assertEqual(r.status, status, r)
                if code:
                    self.assertEqual(r.json["code"], code)
                    self.assertEqual(r.json["field"], "password")

    def test_password_rules_judge_the_normalized_form(self):
        # Full-width letters are "password" once NFKC-normalized, which is
        # what is hashed and what logs in: refused like "password" itself.
        r = self.a.post("/1/accounts", {"email": email(), "password": "ｐａｓｓｗｏｒｄ",
                                        "name": "N"})
        self.assertEqual((r.status, r.json["code"]), (400, "password_blocklisted"), r)
        # A breached password from python3-zxcvbn's list, beyond our own.
        r = self.a.post("/1/accounts", {"email": email(), "password": "trustno1",
                                        "name": "N"})
        self.assertEqual((r.status, r.json["code"]), (400, "password_blocklisted"), r)

    def test_no_composition_rules(self):
        # NIST 800-63B: no class requirements; a long lowercase password is fine.
        r = self.a.post("/1/accounts", {"email": email(), "password": "aaaaaaaaaaaaaab",
                                        "name": "N"})
        self.assertEqual(r.status, 201, r)

    def test_blocklist_and_context(self):
        e = email()
        local = e.split("@")[0]
        for pw in ["password", "Password1", "12345678", "qwerty123", "iloveyou1", "zzzzzzzz",
                   e, local + "1", "authd123"]:
            with self.subTest(pw=pw):
                r = self.a.post("/1/accounts", {"email": e, "password": pw, "name": "N"})
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json["code"], "password_blocklisted")

    def test_password_exact_as_received(self):
        e = email()
        self.a.signup(e, password="Mixed Case Words")
        self.assertEqual(self.a.login(e, "Mixed Case Words").status, 200)
        self.assertEqual(self.a.login(e, "mixed case words").status, 401)

    def test_unicode_normalization(self):
        # U+00E9 and U+0065 U+0301 are the same text after NFKC.
        e = email()
        self.a.signup(e, password="caf\u00e9 au lait!")
        self.assertEqual(self.a.login(e, "cafe\u0301 au lait!").status, 200)

    def test_bad_emails(self):
        for bad in ["", "no-at-sign", "a@b", "two@@example.com", "sp ace@example.com",
                    "x" * 65 + "@example.com", "a@" + "d" * 260 + ".com"]:
            with self.subTest(email=bad):
                r = self.a.post("/1/accounts", {"email": bad, "password": "long enough pw",
                                                "name": "N"})
                self.assertEqual(r.status, 400, r)
                self.assertIn(r.json["code"], ("invalid_email", "invalid_field"))

    def test_name_rules(self):
        for name, status in [("", 400), ("N" * 100, 201), ("N" * 101, 400), ("Zoë Ω", 201),
                             ('Ann "B" \\ C/</script>', 201)]:
            with self.subTest(name=name[:10]):
                e = email()
                r = self.a.post("/1/accounts", {"email": e, "password": "long enough pw",
                                                "name": name})
                self.assertEqual(r.status, status, r)
                if status == 201:
                    # /me gives the name back exactly (its JSON is hand-written).
                    me = self.a.get("/1/me", token=self.a.session(e, "long enough pw"))
                    self.assertEqual(me.json["name"], name)
                    self.assertEqual(me.json["email"], e)

    def test_fresh_server_has_no_accounts(self):
        # No default accounts (ASVS 2.5.4): common admin names cannot log in.
        for user in ["admin@localhost.local", "root@example.com", "sa@example.com"]:
            r = self.a.login(user, "admin")
            self.assertEqual(r.status, 401)


if __name__ == "__main__":
    unittest.main()
