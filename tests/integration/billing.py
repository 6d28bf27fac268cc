"""Billing: an organization's billing addresses and the currency its
default one decides (CHF in Switzerland and Liechtenstein, EUR elsewhere).
Only who holds the billing right sees or changes billing, whatever the
role: everyone else gets 403 on every billing endpoint. Every change is in
the organization's audit trail."""

import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret
from org_harness import PUBLIC, invitation_token, join, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()


def email():
    return f"b{uuid.uuid4().hex[:12]}@example.com"


GENEVA = {"name": "Example SA", "line1": "Rue du Rhone 1", "postal_code": "1204",
          "city": "Geneve", "country": "CH", "vat_number": "CHE-123.456.789 MWST"}
BERLIN = {"name": "Example GmbH", "line1": "Unter den Linden 1", "line2": "3. OG",
          "postal_code": "10117", "city": "Berlin", "country": "DE"}


class Billing(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def setUp(self):
        e = self.lr_email = email()
        self.a.signup(e, name="Bea Billing")
        self.lr = self.a.session(e)
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}/billing/addresses"

    def listed(self, token=None):
        r = self.a.get(self.base, token=token or self.lr)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_addresses_and_currency(self):
        self.assertEqual(self.listed(), {"currency": None, "addresses": []})
        r = self.a.post(self.base, GENEVA, token=self.lr)
        self.assertEqual(r.status, 201, r)
        ge = r.json
        self.assertEqual((ge["default"], ge["currency"], ge["line2"], ge["vat_number"]),
                         (True, "CHF", None, GENEVA["vat_number"]))
        self.assertEqual(self.listed()["currency"], "CHF")
        # A second one, made the default: the currency follows it.
        r = self.a.post(self.base, dict(BERLIN, default=True), token=self.lr)
        self.assertEqual(r.status, 201, r)
        be = r.json
        got = self.listed()
        self.assertEqual(got["currency"], "EUR")
        self.assertEqual({x["id"]: x["default"] for x in got["addresses"]},
                         {ge["id"]: False, be["id"]: True})
        # Changing one; making Geneva the default again.
        r = self.a.request("PATCH", f"{self.base}/{ge['id']}",
                           {"line2": "Case postale 42", "default": True}, token=self.lr)
        self.assertEqual((r.status, r.json["line2"], r.json["default"]), (200, "Case postale 42",
                                                                         True))
        got = self.listed()
        self.assertEqual(got["currency"], "CHF")
        self.assertEqual({x["id"]: (x["line2"], x["default"]) for x in got["addresses"]},
                         {ge["id"]: ("Case postale 42", True), be["id"]: ("3. OG", False)})
        # The default stays one until another takes its place.
        r = self.a.request("PATCH", f"{self.base}/{ge['id']}", {"default": False},
                           token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (409, "default_address"))
        r = self.a.delete(f"{self.base}/{ge['id']}", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (409, "default_address"))
        self.assertEqual(self.a.delete(f"{self.base}/{be['id']}", token=self.lr).status, 204)
        r = self.a.delete(f"{self.base}/{be['id']}", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "address_not_found"))
        self.assertEqual(self.a.delete(f"{self.base}/{ge['id']}", token=self.lr).status, 204)
        self.assertEqual(self.listed(), {"currency": None, "addresses": []})
        actions = [x["action"] for x in self.a.get(
            f"/1/organizations/{self.org}/audit?limit=100", token=self.lr).json["audit"]]
        self.assertEqual([a for a in actions if a.startswith("billing_")],
                         ["billing_address_removed", "billing_address_removed",
                          "billing_address_changed", "billing_address_added",
                          "billing_address_added"])

    def test_only_with_the_billing_right(self):
        admin = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        coll = join(self.a, SMTP, self.lr, self.org, email())
        payer = join(self.a, SMTP, self.lr, self.org, email(), billing=True)
        r = self.a.post(self.base, GENEVA, token=self.lr)
        self.assertEqual(r.status, 201, r)
        aid = r.json["id"]
        for who in (admin, coll):
            for method, path, body in (("GET", self.base, None), ("POST", self.base, BERLIN),
                                       ("PATCH", f"{self.base}/{aid}", {"city": "Bern"}),
                                       ("DELETE", f"{self.base}/{aid}", None)):
                r = self.a.request(method, path, body, token=who)
                self.assertEqual((r.status, r.json["code"]), (403, "forbidden"), (method, path))
        # A collaborator with the right has billing, and nothing else.
        self.assertEqual(len(self.listed(payer)["addresses"]), 1)
        r = self.a.request("PATCH", f"{self.base}/{aid}", {"city": "Carouge"}, token=payer)
        self.assertEqual((r.status, r.json["city"]), (200, "Carouge"))
        self.assertEqual(self.a.get(f"/1/organizations/{self.org}/members",
                                    token=payer).status, 403)
        # Tokens: billing scopes, and the account's right.
        def token(session, scopes, org=False):
            path = f"/1/organizations/{self.org}/tokens" if org else "/1/me/tokens"
            r = self.a.post(path, {"name": "t", "scopes": scopes}, token=session)
            self.assertEqual(r.status, 201, r)
            remember_secret(r.json["token"])
            return r.json["token"]
        ro = token(self.lr, ["billing:read"])
        self.assertEqual(self.a.get(self.base, token=ro).status, 200)
        r = self.a.post(self.base, BERLIN, token=ro)
        self.assertEqual((r.status, r.json["code"]), (403, "insufficient_scope"))
        r = self.a.get(self.base, token=token(self.lr, ["organizations:read"]))
        self.assertEqual((r.status, r.json["code"]), (403, "insufficient_scope"))
        r = self.a.get(self.base, token=token(coll, ["billing:read"]))
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.a.get(self.base, token=token(self.lr, ["organizations:read"], org=True))
        self.assertEqual((r.status, r.json["code"]), (403, "insufficient_scope"))
        # A partner: with the relation's billing only.
        e = email()
        self.a.signup(e)
        agency = self.a.session(e)
        aorg = org_of(self.a, agency)
        for billing, status in ((False, 403), (True, 200)):
            r = self.a.post(f"/1/organizations/{self.org}/partners",
                            {"partner_organization_id": aorg, "products": "all",
                             "billing": billing}, token=self.lr)
            self.assertEqual(r.status, 201, r)
            self.assertEqual(self.a.get(self.base, token=agency).status, status, billing)
        # The partner's read is in the client's trail.
        audit = self.a.get(f"/1/organizations/{self.org}/audit", token=self.lr).json["audit"]
        self.assertEqual((audit[0]["action"], audit[0]["via"], audit[0]["detail"]),
                         ("read", "partner", {"what": "billing_addresses"}))
        r = self.a.delete(f"{self.base}/{aid}?x=1", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))
        # Someone else's organization is none of theirs.
        r = self.a.get(f"/1/organizations/{aorg}/billing/addresses", token=payer)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))

    def test_auto_renewal_fourteen_days(self):
        """Turning auto-renewal on is refused less than 14 days before expiry
        (renew first); 14 days to the second is still in time."""
        now = self.a.now()
        base = f"/1/organizations/{self.org}/products"
        r = self.a.post(base, {"kind": "domain", "name": "example.ch", "renewal_months": 24,
                               "expires_at": now + 30 * 86400}, token=self.lr)
        self.assertEqual(r.status, 201, r)
        p = r.json
        self.assertEqual((p["renewal_months"], p["auto_renew"], p["renewal_due"]),
                         (24, False, None))
        path = f"{base}/{p['id']}/auto-renewal"
        self.a.advance(16 * 86400)  # exactly 14 days before expiry
        self.lr = self.a.session(self.lr_email)
        r = self.a.put(path, {"enabled": True}, token=self.lr)
        self.assertEqual((r.status, r.json["auto_renew"]), (200, True), r)
        due = r.json["renewal_due"]
        self.assertEqual(self.a.put(path, {"enabled": False}, token=self.lr).json["auto_renew"],
                         False)
        self.a.advance(1)  # a second too late
        r = self.a.put(path, {"enabled": True}, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (409, "renew_first"))
        # Turning it off is always possible; it was on, then off.
        listed = {x["id"]: x for x in self.a.get(base, token=self.lr).json["products"]}
        self.assertEqual(listed[p["id"]]["auto_renew"], False)
        trail = [(x["action"], x["detail"]) for x in self.a.get(
            f"/1/organizations/{self.org}/audit", token=self.lr).json["audit"]
            if x["action"] == "auto_renewal_changed"]
        self.assertEqual(trail, [("auto_renewal_changed", {"enabled": False}),
                                 ("auto_renewal_changed", {"enabled": True})])
        import datetime
        self.assertEqual(int(datetime.datetime.strptime(due, "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()), now + 16 * 86400)
        # No expiry, nothing to renew before; only with the billing right.
        q = self.a.post(base, {"kind": "other", "name": "x"}, token=self.lr).json
        r = self.a.put(f"{base}/{q['id']}/auto-renewal", {"enabled": True}, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (409, "no_expiry"))
        admin = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        r = self.a.put(path, {"enabled": False}, token=admin)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        r = self.a.put(f"{base}/{'0f' * 16}/auto-renewal", {"enabled": False}, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "product_not_found"))
        for body in ({}, {"enabled": "yes"}, {"enabled": True, "x": 1}):
            self.assertEqual(self.a.put(path, body, token=self.lr).status, 400, body)

    def test_partner_billing_per_product(self):
        """Someone who manages two partners of one client, one with billing
        on product X, the other without on product Y, has billing on X
        only: merged relations do not lend one's billing to the other's
        products."""
        now = self.a.now()
        base = f"/1/organizations/{self.org}/products"
        x = self.a.post(base, {"kind": "mail", "name": "x", "expires_at": now + 90 * 86400},
                        token=self.lr).json["id"]
        y = self.a.post(base, {"kind": "drive", "name": "y", "expires_at": now + 90 * 86400},
                        token=self.lr).json["id"]
        e = email()
        self.a.signup(e, name="Two Hats")
        person = self.a.session(e)
        p1 = org_of(self.a, person)
        e2 = email()
        self.a.signup(e2)
        other = self.a.session(e2)
        p2 = org_of(self.a, other)
        r = self.a.post(f"/1/organizations/{p2}/invitations",
                        {"email": e, "role": "administrator"}, token=other)
        self.assertEqual(r.status, 201, r)
        r = self.a.post("/1/invitations/accept", {"token": invitation_token(SMTP, e)},
                        token=person)
        self.assertEqual(r.status, 200, r)
        for partner, product, billing in ((p1, x, True), (p2, y, False)):
            r = self.a.post(f"/1/organizations/{self.org}/partners",
                            {"partner_organization_id": partner, "products": [product],
                             "billing": billing}, token=self.lr)
            self.assertEqual(r.status, 201, r)
        r = self.a.put(f"{base}/{x}/auto-renewal", {"enabled": True}, token=person)
        self.assertEqual((r.status, r.json.get("auto_renew")), (200, True), r)
        r = self.a.put(f"{base}/{y}/auto-renewal", {"enabled": True}, token=person)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))

    def test_bad_input(self):
        for body, code, field in (({**GENEVA, "country": "ch"}, "invalid_field", "country"),
                                  ({**GENEVA, "country": "CHE"}, "invalid_field", "country"),
                                  ({**GENEVA, "name": ""}, "invalid_field", "name"),
                                  ({**GENEVA, "name": "x" * 101}, "invalid_field", "name"),
                                  ({**GENEVA, "city": 5}, "invalid_field", "city"),
                                  ({**GENEVA, "default": "yes"}, "invalid_field", "default"),
                                  ({**GENEVA, "iban": "CH00"}, "unknown_field", None),
                                  ({k: v for k, v in GENEVA.items() if k != "city"},
                                   "missing_field", "city")):
            r = self.a.post(self.base, body, token=self.lr)
            self.assertEqual((r.status, r.json["code"], r.json.get("field")), (400, code, field),
                             body)
        self.assertEqual(self.listed()["addresses"], [])
        aid = self.a.post(self.base, GENEVA, token=self.lr).json["id"]
        for body, code in (({}, "missing_field"), ({"country": "de"}, "invalid_field")):
            r = self.a.request("PATCH", f"{self.base}/{aid}", body, token=self.lr)
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        r = self.a.request("PATCH", f"{self.base}/" + "0f" * 16, {"city": "Bern"},
                           token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "address_not_found"))
        self.assertEqual(self.listed()["addresses"][0]["city"], "Geneve")
        for _ in range(19):
            self.assertEqual(self.a.post(self.base, BERLIN, token=self.lr).status, 201)
        r = self.a.post(self.base, BERLIN, token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (409, "too_many_addresses"))
        self.assertEqual(len(self.listed()["addresses"]), 20)


if __name__ == "__main__":
    unittest.main()
