"""authd backup DIR / authd restore DIR, on the suite's engine: a backup
made while authd serves (and keeps writing) restores into a fresh authd
where people log in as before (passwords, TOTP whose sealed seeds open with
the same key file); what was written after the backup is not there. Every
file of a backup is 0600 in a 0700 folder. A restore refuses another key
file, a store that is not new, a folder that is not a backup, a backup
whose data was altered (its MAC), and a key file that lacks a key
generation the backup's held (its TOTP seeds would not open); a backup
refuses a folder that exists."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest
import uuid

from authd_harness import ENGINE, Authd, authd_binary, totp


def email():
    return f"b{uuid.uuid4().hex[:12]}@example.com"


def authd_cmd(a, *args):
    """authd with a's data directory and config file, running args."""
    argv = [authd_binary(), "--data-dir", a.data_dir]
    if a.config_path:
        argv += ["--config", a.config_path]
    return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=120)


class BackupRestore(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="authd-backup-")
        self.key = os.path.join(self.tmp, "secret.key")
        self.nodes = []

    def tearDown(self):
        for a in self.nodes:
            a.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, name, key=None):
        a = Authd(name=name, key_file=key or self.key)
        self.nodes.append(a)
        return a

    def test_hot_backup_restores_into_a_fresh_authd(self):
        src = self.node("backup-src").start()
        before = [email() for _ in range(5)]
        for e in before:
            src.signup(e)
        secret, _, _ = src.enable_totp(src.session(before[0]))
        # Writes go on while the backup is made.
        stop = threading.Event()
        during, errors = [], []

        def keep_writing():
            try:
                while not stop.is_set():
                    e = email()
                    src.signup(e)
                    during.append(e)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        writer = threading.Thread(target=keep_writing)
        writer.start()
        dest = os.path.join(self.tmp, "b1")
        try:
            r = authd_cmd(src, "backup", dest)
        finally:
            stop.set()
            writer.join()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(errors, [])
        after = email()
        src.signup(after)
        manifest = json.load(open(os.path.join(dest, "authd-backup.json"), encoding="utf-8"))
        self.assertEqual((manifest["authd_backup"], manifest["engine"]), (1, ENGINE))
        self.assertRegex(manifest["key_id"], r"^[0-9a-f]{16}$")
        self.assertEqual(os.stat(dest).st_mode & 0o777, 0o700)
        for f in os.listdir(dest):
            self.assertEqual(os.stat(os.path.join(dest, f)).st_mode & 0o777, 0o600, f)
        # Nothing secret in the folder but what the store itself holds.
        self.assertFalse(any(open(os.path.join(dest, f), "rb").read().find(
            open(self.key, "rb").read()) >= 0 for f in os.listdir(dest)))
        self.assertTrue(during, "the writer wrote nothing while the backup ran")

        # A backup goes into a new folder only: not this one again, not an
        # empty one made by someone else.
        self.assertNotEqual(authd_cmd(src, "backup", dest).returncode, 0)
        planted = os.path.join(self.tmp, "planted")
        os.mkdir(planted, 0o777)
        r = authd_cmd(src, "backup", planted)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("a backup goes into a new folder", r.stderr)
        self.assertEqual(os.listdir(planted), [])

        dst = self.node("backup-dst")
        r = authd_cmd(dst, "restore", dest)
        self.assertEqual(r.returncode, 0, r.stderr)
        dst.migrated = True  # the restore made the schema (PostgreSQL)
        dst.start()
        now = dst.advance(60)
        r = dst.login(before[0])
        self.assertEqual(r.json.get("state"), "second_factor", r)
        r = dst.post("/1/login/totp", {"login_id": r.json["login_id"], "code": totp(secret, now)})
        self.assertEqual(r.status, 200, r)
        for e in before[1:]:
            self.assertEqual(dst.login(e).status, 200, e)
        self.assertEqual(dst.login(after).status, 401)
        # A restore goes into a new store only.
        dst.stop()
        self.assertNotEqual(authd_cmd(dst, "restore", dest).returncode, 0)

    def test_restore_refuses_another_key_and_a_non_backup(self):
        src = self.node("refuse-src").start()
        src.signup(email())
        dest = os.path.join(self.tmp, "b2")
        self.assertEqual(authd_cmd(src, "backup", dest).returncode, 0)
        other_key = os.path.join(self.tmp, "other.key")
        with open(other_key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(other_key, 0o600)
        wrong = self.node("refuse-wrong-key", key=other_key)
        r = authd_cmd(wrong, "restore", dest)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not the backup's", r.stderr)
        # No key file at all: refused, and none is made up.
        missing = self.node("refuse-no-key", key=os.path.join(self.tmp, "nowhere.key"))
        r = authd_cmd(missing, "restore", dest)
        self.assertNotEqual(r.returncode, 0)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "nowhere.key")))
        # A backup whose data was changed is refused, and nothing is written.
        data = [f for f in os.listdir(dest) if f != "authd-backup.json"][0]
        with open(os.path.join(dest, data), "r+b") as f:
            f.seek(os.path.getsize(os.path.join(dest, data)) // 2)
            byte = f.read(1)
            f.seek(-1, os.SEEK_CUR)
            f.write(bytes([byte[0] ^ 1]))
        tampered = self.node("refuse-tampered")
        r = authd_cmd(tampered, "restore", dest)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does not match its manifest", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(tampered.data_dir, "data.mdb")))
        # A folder without a manifest is not a backup.
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        fresh = self.node("refuse-empty")
        r = authd_cmd(fresh, "restore", empty)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is not an authd backup", r.stderr)

    def test_restore_needs_the_backups_key_generations(self):
        src = self.node("gens-src").start()
        with open(self.key, "rb") as f:
            before_rotation = f.read()  # the copy kept from install day
        r = subprocess.run([os.path.join(os.path.dirname(authd_binary()), "authctl"),
                            "--socket", os.path.join(src.data_dir, "admin.sock"),
                            "rotate-keys"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        e = email()
        src.signup(e)
        secret, _, _ = src.enable_totp(src.session(e))  # sealed with generation 2
        dest = os.path.join(self.tmp, "b3")
        r = authd_cmd(src, "backup", dest)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(dest, "authd-backup.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual([g["generation"] for g in manifest["key_generations"]], [1, 2])
        for g in manifest["key_generations"]:
            self.assertRegex(g["fingerprint"], r"^[0-9a-f]{16}$")
        old_key = os.path.join(self.tmp, "install-day.key")
        with open(old_key, "wb") as f:
            f.write(before_rotation)
        os.chmod(old_key, 0o600)
        old = self.node("gens-old-key", key=old_key)
        r = authd_cmd(old, "restore", dest)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("lacks key generation(s) 2 of the backup's key file", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(old.data_dir, "data.mdb")))
        # Another secret under number 2 (an `authd keys add` on the old
        # copy) does not pass for the backup's generation 2 either.
        r = subprocess.run([authd_binary(), "--key-file", old_key, "keys", "add"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = authd_cmd(old, "restore", dest)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("lacks key generation(s) 2", r.stderr)
        # The key file the backup was made with restores, and the seed opens.
        dst = self.node("gens-dst")
        r = authd_cmd(dst, "restore", dest)
        self.assertEqual(r.returncode, 0, r.stderr)
        dst.migrated = True
        dst.start()
        now = dst.advance(60)
        r = dst.login(e)
        self.assertEqual(r.json.get("state"), "second_factor", r)
        r = dst.post("/1/login/totp", {"login_id": r.json["login_id"], "code": totp(secret, now)})
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main()
