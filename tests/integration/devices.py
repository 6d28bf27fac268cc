"""Authenticator devices: a console session offers a link (POST /1/me/devices:
a linking URI and its QR code, which zbarimg decodes to the same URI), a
phone written from PROTOCOL.md alone completes it over /1/device, the
device is listed, authenticates again by signing a fresh nonce, and is
removed (its open channel gets `revoked` and a 4403 close). Forged, replayed
and malformed attempts are refused and change nothing."""

import json
import os
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import uuid

from authd_harness import OwnAuthd, remember_secret, totp
from phone_harness import (SUBPROTOCOL, Phone, b64url, new_linked_phone, parse_link_uri,
                           signed_auth)
from ws_client import HandshakeRefused, WebSocket


def email():
    return f"d{uuid.uuid4().hex[:12]}@example.com"


def zbar_decode(svg):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "qr.svg")
        with open(path, "w", encoding="utf-8") as f:
            f.write(svg)
        out = subprocess.run(["zbarimg", "--nodbus", "-q", "--raw", path], capture_output=True,
                             text=True, check=False)
    if out.returncode != 0:
        raise AssertionError(f"zbarimg could not read the QR code: {out.stderr}")
    return out.stdout.strip()


class Devices(OwnAuthd, unittest.TestCase):
    def account(self):
        e = email()
        self.a.signup(e)
        return e, self.a.session(e)

    def offer(self, tok):
        r = self.a.post("/1/me/devices", token=tok)
        self.assertEqual(r.status, 201, r)
        remember_secret(parse_link_uri(r.json["link_uri"])["secret"].hex())
        remember_secret(b64url(parse_link_uri(r.json["link_uri"])["secret"]))
        for c in r.json.get("backup_codes", []):
            remember_secret(c)
        return r.json

    def test_first_factor_brings_backup_codes(self):
        # The first device will turn 2FA on: the offer shows the 10 backup
        # codes, once; a second offer does not, nor does one for an account
        # with TOTP on.
        e, tok = self.account()
        first = self.offer(tok)
        self.assertEqual(len(first["backup_codes"]), 10)
        self.assertNotIn("backup_codes", self.offer(tok))
        ws, linked = Phone().link(self.a.port, first["link_uri"])
        self.assertEqual(linked["type"], "linked")
        ws.close()
        pending = self.a.login(e).json
        self.assertIn("backup_code", pending["methods"])
        r = self.a.post("/1/login/backup-code", {"login_id": pending["login_id"],
                                                 "code": first["backup_codes"][0]})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        _, tok2 = self.account()
        _, _, tok2 = self.a.enable_totp(tok2)
        self.assertNotIn("backup_codes", self.offer(tok2))

    def test_link_list_auth_remove(self):
        e, tok = self.account()
        offer = self.offer(tok)
        self.assertRegex(offer["id"], "^[0-9a-f]{32}$")
        self.assertEqual(offer["expires_in"], 600)
        self.assertEqual(zbar_decode(offer["qr_svg"]), offer["link_uri"])
        info = parse_link_uri(offer["link_uri"])
        self.assertEqual(info["server"], f"http://127.0.0.1:{self.a.port}")
        self.assertEqual(len(info["secret"]), 48)
        # The device's own TOTP seed, for offline codes.
        totp = urllib.parse.urlsplit(info["totp"])
        self.assertEqual((totp.scheme, totp.netloc), ("otpauth", "totp"))
        self.assertEqual(urllib.parse.unquote(totp.path), "/authd:" + e)
        # Not linked yet.
        self.assertEqual(self.a.get(f"/1/me/devices/{offer['id']}", token=tok).status, 404)

        phone = Phone()
        ws, linked = phone.link(self.a.port, offer["link_uri"], name="Alice's Pixel")
        self.assertEqual(linked, {"type": "linked", "device_id": offer["id"], "account": e})
        ready = ws.recv_json()
        self.assertEqual(ready, {"type": "ready", "device_id": offer["id"], "pending": 0})

        listed = self.a.get("/1/me/devices", token=tok)
        self.assertEqual(listed.status, 200, listed)
        self.assertEqual([d["id"] for d in listed.json["devices"]], [offer["id"]])
        d = listed.json["devices"][0]
        self.assertEqual(d["name"], "Alice's Pixel")
        self.assertEqual(d["last_ip"], "127.0.0.1")
        one = self.a.get(f"/1/me/devices/{offer['id']}", token=tok)
        self.assertEqual((one.status, one.json["name"]), (200, "Alice's Pixel"))

        # A second channel authenticates by signing its own nonce.
        ws2, ready2 = phone.auth(self.a.port)
        self.assertEqual(ready2["type"], "ready", ready2)

        # Removed: both channels are told and closed at once.
        t0 = time.monotonic()
        self.assertEqual(self.a.delete(f"/1/me/devices/{offer['id']}", token=tok).status, 204)
        for w in (ws, ws2):
            self.assertEqual(w.recv_json(), {"type": "revoked", "device_id": offer["id"]})
            self.assertEqual(w.expect_close(), 4403)
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(self.a.get("/1/me/devices", token=tok).json["devices"], [])
        ws3, refused = phone.auth(self.a.port)
        self.assertEqual(refused, {"type": "error", "code": "unknown_device"})
        self.assertEqual(ws3.expect_close(), 4401)
        self.assertEqual(self.a.delete(f"/1/me/devices/{offer['id']}", token=tok).json["code"],
                         "device_not_found")

    def test_link_is_single_use(self):
        _, tok = self.account()
        offer = self.offer(tok)
        ws, linked = Phone().link(self.a.port, offer["link_uri"])
        self.assertEqual(linked["type"], "linked")
        ws.close()
        ws2, again = Phone().link(self.a.port, offer["link_uri"])
        self.assertEqual(again, {"type": "error", "code": "link_invalid"})
        self.assertEqual(ws2.expect_close(), 4401)
        self.assertEqual(len(self.a.get("/1/me/devices", token=tok).json["devices"]), 1)

    def test_forgeries_are_refused(self):
        e, tok = self.account()
        offer = self.offer(tok)
        info = parse_link_uri(offer["link_uri"])
        phone, other = Phone(), Phone()
        # A link signed by another key than the one sent.
        ws, nonce = phone.connect(self.a.port)
        sig = other.sign(b"authd-device-v1 link\0" + nonce + info["secret"] + phone.public_key
                         + bytes([5]) + b"phone")
        ws.send_json({"type": "link", "secret": b64url(info["secret"]),
                      "public_key": b64url(phone.public_key), "name": "phone", "sig": b64url(sig)})
        self.assertEqual(ws.recv_json(), {"type": "error", "code": "bad_signature"})
        self.assertEqual(ws.expect_close(), 4401)
        # A made-up secret for the same account.
        forged = info["secret"][:16] + os.urandom(32)
        uri = offer["link_uri"].replace(b64url(info["secret"]), b64url(forged))
        ws, refused = phone.link(self.a.port, uri)
        self.assertEqual(refused, {"type": "error", "code": "link_invalid"})
        # The offer itself still works after those.
        ws, linked = phone.link(self.a.port, offer["link_uri"])
        self.assertEqual(linked["type"], "linked")
        ws.close()
        # auth: a replayed signature (another connection's nonce) and
        # another key both read as an unknown device.
        ws, nonce = phone.connect(self.a.port)
        old_sig = phone.sign(signed_auth(nonce, phone.device_id))
        ws.close()
        ws, _ = phone.connect(self.a.port)
        ws.send_json({"type": "auth", "device_id": phone.device_id, "sig": b64url(old_sig)})
        self.assertEqual(ws.recv_json(), {"type": "error", "code": "unknown_device"})
        self.assertEqual(ws.expect_close(), 4401)
        ws, refused = other.auth(self.a.port, device_id=phone.device_id)
        self.assertEqual(refused, {"type": "error", "code": "unknown_device"})
        # Another account cannot see or remove the device.
        _, tok2 = self.account()
        self.assertEqual(self.a.get(f"/1/me/devices/{phone.device_id}", token=tok2).status, 404)
        self.assertEqual(self.a.delete(f"/1/me/devices/{phone.device_id}", token=tok2).status, 404)
        self.assertEqual(len(self.a.get("/1/me/devices", token=tok).json["devices"]), 1)
        ws, ready = phone.auth(self.a.port)
        self.assertEqual(ready["type"], "ready")

    def test_bad_input_gets_a_clean_close(self):
        port = self.a.port
        # Upgrades: no subprotocol, another subprotocol, another path, a
        # foreign Origin: refused before any channel exists.
        for kw, status in (({"path": "/1/device"}, 400),
                           ({"path": "/1/device", "subprotocol": "chat"}, 400),
                           ({"path": "/1/devices", "subprotocol": SUBPROTOCOL}, 404),
                           ({"path": "/1/device", "subprotocol": SUBPROTOCOL,
                             "origin": "https://evil.example"}, 403)):
            with self.assertRaises(HandshakeRefused, msg=kw) as refused:
                WebSocket(port, **kw)
            self.assertEqual(refused.exception.status, status, kw)
        # lws binds the first offered name it serves: ours must come first.
        for offered in ("authd-store, " + SUBPROTOCOL, "http, " + SUBPROTOCOL):
            with self.assertRaises(HandshakeRefused) as refused:
                WebSocket(port, "/1/device", subprotocol=offered)
            self.assertEqual(refused.exception.status, 400, offered)
        # Another kind of upgrade (h2c): authd speaks HTTP/1.1 only.
        r = self.a.get("/1/health", headers={"Connection": "Upgrade, HTTP2-Settings",
                                             "Upgrade": "h2c", "HTTP2-Settings": "AAMAAABkAAQAAP__"})
        self.assertEqual((r.status, r.json["code"]), (400, "upgrade_not_supported"), r)
        # A later app may offer a newer version first.
        ws = WebSocket(port, "/1/device", subprotocol="authd-device.v2, " + SUBPROTOCOL)
        self.assertEqual(ws.subprotocol, SUBPROTOCOL)
        ws.close()
        WebSocket(port, "/1/device", subprotocol=SUBPROTOCOL,
                  origin=f"http://127.0.0.1:{port}").close()
        cases = [
            (lambda ws: ws.send_text("not json"), ("invalid_message", 4400)),
            (lambda ws: ws.send_text('{"type":"launch"}'), ("unknown_type", 4400)),
            (lambda ws: ws.send_json({"type": "hello", "v": 1, "nonce": b64url(bytes(32)),
                                      "server_time": 1}), ("unknown_type", 4400)),
            (lambda ws: ws.send_json({"type": "auth", "device_id": "00" * 16, "sig": "x",
                                      "extra": 1}), ("invalid_message", 4400)),
            (lambda ws: ws.send_json({"type": "answer", "id": "00" * 16, "decision": "deny",
                                      "sig": b64url(bytes(64))}), ("not_authenticated", 4401)),
        ]
        for send, (code, close) in cases:
            ws, _ = Phone().connect(port)
            send(ws)
            self.assertEqual(ws.recv_json(), {"type": "error", "code": code})
            self.assertEqual(ws.expect_close(), close)
        # A binary frame, and a message over 4096 bytes in fragments.
        ws, _ = Phone().connect(port)
        ws.send_frame(0x2, b"\x00\xff garbage")
        self.assertEqual(ws.expect_close(), 1003)
        ws, _ = Phone().connect(port)
        ws.send_text(json.dumps({"type": "link", "name": "x" * 5000}), fragments=6)
        self.assertEqual(ws.expect_close(), 1009)
        # An unmasked frame breaks RFC 6455: lws closes the connection.
        ws, _ = Phone().connect(port)
        ws.send_frame(0x1, b'{"type":"auth"}', mask=False)
        self.assertTrue(ws.closed_by_peer())
        # authd still serves.
        self.assertEqual(self.a.get("/1/health").status, 200)

    def test_link_again_and_weak_keys(self):
        _, tok = self.account()
        offer = self.offer(tok)
        phone = Phone()
        ws, linked = phone.link(self.a.port, offer["link_uri"])
        self.assertEqual(linked["type"], "linked")
        ws.close()
        # The same key again (its `linked` lost with a connection): the
        # same device, not a second one; another key is refused.
        ws, again = Phone(seed=phone.seed).link(self.a.port, offer["link_uri"])
        self.assertEqual(again["device_id"], linked["device_id"], again)
        self.assertEqual(ws.recv_json()["type"], "ready")
        ws.close()
        ws, refused = Phone().link(self.a.port, offer["link_uri"])
        self.assertEqual(refused, {"type": "error", "code": "link_invalid"})
        self.assertEqual(len(self.a.get("/1/me/devices", token=tok).json["devices"]), 1)
        # A key of small order (under which forgeries verify) is refused.
        offer = self.offer(tok)
        info = parse_link_uri(offer["link_uri"])
        ws, nonce = Phone().connect(self.a.port)
        weak = bytes([1]) + bytes(31)
        ws.send_json({"type": "link", "secret": b64url(info["secret"]),
                      "public_key": b64url(weak), "name": "weak",
                      "sig": b64url(bytes([1]) + bytes(63))})
        self.assertEqual(ws.recv_json(), {"type": "error", "code": "invalid_key"})
        self.assertEqual(ws.expect_close(), 4401)

    def test_password_change_ends_offers(self):
        e, tok = self.account()
        offer = self.offer(tok)
        remember_secret("a changed long passphrase")
        r = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                          "new_password": "a changed long passphrase"}, token=tok)
        self.assertEqual(r.status, 204, r)
        ws, refused = Phone().link(self.a.port, offer["link_uri"])
        self.assertEqual(refused, {"type": "error", "code": "link_invalid"})

    def test_a_device_is_a_second_factor(self):
        """A linked device turns the second factor on; its offline codes
        (the otpauth secret of its linking URI) pass the TOTP step, each
        step once; removing the device turns it off again."""
        e, tok = self.account()
        self.assertEqual(self.a.login(e).json["state"], "done")
        offer = self.offer(tok)
        phone = Phone()
        ws, linked = phone.link(self.a.port, offer["link_uri"])
        self.assertEqual(linked["type"], "linked")
        ws.close()
        secret = urllib.parse.parse_qs(urllib.parse.urlsplit(phone.totp).query)["secret"][0]
        remember_secret(secret)
        step = self.a.login(e).json
        self.assertEqual((step["state"], step["methods"]),
                         ("second_factor", ["push", "totp", "backup_code"]))
        now = self.a.advance(30)
        code = totp(secret, now)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": code})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        fresh = r.json["session"]
        # The same step again, on a new login: refused, and counted.
        step = self.a.login(e).json
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": code})
        self.assertEqual((r.status, r.json["code"]), (401, "code_reused"))
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"], "code": "000000"
                                          if code != "000000" else "111111"})
        self.assertEqual((r.status, r.json["code"]), (401, "invalid_code"))
        # The next step's code works.
        now = self.a.advance(30)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                          "code": totp(secret, now)})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        # Removed: no second factor any more, and its codes are worthless.
        self.assertEqual(self.a.delete(f"/1/me/devices/{linked['device_id']}",
                                       token=fresh).status, 204)
        self.assertEqual(self.a.login(e).json["state"], "done")

    def test_failed_attempts_are_rate_limited(self):
        """Failed auths count against the address, as login failures do:
        past 20, the next attempts wait (4429); another address does not."""
        bad, good = "127.0.77.1", "127.0.77.2"
        phone = Phone()
        refused = None
        for i in range(30):
            ws, reply = phone.auth(self.a.port, device_id=os.urandom(16).hex(),
                                   source_ip=bad)
            code = ws.expect_close()
            if reply == {"type": "error", "code": "rate_limited"}:
                self.assertEqual(code, 4429)
                refused = i
                break
            self.assertEqual((reply["code"], code), ("unknown_device", 4401))
        self.assertIsNotNone(refused, "never rate limited")
        self.assertGreaterEqual(refused, 20)
        # Another address is served; the limited one is again after a wait.
        ws, reply = phone.auth(self.a.port, device_id=os.urandom(16).hex(), source_ip=good)
        self.assertEqual(reply["code"], "unknown_device")
        self.a.advance(900)
        ws, reply = phone.auth(self.a.port, device_id=os.urandom(16).hex(), source_ip=bad)
        self.assertEqual(reply["code"], "unknown_device")

    def test_silent_channel_is_closed(self):
        ws, _ = Phone().connect(self.a.port)
        t0 = time.monotonic()
        self.assertEqual(ws.expect_close(timeout=15), 4408)
        self.assertGreaterEqual(time.monotonic() - t0, 9)

    def test_policy(self):
        _, tok = self.account()
        self.assertEqual(self.a.post("/1/me/devices").status, 401)
        self.assertEqual(self.a.get("/1/me/devices").status, 401)
        self.assertEqual(self.a.get("/1/me/devices/zz", token=tok).json["code"],
                         "device_not_found")
        r = self.a.post("/1/me/devices", {"name": "x"}, token=tok)
        self.assertEqual((r.status, r.json["code"]), (400, "unknown_field"))
        # Past the reauth window, linking needs a fresh proof; listing not.
        self.a.advance(600)
        self.assertEqual(self.a.post("/1/me/devices", token=tok).json["code"],
                         "reauth_required")
        self.assertEqual(self.a.get("/1/me/devices", token=tok).status, 200)


