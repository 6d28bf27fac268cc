"""Products, work teams and the access question: an organization's
legal representatives and administrators add products and teams and grant
rights ("use", "manage", optionally narrowed to some resources) to members
and teams; collaborators and external users reach only what their own
grant and their teams' give them; GET .../products/{product}/access answers
what the caller may do there, and a product the caller may not use answers
as absent."""

import unittest
import uuid

from authd_harness import OwnAuthd
from org_harness import PUBLIC, join, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()


def email():
    return f"p{uuid.uuid4().hex[:12]}@example.com"


class Products(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def me(self, token):
        return self.a.get("/1/me", token=token).json["account_id"]

    def setUp(self):
        e = email()
        self.a.signup(e, name="Pia Products")
        self.lr = self.a.session(e)
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}"

    def product(self, kind, name):
        r = self.a.post(f"{self.base}/products", {"kind": kind, "name": name}, token=self.lr)
        self.assertEqual(r.status, 201, r)
        return r.json["id"]

    def grant(self, product, subject_id, subject, rights, resources=None, token=None):
        body = {"subject": subject, "rights": rights}
        if resources is not None:
            body["resources"] = resources
        return self.a.put(f"{self.base}/products/{product}/grants/{subject_id}", body,
                          token=token or self.lr)

    def access(self, product, token):
        return self.a.get(f"{self.base}/products/{product}/access", token=token)

    def test_grants_teams_and_access(self):
        mail = self.product("mail", "example.com mail")
        drive = self.product("drive", "Shared drive")
        web = self.product("hosting", "www")
        coll = join(self.a, SMTP, self.lr, self.org, email(), name="Cora Coll")
        ext = join(self.a, SMTP, self.lr, self.org, email(), role="external", name="Ed Ext")
        admin = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        cid, xid = self.me(coll), self.me(ext)
        # Managers have everything, everywhere.
        for tok in (self.lr, admin):
            r = self.access(web, tok)
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["rights"], r.json["resources"], r.json["via"]),
                             (["use", "manage"], None, ["role"]))
        # A collaborator without a grant sees nothing.
        r = self.access(mail, coll)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        self.assertEqual(self.a.get(f"{self.base}/products", token=coll).json["products"], [])
        # One mailbox of the mail product.
        r = self.grant(mail, cid, "member", ["use"], ["cora@example.com"])
        self.assertEqual(r.status, 200, r)
        r = self.access(mail, coll)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["rights"], r.json["resources"], r.json["via"],
                          r.json["role"], r.json["external"], r.json["billing"],
                          r.json["product"]["kind"]),
                         (["use"], ["cora@example.com"], ["member"], "collaborator", False,
                          False, "mail"))
        # A team (with the external user in it) manages the drive.
        r = self.a.post(f"{self.base}/teams", {"name": "Design", "leader": cid}, token=self.lr)
        self.assertEqual(r.status, 201, r)
        team = r.json["id"]
        self.assertEqual((r.json["leader"], r.json["members"]), (cid, [cid]))
        self.assertEqual(self.a.put(f"{self.base}/teams/{team}/members/{xid}",
                                    token=self.lr).status, 204)
        self.assertEqual(self.grant(drive, team, "team", ["use", "manage"]).status, 200)
        for tok in (coll, ext):
            r = self.access(drive, tok)
            self.assertEqual((r.status, r.json["rights"], r.json["resources"], r.json["via"]),
                             (200, ["use", "manage"], None, ["team"]))
        listed = self.a.get(f"{self.base}/products", token=coll).json["products"]
        self.assertEqual(sorted(p["id"] for p in listed), sorted([mail, drive]))
        self.assertEqual(len(self.a.get(f"{self.base}/products", token=admin).json["products"]),
                         3)
        # Own teams only, for those who do not manage.
        teams = self.a.get(f"{self.base}/teams", token=ext).json["teams"]
        self.assertEqual([t["id"] for t in teams], [team])
        # Only someone in the team leaves it; the leader joined as a member.
        admin_id = self.me(admin)
        r = self.a.delete(f"{self.base}/teams/{team}/members/{admin_id}", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "subject_not_found"))
        joined = [x for x in self.a.get(f"{self.base}/audit?limit=100", token=self.lr)
                  .json["audit"] if x["action"] == "team_member_added"]
        self.assertEqual(sorted(x["subject"] for x in joined), sorted([cid, xid]))
        # Out of the team, out of the drive; the team gone, its grants too.
        self.assertEqual(self.a.delete(f"{self.base}/teams/{team}/members/{xid}",
                                       token=self.lr).status, 204)
        self.assertEqual(self.access(drive, ext).status, 404)
        self.assertEqual(self.access(drive, coll).status, 200)
        self.assertEqual(self.a.delete(f"{self.base}/teams/{team}", token=self.lr).status, 204)
        self.assertEqual(self.access(drive, coll).status, 404)
        grants = self.a.get(f"{self.base}/products/{drive}/grants", token=self.lr).json
        self.assertEqual(grants["grants"], [])
        # A member who leaves takes no grant back on rejoining.
        self.assertEqual(self.a.delete(f"{self.base}/members/{cid}", token=coll).status, 204)
        r = self.access(mail, coll)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        grants = self.a.get(f"{self.base}/products/{mail}/grants", token=self.lr).json
        self.assertEqual(grants["grants"], [])
        audit = [x["action"] for x in
                 self.a.get(f"{self.base}/audit?limit=100", token=self.lr).json["audit"]]
        for action in ("product_added", "grant_changed", "team_added", "team_member_added",
                       "team_member_removed", "team_removed"):
            self.assertIn(action, audit)

    def test_access_many_teams_and_ended_session(self):
        # More grants than one read holds (4): the general way answers the
        # same union; a session that ended answers 401 before any fact.
        mail = self.product("mail", "Mail")
        coll = join(self.a, SMTP, self.lr, self.org, email())
        cid = self.me(coll)
        boxes = []
        for i in range(6):
            r = self.a.post(f"{self.base}/teams", {"name": f"T{i}", "leader": cid},
                            token=self.lr)
            self.assertEqual(r.status, 201, r)
            boxes.append(f"box{i}@example.com")
            self.assertEqual(self.grant(mail, r.json["id"], "team", ["use"],
                                        [boxes[-1]]).status, 200)
            r = self.access(mail, coll)
            self.assertEqual((r.status, r.json["rights"], sorted(r.json["resources"]),
                              r.json["via"]), (200, ["use"], sorted(boxes), ["team"]), i)
        self.assertEqual(self.grant(mail, cid, "member", ["use", "manage"]).status, 200)
        r = self.access(mail, coll)
        self.assertEqual((r.status, r.json["rights"], r.json["resources"],
                          sorted(r.json["via"])), (200, ["use", "manage"], None,
                                                   ["member", "team"]))
        self.assertEqual(self.a.post("/1/logout", token=coll).status, 204)
        r = self.access(mail, coll)
        self.assertEqual(r.status, 401, r)

    def test_who_may_manage(self):
        drive = self.product("drive", "Drive")
        coll = join(self.a, SMTP, self.lr, self.org, email())
        cid = self.me(coll)
        oe = email()
        self.a.signup(oe)
        out = self.a.session(oe)
        for tok, status in ((coll, 403), (out, 404)):
            for r in (self.a.post(f"{self.base}/products", {"kind": "mail", "name": "x"},
                                  token=tok),
                      self.grant(drive, cid, "member", ["use"], token=tok),
                      self.a.post(f"{self.base}/teams", {"name": "x"}, token=tok),
                      self.a.delete(f"{self.base}/products/{drive}", token=tok),
                      self.a.get(f"{self.base}/products/{drive}/grants", token=tok)):
                self.assertEqual(r.status, status, r)
        r = self.access(drive, out)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        # Ids of another organization are not found here.
        other = email()
        self.a.signup(other)
        otok = self.a.session(other)
        oorg = org_of(self.a, otok)
        r = self.a.post(f"/1/organizations/{oorg}/products", {"kind": "mail", "name": "theirs"},
                        token=otok)
        theirs = r.json["id"]
        r = self.access(theirs, self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        r = self.grant(drive, self.me(otok), "member", ["use"])
        self.assertEqual((r.status, r.json["code"]), (404, "subject_not_found"))
        r = self.a.delete(f"{self.base}/products/{theirs}", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        self.assertEqual(self.a.get(f"/1/organizations/{oorg}/products/{theirs}/access",
                                    token=otok).status, 200)

    def test_bad_input(self):
        drive = self.product("drive", "Drive")
        me = self.me(self.lr)
        for body, code, field in (({"kind": "spaceship", "name": "x"}, "invalid_field", "kind"),
                                  ({"kind": "mail"}, "missing_field", "name"),
                                  ({"kind": "mail", "name": ""}, "invalid_field", "name"),
                                  ({"kind": "mail", "name": "x", "y": 1}, "unknown_field", "y")):
            r = self.a.post(f"{self.base}/products", body, token=self.lr)
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        for body, code in (({"subject": "robot", "rights": ["use"]}, "invalid_field"),
                           ({"subject": "member", "rights": []}, "invalid_field"),
                           ({"subject": "member", "rights": ["own"]}, "invalid_field"),
                           ({"subject": "member", "rights": ["use"], "resources": [""]},
                            "invalid_field"),
                           ({"subject": "member", "rights": ["use"],
                             "resources": [f"m{i}" for i in range(9)]}, "invalid_field"),
                           ({"subject": "member"}, "missing_field")):
            r = self.a.put(f"{self.base}/products/{drive}/grants/{me}", body, token=self.lr)
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        for body, code in (({}, "missing_field"), ({"name": ""}, "invalid_field"),
                           ({"name": "x", "leader": "nothex"}, "invalid_field")):
            r = self.a.post(f"{self.base}/teams", body, token=self.lr)
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        r = self.a.get(f"{self.base}/products/nothex/access", token=self.lr)
        self.assertEqual(r.status, 404)
        self.assertEqual(self.a.get(f"{self.base}/products/{drive}/grants",
                                    token=self.lr).json["grants"], [])


if __name__ == "__main__":
    unittest.main()
