"""Identity-verification cases: opened without signing in (the same answer
whether or not the login names an account), documents uploaded with the
case token (sealed at rest, size- and count-limited, deleted 72 hours after
their upload or when the case is decided), reviewed and decided by the
operator's support reviewers only; an approval performs what was asked (a
reset link to the contact address, the login identifier, every second
factor removed, an account unlocked). Reviewers lock accounts; a locked
account signs in nowhere until a case unlocks it."""

import re
import statistics
import time
import unittest
import uuid
from urllib.parse import parse_qs, urlparse

from authd_harness import OwnAuthd, random_loopback, remember_secret, totp
from smtp_harness import SmtpServer

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a renewed long passphrase"
PUBLIC = "https://console.example.test"
SMTP = SmtpServer().start()
REVIEWER = f"reviewer{uuid.uuid4().hex[:8]}@support.example.com"
CONFIG = (f"[server]\npublic_url = {PUBLIC}\nmax_body = 65536\n"
          f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
          f"[outbox]\npoll_ms = 50\n")
DOC = bytes(range(256)) * 40  # 10 KiB of something that is not text


def email():
    return f"c{uuid.uuid4().hex[:12]}@example.com"


def subjects_until(address, subject, timeout=10):
    """The subjects of address's mail, once one of them is subject (or
    the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        got = [m["subject"] for m in SMTP.to(address)]
        if subject in got or time.monotonic() > deadline:
            return got
        time.sleep(0.02)


class Cases(OwnAuthd, unittest.TestCase):
    authd_config = CONFIG

    @classmethod
    def setUpClass(cls):
        # Reviewers are named by account id (an email could be taken by
        # whoever signs up with it first), and act with a second factor.
        super().setUpClass()
        cls.a.signup(REVIEWER)
        tok = cls.a.session(REVIEWER)
        cls.reviewer_id = cls.a.get("/1/me", token=tok).json["account_id"]
        cls.reviewer_totp, _, _ = cls.a.enable_totp(tok)
        assert cls.a.stop() == 0
        cls.a.write_config(CONFIG + "[support]\nreviewers = " + "ab" * 16 + ", " +
                           cls.reviewer_id + "\n")
        cls.a.start()

    def reviewer(self):
        self.a.advance(30)  # a fresh TOTP step for each sign-in
        r = self.a.login(REVIEWER)
        self.assertEqual(r.json["state"], "second_factor", r)
        r = self.a.post("/1/login/totp", {"login_id": r.json["login_id"],
                                          "code": totp(self.reviewer_totp, self.a.now())})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        return r.json["session"]

    def account(self):
        e = email()
        self.a.signup(e)
        return e

    def open_case(self, body, status=201):
        r = self.a.post("/1/verification/cases", body, source_ip=random_loopback())
        self.assertEqual(r.status, status, r)
        if status == 201:
            remember_secret(r.json["case_token"])
        return r.json

    def upload(self, case, data=DOC, ctype="image/png", token=None):
        return self.a.request("POST", f"/1/verification/cases/{case['case_id']}/documents",
                              raw=data, headers={
                                  "Content-Type": ctype,
                                  "Authorization": "Bearer " + (token or case["case_token"])})

    def decide(self, case_id, approve, tok, **extra):
        return self.a.post(f"/1/verification/cases/{case_id}/decision",
                           dict(approve=approve, **extra), token=tok)

    def listed(self, tok, case_id, state="all"):
        r = self.a.get(f"/1/verification/cases?state={state}", token=tok)
        self.assertEqual(r.status, 200, r)
        return [c for c in r.json["cases"] if c["case_id"] == case_id]

    def test_forgotten_password_without_options(self):
        e, contact = self.account(), email()
        case = self.open_case({"reason": "password_reset", "login": e.upper(),
                               "contact_email": contact, "details": "Ann Example, 1980"})
        self.assertEqual((case["state"], case["reason"], case["documents"]),
                         ("open", "password_reset", []))
        self.assertEqual(case["documents_max"], 5)
        self.assertEqual(SMTP.wait_for(contact)[0]["subject"],
                         "We received your identity-verification case")
        r = self.upload(case)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["document"], r.json["size"], r.json["type"], r.json["kept"]),
                         (0, len(DOC), "image/png", True))
        # The person sees the case by its token, and nothing without it.
        url = f"/1/verification/cases/{case['case_id']}"
        r = self.a.get(url, headers={"Authorization": "Bearer " + case["case_token"]})
        self.assertEqual((r.status, len(r.json["documents"])), (200, 1))
        self.assertNotIn("contact_email", r.json)
        self.assertEqual(self.a.get(url).status, 404)
        # The reviewer sees it with the account it names, and the document.
        rev = self.reviewer()
        [c] = self.listed(rev, case["case_id"], "open")
        self.assertEqual((c["account"]["login"], c["contact_email"], c["details"]),
                         (e, contact, "Ann Example, 1980"))
        r = self.a.get(url + "/documents/0", token=rev)
        self.assertEqual((r.status, r.header("Content-Type")), (200, "image/png"))
        self.assertEqual(r.body, DOC)
        self.assertIn("case document read", self.a.log_text())
        # Nobody else does.
        other = self.a.session(self.account())
        for path in ("/1/verification/cases", url + "/documents/0"):
            r = self.a.get(path, token=other)
            self.assertEqual((r.status, r.json["code"]), (403, "forbidden"), path)
        r = self.decide(case["case_id"], True, other)
        self.assertEqual(r.status, 403)
        # Approval: a reset link to the contact address, the documents gone.
        r = self.decide(case["case_id"], True, rev, note="passport matches")
        self.assertEqual((r.status, r.json["state"], r.json["sent"]), (200, "approved", True))
        self.assertEqual(self.a.get(url + "/documents/0", token=rev).json["code"],
                         "document_deleted")
        self.assertEqual(self.decide(case["case_id"], False, rev).json["code"], "case_closed")
        self.assertEqual(self.upload(case).json["code"], "case_closed")
        mails = SMTP.wait_for(contact, 3)
        link = [m for m in mails if "/recovery/reset?token=" in m["body"]][0]
        token = parse_qs(urlparse(re.search(r"(https?://\S+)", link["body"]).group(1)).query)
        token = token["token"][0]
        remember_secret(token)
        r = self.a.post("/1/recovery/password/verify", {"token": token},
                        source_ip=random_loopback())
        self.assertEqual(r.status, 200, r)
        grant = r.json["reset_token"]
        remember_secret(grant)
        remember_secret(NEW_PASSWORD)
        r = self.a.post("/1/recovery/password/reset",
                        {"reset_token": grant, "new_password": NEW_PASSWORD},
                        source_ip=random_loopback())
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.a.login(e, NEW_PASSWORD).status, 200)
        subject = "Your identity-verification case was approved"
        self.assertIn(subject, subjects_until(contact, subject))

    def test_lost_password_and_second_factor(self):
        # An approved case stands in for the second factor at the reset it
        # leads to (the person proved who they are); the factors stay, and
        # a lost one is a disable_2fa case of its own.
        e, contact = self.account(), email()
        secret, codes, tok = self.a.enable_totp(self.a.session(e))
        case = self.open_case({"reason": "password_reset", "login": e, "contact_email": contact})
        self.assertEqual(self.upload(case).status, 201)
        r = self.decide(case["case_id"], True, self.reviewer())
        self.assertEqual(r.status, 200, r)
        mails = SMTP.wait_for(contact, 2)
        link = [m for m in mails if "/recovery/reset?token=" in m["body"]]
        while not link:
            time.sleep(0.02)
            link = [m for m in SMTP.to(contact) if "/recovery/reset?token=" in m["body"]]
        url = re.search(r"(https?://\S+)", link[0]["body"]).group(1)
        token = parse_qs(urlparse(url).query)["token"][0]
        remember_secret(token)
        r = self.a.post("/1/recovery/password/verify", {"token": token},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["second_factor_required"], r.json["second_factor"]),
                         (200, False, []), r)
        remember_secret(r.json["reset_token"])
        remember_secret(NEW_PASSWORD)
        r = self.a.post("/1/recovery/password/reset",
                        {"reset_token": r.json["reset_token"], "new_password": NEW_PASSWORD},
                        source_ip=random_loopback())
        self.assertEqual(r.status, 204, r)
        r = self.a.login(e, NEW_PASSWORD)
        self.assertEqual((r.status, r.json["state"]), (200, "second_factor"))
        # A reset anyone else starts asks the factor again.
        r = self.a.post("/1/recovery/password", {"login": e}, source_ip=random_loopback())
        self.assertEqual(r.status, 202)

    def test_unknown_login_same_answer(self):
        known, unknown = self.account(), email()
        a = self.open_case({"reason": "password_reset", "login": known,
                            "contact_email": email()})
        b = self.open_case({"reason": "password_reset", "login": unknown,
                            "contact_email": email()})
        strip = lambda c: {k: v for k, v in c.items()  # noqa: E731
                           if k not in ("case_id", "case_token", "opened_at")}
        self.assertEqual(strip(a), strip(b))
        rev = self.reviewer()
        [c] = self.listed(rev, b["case_id"])
        self.assertIsNone(c["account"])
        r = self.decide(b["case_id"], True, rev)
        self.assertEqual((r.status, r.json["code"]), (409, "case_without_account"))
        r = self.decide(b["case_id"], False, rev, note="no such account")
        self.assertEqual((r.status, r.json["state"]), (200, "rejected"))

    def test_same_time_class_whether_the_login_exists(self):
        known = self.account()
        times = {True: [], False: []}
        for i in range(30):
            for exists in (True, False):
                who = known if exists else f"nobody{i}-{uuid.uuid4().hex[:6]}@example.com"
                t0 = time.perf_counter()
                self.open_case({"reason": "unlock", "login": who, "contact_email": email()})
                times[exists].append(time.perf_counter() - t0)
        mk, mu = statistics.median(times[True]), statistics.median(times[False])
        self.assertLess(max(mk, mu) / min(mk, mu), 3, (mk, mu))

    def test_forgotten_login(self):
        e, contact = self.account(), email()
        case = self.open_case({"reason": "login_forgotten", "contact_email": contact,
                               "details": "I am Test Person"})
        rev = self.reviewer()
        r = self.decide(case["case_id"], True, rev)
        self.assertEqual((r.status, r.json["code"]), (409, "case_without_account"))
        r = self.decide(case["case_id"], True, rev, account=e)
        self.assertEqual((r.status, r.json["sent"]), (200, True))
        bodies = [m["body"] for m in SMTP.wait_for(contact, 3)]
        self.assertTrue(any(e in b for b in bodies), bodies)

    def test_lost_second_factor(self):
        e = self.account()
        secret, codes, tok = self.a.enable_totp(self.a.session(e))
        self.a.advance(30)
        self.assertEqual(self.a.login(e).json["state"], "second_factor")
        # A pending login proves the password; without one, no case.
        r = self.a.post("/1/verification/cases", {"reason": "disable_2fa",
                                                  "login_id": "x" * 64,
                                                  "contact_email": email()},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))
        pending = self.a.login(e).json["login_id"]
        case = self.open_case({"reason": "disable_2fa", "login_id": pending,
                               "contact_email": email()})
        rev = self.reviewer()
        [c] = self.listed(rev, case["case_id"])
        self.assertEqual(c["account"]["login"], e)
        self.assertEqual(self.decide(case["case_id"], True, rev).status, 200)
        # Every second factor is gone, and every session: the password alone
        # signs in, and the owner is told.
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)
        r = self.a.login(e)
        self.assertEqual((r.status, r.json["state"]), (200, "done"))
        subject = "The second factors of your account were removed"
        self.assertIn(subject, subjects_until(e, subject))

    def test_lock_then_unlock(self):
        e = self.account()
        tok = self.a.session(e)
        rev = self.reviewer()
        r = self.a.post("/1/verification/accounts/lock", {"login": e}, token=rev)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)
        # Locked: a right password is answered as a wrong one (the owner
        # learns of the lock by its notice, a guesser learns nothing).
        right, wrong = self.a.login(e), self.a.login(e, "not the password at all")
        self.assertEqual((right.status, right.body), (wrong.status, wrong.body))
        self.assertEqual(right.json["code"], "invalid_credentials")
        self.assertIn("Your account was locked", subjects_until(e, "Your account was locked"))
        r = self.a.post("/1/verification/accounts/lock", {"login": e}, token=tok)
        self.assertEqual(r.status, 401)
        case = self.open_case({"reason": "unlock", "login": e, "contact_email": email()})
        self.assertEqual(self.upload(case).status, 201)
        self.assertEqual(self.decide(case["case_id"], True, rev).status, 200)
        self.assertEqual(self.a.login(e).status, 200)
        self.assertIn("Your account was unlocked", subjects_until(e, "Your account was unlocked"))
        r = self.a.post("/1/verification/accounts/lock", {"login": email()}, token=rev)
        self.assertEqual((r.status, r.json["code"]), (404, "not_found"))

    def test_reviewers_need_a_recent_sign_in(self):
        # A password alone is not enough: the reviewer's pending login gives
        # no session, and another account (without the role) is refused.
        rev = self.reviewer()
        case = self.open_case({"reason": "unlock", "login": self.account(),
                               "contact_email": email()})
        self.a.advance(600)
        r = self.decide(case["case_id"], False, rev)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        self.assertEqual(len(self.listed(rev, case["case_id"])), 1)  # reading is fine

    def test_approval_waits_when_no_link_can_go(self):
        # The account's hour of recovery messages is spent (a recovery
        # email and five forgotten-password requests): approving sends
        # nothing and changes nothing, so the case stays open.
        e, contact, backup = self.account(), email(), email()
        tok = self.a.session(e)
        r = self.a.put("/1/me/recovery/email", {"email": backup, "password": PASSWORD}, token=tok)
        self.assertEqual(r.status, 202, r)
        code = re.search(r"\b(\d{8})\b", SMTP.wait_for(backup)[0]["body"]).group(1)
        remember_secret(code)
        r = self.a.post("/1/me/recovery/verify", {"code": code}, token=tok)
        self.assertEqual(r.status, 200, r)
        for _ in range(4):
            self.assertEqual(self.a.post("/1/recovery/password", {"login": e},
                                         source_ip=random_loopback()).status, 202)
        case = self.open_case({"reason": "password_reset", "login": e, "contact_email": contact})
        self.assertEqual(self.upload(case).status, 201)
        rev = self.reviewer()
        r = self.decide(case["case_id"], True, rev)
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_messages"), r)
        [c] = self.listed(rev, case["case_id"])
        self.assertEqual((c["state"], c["documents"][0]["kept"]), ("open", True))

    def test_no_decision_about_ones_own_account(self):
        case = self.open_case({"reason": "unlock", "login": REVIEWER, "contact_email": email()})
        r = self.decide(case["case_id"], True, self.reviewer())
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))

    def test_documents_kept_72_hours(self):
        case = self.open_case({"reason": "unlock", "login": self.account(),
                               "contact_email": email()})
        self.assertEqual(self.upload(case).status, 201)
        self.a.advance(72 * 3600 - 10)
        self.assertEqual(self.upload(case, b"second").status, 201)
        self.a.advance(10)
        rev = self.reviewer()
        url = f"/1/verification/cases/{case['case_id']}/documents/"
        self.assertEqual(self.a.get(url + "0", token=rev).json["code"], "document_deleted")
        self.assertEqual(self.a.get(url + "1", token=rev).body, b"second")
        [c] = self.listed(rev, case["case_id"])
        self.assertEqual([d["kept"] for d in c["documents"]], [False, True])

    def test_limits_and_bad_input(self):
        case = self.open_case({"reason": "unlock", "login": self.account(),
                               "contact_email": email()})
        for _ in range(5):
            self.assertEqual(self.upload(case, b"x").status, 201)
        r = self.upload(case, b"x")
        self.assertEqual((r.status, r.json["code"]), (409, "too_many_documents"))
        other = self.open_case({"reason": "unlock", "login": self.account(),
                                "contact_email": email()})
        r = self.upload(other, b"x" * 70000)
        self.assertEqual((r.status, r.json["code"]), (413, "body_too_large"))
        r = self.upload(other, b"x", ctype="text/html")
        self.assertEqual((r.status, r.json["code"]), (415, "unsupported_media_type"))
        r = self.upload(other, b"")
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))
        r = self.upload(other, b"x", token=case["case_token"])  # another case's token
        self.assertEqual((r.status, r.json["code"]), (404, "case_not_found"))
        r = self.a.get(f"/1/verification/cases/{other['case_id']}",
                       headers={"Authorization": "Bearer " + case["case_token"]})
        self.assertEqual(r.status, 404)
        for body, code in (
                ({"reason": "nope", "contact_email": email()}, "invalid_field"),
                ({"reason": "unlock", "contact_email": email()}, "missing_field"),
                ({"reason": "unlock", "login": "x", "contact_email": email()},
                 "invalid_field"),
                ({"reason": "unlock", "login": email(), "contact_email": "nope"},
                 "invalid_email"),
                ({"reason": "login_forgotten", "login": email(), "contact_email": email()},
                 "unknown_field"),
                ({"reason": "unlock", "login": email()}, "missing_field"),
                ({"reason": "unlock", "login": email(), "contact_email": email(), "x": 1},
                 "unknown_field"),
        ):
            r = self.a.post("/1/verification/cases", body, source_ip=random_loopback())
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        rev = self.reviewer()
        r = self.a.post("/1/verification/cases/zz/decision", {"approve": True}, token=rev)
        self.assertEqual(r.status, 404)
        r = self.a.post(f"/1/verification/cases/{other['case_id']}/decision",
                        {"approve": "yes"}, token=rev)
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))
        r = self.a.get("/1/verification/cases?state=closed", token=rev)
        self.assertEqual(r.status, 400)


if __name__ == "__main__":
    unittest.main()