class LongestLink(OwnAuthd, unittest.TestCase):
    """A long public URL and issuer and the longest email (254 bytes) still
    make a linking URI and a QR code that reads back: the otpauth URI in it
    was limited to 512 bytes, so such an account got 500."""

    PUBLIC = "http://127.0.0.1:1" + "/" * 167  # the longest a config line holds
    ISSUER = "Example Hosting & Cloud / Console Sign-in (Production, EU) #1"
    authd_config = f"[server]\npublic_url = {PUBLIC}\n[totp]\nissuer = {ISSUER}\n"

    def test_longest_offer(self):
        self.assertEqual(len(self.PUBLIC), 185)
        e = "a+" * 32 + "@" + ".".join(["a" * 62, "b" * 62, "c" * 63])
        self.assertEqual(len(e), 254)
        self.a.signup(e)
        tok = self.a.session(e)
        r = self.a.post("/1/me/devices", token=tok)
        self.assertEqual(r.status, 201, r)
        uri = r.json["link_uri"]
        remember_secret(b64url(parse_link_uri(uri)["secret"]))
        for c in r.json.get("backup_codes", []):
            remember_secret(c)
        self.assertEqual(zbar_decode(r.json["qr_svg"]), uri)
        info = parse_link_uri(uri)
        self.assertGreater(len(info["totp"]), 512)
        self.assertEqual(info["server"], self.PUBLIC)
        ws, linked = Phone().link(self.a.port, uri)
        self.assertEqual((linked["type"], linked["account"]), ("linked", e))
        ws.close()


