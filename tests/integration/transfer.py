"""authd export / authd import: a single-node LMDB install moves to
PostgreSQL with its key file, and everything that matters still holds
there: passwords, TOTP (the sealed seed opens with the same key file, and
a step used before the move stays used), backup codes used and unused,
throttle histories, linked devices (their key still authenticates them). Runs in the postgresql pass of the suite."""

import os
import shutil
import stat
import subprocess
import tempfile
import unittest
import uuid

from authd_harness import ENGINE, Authd, authd_binary, remember_secret, totp
from phone_harness import Phone


def email():
    return f"x{uuid.uuid4().hex[:12]}@example.com"


@unittest.skipUnless(ENGINE == "postgresql", "moves an install to PostgreSQL")
class ExportImport(unittest.TestCase):
    def run_authd(self, args, config=None):
        conf = None
        if config:
            fd, conf = tempfile.mkstemp(suffix=".conf")
            with os.fdopen(fd, "w") as f:
                f.write(config)
        try:
            return subprocess.run([authd_binary()] + (["--config", conf] if conf else []) + args,
                                  capture_output=True, text=True, timeout=60)
        finally:
            if conf:
                os.unlink(conf)

    def test_lmdb_to_postgresql(self):
        import pg_harness
        src = Authd(name="export-src", engine="lmdb")
        dst = None
        work = tempfile.mkdtemp(prefix="authd-transfer-")
        try:
            src.start()
            plain, with_totp = email(), email()
            src.signup(plain)
            src.signup(with_totp)
            secret, codes, tok = src.enable_totp(src.session(with_totp))
            now = src.advance(30)
            step = src.login(with_totp).json
            r = src.post("/1/login/totp", {"login_id": step["login_id"],
                                           "code": totp(secret, now)})
            self.assertEqual(r.status, 200, r)
            remember_secret(r.json["session"])
            step = src.login(with_totp).json
            r = src.post("/1/login/backup-code", {"login_id": step["login_id"],
                                                  "code": codes[0]})
            self.assertEqual(r.status, 200, r)
            remember_secret(r.json["session"])
            offer = src.post("/1/me/devices", token=tok).json
            phone = Phone()
            ws, linked = phone.link(src.port, offer["link_uri"], name="Moved phone")
            self.assertEqual(linked["type"], "linked", linked)
            ws.close()
            guesser = "127.44.44.44"
            for _ in range(4):  # a throttle history: the 5th attempt waits
                self.assertEqual(src.post("/1/login", {"email": plain, "password":
                                                       "wrong password!"},
                                          source_ip=guesser).status, 401)
            src_now = src.now()
            self.assertEqual(src.stop(), 0)

            out = os.path.join(work, "authd.export")
            r = self.run_authd(["--data-dir", src.data_dir, "export", out])
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o600)
            with open(out, encoding="utf-8") as f:
                text = f.read()
            self.assertTrue(text.startswith('{"authd_export":1,'))
            for s in [secret, "correct horse battery"] + codes:
                self.assertNotIn(s, text)
            self.assertIn("$argon2id$", text)
            # Exporting over an existing file is refused.
            r = self.run_authd(["--data-dir", src.data_dir, "export", out])
            self.assertNotEqual(r.returncode, 0)

            # A new PostgreSQL database, migrated, the key file along.
            key = os.path.join(work, "secret.key")
            shutil.copy2(os.path.join(src.data_dir, "secret.key"), key)
            os.chmod(key, 0o600)
            url = pg_harness.createdb()
            pg_conf = f"[storage]\nengine = postgresql\nurl = {url}\nkey_file = {key}\n"
            r = self.run_authd(["migrate"], pg_conf)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = self.run_authd(["import", out], pg_conf)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("imported", r.stderr)
            r = self.run_authd(["import", out], pg_conf)  # not into a used store
            self.assertNotEqual(r.returncode, 0)
            self.assertIn("not empty", r.stderr)

            dst = Authd(name="import-dst", pg_url=url, key_file=key)
            dst.own_db = True
            dst.migrated = True
            dst.start()
            if dst.now() < src_now:  # one clock: the source's had moved ahead
                dst.advance(src_now - dst.now())
            # The throttle history came along: the guesser still waits.
            r = dst.post("/1/login", {"email": plain, "password": "correct horse battery"},
                         source_ip=guesser)
            self.assertEqual(r.status, 429, r)
            dst.advance(int(r.header("Retry-After")))
            self.assertEqual(dst.login(plain).json["state"], "done")
            # TOTP: the same secret; a used backup code stays used.
            step = dst.login(with_totp).json
            self.assertEqual(step["state"], "second_factor")
            r = dst.post("/1/login/backup-code", {"login_id": step["login_id"],
                                                  "code": codes[0]})
            self.assertEqual((r.status, r.json["code"]), (401, "code_reused"))
            r = dst.post("/1/login/backup-code", {"login_id": step["login_id"],
                                                  "code": codes[1]})
            self.assertEqual(r.status, 200, r)
            remember_secret(r.json["session"])
            self.assertEqual(r.json["backup_codes_remaining"], 8)
            now = dst.advance(30)
            step = dst.login(with_totp).json
            r = dst.post("/1/login/totp", {"login_id": step["login_id"],
                                           "code": totp(secret, now)})
            self.assertEqual(r.status, 200, r)
            remember_secret(r.json["session"])
            # The security events came along (TOTP turned on).
            import pg_harness as pgh
            kinds = pgh.sql(url, "SELECT kind FROM security_events").split()
            self.assertIn("totp_enabled", kinds)
            # The device came along: its key authenticates it on the new install.
            ws, ready = phone.auth(dst.port)
            self.assertEqual(ready["type"], "ready", ready)
            ws.close()
            # Sessions do not move: people log in again.
            self.assertEqual(dst.get("/1/me", token=tok).status, 401)
            self.assertEqual(dst.stop(), 0)
        finally:
            src.cleanup()
            if dst:
                dst.cleanup()
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
