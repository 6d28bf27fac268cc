"""Security properties that cut across areas: TLS (HTTP/1.1 over ALPN, a
certificate renewed in place taken on SIGHUP),
binding a new authenticator needs a recent login and ends the other
sessions, and a missing key file never silently replaces the old one."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import uuid

from authd_harness import Authd, OwnAuthd, remember_secret, totp


def email():
    return f"x{uuid.uuid4().hex[:12]}@example.com"


def make_cert(cert, key, cn):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj",
                    f"/CN={cn}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)


def served_cert(port):
    """The DER certificate a new TLS connection to port is shown."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw) as s:
            return s.getpeercert(binary_form=True)


def der_of(pem_path):
    with open(pem_path, encoding="ascii") as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


@unittest.skipUnless(shutil.which("openssl"), "needs the openssl program")
class Tls(unittest.TestCase):
    def test_https_with_http11_alpn(self):
        d = tempfile.mkdtemp()
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        make_cert(cert, key, "127.0.0.1")
        a = Authd(name="tls", config=f"[server]\ntls_cert = {cert}\ntls_key = {key}\n")
        try:
            # start() polls plain HTTP; poll TLS ourselves instead.
            a.port = None
            with self.assertRaises(RuntimeError):
                a.start(timeout=1)
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.set_alpn_protocols(["h2", "http/1.1"])
            with socket.create_connection(("127.0.0.1", a.port), timeout=5) as raw:
                with ctx.wrap_socket(raw) as s:
                    self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
                    s.sendall(b"GET /1/health HTTP/1.1\r\nHost: x\r\n\r\n")
                    data = s.recv(4096)
            self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:60])
            self.assertIn(b'"status":"ok"', data)

            # A renewed certificate at the same paths, then SIGHUP: new
            # connections get it. A broken pair is refused, the old one kept.
            first = der_of(cert)
            self.assertEqual(served_cert(a.port), first)
            make_cert(cert, key, "renewed.example")
            renewed = der_of(cert)
            a.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while served_cert(a.port) != renewed and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(served_cert(a.port), renewed)
            with open(key, "w", encoding="ascii") as f:
                f.write("not a key\n")
            a.proc.send_signal(signal.SIGHUP)
            while "do not load or match" not in a.log_text() and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertIn("do not load or match; the ones in use stay", a.log_text())
            self.assertEqual(served_cert(a.port), renewed)
        finally:
            a.cleanup()
            shutil.rmtree(d, ignore_errors=True)


class FactorBinding(OwnAuthd, unittest.TestCase):
    def test_enrolment_needs_recent_login(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        self.a.advance(5 * 60 + 1)  # within idle timeout, past reauth window
        r = self.a.post("/1/me/2fa/totp", token=tok)
        self.assertEqual((r.status, r.json["code"]), (403, "reauth_required"))
        fresh = self.a.session(e)
        r = self.a.post("/1/me/2fa/totp", token=fresh)
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["secret"])

    def test_turning_2fa_on_ends_other_sessions(self):
        e = email()
        self.a.signup(e)
        old = self.a.session(e)
        tok = self.a.session(e)
        secret, _, new = self.a.enable_totp(tok)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)  # replaced
        tok = new
        self.assertEqual(self.a.get("/1/me", token=tok).status, 200)
        me = self.a.get("/1/me", token=tok).json
        self.assertEqual(me["session"]["aal"], 2)
        self.assertEqual(self.a.get("/1/me", token=old).status, 401)


class KeyFile(unittest.TestCase):
    def test_missing_key_file_with_accounts_is_refused(self):
        a = Authd(name="keyfile")
        try:
            a.start()
            a.signup(email())
            self.assertEqual(a.stop(), 0)
            key = os.path.join(a.data_dir, "secret.key")
            os.rename(key, key + ".bak")
            with self.assertRaises(RuntimeError):
                a.start(timeout=5)
            self.assertIn("key file", a.log_text())
            self.assertFalse(os.path.exists(key))
            os.rename(key + ".bak", key)
            a.start()
            self.assertEqual(a.stop(), 0)
        finally:
            a.cleanup()


if __name__ == "__main__":
    unittest.main()
