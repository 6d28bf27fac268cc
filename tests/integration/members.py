"""An organization's people: their roles, billing rights and contact
preferences changed by its legal representatives and administrators,
members removed or leaving, every change an audit record and a summary
email to the member. Only a legal representative with a recent second
factor makes or unmakes one; the last one stays, also when two demote each
other at the same moment."""

import threading
import unittest
import uuid

from authd_harness import OwnAuthd
from org_harness import PUBLIC, join, mail, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()


def email():
    return f"m{uuid.uuid4().hex[:12]}@example.com"


class Members(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def patch(self, org, account, body, token):
        return self.a.request("PATCH", f"/1/organizations/{org}/members/{account}", body,
                              token=token)

    def me(self, token):
        return self.a.get("/1/me", token=token).json["account_id"]

    def owner(self):
        e = email()
        self.a.signup(e, name="Lena Legal")
        tok = self.a.session(e)
        _, _, tok = self.a.enable_totp(tok)  # a recent second factor
        return e, tok, org_of(self.a, tok)

    def test_change_role_rights_and_contacts(self):
        _, lr, org = self.owner()
        ce = email()
        coll = join(self.a, SMTP, lr, org, ce, name="Carl Coll")
        cid = self.me(coll)
        r = self.patch(org, cid, {"role": "administrator", "billing": True,
                                  "contacts": ["technical", "security"]}, lr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"account_id": cid, "role": "administrator",
                                  "external": False, "billing": True,
                                  "contacts": ["technical", "security"]})
        m = mail(SMTP, ce, "Your role in Lena Legal changed")
        self.assertIn("Role: administrator", m["body"])
        self.assertIn("Billing rights: yes", m["body"])
        self.assertIn("Lena Legal changed", m["body"])
        listed = {x["account_id"]: x for x in
                  self.a.get(f"/1/organizations/{org}/members", token=lr).json["members"]}
        self.assertEqual(listed[cid]["role"], "administrator")
        # The same again changes nothing and records nothing.
        before = self.a.get(f"/1/organizations/{org}/audit", token=lr).json["audit"]
        self.assertEqual(self.patch(org, cid, {"billing": True}, lr).status, 200)
        after = self.a.get(f"/1/organizations/{org}/audit", token=lr).json["audit"]
        self.assertEqual(len(after), len(before))
        self.assertEqual(after[0]["action"], "member_changed")
        self.assertEqual(after[0]["detail"], {"role": "administrator",
                                              "previous_role": "collaborator",
                                              "billing": True,
                                              "contacts": ["technical", "security"]})
        self.assertEqual((after[0]["actor"], after[0]["subject"], after[0]["via"]),
                         (self.me(lr), cid, "session"))
        # An external user is flagged as such for the products.
        r = self.patch(org, cid, {"role": "external"}, lr)
        self.assertEqual((r.status, r.json["external"]), (200, True))

    def test_who_may_change_whom(self):
        _, lr, org = self.owner()
        admin = join(self.a, SMTP, lr, org, email(), role="administrator")
        coll = join(self.a, SMTP, lr, org, email())
        ext = join(self.a, SMTP, lr, org, email(), role="external")
        aid, cid, lid = self.me(admin), self.me(coll), self.me(lr)
        # Administrators manage people, but not legal representatives; the
        # billing right is given only by who has it.
        r = self.patch(org, cid, {"billing": True}, admin)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.patch(org, aid, {"billing": True}, admin)  # not even to itself
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        self.assertEqual(self.patch(org, aid, {"billing": True}, lr).status, 200)
        self.assertEqual(self.patch(org, cid, {"billing": True}, admin).status, 200)
        for body in ({"role": "legal_representative"}, {"billing": False}):
            r = self.patch(org, lid, body, admin)
            self.assertEqual((r.status, r.json["code"]), (403, "forbidden"), body)
        r = self.patch(org, cid, {"role": "legal_representative"}, admin)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.a.delete(f"/1/organizations/{org}/members/{lid}", token=admin)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        # Collaborators and external users manage nobody, not even themselves.
        for tok in (coll, ext):
            r = self.patch(org, aid, {"role": "collaborator"}, tok)
            self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
            r = self.patch(org, self.me(tok), {"role": "administrator"}, tok)
            self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
            self.assertEqual(self.a.get(f"/1/organizations/{org}/audit", token=tok).status,
                             403)
        # Outsiders see no organization at all; unknown members are 404.
        oe = email()
        self.a.signup(oe)
        out = self.a.session(oe)
        r = self.patch(org, cid, {"role": "administrator"}, out)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        r = self.patch(org, "ab" * 16, {"role": "administrator"}, out)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        r = self.patch(org, "ab" * 16, {"role": "administrator"}, lr)
        self.assertEqual((r.status, r.json["code"]), (404, "member_not_found"))
        r = self.a.get(f"/1/organizations/{org}/audit", token=out)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        # A legal representative needs a recent second factor to make one.
        le = email()
        self.a.signup(le)
        r = self.patch(org, cid, {"role": "legal_representative"}, lr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.a.get("/1/organizations", token=coll).json["organizations"][0]
                         ["role"], "legal_representative")
        # Now two: the first may step down (and then no longer acts as one).
        r = self.patch(org, lid, {"role": "administrator"}, lr)
        self.assertEqual((r.status, r.json["role"]), (200, "administrator"))
        r = self.patch(org, aid, {"role": "legal_representative"}, lr)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))

    def test_last_legal_representative_stays(self):
        _, lr, org = self.owner()
        coll = join(self.a, SMTP, lr, org, email())
        lid = self.me(lr)
        for r in (self.patch(org, lid, {"role": "administrator"}, lr),
                  self.a.delete(f"/1/organizations/{org}/members/{lid}", token=lr)):
            self.assertEqual((r.status, r.json["code"]), (409, "last_legal_representative"))
        # Leaving is anyone's: the collaborator goes, and is told.
        cid = self.me(coll)
        ce = self.a.get("/1/me", token=coll).json["email"]
        self.assertEqual(self.a.delete(f"/1/organizations/{org}/members/{cid}",
                                       token=coll).status, 204)
        mail(SMTP, ce, "You are no longer in Lena Legal")
        self.assertEqual(self.a.get("/1/organizations", token=coll).json["organizations"], [])
        r = self.a.get(f"/1/organizations/{org}/members", token=coll)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        audit = self.a.get(f"/1/organizations/{org}/audit", token=lr).json["audit"]
        self.assertEqual((audit[0]["action"], audit[0]["actor"], audit[0]["subject"]),
                         ("member_left", cid, cid))

    def test_concurrent_demotions_leave_one(self):
        for _ in range(5):
            _, a, org = self.owner()
            be = email()
            b = join(self.a, SMTP, a, org, be)
            self.assertEqual(self.patch(org, self.me(b), {"role": "legal_representative"},
                                        a).status, 200)
            _, _, b = self.a.enable_totp(b)
            ids = {"a": self.me(a), "b": self.me(b)}
            results = {}
            barrier = threading.Barrier(2)

            def demote(who, token, other):
                barrier.wait()
                results[who] = self.patch(org, ids[other], {"role": "administrator"}, token)

            ts = [threading.Thread(target=demote, args=("a", a, "b")),
                  threading.Thread(target=demote, args=("b", b, "a"))]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            statuses = sorted(r.status for r in results.values())
            self.assertEqual(statuses[0], 200, results)
            self.assertIn(statuses[1], (403, 409), results)
            reps = [m for m in self.a.get(f"/1/organizations/{org}/members",
                                          token=a if results["a"].status == 200 else b)
                    .json["members"] if m["role"] == "legal_representative"]
            self.assertEqual(len(reps), 1, reps)

    def test_audit_pages(self):
        _, lr, org = self.owner()
        cid = self.me(join(self.a, SMTP, lr, org, email()))
        for i in range(5):
            self.patch(org, cid, {"billing": i % 2 == 0}, lr)
        seen, url = [], f"/1/organizations/{org}/audit?limit=3"
        while url:
            r = self.a.get(url, token=lr)
            self.assertEqual(r.status, 200, r)
            seen += r.json["audit"]
            url = (f"/1/organizations/{org}/audit?limit=3&before={r.json['next']}"
                   if r.json.get("next") else None)
        self.assertEqual([x["action"] for x in seen],
                         ["member_changed"] * 5 + ["member_added", "invitation_sent"])
        for q in ("limit=0", "limit=101", "before=x", "page=2"):
            r = self.a.get(f"/1/organizations/{org}/audit?{q}", token=lr)
            self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"), q)

    def test_bad_input(self):
        _, lr, org = self.owner()
        cid = self.me(join(self.a, SMTP, lr, org, email()))
        for body, code, field in (({}, "missing_field", "role"),
                                  ({"role": "owner"}, "invalid_field", "role"),
                                  ({"role": 1}, "invalid_field", "role"),
                                  ({"billing": "yes"}, "invalid_field", "billing"),
                                  ({"contacts": ["fax"]}, "invalid_field", "contacts"),
                                  ({"contacts": "billing"}, "invalid_field", "contacts"),
                                  ({"role": "collaborator", "x": 1}, "unknown_field", "x")):
            r = self.patch(org, cid, body, lr)
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        r = self.a.request("PATCH", f"/1/organizations/{org}/members/{cid}", raw=b"{",
                           token=lr)
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_json"))
        r = self.patch(org, "nothex", {"role": "collaborator"}, lr)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        self.assertEqual(self.patch(org, cid, {"role": "collaborator"}, None).status, 401)
        # Nothing changed.
        m = {x["account_id"]: x for x in self.a.get(f"/1/organizations/{org}/members",
                                                     token=lr).json["members"]}
        self.assertEqual((m[cid]["role"], m[cid]["billing"], m[cid]["contacts"]),
                         ("collaborator", False, []))


if __name__ == "__main__":
    unittest.main()
