"""The authorization matrix of the organization API, generated from the
route table (authd/router.c) and checked against the OpenAPI spec
(docs/openapi.yaml): every organization endpoint x every kind of caller
(legal representative, administrator, collaborator with and without the
product, external user, member of another organization, partner user
within and beyond its relation, anonymous, API token with and without the
scope, the organization's own token), against the live server. The expected answer comes from one table
per policy action below; a route whose action has no line fails the test.
Every id-taking endpoint is also tried with ids of another organization:
404, and never a byte of the other organization's data.

Requests that would change the fixtures name ids that do not exist: the
policy is asked first, so "allowed" shows as the resource's own 404
(member_not_found...), never as 401, 403 or organization_not_found."""

import os
import re
import unittest
import uuid

import yaml

from authd_harness import OwnAuthd, remember_secret
from org_harness import PUBLIC, join, org_of
from provider_harness import FakeProvider
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()
PROVIDER = FakeProvider().start()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

PASS, FORBIDDEN, NO_ORG, NO_PRODUCT, UNAUTH, SCOPE = (
    "pass", "403", "404 organization", "404 product", "401", "scope")

CALLERS = ("lr", "admin", "coll_with", "coll_without", "ext", "other", "partner_in",
           "partner_out", "anon", "tok_rw", "tok_none", "org_tok")


def expect(managers=PASS, members=FORBIDDEN, partner_in=NO_ORG, partner_out=NO_ORG,
           coll_with=None, token=PASS):
    """One action's line: what each caller gets."""
    return {"lr": managers, "admin": managers, "coll_with": coll_with or members,
            "coll_without": members, "ext": members, "other": NO_ORG,
            "partner_in": partner_in, "partner_out": partner_out, "anon": UNAUTH,
            "tok_rw": token, "tok_none": SCOPE, "org_tok": token}


# The policy's rules (core/policy.c), restated as the callers see them.
MATRIX = {
    "ACT_ORG_MEMBERS_READ": expect(),
    "ACT_ORG_MEMBER_CHANGE": expect(),
    "ACT_ORG_MEMBER_REMOVE": expect(),
    "ACT_ORG_AUDIT_READ": expect(),
    "ACT_ORG_INVITE": expect(),
    "ACT_ORG_INVITES_READ": expect(),
    "ACT_ORG_PRODUCTS_READ": expect(members=PASS, partner_in=PASS, partner_out=PASS),
    "ACT_ORG_PRODUCT_MANAGE": expect(),
    "ACT_ORG_GRANTS_READ": expect(partner_in=PASS, partner_out=NO_PRODUCT),
    "ACT_ORG_GRANT_MANAGE": expect(partner_in=PASS, partner_out=NO_PRODUCT),
    "ACT_PRODUCT_ACCESS_READ": expect(members=NO_PRODUCT, coll_with=PASS, partner_in=PASS,
                                      partner_out=NO_PRODUCT),
    "ACT_ORG_TEAMS_READ": expect(members=PASS),
    "ACT_ORG_TEAM_MANAGE": expect(),
    "ACT_ORG_PARTNERS_READ": expect(),
    # A legal representative's act, after a recent sign-in: never a token's.
    "ACT_ORG_PARTNER_ADD": dict(expect(), admin=FORBIDDEN, tok_rw=FORBIDDEN, tok_none=FORBIDDEN,
                                org_tok=FORBIDDEN),
    "ACT_ORG_PARTNER_END": expect(),
    # The organization's tokens: its managers', never a token's.
    "ACT_ORG_TOKEN_CREATE": expect(token=FORBIDDEN) | {
        "tok_none": FORBIDDEN},
    "ACT_ORG_TOKENS_READ": expect(token=FORBIDDEN) | {"tok_none": FORBIDDEN},
    "ACT_ORG_TOKEN_REVOKE": expect(token=FORBIDDEN) | {"tok_none": FORBIDDEN},
    # Support grants: the managers', granting after a recent sign-in and
    # never by a token.
    "ACT_ORG_SUPPORT_GRANT": expect(token=FORBIDDEN) | {"tok_none": FORBIDDEN},
    "ACT_ORG_SUPPORT_READ": expect(),
    "ACT_ORG_SUPPORT_REVOKE": expect(),
    # Billing: the billing right, whatever the role (the founder has it,
    # the administrator and the partners here do not); billing:* scopes.
    "ACT_ORG_BILLING_READ": dict(expect(), admin=FORBIDDEN, partner_in=FORBIDDEN,
                                 partner_out=FORBIDDEN, tok_rw=SCOPE, org_tok=SCOPE),
    "ACT_ORG_BILLING_MANAGE": dict(expect(), admin=FORBIDDEN, partner_in=FORBIDDEN,
                                   partner_out=FORBIDDEN, tok_rw=SCOPE, org_tok=SCOPE),
}


