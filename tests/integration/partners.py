"""Partners: an organization lets a partner organization (a reseller, an
agency) manage all or some of its products, with or without billing. The
partner's legal representatives and administrators then act within those
limits through the same policy point, their changes recorded in the
client's audit trail as done via the partner; either side ends the
relation, with effect at once."""

import unittest
import uuid

from authd_harness import OwnAuthd
from org_harness import PUBLIC, invitation_token, join, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()


def email():
    return f"r{uuid.uuid4().hex[:12]}@example.com"


class Partners(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def org(self, name):
        e = email()
        self.a.signup(e, name=name)
        tok = self.a.session(e)
        return tok, org_of(self.a, tok)

    def me(self, token):
        return self.a.get("/1/me", token=token).json["account_id"]

    def test_partner_within_limits(self):
        client, corg = self.org("Client Co")
        agency, aorg = self.org("Agency Ltd")
        staff = join(self.a, SMTP, agency, aorg, email())  # a collaborator of the agency
        cb = f"/1/organizations/{corg}"
        mail = self.a.post(f"{cb}/products", {"kind": "mail", "name": "m"}, token=client).json["id"]
        drive = self.a.post(f"{cb}/products", {"kind": "drive", "name": "d"},
                            token=client).json["id"]
        worker = join(self.a, SMTP, client, corg, email())
        wid = self.me(worker)
        # Before the relation, the client is nothing to the agency.
        r = self.a.get(f"{cb}/products/{mail}/access", token=agency)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        r = self.a.post(f"{cb}/partners", {"partner_organization_id": aorg, "products": [mail],
                                           "billing": False}, token=client)
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json["organization_id"], r.json["products"], r.json["billing"]),
                         (aorg, [mail], False))
        both = self.a.get(f"/1/organizations/{aorg}/partners", token=agency).json
        self.assertEqual(([p["organization_id"] for p in both["clients"]], both["partners"]),
                         ([corg], []))
        # The agency's managers reach the mail product, and only it.
        r = self.a.get(f"{cb}/products/{mail}/access", token=agency)
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["rights"], r.json["via"], r.json["billing"], r.json["role"]),
                         (["use", "manage"], ["partner"], False, None))
        r = self.a.get(f"{cb}/products/{drive}/access", token=agency)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        listed = self.a.get(f"{cb}/products", token=agency).json["products"]
        self.assertEqual([p["id"] for p in listed], [mail])
        self.assertEqual(self.a.get(f"{cb}/products/{mail}/grants", token=agency).status, 200)
        # Every read of the partner's is in the client's trail (newest
        # first; a refused one is no act); none of the client's own.
        self.assertEqual(self.a.get(f"{cb}/products/{mail}/access", token=client).status, 200)
        reads = [(x["via"], x["actor"], x["detail"]["what"], x.get("subject"), "ip" in x)
                 for x in self.a.get(f"{cb}/audit", token=client).json["audit"]
                 if x["action"] == "read"]
        aid = self.me(agency)
        self.assertEqual(reads, [("partner", aid, "grants", mail, True),
                                 ("partner", aid, "products", None, True),
                                 ("partner", aid, "access", mail, True)])
        # Its collaborators do not.
        r = self.a.get(f"{cb}/products/{mail}/access", token=staff)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        # It grants the client's people on that product, never on another,
        # and never manages the client's people or products.
        r = self.a.put(f"{cb}/products/{mail}/grants/{wid}",
                       {"subject": "member", "rights": ["use"]}, token=agency)
        self.assertEqual(r.status, 200, r)
        r = self.a.put(f"{cb}/products/{drive}/grants/{wid}",
                       {"subject": "member", "rights": ["use"]}, token=agency)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        for r in (self.a.post(f"{cb}/products", {"kind": "chat", "name": "c"}, token=agency),
                  self.a.request("PATCH", f"{cb}/members/{wid}", {"role": "administrator"},
                                 token=agency),
                  self.a.get(f"{cb}/members", token=agency),
                  self.a.get(f"{cb}/audit", token=agency)):
            self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"), r)
        audit = self.a.get(f"{cb}/audit", token=client).json["audit"]
        self.assertEqual((audit[0]["action"], audit[0]["via"], audit[0]["actor"]),
                         ("grant_changed", "partner", self.me(agency)))
        # The partner ends it: at once, nothing is left.
        self.assertEqual(self.a.delete(f"/1/organizations/{aorg}/partners/{corg}",
                                       token=agency).status, 204)
        r = self.a.get(f"{cb}/products/{mail}/access", token=agency)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        self.assertEqual(self.a.get(f"{cb}/partners", token=client).json["partners"], [])
        actions = [x["action"] for x in self.a.get(f"{cb}/audit", token=client).json["audit"]]
        self.assertEqual(actions[0], "partner_removed")

    def test_one_manager_of_two_partners(self):
        """Someone who manages two partners of one client has what both
        relations give, and loses each part when its relation ends."""
        client, corg = self.org("Client Three")
        e = email()
        self.a.signup(e, name="Two Hats")
        person = self.a.session(e)
        aorg = org_of(self.a, person)  # the first agency: its own
        other, borg = self.org("Agency Three")
        r = self.a.post(f"/1/organizations/{borg}/invitations",
                        {"email": e, "role": "administrator"}, token=other)
        self.assertEqual(r.status, 201, r)
        r = self.a.post("/1/invitations/accept", {"token": invitation_token(SMTP, e)},
                        token=person)
        self.assertEqual(r.status, 200, r)
        cb = f"/1/organizations/{corg}"
        mail = self.a.post(f"{cb}/products", {"kind": "mail", "name": "m"},
                           token=client).json["id"]
        drive = self.a.post(f"{cb}/products", {"kind": "drive", "name": "d"},
                            token=client).json["id"]
        for partner, products, billing in ((aorg, [mail], False), (borg, [drive], True)):
            r = self.a.post(f"{cb}/partners", {"partner_organization_id": partner,
                                               "products": products, "billing": billing},
                            token=client)
            self.assertEqual(r.status, 201, r)
        for p in (mail, drive):
            r = self.a.get(f"{cb}/products/{p}/access", token=person)
            self.assertEqual((r.status, r.json["via"], r.json["billing"]),
                             (200, ["partner"], True), p)
        listed = self.a.get(f"{cb}/products", token=person).json["products"]
        self.assertEqual(sorted(p["id"] for p in listed), sorted([mail, drive]))
        # The second relation ends: the drive (and billing) go with it.
        self.assertEqual(self.a.delete(f"{cb}/partners/{borg}", token=client).status, 204)
        r = self.a.get(f"{cb}/products/{drive}/access", token=person)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        r = self.a.get(f"{cb}/products/{mail}/access", token=person)
        self.assertEqual((r.status, r.json["billing"]), (200, False))

    def test_all_products_and_who_may(self):
        client, corg = self.org("Client Two")
        agency, aorg = self.org("Agency Two")
        coll = join(self.a, SMTP, client, corg, email())
        cb = f"/1/organizations/{corg}"
        body = {"partner_organization_id": aorg, "products": "all", "billing": True}
        r = self.a.post(f"{cb}/partners", body, token=coll)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.a.post(f"{cb}/partners", body, token=agency)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        self.assertEqual(self.a.post(f"{cb}/partners", body, token=client).status, 201)
        web = self.a.post(f"{cb}/products", {"kind": "hosting", "name": "w"},
                          token=client).json["id"]
        r = self.a.get(f"{cb}/products/{web}/access", token=agency)
        self.assertEqual((r.status, r.json["billing"], r.json["via"]),
                         (200, True, ["partner"]))
        # The client ends it.
        self.assertEqual(self.a.delete(f"{cb}/partners/{aorg}", token=client).status, 204)
        self.assertEqual(self.a.get(f"{cb}/products/{web}/access", token=agency).status, 404)
        r = self.a.delete(f"{cb}/partners/{aorg}", token=client)
        self.assertEqual((r.status, r.json["code"]), (404, "subject_not_found"))

    def test_bad_input(self):
        client, corg = self.org("Client Three")
        cb = f"/1/organizations/{corg}"
        for body, status, code in (
                ({"products": "all"}, 400, "missing_field"),
                ({"partner_organization_id": "x", "products": "all"}, 400, "invalid_field"),
                ({"partner_organization_id": "00" * 16, "products": "some"}, 400,
                 "invalid_field"),
                ({"partner_organization_id": "00" * 16, "products": []}, 400, "invalid_field"),
                ({"partner_organization_id": "00" * 16, "products": [1]}, 400,
                 "invalid_field"),
                ({"partner_organization_id": "00" * 16, "products": "all"}, 404,
                 "subject_not_found"),
                ({"partner_organization_id": corg, "products": "all"}, 404,
                 "subject_not_found"),
                ({"partner_organization_id": "00" * 16, "products": "all", "x": 1}, 400,
                 "unknown_field")):
            r = self.a.post(f"{cb}/partners", body, token=client)
            self.assertEqual((r.status, r.json["code"]), (status, code), body)
        _, other = self.org("Other")
        r = self.a.post(f"{cb}/partners", {"partner_organization_id": other,
                                           "products": ["ab" * 16]}, token=client)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        self.assertEqual(self.a.get(f"{cb}/partners", token=client).json,
                         {"partners": [], "clients": []})


if __name__ == "__main__":
    unittest.main()
