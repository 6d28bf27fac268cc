"""API tokens: made by a person after a recent sign-in, shown once, kept
hashed; bearer use within their scopes on the whole API, never as proof of
presence; listed with their last use; revoked at once; 60 requests per
rolling minute each (the 61st gets 429 rate_limited with Retry-After),
exactly, under concurrency and across three nodes. An organization's
tokens: made, listed and revoked by its legal representatives and
administrators, acting as an administrator of that organization only,
and never keeping a power their maker lost."""

import concurrent.futures
import threading
import unittest
import uuid

from authd_harness import ENGINE, OwnAuthd, remember_secret
from cluster import Cluster
from org_harness import PUBLIC, invitation_token, join, mail, org_of
from smtp_harness import SmtpServer

SMTP = SmtpServer().start()

PASSWORD = "correct horse battery"
MAIL_CREDENTIAL = "tokens-mail-service-credential-0123456789"


def email():
    return f"t{uuid.uuid4().hex[:12]}@example.com"


def make_token(a, session, scopes, name="ci", **extra):
    r = a.post("/1/me/tokens", {"name": name, "scopes": scopes, **extra}, token=session)
    assert r.status == 201, r
    remember_secret(r.json["token"])
    return r.json


class Tokens(OwnAuthd, unittest.TestCase):
    authd_config = f"[services]\nmail_credential = {MAIL_CREDENTIAL}\n"

    def person(self):
        e = email()
        self.a.signup(e, name="Tom Token")
        return e, self.a.session(e)

    def test_scopes_and_presence(self):
        e, s = self.person()
        t = make_token(self.a, s, ["account:read"], name="reporting")
        self.assertRegex(t["token"], r"^authd_tok_[A-Za-z0-9_-]{43}$")
        self.assertEqual((t["name"], t["scopes"], t["expires_at"], t["last_used_at"]),
                         ("reporting", ["account:read"], None, None))
        tok = t["token"]
        me = self.a.get("/1/me", token=tok)
        self.assertEqual((me.status, me.json["email"]), (200, e))
        # Outside its scopes: 403 insufficient_scope, as RFC 6750 says.
        r = self.a.get("/1/organizations", token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "insufficient_scope"))
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer error="insufficient_scope"')
        # Never a person present, whatever its scopes.
        full = make_token(self.a, s, ["account:read", "account:write", "organizations:read",
                                      "organizations:write"])["token"]
        for method, path, body in (
                ("PUT", "/1/me/password", {"current_password": PASSWORD,
                                           "new_password": "another horse battery"}),
                ("POST", "/1/me/2fa/totp", None),
                ("POST", "/1/me/2fa/backup-codes", None),
                ("PUT", "/1/me/recovery/email", {"email": email(), "password": PASSWORD}),
                ("POST", "/1/me/tokens", {"name": "x", "scopes": ["account:read"]}),
                ("POST", "/1/me/devices", None),
                ("POST", "/1/logout", None),
                ("PUT", "/1/session/organization", {"organization_id": "00" * 16}),
                ("POST", "/1/me/close", {"password": PASSWORD})):
            r = self.a.request(method, path, body, token=full)
            self.assertEqual((r.status, r.json["code"]), (403, "presence_required"), path)
        self.assertEqual(self.a.login(e).status, 200)  # the password is unchanged
        # Listed with its last use; revoked, it is dead at once.
        listed = self.a.get("/1/me/tokens", token=s).json["tokens"]
        self.assertEqual(len(listed), 2)
        self.assertIn(t["id"], [x["id"] for x in listed])
        mine = [x for x in listed if x["id"] == t["id"]][0]
        self.assertIsNotNone(mine["last_used_at"])
        self.assertNotIn("token", mine)
        self.assertEqual(self.a.delete(f"/1/me/tokens/{t['id']}", token=s).status, 204)
        r = self.a.get("/1/me", token=tok)
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"))
        self.assertEqual(r.header("WWW-Authenticate"), 'Bearer error="invalid_token"')
        r = self.a.delete(f"/1/me/tokens/{t['id']}", token=s)
        self.assertEqual((r.status, r.json["code"]), (404, "token_not_found"))
        # Another account's token id is not this one's to revoke.
        _, s2 = self.person()
        other = make_token(self.a, s2, ["account:read"])
        r = self.a.delete(f"/1/me/tokens/{other['id']}", token=s)
        self.assertEqual((r.status, r.json["code"]), (404, "token_not_found"))
        self.assertEqual(self.a.get("/1/me", token=other["token"]).status, 200)

    def test_die_with_every_session(self):
        """When every session of the account is ended for its safety (here its
        login email reported deleted; also a reset, a lock, a second factor
        reset, closing), its tokens end too."""
        e, s = self.person()
        tok = make_token(self.a, s, ["account:read"])["token"]
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        # And the organization's tokens it made: whoever had the account
        # may have made them.
        org = self.a.get("/1/organizations", token=s).json["organizations"][0]["id"]
        r = self.a.post(f"/1/organizations/{org}/tokens",
                        {"name": "ci", "scopes": ["organizations:read"]}, token=s)
        self.assertEqual(r.status, 201, r)
        remember_secret(r.json["token"])
        org_tok = r.json
        r = self.a.post("/1/service/login-email-deleted", {"email": e}, token=MAIL_CREDENTIAL)
        self.assertIn(r.status, (200, 202, 204), r)
        for t, path in ((tok, "/1/me"), (org_tok["token"], f"/1/organizations/{org}/members")):
            r = self.a.get(path, token=t)
            self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"), path)

    def test_made_after_a_recent_sign_in(self):
        _, s = self.person()
        self.a.advance(600)  # past the 5-minute reauth window, the session still alive
        self.assertEqual(self.a.get("/1/me", token=s).status, 200)
        r = self.a.post("/1/me/tokens", {"name": "x", "scopes": ["account:read"]}, token=s)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        self.assertEqual(self.a.get("/1/me/tokens", token=s).json["tokens"], [])

    def test_sixty_a_minute(self):
        _, s = self.person()
        tok = make_token(self.a, s, ["account:read"])["token"]
        other = make_token(self.a, s, ["account:read"])["token"]
        conn = self.a.connection()
        for i in range(60):
            r = self.a.get("/1/me", token=tok, conn=conn)
            self.assertEqual(r.status, 200, (i, r))
        r = self.a.get("/1/me", token=tok, conn=conn)
        self.assertEqual((r.status, r.json["code"]), (429, "rate_limited"))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        wait = int(r.header("Retry-After"))
        self.assertTrue(1 <= wait <= 60, wait)
        # Each token counts its own; a refused request takes no slot.
        self.assertEqual(self.a.get("/1/me", token=other).status, 200)
        self.a.advance(wait - 1 if wait > 1 else 0)
        if wait > 1:
            self.assertEqual(self.a.get("/1/me", token=tok).status, 429)
        # The 60 were made in one instant: a minute later all 60 slots are
        # free again, and no more.
        self.a.advance(1)
        statuses = [self.a.get("/1/me", token=tok, conn=conn).status for _ in range(61)]
        self.assertEqual(statuses, [200] * 60 + [429])

    def test_exact_under_concurrency(self):
        _, s = self.person()
        tok = make_token(self.a, s, ["account:read"])["token"]
        barrier = threading.Barrier(16)

        def burst(_):
            barrier.wait()
            conn = self.a.connection()
            return [self.a.get("/1/me", token=tok, conn=conn).status for _ in range(6)]

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = [x for xs in pool.map(burst, range(16)) for x in xs]
        self.assertEqual((statuses.count(200), statuses.count(429)), (60, 36), statuses)

    def test_expiry(self):
        _, s = self.person()
        t = make_token(self.a, s, ["account:read"], expires_in=120)
        self.assertIsNotNone(t["expires_at"])
        self.assertEqual(self.a.get("/1/me", token=t["token"]).status, 200)
        self.a.advance(121)
        r = self.a.get("/1/me", token=t["token"])
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"))

    def test_organizations_with_a_token(self):
        _, s = self.person()
        org = self.a.get("/1/organizations", token=s).json["organizations"][0]["id"]
        ro = make_token(self.a, s, ["organizations:read"])["token"]
        rw = make_token(self.a, s, ["organizations:write"])["token"]
        r = self.a.get(f"/1/organizations/{org}/members", token=ro)
        self.assertEqual(r.status, 200, r)
        r = self.a.post(f"/1/organizations/{org}/invitations", {"email": email()}, token=ro)
        self.assertEqual((r.status, r.json["code"]), (403, "insufficient_scope"))
        r = self.a.post(f"/1/organizations/{org}/invitations", {"email": email()}, token=rw)
        self.assertEqual(r.status, 201, r)
        # Making a legal representative takes a person's second factor.
        r = self.a.post(f"/1/organizations/{org}/invitations",
                        {"email": email(), "role": "legal_representative"}, token=rw)
        self.assertEqual((r.status, r.json["code"]), (403, "presence_required"))
        audit = self.a.get(f"/1/organizations/{org}/audit", token=ro).json["audit"]
        self.assertEqual([(x["action"], x["via"]) for x in audit[:3]],
                         [("invitation_sent", "token"), ("token_created", "session"),
                          ("token_created", "session")])

    def test_bad_input(self):
        _, s = self.person()
        for body, code, field in (({"scopes": ["account:read"]}, "missing_field", "name"),
                                  ({"name": "x"}, "missing_field", "scopes"),
                                  ({"name": "x", "scopes": []}, "invalid_field", "scopes"),
                                  ({"name": "x", "scopes": ["admin"]}, "invalid_field",
                                   "scopes"),
                                  ({"name": "x", "scopes": "account:read"}, "invalid_field",
                                   "scopes"),
                                  ({"name": "", "scopes": ["account:read"]}, "invalid_field",
                                   "name"),
                                  ({"name": "x", "scopes": ["account:read"], "expires_in": 5},
                                   "invalid_field", "expires_in"),
                                  ({"name": "x", "scopes": ["account:read"], "y": 1},
                                   "unknown_field", "y")):
            r = self.a.post("/1/me/tokens", body, token=s)
            self.assertEqual((r.status, r.json["code"]), (400, code), body)
        self.assertEqual(self.a.get("/1/me/tokens", token=s).json["tokens"], [])
        for bad in ("authd_tok_", "authd_tok_" + "A" * 43, "authd_tok_\u00e9"):
            r = self.a.get("/1/me", headers={"Authorization": f"Bearer {bad}"})
            self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"), bad)
        r = self.a.delete("/1/me/tokens/nothex", token=s)
        self.assertEqual((r.status, r.json["code"]), (404, "token_not_found"))


