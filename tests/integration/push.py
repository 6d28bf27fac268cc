"""Push approval as the login page and a phone (written from PROTOCOL.md)
see it: after the password step the page asks for a push, the phone gets
the challenge with who/where, the person types the page's number and
approves, and the waiting page gets its session. Deny, "not me" (push
pauses), a wrong number (a failed second factor), expiry, several devices
(the first answer wins, the others are withdrawn), a challenge sent while
the phone was away, forged and replayed answers, and the caps."""

import os
import subprocess
import tempfile
import urllib.parse
import threading
import time
import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret, totp
from phone_harness import Phone, answer, b64url, next_of, signed_answer, challenge_nonce
from ws_client import HandshakeRefused, WebSocket

WAIT_PROTOCOL = "authd-login-wait.v1"


def email():
    return f"p{uuid.uuid4().hex[:12]}@example.com"


def geoip_db():
    """A small MaxMind-format database (tests/lib/make_mmdb.pl)."""
    path = os.path.join(tempfile.mkdtemp(prefix="authd-geoip-"), "test.mmdb")
    subprocess.run(["perl", os.path.join(os.path.dirname(__file__), "..", "lib", "make_mmdb.pl"),
                    path, "127.0.0.2/32=Zurich,Switzerland", "127.0.0.3/32=,Germany"],
                   check=True)
    return path


