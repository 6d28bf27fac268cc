"""The reference authenticator, authd-phone, driven as tests and mobile
developers script it: link from the QR code the console shows (decoded by
zbarimg), wait for a challenge, answer it (approve with the page's number,
deny, not-me), offline codes the login page accepts, several accounts in one
phone, a removed device, and the state file's rules (0600, nothing secret on
stdout)."""

import json
import os
import stat
import subprocess
import tempfile
import threading
import time
import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret, totp
from devices import zbar_decode

PHONE = os.environ.get("AUTHD_PHONE_BIN", "authd-phone")


def email():
    return f"m{uuid.uuid4().hex[:12]}@example.com"


class Phone:
    """authd-phone with a state file of its own."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="authd-phone-")
        self.state = os.path.join(self.dir, "phone.json")

    def run(self, *args, timeout=30, stdin=None):
        out = subprocess.run([PHONE, "--state", self.state, *args], capture_output=True,
                             text=True, timeout=timeout, check=False, input=stdin)
        return out.returncode, out.stdout, out.stderr

    def ok(self, *args):
        rc, out, err = self.run(*args)
        assert rc == 0, (args, rc, out, err)
        return out

    def wait_in_background(self, *args):
        result = {}

        def go():
            result["out"] = self.run("wait", *args)

        t = threading.Thread(target=go)
        t.start()
        return t, result


class AuthdPhone(OwnAuthd, unittest.TestCase):
    def account(self):
        e = email()
        self.a.signup(e)
        return e, self.a.session(e)

    def link(self, phone, tok, name="Alice's phone"):
        offer = self.a.post("/1/me/devices", token=tok).json
        uri = zbar_decode(offer["qr_svg"])
        remember_secret(uri.split("secret=")[1].split("&")[0])
        device_id = phone.ok("link", uri, "--name", name).strip()
        self.assertEqual(device_id, offer["id"])
        return device_id

    def push(self, e):
        step = self.a.login(e).json
        remember_secret(step["login_id"])
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual(sent.status, 200, sent)
        return step, sent.json

    def wait_for(self, phone):
        rc, out, err = phone.run("wait", "--timeout", "5")
        self.assertEqual(rc, 0, err)
        return json.loads(out)

    def test_link_wait_approve(self):
        e, tok = self.account()
        phone = Phone()
        device_id = self.link(phone, tok)
        # The state file is the phone's alone.
        self.assertEqual(stat.S_IMODE(os.stat(phone.state).st_mode), 0o600)
        listed = [json.loads(line) for line in phone.ok("list").splitlines()]
        self.assertEqual([(x["account"], x["device_id"], x["name"]) for x in listed],
                         [(e, device_id, "Alice's phone")])
        step, sent = self.push(e)
        ch = self.wait_for(phone)
        self.assertEqual((ch["account"], ch["ip"], ch["application"], ch["location"]),
                         (e, self.a.source_ip, "authd", "unknown"))
        self.assertEqual(ch["device_id"], device_id)
        self.assertEqual(ch["expires_at"] - ch["time"], 120)
        phone.ok("answer", ch["id"], "approve", "--number", str(sent["number"]))
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "approved", r)
        remember_secret(r.json["session"])
        # Answered once: again is refused, and says why.
        rc, _, err = phone.run("answer", ch["id"], "approve", "--number", str(sent["number"]))
        self.assertEqual(rc, 1)
        self.assertIn("answered", err)

    def test_deny_not_me_and_wrong_number(self):
        e, tok = self.account()
        phone = Phone()
        self.link(phone, tok)
        step, _ = self.push(e)
        ch = self.wait_for(phone)
        phone.ok("answer", ch["id"], "deny")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "denied")
        step, sent = self.push(e)
        ch = self.wait_for(phone)
        wrong = 10 if sent["number"] != 10 else 11
        rc, _, err = phone.run("answer", ch["id"], "approve", "--number", str(wrong))
        self.assertEqual(rc, 1)
        self.assertIn("wrong_number", err)
        step, _ = self.push(e)
        ch = self.wait_for(phone)
        phone.ok("answer", ch["id"], "not-me")
        step = self.a.login(e).json
        remember_secret(step["login_id"])
        r = self.a.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual((r.status, r.json["code"]), (409, "push_paused"))

    def test_offline_code(self):
        e, tok = self.account()
        phone = Phone()
        self.link(phone, tok)
        step = self.a.login(e).json
        remember_secret(step["login_id"])
        code = phone.ok("code", "--time", str(self.a.now())).strip()
        remember_secret(code)
        self.assertRegex(code, r"^[0-9]{6}$")
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": code})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

    def test_two_accounts_one_phone_and_removal(self):
        e1, tok1 = self.account()
        e2, tok2 = self.account()
        phone = Phone()
        d1 = self.link(phone, tok1)
        self.link(phone, tok2)
        self.assertEqual(sorted(json.loads(x)["account"] for x in phone.ok("list").splitlines()),
                         sorted([e1, e2]))
        # Two accounts: the code needs the account named.
        rc, _, _ = phone.run("code")
        self.assertEqual(rc, 2)
        self.assertRegex(phone.ok("code", e2).strip(), r"^[0-9]{6}$")
        # The second account's challenge reaches the phone's second link.
        _, sent = self.push(e2)
        ch = self.wait_for(phone)
        self.assertEqual(ch["account"], e2)
        phone.ok("answer", ch["id"], "approve", "--number", str(sent["number"]))
        # The first account removes its device: the phone hears it while it
        # waits (and waits on with its other link until the timeout).
        t, res = phone.wait_in_background("--timeout", "5")
        time.sleep(1)  # its channels are open (a connect takes milliseconds)
        self.assertEqual(self.a.delete(f"/1/me/devices/{d1}", token=tok1).status, 204)
        t.join(10)
        rc, _, err = res["out"]
        self.assertEqual(rc, 3, err)
        self.assertIn(f"was removed from its account {e1}", err)
        # The phone forgot that link; the other one still works.
        self.assertEqual([json.loads(x)["account"] for x in phone.ok("list").splitlines()],
                         [e2])
        _, sent = self.push(e2)
        self.assertEqual(self.wait_for(phone)["account"], e2)

    def test_login_from_this_mobile(self):
        """The app logs in itself (password, then a TOTP code: 2FA is on)
        and links with the same messages as from a QR code."""
        e, tok = self.account()
        secret, _, tok = self.a.enable_totp(tok)
        phone = Phone()
        server = f"http://127.0.0.1:{self.a.port}"
        code = totp(secret, self.a.advance(30))
        remember_secret(code)
        # Without the second factor: refused, nothing linked.
        rc, _, err = phone.run("--server", server, "login", e, stdin="correct horse battery\n")
        self.assertEqual(rc, 2, err)
        rc, _, err = phone.run("--server", server, "login", e, stdin="wrong password!!\n")
        self.assertEqual(rc, 1, err)
        self.assertEqual(phone.ok("list"), "")
        rc, out, err = phone.run("--server", server, "login", e, "--code", code,
                                 stdin="correct horse battery\n")
        self.assertEqual(rc, 0, err)
        device_id = out.strip()
        listed = [json.loads(x) for x in phone.ok("list").splitlines()]
        self.assertEqual([(x["account"], x["device_id"]) for x in listed], [(e, device_id)])
        devices = self.a.get("/1/me/devices", token=tok).json
        self.assertIn(device_id, [d["id"] for d in devices["devices"]])
        # The password was never on the command line, nor printed.
        self.assertNotIn("correct horse", out + err)
        step, sent = self.push(e)
        ch = self.wait_for(phone)
        phone.ok("answer", ch["id"], "approve", "--number", str(sent["number"]))

    def test_usage_state_and_timeout(self):
        phone = Phone()
        self.assertEqual(phone.run("list")[0], 0)  # no file yet: no links
        self.assertEqual(phone.run("wait", "--timeout", "1")[0], 1)  # nothing linked
        self.assertEqual(phone.run("bogus")[0], 2)
        self.assertEqual(phone.run("link", "https://example.com/")[0], 2)
        self.assertEqual(phone.run("answer", "00" * 16, "approve")[0], 2)  # no number
        e, tok = self.account()
        self.link(phone, tok)
        rc, out, _ = phone.run("wait", "--timeout", "1")
        self.assertEqual((rc, out), (3, ""))
        # A state file others may read is refused.
        os.chmod(phone.state, 0o644)
        rc, _, err = phone.run("list")
        self.assertEqual(rc, 1)
        self.assertIn("0600", err)
        os.chmod(phone.state, 0o600)
        # Nothing secret on stdout: list shows no key, no TOTP secret.
        with open(phone.state, encoding="utf-8") as f:
            state = json.load(f)
        listed = phone.ok("list")
        self.assertNotIn(state["links"][0]["key"], listed)
        self.assertNotIn("secret=", listed)


if __name__ == "__main__":
    unittest.main()