def routes():
    """(method, pattern, action) of every organization route, from the
    route table."""
    text = open(os.path.join(ROOT, "authd", "router.c"), encoding="utf-8").read()
    found = re.findall(r'\{"(organizations/[^"]+)",\s*\w+,\s*M_(\w+),\s*(ACT_\w+)', text)
    return [(m, p, a) for p, m, a in found]


def email():
    return f"z{uuid.uuid4().hex[:12]}@example.com"


NONE = "0f" * 16  # an id nothing has


class AuthzMatrix(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n" + PROVIDER.config())

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        a = cls.a

        def org(name):
            e = email()
            a.signup(e, name=name)
            tok = a.session(e)
            return tok, org_of(a, tok)

        def token(session, scopes):
            r = a.post("/1/me/tokens", {"name": "matrix", "scopes": scopes}, token=session)
            assert r.status == 201, r
            remember_secret(r.json["token"])
            return r.json["token"]

        lr, o = org("Matrix Org")
        base = f"/1/organizations/{o}"
        p = a.post(f"{base}/products", {"kind": "mail", "name": "Mail"}, token=lr).json["id"]
        p2 = a.post(f"{base}/products", {"kind": "drive", "name": "Drive"}, token=lr).json["id"]
        c = {"lr": lr}
        c["admin"] = join(a, SMTP, lr, o, email(), role="administrator")
        c["coll_with"] = join(a, SMTP, lr, o, email())
        c["coll_without"] = join(a, SMTP, lr, o, email())
        c["ext"] = join(a, SMTP, lr, o, email(), role="external")
        coll_id = a.get("/1/me", token=c["coll_with"]).json["account_id"]
        r = a.put(f"{base}/products/{p}/grants/{coll_id}", {"subject": "member",
                                                             "rights": ["use"]}, token=lr)
        assert r.status == 200, r
        c["other"], xorg = org("Elsewhere Inc")
        c["partner_in"], porg = org("Partner In")
        c["partner_out"], qorg = org("Partner Out")
        for partner, products in ((porg, "all"), (qorg, [p2])):
            r = a.post(f"{base}/partners", {"partner_organization_id": partner,
                                            "products": products}, token=lr)
            assert r.status == 201, r
        c["anon"] = None
        c["tok_rw"] = token(lr, ["organizations:read", "organizations:write"])
        c["tok_none"] = token(lr, ["account:read"])
        r = a.post(f"{base}/tokens", {"name": "matrix", "scopes": ["organizations:read",
                                                                "organizations:write"]},
                   token=lr)
        assert r.status == 201, r
        remember_secret(r.json["token"])
        c["org_tok"] = r.json["token"]
        # The other organization's ids, for the cross-organization check.
        xbase = f"/1/organizations/{xorg}"
        other = c["other"]
        x = {"org": xorg,
             "member": a.get("/1/me", token=other).json["account_id"],
             "product": a.post(f"{xbase}/products", {"kind": "chat", "name": "Their chat"},
                               token=other).json["id"],
             "team": a.post(f"{xbase}/teams", {"name": "Their team"}, token=other).json["id"],
             "invitation": a.post(f"{xbase}/invitations", {"email": email()},
                                  token=other).json["id"],
             "token": a.post(f"{xbase}/tokens", {"name": "Their token",
                                                 "scopes": ["organizations:read"]},
                             token=other).json["id"],
             "support": a.post(f"{xbase}/support-grants", {"kind": "drive",
                                                           "request": "Their request"},
                               token=other).json["id"],
             "address": a.post(f"{xbase}/billing/addresses",
                               {"name": "Their company", "line1": "Their street 1",
                                "postal_code": "8000", "city": "Zurich", "country": "CH"},
                               token=other).json["id"]}
        x["payment"] = a.post(f"{xbase}/billing/deposits", {"amount": "5.00"}, token=other,
                              headers={"Idempotency-Key": "matrix"}).json["id"]
        x["invoice"] = a.post(f"{xbase}/billing/orders",
                              {"product": {"kind": "mail", "name": "Their mail"}},
                              token=other).json["id"]
        cls.c, cls.o, cls.p, cls.x = c, o, p, x

    def url(self, pattern, ids):
        """The pattern with each '*' replaced by the id its segment names."""
        parts = pattern.split("/")
        for i, seg in enumerate(parts):
            if seg == "*":
                parts[i] = ids[parts[i - 1]]
        return "/1/" + "/".join(parts)

    @staticmethod
    def body(method, pattern):
        if method in ("GET", "DELETE"):
            return None
        last = [s for s in pattern.split("/") if s != "*"][-1]
        return {("POST", "invitations"): {"email": email()},
                ("PATCH", "members"): {"billing": False},
                ("POST", "products"): {"kind": "other", "name": "Made by the matrix"},
                ("PUT", "grants"): {"subject": "member", "rights": ["use"]},
                ("POST", "teams"): {"name": "Made by the matrix"},
                ("PATCH", "teams"): {"name": "Renamed"},
                ("POST", "partners"): {"partner_organization_id": NONE, "products": "all"},
                ("POST", "tokens"): {"name": "Made by the matrix",
                                     "scopes": ["organizations:read"]},
                ("POST", "support-grants"): {"kind": "mail", "request": "matrix"},
                ("POST", "addresses"): {"name": "Matrix SA", "line1": "Rue 1",
                                        "postal_code": "1200", "city": "Geneva",
                                        "country": "CH"},
                ("PATCH", "addresses"): {"city": "Lausanne"},
                ("PUT", "auto-renewal"): {"enabled": False},
                ("POST", "deposits"): {"amount": "5.00"},
                ("POST", "payments"): {"invoices": [NONE]},
                ("POST", "orders"): {"product": {"kind": "other", "name": "Matrix order"}},
                ("POST", "cancel"): None,
                ("PUT", "members"): None}[(method, last)]

    def outcome(self, r):
        code = (r.json or {}).get("code")
        if r.status == 401:
            return UNAUTH
        if r.status == 403:
            return SCOPE if code == "insufficient_scope" else FORBIDDEN
        if r.status == 404 and code == "organization_not_found":
            return NO_ORG
        if r.status == 404 and code == "product_not_found":
            return NO_PRODUCT
        return PASS

    def test_every_route_has_a_line_and_a_spec(self):
        with open(os.path.join(ROOT, "docs", "openapi.yaml"), encoding="utf-8") as f:
            spec = yaml.safe_load(f)
        names = {"organizations": "organization_id", "members": "account_id",
                 "products": "product_id", "grants": "subject_id", "teams": "team_id",
                 "invitations": "invitation_id", "partners": "other_organization_id",
                 "tokens": "token_id", "support-grants": "grant_id",
                 "addresses": "address_id", "payments": "payment_id",
                 "invoices": "invoice_id"}
        missing = []
        for method, pattern, action in routes():
            self.assertIn(action, MATRIX, f"{method} {pattern}: no line for {action}")
            parts = pattern.split("/")
            path = "/1/" + "/".join("{" + names[parts[i - 1]] + "}" if s == "*" else s
                                    for i, s in enumerate(parts))
            ops = spec["paths"].get(path) or {}
            if method.lower() not in ops:
                missing.append(f"{method} {path}")
        self.assertEqual(missing, [], "routes the OpenAPI spec does not describe")

    def test_matrix(self):
        ids = {"organizations": self.o, "products": self.p, "members": NONE, "grants": NONE,
               "teams": NONE, "invitations": NONE, "partners": NONE, "tokens": NONE,
               "support-grants": NONE, "addresses": NONE, "payments": NONE, "invoices": NONE}
        wrong = []
        n = 0
        for method, pattern, action in routes():
            for who in CALLERS:
                want = MATRIX[action][who]
                tok = self.c[who]
                if method == "DELETE" and pattern.endswith("/products/*"):
                    # A product of its own for each try: an allowed one goes.
                    ids["products"] = self.a.post(
                        f"/1/organizations/{self.o}/products", {"kind": "other", "name": "x"},
                        token=self.c["lr"]).json["id"]
                r = self.a.request(method, self.url(pattern, ids), self.body(method, pattern),
                                   token=tok)
                ids["products"] = self.p
                got = self.outcome(r)
                n += 1
                if got != want:
                    wrong.append(f"{method} {pattern} as {who}: {got} ({r.status} "
                                 f"{(r.json or {}).get('code')}), expected {want}")
        self.assertEqual(wrong, [], f"{len(wrong)} of {n} answers differ:\n" + "\n".join(wrong))
        self.assertGreater(n, 200)

    def test_ids_of_another_organization(self):
        """This organization's path with the other one's ids: absent, and
        none of its data in the answer."""
        x = self.x
        ids = {"organizations": self.o, "products": x["product"], "members": x["member"],
               "grants": x["member"], "teams": x["team"], "invitations": x["invitation"],
               "partners": x["org"], "tokens": x["token"], "support-grants": x["support"],
               "addresses": x["address"], "payments": x["payment"],
               "invoices": x["invoice"]}
        leaks = []
        for method, pattern, action in routes():
            if pattern.count("*") < 2:
                continue
            r = self.a.request(method, self.url(pattern, ids), self.body(method, pattern),
                               token=self.c["lr"])
            text = r.body.decode("utf-8", "replace")
            if r.status != 404 or any(v in text for v in x.values()) or \
                    "Their " in text:
                leaks.append(f"{method} {pattern}: {r.status} {text[:120]}")
        # And the other organization's own paths, by this one's people.
        for method, pattern, action in routes():
            ids = {"organizations": x["org"], "products": x["product"], "members": x["member"],
                   "grants": x["member"], "teams": x["team"], "invitations": x["invitation"],
                   "partners": self.o, "tokens": x["token"], "support-grants": x["support"],
                   "addresses": x["address"], "payments": x["payment"],
               "invoices": x["invoice"]}
            for who in ("lr", "admin", "coll_with", "tok_rw", "org_tok"):
                r = self.a.request(method, self.url(pattern, ids), self.body(method, pattern),
                                   token=self.c[who])
                text = r.body.decode("utf-8", "replace")
                # What a token may never do, or has no scope for, is refused
                # before any organization is looked at: that says nothing of
                # the organization.
                never = who in ("tok_rw", "org_tok") and \
                    (r.json or {}).get("code") in ("presence_required", "insufficient_scope")
                if (r.status != 404 and not never) or "Their " in text or x["product"] in text:
                    leaks.append(f"{method} {pattern} as {who}: {r.status} {text[:120]}")
        self.assertEqual(leaks, [])
        # Nothing of theirs moved.
        r = self.a.get(f"/1/organizations/{x['org']}/products", token=self.c["other"])
        self.assertEqual([p["id"] for p in r.json["products"]], [x["product"]])
        r = self.a.get(f"/1/organizations/{x['org']}/teams", token=self.c["other"])
        self.assertEqual([t["id"] for t in r.json["teams"]], [x["team"]])
        r = self.a.get(f"/1/organizations/{x['org']}/tokens", token=self.c["other"])
        self.assertEqual([t["id"] for t in r.json["tokens"]], [x["token"]])
        r = self.a.get(f"/1/organizations/{x['org']}/support-grants", token=self.c["other"])
        self.assertEqual([(g["id"], g["state"]) for g in r.json["support_grants"]],
                         [(x["support"], "active")])
        r = self.a.get(f"/1/organizations/{x['org']}/billing/addresses", token=self.c["other"])
        self.assertEqual([(b["id"], b["city"]) for b in r.json["addresses"]],
                         [(x["address"], "Zurich")])


if __name__ == "__main__":
    unittest.main()
