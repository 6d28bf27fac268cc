"""TOTP enrolment and the replay rules: the QR code decodes (zbarimg) to an
otpauth URI that oathtool accepts; the secret is 160 bits; a step is accepted
once, never a step at or before the last accepted one, across restarts and
under 16 concurrent requests with the same code (exactly one wins)."""

import base64
import concurrent.futures
import os
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse
import uuid

from authd_harness import Authd, OwnAuthd, remember_secret, totp


def email():
    return f"o{uuid.uuid4().hex[:12]}@example.com"


class Enrolment(OwnAuthd, unittest.TestCase):
    def test_qr_code_and_uri(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        r = self.a.post("/1/me/2fa/totp", token=tok)
        self.assertEqual(r.status, 200, r)
        secret = r.json["secret"]
        remember_secret(secret)
        self.assertEqual(len(base64.b32decode(secret + "=" * (-len(secret) % 8))), 20)
        self.assertRegex(r.json["enrollment_id"], "^[0-9a-f]{32}$")
        uri = r.json["otpauth_uri"]
        u = urllib.parse.urlparse(uri)
        self.assertEqual((u.scheme, u.netloc), ("otpauth", "totp"))
        self.assertEqual(urllib.parse.unquote(u.path), "/authd:" + e)
        q = urllib.parse.parse_qs(u.query)
        self.assertEqual(q["secret"], [secret])
        self.assertEqual(q["issuer"], ["authd"])
        self.assertEqual(q.get("algorithm", ["SHA1"]), ["SHA1"])
        self.assertEqual(q.get("digits", ["6"]), ["6"])
        self.assertEqual(q.get("period", ["30"]), ["30"])
        self.assertTrue(r.json["qr_svg"].lstrip().startswith("<?xml") or
                        r.json["qr_svg"].lstrip().startswith("<svg"))
        if shutil.which("zbarimg"):
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "qr.svg")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(r.json["qr_svg"])
                out = subprocess.run(["zbarimg", "--nodbus", "-q", "--raw", path],
                                     capture_output=True, text=True)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertEqual(out.stdout.strip(), uri)
        # The decoded secret, through oathtool, confirms the enrolment.
        c = self.a.post("/1/me/2fa/totp/confirm",
                        {"code": totp(secret, self.a.now()),
                         "enrollment_id": r.json["enrollment_id"]}, token=tok)
        self.assertEqual(c.status, 200, c)
        remember_secret(c.json["session"])
        # The session's level rose: it has a new token, the old one ended.
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)
        tok = c.json["session"]
        self.assertTrue(c.set_cookie().startswith("__Host-authd_session=" + tok))
        self.assertEqual(len(c.json["csrf_token"]), 64)
        self.assertEqual(self.a.get("/1/me", token=tok).json["session"]["aal"], 2)
        self.assertEqual(len(c.json["backup_codes"]), 10)
        self.assertEqual(len(set(c.json["backup_codes"])), 10)
        for code in c.json["backup_codes"]:
            remember_secret(code)
            self.assertRegex(code, "^[0-9a-hjkmnp-tv-z]{4}(-[0-9a-hjkmnp-tv-z]{4}){3}$")
        # Enrolling again while on is refused; /me shows it.
        again = self.a.post("/1/me/2fa/totp", token=tok)
        self.assertEqual((again.status, again.json["code"]), (409, "totp_already_enabled"))
        self.assertTrue(self.a.get("/1/me", token=tok).json["two_factor"]["totp"])

    def test_enrolment_expires_and_wrong_id(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        r = self.a.post("/1/me/2fa/totp", token=tok)
        secret = r.json["secret"]
        remember_secret(secret)
        w = self.a.post("/1/me/2fa/totp/confirm", {"code": totp(secret, self.a.now()),
                                                   "enrollment_id": "0" * 32}, token=tok)
        self.assertEqual((w.status, w.json["code"]), (409, "no_pending_enrollment"))
        now = self.a.advance(601)
        c = self.a.post("/1/me/2fa/totp/confirm", {"code": totp(secret, now)}, token=tok)
        self.assertEqual((c.status, c.json["code"]), (409, "no_pending_enrollment"))

    def test_secret_not_in_database_file(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        secret, codes, tok = self.a.enable_totp(tok)
        raw = base64.b32decode(secret + "=" * (-len(secret) % 8))
        db = self.a.database_dump()
        self.assertNotIn(raw, db)
        self.assertNotIn(secret.encode(), db)
        self.assertNotIn(secret.lower().encode(), db)
        for code in codes:
            self.assertNotIn(code.encode(), db)
            self.assertNotIn(code.replace("-", "").encode(), db)
        self.assertNotIn(b"correct horse battery", db)
        self.assertIn(b"$argon2id$v=19$m=19456,t=2,p=1$", db)
        self.assertEqual(os.stat(os.path.join(self.a.data_dir, "secret.key")).st_mode & 0o777,
                         0o600)
        self.assertEqual(os.stat(self.a.data_dir).st_mode & 0o077, 0)


class Replay(OwnAuthd, unittest.TestCase):
    def setUp(self):
        self.e = email()
        self.a.signup(self.e)
        self.secret, _, _ = self.a.enable_totp(self.a.session(self.e))

    def pending(self, n=1):
        out = []
        for _ in range(n):
            r = self.a.login(self.e)
            self.assertEqual(r.json["state"], "second_factor", r)
            out.append(r.json["login_id"])
        return out

    def test_sixteen_concurrent_same_code_one_wins(self):
        now = self.a.advance(60)
        code = totp(self.secret, now)
        ids = self.pending(16)

        def go(login_id):
            return self.a.request("POST", "/1/login/totp", {"login_id": login_id, "code": code})

        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            results = list(ex.map(go, ids))
        wins = [r for r in results if r.status == 200]
        for r in wins:
            remember_secret(r.json["session"])
        self.assertEqual(len(wins), 1, results)
        for r in results:
            if r.status != 200:
                self.assertIn(r.json["code"], ("code_reused", "too_many_attempts"), r)

    def test_replay_refused_across_restart(self):
        now = self.a.advance(60)
        code = totp(self.secret, now)
        [first] = self.pending()
        r = self.a.post("/1/login/totp", {"login_id": first, "code": code})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        [second] = self.pending()
        # Restart authd on the same data: the used step is remembered. The
        # test clock offset starts again from 0 after a restart, so move it back.
        before = self.a.now()
        self.a.stop()
        self.a.start()
        self.a.advance(max(0, before - self.a.now()))
        r = self.a.post("/1/login/totp", {"login_id": second, "code": code})
        self.assertEqual((r.status, r.json["code"]), (401, "code_reused"))
        r = self.a.post("/1/login/totp", {"login_id": second, "code": totp(self.secret, now - 30)})
        self.assertEqual((r.status, r.json["code"]), (401, "code_reused"))


if __name__ == "__main__":
    unittest.main()