class OrganizationTokens(OwnAuthd, unittest.TestCase):
    authd_config = (f"[server]\npublic_url = {PUBLIC}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <console@example.com>\n"
                    f"[outbox]\npoll_ms = 50\n")

    def setUp(self):
        e = email()
        self.a.signup(e, name="Olga Owner")
        self.lr = self.a.session(e)
        self.lr_id = self.a.get("/1/me", token=self.lr).json["account_id"]
        self.org = org_of(self.a, self.lr)
        self.base = f"/1/organizations/{self.org}"

    def make(self, session, scopes, name="deploy"):
        r = self.a.post(f"{self.base}/tokens", {"name": name, "scopes": scopes}, token=session)
        if r.status == 201:
            remember_secret(r.json["token"])
        return r

    def test_made_by_managers_acting_as_an_administrator(self):
        admin = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        admin_id = self.a.get("/1/me", token=admin).json["account_id"]
        coll = join(self.a, SMTP, self.lr, self.org, email())
        mine = make_token(self.a, self.lr, ["organizations:read"])
        r = self.make(self.lr, ["organizations:read", "organizations:write"])
        self.assertEqual(r.status, 201, r)
        tok = r.json
        self.assertEqual((tok["organization_id"], tok["created_by"], tok["scopes"]),
                         (self.org, self.lr_id, ["organizations:read", "organizations:write"]))
        self.assertTrue(tok["token"].startswith("authd_tok_"))
        r = self.make(admin, ["organizations:read"], name="reports")
        self.assertEqual((r.status, r.json["created_by"]), (201, admin_id))
        reports = r.json
        # Nobody else makes or sees them; a person's own are not among them.
        self.assertEqual(self.make(coll, ["organizations:read"]).status, 403)
        self.assertEqual(self.a.get(f"{self.base}/tokens", token=coll).status, 403)
        listed = self.a.get(f"{self.base}/tokens", token=admin).json["tokens"]
        self.assertEqual(sorted(t["id"] for t in listed), sorted([tok["id"], reports["id"]]))
        self.assertNotIn("token", listed[0])
        own = [t["id"] for t in self.a.get("/1/me/tokens", token=self.lr).json["tokens"]]
        self.assertEqual(own, [mine["id"]])
        # The organization's token: an administrator there, nobody's account.
        t = tok["token"]
        r = self.a.get("/1/me", token=t)
        self.assertEqual((r.status, r.json["code"]), (403, "insufficient_scope"))
        orgs = self.a.get("/1/organizations", token=t).json["organizations"]
        self.assertEqual([(o["id"], o["role"]) for o in orgs], [(self.org, "administrator")])
        self.assertEqual(self.a.get(f"{self.base}/members", token=t).status, 200)
        p = self.a.post(f"{self.base}/products", {"kind": "mail", "name": "Mail"},
                        token=t).json["id"]
        r = self.a.get(f"{self.base}/products/{p}/access", token=t)
        self.assertEqual((r.status, r.json["rights"], r.json["role"], r.json["via"]),
                         (200, ["use", "manage"], "administrator", ["role"]))
        # An administrator makes no legal representative; a token is never
        # a person's presence: it makes no tokens either.
        r = self.a.request("PATCH", f"{self.base}/members/{admin_id}",
                           {"role": "legal_representative"}, token=t)
        self.assertEqual((r.status, r.json["code"]), (403, "forbidden"))
        for method, path, body in (("POST", f"{self.base}/tokens",
                                    {"name": "x", "scopes": ["organizations:read"]}),
                                   ("GET", f"{self.base}/tokens", None),
                                   ("DELETE", f"{self.base}/tokens/{reports['id']}", None)):
            r = self.a.request(method, path, body, token=t)
            self.assertEqual((r.status, r.json["code"]), (403, "presence_required"), path)
        # Its invitation names it; the trail records it as the actor.
        invited = email()
        r = self.a.post(f"{self.base}/invitations", {"email": invited}, token=t)
        self.assertEqual(r.status, 201, r)
        self.assertIn('API token "deploy"', mail(SMTP, invited, " invites you to ")["body"])
        link = invitation_token(SMTP, invited)
        r = self.a.post("/1/invitations/view", {"token": link})
        self.assertEqual((r.status, r.json["invited_by"]), (200, 'API token "deploy"'))
        audit = self.a.get(f"{self.base}/audit", token=self.lr).json["audit"]
        sent = [x for x in audit if x["action"] == "invitation_sent"][0]
        self.assertEqual((sent["actor"], sent["via"]), (tok["id"], "token"))
        # A token keeps no power its maker lost: removed, or no longer a
        # manager, its tokens go (and say why).
        self.assertEqual(self.a.get(f"{self.base}/members", token=reports["token"]).status,
                         200)
        self.assertEqual(self.a.delete(f"{self.base}/members/{admin_id}",
                                       token=self.lr).status, 204)
        r = self.a.get(f"{self.base}/members", token=reports["token"])
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"))
        admin2 = join(self.a, SMTP, self.lr, self.org, email(), role="administrator")
        admin2_id = self.a.get("/1/me", token=admin2).json["account_id"]
        r = self.make(admin2, ["organizations:read"], name="sync")
        self.assertEqual(r.status, 201, r)
        sync = r.json
        r = self.a.request("PATCH", f"{self.base}/members/{admin2_id}", {"role": "collaborator"},
                           token=self.lr)
        self.assertEqual(r.status, 200, r)
        r = self.a.get(f"{self.base}/members", token=sync["token"])
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"))
        revoked = {x["subject"]: (x["actor"], x["detail"]) for x in
                   self.a.get(f"{self.base}/audit?limit=100", token=self.lr).json["audit"]
                   if x["action"] == "token_revoked"}
        self.assertEqual(revoked, {reports["id"]: (self.lr_id, {"reason": "maker_removed"}),
                                   sync["id"]: (self.lr_id, {"reason": "maker_demoted"})})
        listed = self.a.get(f"{self.base}/tokens", token=self.lr).json["tokens"]
        self.assertEqual([x["id"] for x in listed], [tok["id"]])
        # Revoked: refused at once, and its pending invitation withdrawn.
        self.assertEqual(self.a.delete(f"{self.base}/tokens/{tok['id']}",
                                       token=self.lr).status, 204)
        r = self.a.get(f"{self.base}/members", token=t)
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_token"))
        r = self.a.post("/1/invitations/view", {"token": link})
        self.assertEqual((r.status, r.json["code"]), (410, "invitation_revoked"))
        r = self.a.delete(f"{self.base}/tokens/{tok['id']}", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "token_not_found"))
        actions = [(x["action"], x["subject"]) for x in
                   self.a.get(f"{self.base}/audit?limit=100", token=self.lr).json["audit"]]
        self.assertIn(("token_created", tok["id"]), actions)
        self.assertIn(("token_revoked", tok["id"]), actions)

    def test_only_its_organization(self):
        tok = self.make(self.lr, ["organizations:read", "organizations:write"]).json
        e = email()
        self.a.signup(e, name="Other")
        other = self.a.session(e)
        xorg = org_of(self.a, other)
        theirs = self.a.post(f"/1/organizations/{xorg}/tokens",
                             {"name": "theirs", "scopes": ["organizations:read"]}, token=other)
        self.assertEqual(theirs.status, 201, theirs)
        remember_secret(theirs.json["token"])
        r = self.a.get(f"/1/organizations/{xorg}/members", token=tok["token"])
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        # Their token's id on this organization's path: absent, untouched.
        r = self.a.delete(f"{self.base}/tokens/{theirs.json['id']}", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "token_not_found"))
        self.assertEqual(self.a.get(f"/1/organizations/{xorg}/members",
                                    token=theirs.json["token"]).status, 200)
        r = self.a.get(f"/1/organizations/{xorg}/tokens", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))

    def test_bad_input(self):
        for body, code, field in (({"name": "x", "scopes": ["account:read"]}, "invalid_field",
                                   "scopes"),
                                  ({"name": "x", "scopes": ["organizations:read",
                                                            "account:write"]},
                                   "invalid_field", "scopes"),
                                  ({"name": "x"}, "missing_field", "scopes"),
                                  ({"name": "x", "scopes": ["organizations:read"], "z": 1},
                                   "unknown_field", None)):
            r = self.a.post(f"{self.base}/tokens", body, token=self.lr)
            self.assertEqual((r.status, r.json["code"], r.json.get("field")),
                             (400, code, field), body)
        self.assertEqual(self.a.get(f"{self.base}/tokens", token=self.lr).json["tokens"], [])
        r = self.a.get("/1/organizations/nothex/tokens", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "organization_not_found"))
        r = self.a.delete(f"{self.base}/tokens/nothex", token=self.lr)
        self.assertEqual((r.status, r.json["code"]), (404, "token_not_found"))


@unittest.skipUnless(ENGINE == "postgresql", "several nodes need PostgreSQL")
class TokensAcrossNodes(unittest.TestCase):
    def test_sixty_over_three_nodes(self):
        c = Cluster(3).start()
        try:
            a = c.nodes[0]
            e = email()
            a.signup(e)
            tok = make_token(a, a.session(e), ["account:read"])["token"]
            statuses = [c.nodes[i % 3].get("/1/me", token=tok).status for i in range(61)]
            self.assertEqual(statuses, [200] * 60 + [429], statuses)
            # And at once from all three: still none past the limit.
            c.advance(61)
            barrier = threading.Barrier(6)

            def burst(i):
                barrier.wait()
                node = c.nodes[i % 3]
                conn = node.connection()
                return [node.get("/1/me", token=tok, conn=conn).status for _ in range(12)]

            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                got = [x for xs in pool.map(burst, range(6)) for x in xs]
            self.assertEqual((got.count(200), got.count(429)), (60, 12), got)
        finally:
            reports = c.stop()
            c.cleanup()
        self.assertEqual(reports, [])


if __name__ == "__main__":
    unittest.main()