class Push(OwnAuthd, unittest.TestCase):
    # Pages read the store only when woken (or after a minute): a page that
    # hears its answer heard it from the answer itself, not from a timer.
    authd_config = f"[push]\nrecheck_ms = 60000\n[geoip]\ndatabase = {geoip_db()}\n"

    def linked(self, phones=1):
        """A new account with `phones` linked devices, channels open."""
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        out = []
        for _ in range(phones):
            offer = self.a.post("/1/me/devices", token=tok).json
            phone = Phone()
            ws, linked = phone.link(self.a.port, offer["link_uri"])
            self.assertEqual(linked["type"], "linked", linked)
            self.assertEqual(ws.recv_json()["type"], "ready")
            out.append((phone, ws))
        return e, tok, out

    def password_step(self, e):
        step = self.a.login(e).json
        self.assertEqual(step["state"], "second_factor", step)
        remember_secret(step["login_id"])
        return step

    def wait_in_background(self, login_id, timeout=10):
        result = {}

        def run():
            result["r"] = self.a.post("/1/login/wait", {"login_id": login_id,
                                                        "timeout": timeout})

        t = threading.Thread(target=run)
        t.start()
        return t, result

    def test_approve(self):
        e, _, [(phone, ws)] = self.linked()
        step = self.password_step(e)
        self.assertEqual(step["methods"], ["push", "totp", "backup_code"])
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual(sent.status, 200, sent)
        self.assertTrue(10 <= sent.json["number"] <= 99)
        self.assertEqual(sent.json["expires_in"], 120)
        ch = next_of(ws, "challenge")
        self.assertEqual(ch["account"], e)
        self.assertEqual(ch["ip"], self.a.source_ip)
        self.assertEqual(ch["application"], "authd")
        self.assertEqual(ch["location"], "unknown")
        self.assertEqual(ch["expires_at"] - ch["time"], 120)
        self.assertNotIn("number", ch)  # the person types it
        t, res = self.wait_in_background(step["login_id"])
        time.sleep(0.2)
        self.assertTrue(t.is_alive(), "the page waits for the answer")
        result = answer(phone, ws, ch, "approve", sent.json["number"])
        self.assertEqual(result, {"type": "answer_result", "id": ch["id"], "result": "accepted"})
        t.join(5)
        r = res["r"]
        self.assertEqual((r.status, r.json["state"]), (200, "approved"), r)
        remember_secret(r.json["session"])
        self.assertTrue(r.set_cookie())
        self.assertEqual(len(r.json["csrf_token"]), 64)
        self.assertEqual(self.a.get("/1/me", token=r.json["session"]).status, 200)
        # Once: the login is over, a second page gets nothing.
        again = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 1})
        self.assertEqual(again.json["state"], "expired")
        # A replayed answer is refused.
        self.assertEqual(answer(phone, ws, ch, "approve", sent.json["number"])["code"],
                         "answered")

    def test_deny_not_me_and_wrong_number(self):
        e, tok, [(phone, ws)] = self.linked()
        # Deny: the page hears it, the login is over.
        step = self.password_step(e)
        self.a.post("/1/login/push", {"login_id": step["login_id"]})
        ch = next_of(ws, "challenge")
        self.assertEqual(answer(phone, ws, ch, "deny")["result"], "accepted")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "denied")
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": "123456"})
        self.assertEqual(r.json["code"], "login_expired")
        # A wrong number: refused, the page hears "denied", and it counts.
        step = self.password_step(e)
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = next_of(ws, "challenge")
        wrong = 10 if sent["number"] != 10 else 11
        self.assertEqual(answer(phone, ws, ch, "approve", wrong)["code"], "wrong_number")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "denied")
        # "Not me": push pauses for the account, and the account's other
        # waiting challenge is withdrawn: approving it logs nobody in.
        other = self.password_step(e)
        other_sent = self.a.post("/1/login/push", {"login_id": other["login_id"]}).json
        other_ch = next_of(ws, "challenge")
        step = self.password_step(e)
        self.a.post("/1/login/push", {"login_id": step["login_id"]})
        ch = next_of(ws, "challenge")
        self.assertEqual(answer(phone, ws, ch, "not_me")["result"], "accepted")
        self.assertEqual(next_of(ws, "withdraw"),
                         {"type": "withdraw", "id": other_ch["id"], "reason": "cancelled"})
        self.assertEqual(answer(phone, ws, other_ch, "approve", other_sent["number"])["code"],
                         "answered")
        r = self.a.post("/1/login/wait", {"login_id": other["login_id"], "timeout": 1})
        self.assertEqual(r.json["state"], "expired")
        step = self.password_step(e)
        self.assertEqual(step["methods"], ["totp", "backup_code"])
        r = self.a.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual((r.status, r.json["code"]), (409, "push_paused"))
        self.assertIn("push_paused", self.a.log_text())
        # The pause ends by itself after an hour.
        self.a.advance(3600)
        step = self.password_step(e)
        self.assertEqual(step["methods"], ["push", "totp", "backup_code"])
        self.assertEqual(self.a.post("/1/login/push", {"login_id": step["login_id"]}).status,
                         200)

    def test_expiry_and_caps(self):
        e, _, [(phone, ws)] = self.linked()
        step = self.password_step(e)
        self.a.post("/1/login/push", {"login_id": step["login_id"]})
        ch = next_of(ws, "challenge")
        self.a.advance(120)
        self.assertEqual(answer(phone, ws, ch, "approve", 42)["code"], "expired")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 1})
        self.assertEqual(r.json["state"], "expired")
        # Three logins waiting at once: the fourth push waits.
        logins = [self.password_step(e) for _ in range(4)]
        for s in logins[:3]:
            self.assertEqual(self.a.post("/1/login/push", {"login_id": s["login_id"]}).status,
                             200)
        r = self.a.post("/1/login/push", {"login_id": logins[3]["login_id"]})
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_pushes"))
        self.assertGreater(int(r.header("Retry-After")), 0)
        # Sending again for the same login replaces its challenge.
        r = self.a.post("/1/login/push", {"login_id": logins[0]["login_id"]})
        self.assertEqual(r.status, 200, r)

    def test_two_devices_first_answer_wins(self):
        e, _, [(p1, ws1), (p2, ws2)] = self.linked(phones=2)
        step = self.password_step(e)
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]}).json
        c1, c2 = next_of(ws1, "challenge"), next_of(ws2, "challenge")
        self.assertEqual(c1["id"], c2["id"])
        self.assertNotEqual(c1, None)
        self.assertEqual(answer(p1, ws1, c1, "approve", sent["number"])["result"], "accepted")
        self.assertEqual(next_of(ws2, "withdraw"),
                         {"type": "withdraw", "id": c1["id"], "reason": "answered"})
        self.assertEqual(answer(p2, ws2, c2, "deny")["code"], "answered")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "approved")
        remember_secret(r.json["session"])

    def test_challenge_waits_for_the_phone(self):
        e, _, [(phone, ws)] = self.linked()
        ws.close()
        step = self.password_step(e)
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]}).json
        # The phone comes back: ready says one is waiting, and here it is.
        ws, ready = phone.auth(self.a.port)
        self.assertEqual((ready["type"], ready["pending"]), ("ready", 1))
        ch = next_of(ws, "challenge")
        self.assertEqual(answer(phone, ws, ch, "approve", sent["number"])["result"], "accepted")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "approved")
        remember_secret(r.json["session"])

    def test_forged_answers_are_refused(self):
        e, _, [(phone, ws)] = self.linked()
        step = self.password_step(e)
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = next_of(ws, "challenge")
        # Signed by another key; over another decision than sent.
        other = Phone()
        sig = other.sign(signed_answer(ch["id"], challenge_nonce(ch), phone.device_id, "approve",
                                       sent["number"]))
        ws.send_json({"type": "answer", "id": ch["id"], "decision": "approve",
                      "number": sent["number"], "sig": b64url(sig)})
        self.assertEqual(next_of(ws, "answer_result")["code"], "bad_signature")
        sig = phone.sign(signed_answer(ch["id"], challenge_nonce(ch), phone.device_id, "deny",
                                       None))
        ws.send_json({"type": "answer", "id": ch["id"], "decision": "approve",
                      "number": sent["number"], "sig": b64url(sig)})
        self.assertEqual(next_of(ws, "answer_result")["code"], "bad_signature")
        # Another account's device cannot answer this account's challenge.
        _, _, [(stranger, sws)] = self.linked()
        self.assertEqual(answer(stranger, sws, ch, "approve", sent["number"])["code"],
                         "unknown_challenge")
        # Still pending: the right answer goes through.
        self.assertEqual(answer(phone, ws, ch, "approve", sent["number"])["result"],
                         "accepted")
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "approved")
        remember_secret(r.json["session"])

    def test_waiting_page_times_out_and_bad_input(self):
        e, _, _ = self.linked()
        step = self.password_step(e)
        self.a.post("/1/login/push", {"login_id": step["login_id"]})
        t0 = time.monotonic()
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 1})
        self.assertEqual(r.json["state"], "pending")
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        r = self.a.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 61})
        self.assertEqual((r.status, r.json["code"]), (400, "invalid_field"))
        r = self.a.post("/1/login/push", {"login_id": "nope"})
        self.assertEqual((r.status, r.json["code"]), (401, "login_expired"))
        r = self.a.post("/1/login/push", {"login_id": step["login_id"], "x": 1})
        self.assertEqual((r.status, r.json["code"]), (400, "unknown_field"))
        # An account without devices has no push.
        e2 = email()
        self.a.signup(e2)
        tok2 = self.a.session(e2)
        self.a.enable_totp(tok2)
        step2 = self.password_step(e2)
        self.assertNotIn("push", step2["methods"])
        r = self.a.post("/1/login/push", {"login_id": step2["login_id"]})
        self.assertEqual((r.status, r.json["code"]), (400, "method_not_enabled"))

    def test_login_finished_by_another_factor(self):
        """A code from the phone finishes the login while its challenge waits:
        an approval of the challenge then logs nobody in, is refused as
        expired, and the other phone's copy is withdrawn."""
        e, _, [(phone, ws), (other, ws2)] = self.linked(phones=2)
        step = self.password_step(e)
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = next_of(ws, "challenge")
        next_of(ws2, "challenge")
        secret = urllib.parse.parse_qs(urllib.parse.urlsplit(phone.totp).query)["secret"][0]
        code = totp(secret, self.a.advance(30))
        remember_secret(code)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": code})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        self.assertEqual(answer(phone, ws, ch, "approve", sent["number"])["code"], "expired")
        self.assertEqual(next_of(ws2, "withdraw"),
                         {"type": "withdraw", "id": ch["id"], "reason": "cancelled"})

    def test_locations(self):
        e, tok, [(phone, ws)] = self.linked()
        # The login page asks from 127.0.0.2: the phone sees where that is.
        r = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                        source_ip="127.0.0.2")
        step = r.json
        remember_secret(step["login_id"])
        self.a.post("/1/login/push", {"login_id": step["login_id"]}, source_ip="127.0.0.2")
        ch = next_of(ws, "challenge")
        self.assertEqual((ch["ip"], ch["location"]), ("127.0.0.2", "Zurich, Switzerland"))
        # The device connects from 127.0.0.3: its last location is a country.
        ws.close()
        ws3, ready = phone.auth(self.a.port, source_ip="127.0.0.3")
        self.assertEqual(ready["type"], "ready")
        for _ in range(50):
            d = self.a.get(f"/1/me/devices/{phone.device_id}", token=tok).json
            if d.get("last_location") == "Germany":
                break
            time.sleep(0.05)
        self.assertEqual((d["last_ip"], d["last_location"]), ("127.0.0.3", "Germany"))
        ws3.close()

    # --- the wait WebSocket --------------------------------------------------------

    def wait_socket(self, **kw):
        return WebSocket(self.a.port, "/1/login/wait", subprotocol=WAIT_PROTOCOL, **kw)

    def test_wait_socket_approve(self):
        e, _, [(phone, ws)] = self.linked()
        step = self.password_step(e)
        page = self.wait_socket()
        page.send_json({"login_id": step["login_id"]})
        # Before any push: the login waits.
        self.assertEqual(page.recv_json(), {"state": "pending"})
        sent = self.a.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = next_of(ws, "challenge")
        self.assertEqual(answer(phone, ws, ch, "approve", sent["number"])["result"], "accepted")
        # The page hears at once, without polling (no timer would wake it
        # for a minute), and gets its session.
        done = page.recv_json(timeout=2)
        self.assertEqual(done["state"], "approved", done)
        remember_secret(done["session"])
        self.assertEqual(len(done["csrf_token"]), 64)
        self.assertEqual(page.expect_close(), 1000)
        self.assertEqual(self.a.get("/1/me", token=done["session"]).status, 200)
        # A page that connects again reads the state again: the login is over.
        again = self.wait_socket()
        again.send_json({"login_id": step["login_id"]})
        self.assertEqual(again.recv_json(), {"state": "expired"})
        self.assertEqual(again.expect_close(), 1000)

    def test_wait_socket_deny(self):
        e, _, [(phone, ws)] = self.linked()
        step = self.password_step(e)
        self.a.post("/1/login/push", {"login_id": step["login_id"]})
        ch = next_of(ws, "challenge")
        page = self.wait_socket()
        page.send_json({"login_id": step["login_id"]}, fragments=3)
        self.assertEqual(page.recv_json(), {"state": "pending"})
        self.assertEqual(answer(phone, ws, ch, "deny")["result"], "accepted")
        self.assertEqual(page.recv_json(timeout=2), {"state": "denied"})
        self.assertEqual(page.expect_close(), 1000)

    def test_wait_socket_bad_input(self):
        e, _, _ = self.linked()
        step = self.password_step(e)
        for msg, code in [("not json", "invalid_json"), ("[1]", "invalid_json"),
                          ('{"login_id": 5}', "invalid_field"), ("{}", "invalid_field"),
                          ('{"login_id": "x", "y": 1}', "unknown_field")]:
            page = self.wait_socket()
            page.send_text(msg)
            self.assertEqual(page.recv_json()["code"], code, msg)
            self.assertEqual(page.expect_close(), 4400, msg)
        # An unknown login reads as over; binary and oversized frames close.
        page = self.wait_socket()
        page.send_json({"login_id": "nope"})
        self.assertEqual(page.recv_json(), {"state": "expired"})
        page = self.wait_socket()
        page.send_frame(0x2, b"\x00\x01")
        self.assertEqual(page.expect_close(), 1003)
        page = self.wait_socket()
        page.send_text('{"login_id": "' + "a" * 600 + '"}', fragments=4)
        self.assertEqual(page.expect_close(), 1009)
        # Wrong subprotocol, foreign origin: refused before the upgrade.
        with self.assertRaises(HandshakeRefused) as no:
            WebSocket(self.a.port, "/1/login/wait", subprotocol="authd-device.v1")
        self.assertEqual(no.exception.status, 400)
        with self.assertRaises(HandshakeRefused) as no:
            self.wait_socket(origin="https://evil.example")
        self.assertEqual(no.exception.status, 403)
        # Nothing changed: the login still waits and takes a push.
        self.assertEqual(self.a.post("/1/login/push", {"login_id": step["login_id"]}).status,
                         200)


if __name__ == "__main__":
    unittest.main()
