"""authd under systemd: the unit (debian/authd.service) passes
`systemd-analyze verify` and `systemd-analyze security` at an exposure of
2.0 or less; authd speaks the notify protocol (READY=1 once it listens,
RELOADING=1 and READY=1 around a SIGHUP, STOPPING=1, WATCHDOG=1 at half the
watchdog's period) to the socket NOTIFY_SOCKET names; and a key file given
as a credential (LoadCredential=) is read from CREDENTIALS_DIRECTORY."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from authd_harness import Authd, authd_binary

UNIT = os.path.join(os.path.dirname(__file__), "..", "..", "debian", "authd.service")


def analyze(*args):
    return subprocess.run(["systemd-analyze", *args], capture_output=True, text=True)


@unittest.skipUnless(shutil.which("systemd-analyze"), "needs systemd-analyze (Debian's systemd)")
class Unit(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="authd-unit-")
        # verify checks that ExecStart's program exists: the one just built.
        with open(UNIT, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("ExecStart=/usr/bin/authd ", text)
        self.unit = os.path.join(self.dir, "authd.service")
        with open(self.unit, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/bin/authd", authd_binary()))

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_verify(self):
        r = analyze("verify", self.unit)
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_security_exposure_at_most_2(self):
        r = analyze("security", "--offline=true", "--threshold=20", self.unit)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:])
        last = r.stdout.strip().splitlines()[-1]
        exposure = float(last.split("authd.service:")[1].split()[0])
        self.assertLessEqual(exposure, 2.0, last)
        # The threshold is a real check: the same unit without its sandbox fails it.
        bare = os.path.join(self.dir, "bare.service")
        with open(self.unit, encoding="utf-8") as f:
            text = f.read().split("# The sandbox")[0] + "\n[Install]\nWantedBy=multi-user.target\n"
        with open(bare, "w", encoding="utf-8") as f:
            f.write(text)
        self.assertNotEqual(analyze("security", "--offline=true", "--threshold=20",
                                    bare).returncode, 0)


class Notify(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="authd-notify-")
        self.sock_path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        self.sock.settimeout(10)
        self.a = None

    def tearDown(self):
        if self.a:
            self.a.cleanup()
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def until(self, want):
        """The notify messages received up to one that holds want."""
        seen = []
        while True:
            msg = self.sock.recv(4096).decode()
            seen.append(msg)
            if want in msg.split("\n"):
                return seen

    def test_ready_reload_watchdog_stopping(self):
        env = {"NOTIFY_SOCKET": self.sock_path, "WATCHDOG_USEC": "400000"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.a = Authd(name="notify")
            self.a.start()
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k)
                else:
                    os.environ[k] = v
        seen = self.until("READY=1")
        self.assertTrue(any(f"STATUS=serving on 127.0.0.1:{self.a.port}" in m for m in seen), seen)
        # The watchdog is fed from the loop, about every 200 ms.
        t0 = time.monotonic()
        for _ in range(3):
            self.until("WATCHDOG=1")
        self.assertLess(time.monotonic() - t0, 2)
        self.a.proc.send_signal(signal.SIGHUP)
        self.until("RELOADING=1")
        self.until("READY=1")
        # READY=1 comes once the reload is over.
        self.assertIn("configuration reloaded: 0 values changed", self.a.log_text())
        self.assertEqual(self.a.get("/1/health").status, 200)
        self.a.proc.send_signal(signal.SIGTERM)
        self.until("STOPPING=1")
        self.assertEqual(self.a.proc.wait(timeout=20), 0)


class Credential(unittest.TestCase):
    def test_key_file_from_credentials_directory(self):
        creds = tempfile.mkdtemp(prefix="authd-creds-")
        key = os.urandom(32)
        with open(os.path.join(creds, "secret.key"), "wb") as f:
            f.write(key)
        # systemd's copy is root's, read through an ACL whose mask shows as
        # the group's bits: neither owner nor mode is authd's to check.
        os.chmod(os.path.join(creds, "secret.key"), 0o440)
        config = "[storage]\nkey_file = credential:secret.key\n"
        a = Authd(name="credential", config=config)
        try:
            # Without CREDENTIALS_DIRECTORY (not under systemd): refused.
            with self.assertRaises(RuntimeError):
                a.start(timeout=5)
            self.assertIn("needs systemd's LoadCredential=", a.log_text())
            os.environ["CREDENTIALS_DIRECTORY"] = creds
            try:
                a.start()
            finally:
                del os.environ["CREDENTIALS_DIRECTORY"]
            a.signup("cred@example.com")
            self.assertEqual(a.login("cred@example.com").status, 200)
            # No key file was made in the data directory.
            self.assertFalse(os.path.exists(os.path.join(a.data_dir, "secret.key")))
        finally:
            a.cleanup()
            shutil.rmtree(creds, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
