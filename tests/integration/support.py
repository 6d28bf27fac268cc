"""Support access: an organization's legal representatives and
administrators let the operator's support staff reach one kind of content
(mail, drive, chat) for 7 days, each grant on its own; a support lead
assigns a grant to agents; an agent asks GET /1/support/grants/{id}/access
before each use, and only an assigned agent, on a live grant, for its kind,
is allowed. Every grant, revocation, assignment and use is in the
organization's audit trail."""

import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret
from org_harness import PUBLIC, join, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()
CONFIG = (f"[server]\npublic_url = {PUBLIC}\n"
          f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
          f"[outbox]\npoll_ms = 50\n")
WEEK = 7 * 86400


def email():
    return f"s{uuid.uuid4().hex[:12]}@example.com"


class Support(OwnAuthd, unittest.TestCase):
    authd_config = CONFIG

    @classmethod
    def setUpClass(cls):
        # Staff are named by account id in the configuration and act with a
        # second factor.
        super().setUpClass()
        cls.staff = {}
        for who in ("lead", "agent", "agent2", "nobody"):
            e = email()
            cls.a.signup(e, name=who)
            tok = cls.a.session(e)
            aid = cls.a.get("/1/me", token=tok).json["account_id"]
            secret, _, _ = cls.a.enable_totp(tok)
            cls.staff[who] = (e, aid, secret)
        assert cls.a.stop() == 0
        cls.a.write_config(CONFIG + "[support]\nagents = " + cls.staff["agent"][1] + ", " +
                           cls.staff["agent2"][1] + "\nleads = " + cls.staff["lead"][1] + "\n")
        cls.a.start()

    def sign_in(self, who):
        e, _, secret = self.staff[who]
        return self.a.session_totp(e, secret)

    def setUp(self):
        e = self.lr_email = email()
        self.a.signup(e, name="Olivia Org")
        self.lr = self.a.session(e)
        self.lr_id = self.a.get("/1/me", token=self.lr).json["account_id"]
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}/support-grants"

    def grant(self, kind, request=None, token=None):
        body = {"kind": kind}
        if request is not None:
            body["request"] = request
        return self.a.post(self.base, body, token=token or self.lr)

    def use(self, grant_id, kind, token):
        return self.a.get(f"/1/support/grants/{grant_id}/access?kind={kind}", token=token)

    def assign(self, grant_id, who, token, remove=False):
        path = f"/1/support/grants/{grant_id}/assignees/{self.staff[who][1]}"
        return self.a.delete(path, token=token) if remove else self.a.put(path, token=token)

    def test_grant_assign_use_revoke(self):
        r = self.grant("mail", request="SR-1042")
        self.assertEqual(r.status, 201, r)
        g = r.json
        self.assertEqual((g["kind"], g["request"], g["state"], g["created_by"], g["assignees"],
                          g["revoked_at"], g["organization_id"]),
                         ("mail", "SR-1042", "active", self.lr_id, [], None, self.org))
        drive = self.grant("drive").json
        lead, agent, agent2 = self.sign_in("lead"), self.sign_in("agent"), self.sign_in("agent2")
        # Nobody is assigned yet: the agent learns nothing of the grant.
        r = self.use(g["id"], "mail", agent)
        self.assertEqual((r.status, r.json["allowed"], r.json["reason"]),
                         (200, False, "not_assigned"))
        # Only a lead assigns, and only to an agent.
        self.assertEqual(self.assign(g["id"], "agent", agent).status, 403)
        r = self.assign(g["id"], "nobody", lead)
        self.assertEqual((r.status, r.json["code"]), (409, "not_support_agent"))
        self.assertEqual(self.assign(g["id"], "agent", lead).status, 204)
        self.assertEqual(self.assign(g["id"], "agent", lead).status, 204)  # once
        r = self.use(g["id"], "mail", agent)
        self.assertEqual((r.status, r.json), (200, {"grant_id": g["id"], "kind": "mail",
                                                    "allowed": True, "reason": None}))
        # Each grant on its own: mail is not the drive, and the drive's
        # grant is not assigned to this agent; the other agent has neither.
        r = self.use(g["id"], "drive", agent)
        self.assertEqual((r.json["allowed"], r.json["reason"]), (False, "other_kind"))
        r = self.use(drive["id"], "drive", agent)
        self.assertEqual((r.json["allowed"], r.json["reason"]), (False, "not_assigned"))
        r = self.use(g["id"], "mail", agent2)
        self.assertEqual((r.json["allowed"], r.json["reason"]), (False, "not_assigned"))
        # Not staff: no answer at all; a lead is no agent either.
        self.assertEqual(self.use(g["id"], "mail", self.lr).status, 403)
        self.assertEqual(self.use(g["id"], "mail", lead).status, 403)
        self.assertEqual(self.use(g["id"], "mail", None).status, 401)
        # The staff's lists: everything live for a lead, its own for an agent.
        staff = {who: [x["id"] for x in self.a.get("/1/support/grants", token=tok)
                       .json["support_grants"] if x["organization_id"] == self.org]
                 for who, tok in (("lead", lead), ("agent", agent), ("agent2", agent2))}
        self.assertEqual((sorted(staff["lead"]), staff["agent"], staff["agent2"]),
                         (sorted([g["id"], drive["id"]]), [g["id"]], []))
        self.assertEqual(self.a.get("/1/support/grants", token=self.lr).status, 403)
        # The organization sees it all, and ends it at once.
        listed = self.a.get(self.base, token=self.lr).json["support_grants"]
        self.assertEqual({x["id"]: x["assignees"] for x in listed},
                         {drive["id"]: [], g["id"]: [self.staff["agent"][1]]})
        self.assertEqual(self.a.delete(f"{self.base}/{g['id']}", token=self.lr).status, 204)
        r = self.use(g["id"], "mail", agent)
        self.assertEqual((r.json["allowed"], r.json["reason"]), (False, "revoked"))
        listed = [x["id"] for x in self.a.get("/1/support/grants", token=agent)
                  .json["support_grants"]]
        self.assertNotIn(g["id"], listed)  # ended: off the staff's lists
        r = self.assign(g["id"], "agent2", lead)
        self.assertEqual((r.status, r.json["code"]), (409, "support_grant_ended"))
        r = self.assign(g["id"], "agent2", lead, remove=True)
        self.assertEqual((r.status, r.json["code"]), (404, "assignee_not_found"))
        self.assertEqual(self.a.delete(f"{self.base}/{g['id']}", token=self.lr).status, 204)
        listed = {x["id"]: x for x in self.a.get(self.base, token=self.lr).json["support_grants"]}
        self.assertEqual(listed[g["id"]]["state"], "revoked")
        self.assertIsNotNone(listed[g["id"]]["revoked_at"])
        audit = self.a.get(f"/1/organizations/{self.org}/audit?limit=100",
                           token=self.lr).json["audit"]
        trail = [(x["action"], x["via"], x["actor"], x.get("subject"), x.get("detail"))
                 for x in audit]
        # The customer sees what the staff did, not where they are.
        self.assertEqual({x.get("ip") for x in audit if x["via"] == "support"}, {None})
        self.assertTrue(all(x.get("ip") for x in audit if x["via"] == "session"))
        agent_id, lead_id = self.staff["agent"][1], self.staff["lead"][1]
        used = [t for t in trail if t[0] == "support_used"]
        self.assertEqual(used, [
            ("support_used", "support", agent_id, g["id"],
             {"kind": "mail", "allowed": False, "reason": "revoked"}),
            ("support_used", "support", self.staff["agent2"][1], g["id"],
             {"kind": "mail", "allowed": False, "reason": "not_assigned"}),
            ("support_used", "support", agent_id, drive["id"],
             {"kind": "drive", "allowed": False, "reason": "not_assigned"}),
            ("support_used", "support", agent_id, g["id"],
             {"kind": "drive", "allowed": False, "reason": "other_kind"}),
            ("support_used", "support", agent_id, g["id"], {"kind": "mail", "allowed": True}),
            ("support_used", "support", agent_id, g["id"],
             {"kind": "mail", "allowed": False, "reason": "not_assigned"})])
        self.assertIn(("support_assigned", "support", lead_id, agent_id, {"grant_id": g["id"]}),
                      trail)
        self.assertEqual(len([t for t in trail if t[0] == "support_assigned"]), 1)
        self.assertIn(("support_revoked", "session", self.lr_id, g["id"], None), trail)
        self.assertIn(("support_granted", "session", self.lr_id, g["id"],
                       {"kind": "mail", "request": "SR-1042"}), trail)

    def test_seven_days(self):
        g = self.grant("chat").json
        lead, agent = self.sign_in("lead"), self.sign_in("agent")
        self.assertEqual(self.assign(g["id"], "agent", lead).status, 204)
        # The test clock moved on with the sign-ins: to the last second.
        left = WEEK - (self.a.now() - self.created(g))
        self.a.advance(left - 1)
        agent = self.sign_in_at_once("agent")
        self.assertEqual(self.use(g["id"], "chat", agent).json["allowed"], True)
        self.a.advance(1)
        r = self.use(g["id"], "chat", agent)
        self.assertEqual((r.json["allowed"], r.json["reason"]), (False, "expired"))
        self.lr = self.a.session(self.lr_email)  # a week on: signed in again
        listed = self.a.get(self.base, token=self.lr).json["support_grants"]
        self.assertEqual(listed[0]["state"], "expired")
        # An expired grant is not revoked again (nothing to end, no record).
        self.assertEqual(self.a.delete(f"{self.base}/{g['id']}", token=self.lr).status, 204)
        trail = [x["action"] for x in self.a.get(f"/1/organizations/{self.org}/audit?limit=100",
                                                 token=self.lr).json["audit"]]
        self.assertNotIn("support_revoked", trail)

    def created(self, g):
        import datetime
        return int(datetime.datetime.strptime(g["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp())

    def sign_in_at_once(self, who):
        """A sign-in that does not move the clock (the TOTP step is the
        current one: the previous sign-in was at least 30 s ago)."""
        e, _, secret = self.staff[who]
        return self.a.session_totp(e, secret, fresh_step=False)

    def test_who_may_grant(self):
        coll = join(self.a, SMTP, self.lr, self.org, email())
        admin = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        self.assertEqual(self.grant("mail", token=admin).status, 201)
        r = self.grant("mail", token=coll)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        self.assertEqual(self.a.get(self.base, token=coll).status, 403)
        # Another organization's people see none of it.
        e = email()
        self.a.signup(e)
        other = self.a.session(e)
        r = self.a.get(self.base, token=other)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        g = self.grant("drive").json
        xorg = org_of(self.a, other)
        r = self.a.delete(f"/1/organizations/{xorg}/support-grants/{g['id']}", token=other)
        self.assertEqual((r.status, r.json["code"]), (404, "support_grant_not_found"))
        # A recent sign-in to grant; never a token.
        r = self.a.post("/1/me/tokens", {"name": "t", "scopes": ["organizations:write"]},
                        token=self.lr)
        remember_secret(r.json["token"])
        r2 = self.grant("mail", token=r.json["token"])
        self.assertEqual((r2.status, r2.json["code"]), (403, "presence_required"))
        self.assertEqual(self.a.delete(f"{self.base}/{g['id']}", token=r.json["token"]).status,
                         204)
        self.a.advance(600)
        r = self.grant("mail")
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))

    def test_bad_input(self):
        for body, code, field in (({}, "missing_field", "kind"),
                                  ({"kind": "files"}, "invalid_field", "kind"),
                                  ({"kind": 1}, "invalid_field", "kind"),
                                  ({"kind": "mail", "request": ""}, "invalid_field", "request"),
                                  ({"kind": "mail", "request": "x" * 65}, "invalid_field",
                                   "request"),
                                  ({"kind": "mail", "x": 1}, "unknown_field", None)):
            r = self.a.post(self.base, body, token=self.lr)
            self.assertEqual((r.status, r.json["code"], r.json.get("field")), (400, code, field),
                             body)
        self.assertEqual(self.a.get(self.base, token=self.lr).json["support_grants"], [])
        agent = self.sign_in("agent")
        g = self.grant("mail").json
        for q, status in (("", 400), ("?kind=files", 400), ("?kind=mail&x=1", 400),
                          ("?kind=mail", 200)):
            r = self.a.get(f"/1/support/grants/{g['id']}/access{q}", token=agent)
            self.assertEqual(r.status, status, q)
        r = self.a.get("/1/support/grants/" + "0f" * 16 + "/access?kind=mail", token=agent)
        self.assertEqual((r.status, r.json["code"]), (404, "support_grant_not_found"))
        r = self.a.get("/1/support/grants/nothex/access?kind=mail", token=agent)
        self.assertEqual((r.status, r.json["code"]), (404, "support_grant_not_found"))


if __name__ == "__main__":
    unittest.main()