class Keepalive(OwnAuthd, unittest.TestCase):
    """A channel the device is silent on is pinged ([push] channel_ping_s);
    one that answers stays, one that stays silent is dropped."""

    authd_config = "[push]\nchannel_ping_s = 2\n"

    def linked_phone(self):
        e = email()
        phone, ws = new_linked_phone(self.a, e)
        return e, phone, ws

    def test_answering_channel_stays_silent_one_is_dropped(self):
        # A channel that has not authenticated yet sits through the passes
        # too (they skip it; a pass once looped forever on one).
        unauthenticated, _ = Phone().connect(self.a.port)
        e, phone, ws = self.linked_phone()
        _, _, quiet = self.linked_phone()
        # Six seconds: the live one answers the pings as they come...
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            with self.assertRaises((socket.timeout, TimeoutError)):
                ws.recv(timeout=1)
        self.assertGreaterEqual(ws.pings, 2)
        # ...the quiet one read nothing, answered nothing: dropped.
        self.assertTrue(quiet.closed_by_peer(timeout=3))
        # The live one still carries challenges.
        step = self.a.login(e).json
        remember_secret(step["login_id"])
        self.assertEqual(self.a.post("/1/login/push", {"login_id": step["login_id"]}).status,
                         200)
        self.assertEqual(ws.recv_json()["type"], "challenge")
        self.assertEqual(unauthenticated.expect_close(timeout=10), 4408)


if __name__ == "__main__":
    unittest.main()
