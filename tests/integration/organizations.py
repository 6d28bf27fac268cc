"""Organizations, first slice: a person's organizations with the role held
in each (sign-up makes the person the legal representative of one named
after them), and the session's current one switched at once; an
organization the account is not in answers as one that does not exist."""

import unittest
import uuid

from authd_harness import OwnAuthd


def email():
    return f"g{uuid.uuid4().hex[:12]}@example.com"


class Organizations(OwnAuthd, unittest.TestCase):
    def test_list_and_switch(self):
        e = email()
        self.a.signup(e, name="Ann Example")
        tok = self.a.session(e)
        r = self.a.get("/1/organizations", token=tok)
        self.assertEqual(r.status, 200, r)
        [org] = r.json["organizations"]
        self.assertEqual((org["name"], org["role"], org["current"], org["external"],
                          org["billing"]),
                         ("Ann Example", "legal_representative", True, False, True))
        self.assertRegex(org["id"], "^[0-9a-f]{32}$")
        self.assertEqual(self.a.get("/1/me", token=tok).json["organization_id"], org["id"])
        # The current one again: fine, nothing asked.
        r = self.a.put("/1/session/organization", {"organization_id": org["id"]}, token=tok)
        self.assertEqual((r.status, r.json), (200, {"organization_id": org["id"],
                                                    "role": "legal_representative"}))
        # Another person's organization is one that does not exist.
        other = email()
        self.a.signup(other)
        theirs = self.a.get("/1/organizations", token=self.a.session(other)).json
        for oid in (theirs["organizations"][0]["id"], uuid.uuid4().hex):
            r = self.a.put("/1/session/organization", {"organization_id": oid}, token=tok)
            self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"), oid)
        self.assertEqual(self.a.get("/1/me", token=tok).json["organization_id"], org["id"])

    def test_members(self):
        e = email()
        self.a.signup(e, name="Bob Builder")
        tok = self.a.session(e)
        [org] = self.a.get("/1/organizations", token=tok).json["organizations"]
        me = self.a.get("/1/me", token=tok).json
        r = self.a.get(f"/1/organizations/{org['id']}/members", token=tok)
        self.assertEqual(r.status, 200, r)
        # Sign-up makes the person its legal representative, with billing
        # rights and every administrative notice.
        self.assertEqual(r.json["members"], [{"account_id": me["account_id"], "email": e,
                                              "name": "Bob Builder",
                                              "role": "legal_representative",
                                              "external": False, "billing": True,
                                              "contacts": ["billing", "technical",
                                                           "security"]}])
        # Another organization's people are not this account's to see: it
        # is told as one that does not exist, whatever the id.
        other = email()
        self.a.signup(other)
        theirs = self.a.get("/1/organizations", token=self.a.session(other)).json
        for oid in (theirs["organizations"][0]["id"], uuid.uuid4().hex, "nothex"):
            r = self.a.get(f"/1/organizations/{oid}/members", token=tok)
            self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"), oid)
        self.assertEqual(self.a.get(f"/1/organizations/{org['id']}/members").status, 401)
        r = self.a.get(f"/1/organizations/{org['id']}/members?page=2", token=tok)
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))

    def test_bad_input(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        self.assertEqual(self.a.get("/1/organizations").status, 401)
        self.assertEqual(self.a.put("/1/session/organization",
                                    {"organization_id": "00" * 16}).status, 401)
        for body, status, code in (({}, 400, "missing_field"),
                                   ({"organization_id": 5}, 400, "invalid_field"),
                                   ({"organization_id": "x"}, 404, "organization_not_found"),
                                   ({"organization_id": "00" * 16, "x": 1}, 400,
                                    "unknown_field")):
            r = self.a.put("/1/session/organization", body, token=tok)
            self.assertEqual((r.status, r.json["code"]), (status, code), body)
        r = self.a.get("/1/organizations?role=x", token=tok)
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))


if __name__ == "__main__":
    unittest.main()
