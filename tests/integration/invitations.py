"""Invitations to an organization, with the real SMTP server: sent by its
legal representatives and administrators to an email; the invitee joins
with a new account (the emailed link is the proof of the address) or with
the existing account of that address, signed in. Tokens work once, for 7
days, unless withdrawn; each send, withdrawal and acceptance is in the
organization's audit trail."""

import unittest
import uuid

from authd_harness import OwnAuthd, random_loopback
from org_harness import PASSWORD, PUBLIC, invitation_token, join, mail, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()
WEEK = 7 * 86400


def email():
    return f"i{uuid.uuid4().hex[:12]}@example.com"


class Invitations(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def owner(self, name="Olga Owner"):
        e = email()
        self.a.signup(e, name=name)
        tok = self.a.session(e)
        return e, tok, org_of(self.a, tok)

    def test_new_account_joins(self):
        _, tok, org = self.owner()
        invitee = email()
        r = self.a.post(f"/1/organizations/{org}/invitations",
                        {"email": invitee.upper(), "role": "collaborator", "billing": True},
                        token=tok)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["email"], r.json["role"], r.json["billing"]),
                         (invitee, "collaborator", True))
        inv_id = r.json["id"]
        m = mail(SMTP, invitee, "Olga Owner invites you to Olga Owner")
        self.assertIn("as collaborator", m["body"])
        token = invitation_token(SMTP, invitee)
        # What it offers, before anything is decided.
        r = self.a.post("/1/invitations/view", {"token": token})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["organization"]["id"], r.json["organization"]["name"],
                          r.json["email"], r.json["role"], r.json["invited_by"],
                          r.json["account_exists"]),
                         (org, "Olga Owner", invitee, "collaborator", "Olga Owner", False))
        listed = self.a.get(f"/1/organizations/{org}/invitations", token=tok).json
        self.assertEqual([i["id"] for i in listed["invitations"]], [inv_id])
        # A weak password is refused before anything is written.
        r = self.a.post("/1/invitations/signup",
                        {"token": token, "password": "password", "name": "Ivy"},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["code"]), (400, "password_blocklisted"))
        r = self.a.post("/1/invitations/signup",
                        {"token": token, "password": PASSWORD, "name": "Ivy Invited"},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["organization_id"]), (201, org), r)
        ivy = self.a.session(invitee)
        [o] = self.a.get("/1/organizations", token=ivy).json["organizations"]
        self.assertEqual((o["id"], o["role"], o["billing"], o["current"]),
                         (org, "collaborator", True, True))
        # Used up: neither a second account nor a second join.
        for path, body in (("/1/invitations/signup",
                            {"token": token, "password": PASSWORD, "name": "Again"}),
                           ("/1/invitations/accept", {"token": token}),
                           ("/1/invitations/view", {"token": token})):
            r = self.a.post(path, body, token=ivy, source_ip=random_loopback())
            self.assertEqual((r.status, r.json["code"]), (410, "invitation_used"), path)
        self.assertEqual(self.a.get(f"/1/organizations/{org}/invitations",
                                    token=tok).json["invitations"], [])
        audit = self.a.get(f"/1/organizations/{org}/audit", token=tok).json["audit"]
        self.assertEqual([x["action"] for x in audit], ["member_added", "invitation_sent"])
        self.assertEqual(audit[0]["actor"], audit[0]["subject"])
        self.assertEqual(audit[0]["detail"]["role"], "collaborator")
        self.assertEqual(audit[1]["subject"], inv_id)

    def test_existing_account_joins_signed_in(self):
        _, tok, org = self.owner()
        invitee, stranger = email(), email()
        self.a.signup(invitee, name="Eve Existing")
        self.a.signup(stranger)
        r = self.a.post(f"/1/organizations/{org}/invitations",
                        {"email": invitee, "role": "administrator"}, token=tok)
        self.assertEqual(r.status, 201, r)
        token = invitation_token(SMTP, invitee)
        self.assertTrue(self.a.post("/1/invitations/view",
                                    {"token": token}).json["account_exists"])
        # A new account for a taken address: sign in and accept instead.
        r = self.a.post("/1/invitations/signup",
                        {"token": token, "password": PASSWORD, "name": "Eve"},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["code"]), (409, "email_taken"))
        # Only the invited address's account joins.
        self.assertEqual(self.a.post("/1/invitations/accept", {"token": token}).status, 401)
        r = self.a.post("/1/invitations/accept", {"token": token},
                        token=self.a.session(stranger))
        self.assertEqual((r.status, r.json["code"]), (403, "invitation_for_another_email"))
        eve = self.a.session(invitee)
        r = self.a.post("/1/invitations/accept", {"token": token}, token=eve)
        self.assertEqual((r.status, r.json), (200, {"organization_id": org,
                                                    "role": "administrator"}))
        orgs = self.a.get("/1/organizations", token=eve).json["organizations"]
        self.assertEqual(sorted(o["role"] for o in orgs), ["administrator",
                                                           "legal_representative"])
        # A member already: a new invitation is refused.
        r = self.a.post(f"/1/organizations/{org}/invitations", {"email": invitee}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (409, "already_member"))

    def test_withdrawn_expired_and_replaced(self):
        owner, tok, org = self.owner()
        a, b = email(), email()
        self.a.post(f"/1/organizations/{org}/invitations", {"email": a}, token=tok)
        first = invitation_token(SMTP, a)
        # Sending again replaces the pending one.
        r = self.a.post(f"/1/organizations/{org}/invitations", {"email": a}, token=tok)
        second = invitation_token(SMTP, a, 1)
        r = self.a.post("/1/invitations/view", {"token": first})
        self.assertEqual((r.status, r.json["code"]), (404, "invitation_not_found"))
        r = self.a.delete(f"/1/organizations/{org}/invitations/{'0' * 32}", token=tok)
        self.assertEqual((r.status, r.json["code"]), (404, "invitation_not_found"))
        inv = self.a.get(f"/1/organizations/{org}/invitations", token=tok).json["invitations"]
        self.assertEqual(len(inv), 1)
        r = self.a.delete(f"/1/organizations/{org}/invitations/{inv[0]['id']}", token=tok)
        self.assertEqual(r.status, 204, r)
        r = self.a.delete(f"/1/organizations/{org}/invitations/{inv[0]['id']}", token=tok)
        self.assertEqual((r.status, r.json["code"]), (410, "invitation_revoked"))
        r = self.a.post("/1/invitations/signup",
                        {"token": second, "password": PASSWORD, "name": "A"},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["code"]), (410, "invitation_revoked"))
        # Seven days, then no more.
        self.a.post(f"/1/organizations/{org}/invitations", {"email": b}, token=tok)
        late = invitation_token(SMTP, b)
        self.a.advance(WEEK - 5)
        self.assertEqual(self.a.post("/1/invitations/view", {"token": late}).status, 200)
        self.a.advance(6)
        r = self.a.post("/1/invitations/signup",
                        {"token": late, "password": PASSWORD, "name": "B"},
                        source_ip=random_loopback())
        self.assertEqual((r.status, r.json["code"]), (410, "invitation_expired"))
        tok = self.a.session(owner)  # the old one idled out meanwhile
        actions = [x["action"] for x in
                   self.a.get(f"/1/organizations/{org}/audit", token=tok).json["audit"]]
        self.assertEqual(actions, ["invitation_sent", "invitation_revoked",
                                   "invitation_sent", "invitation_revoked",
                                   "invitation_sent"])

    def test_who_may_invite(self):
        _, tok, org = self.owner()
        coll = join(self.a, SMTP, tok, org, email())
        admin = join(self.a, SMTP, tok, org, email(), role="administrator")
        outsider_e = email()
        self.a.signup(outsider_e)
        outsider = self.a.session(outsider_e)
        body = {"email": email()}
        r = self.a.post(f"/1/organizations/{org}/invitations", body, token=coll)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.a.post(f"/1/organizations/{org}/invitations", body, token=outsider)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        self.assertEqual(self.a.get(f"/1/organizations/{org}/invitations",
                                    token=coll).status, 403)
        self.assertEqual(self.a.post(f"/1/organizations/{org}/invitations", body,
                                     token=admin).status, 201)
        # Making a legal representative is a legal representative's act,
        # with a recent second factor.
        body = {"email": email(), "role": "legal_representative"}
        r = self.a.post(f"/1/organizations/{org}/invitations", body, token=admin)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.a.post(f"/1/organizations/{org}/invitations", body, token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        _, _, tok2 = self.a.enable_totp(tok)
        self.assertEqual(self.a.post(f"/1/organizations/{org}/invitations", body,
                                     token=tok2).status, 201)

    def test_a_day_of_invitations(self):
        _, tok, org = self.owner()
        for i in range(100):
            r = self.a.post(f"/1/organizations/{org}/invitations", {"email": email()},
                            token=tok)
            self.assertEqual(r.status, 201, (i, r))
        r = self.a.post(f"/1/organizations/{org}/invitations", {"email": email()}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_messages"))
        self.assertTrue(1 <= int(r.header("Retry-After")) <= 86400)

    def test_bad_input(self):
        _, tok, org = self.owner()
        for body, status, code in (({}, 400, "missing_field"),
                                   ({"email": "not an email"}, 400, "invalid_email"),
                                   ({"email": email(), "role": "owner"}, 400, "invalid_field"),
                                   ({"email": email(), "billing": "yes"}, 400, "invalid_field"),
                                   ({"email": email(), "x": 1}, 400, "unknown_field")):
            r = self.a.post(f"/1/organizations/{org}/invitations", body, token=tok)
            self.assertEqual((r.status, r.json["code"]), (status, code), body)
        for token in ("", "short", "A" * 43, "!" * 43):
            r = self.a.post("/1/invitations/view", {"token": token})
            self.assertEqual((r.status, r.json["code"]), (404, "invitation_not_found"), token)
        r = self.a.post("/1/invitations/signup", {"token": "A" * 43})
        self.assertEqual((r.status, r.json["code"]), (400, "missing_field"))
        self.assertEqual(self.a.get(f"/1/organizations/{org}/invitations").status, 401)


if __name__ == "__main__":
    unittest.main()
