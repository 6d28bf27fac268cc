"""Waking a sleeping app: a device gives authd its wake token over its
channel (`wake`), and a push to an account whose device has no channel open
posts a content-free wake-up to the configured relay (a local HTTP receiver
here): the token and nothing of the challenge, with the relay's
Authorization header; a device with its channel open is not woken; a relay
that fails gets one retry; the woken app connects and finds its challenge."""

import http.server
import json
import threading
import time
import unittest
import uuid

from authd_harness import OwnAuthd, remember_secret
from phone_harness import new_linked_phone, next_of


def email():
    return f"w{uuid.uuid4().hex[:12]}@example.com"


class Receiver:
    """A wake-up relay on loopback that records what it gets; the first
    `fail` requests are answered 503."""

    def __init__(self):
        self.posts = []
        self.fail = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                outer.posts.append({"path": self.path, "headers": dict(self.headers),
                                    "body": json.loads(body), "at": time.monotonic()})
                status = 503 if outer.fail > 0 else 202
                outer.fail = max(0, outer.fail - 1)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, n, timeout=5):
        deadline = time.monotonic() + timeout
        while len(self.posts) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.posts


RELAY = Receiver()
SECRET = "Bearer relay-" + uuid.uuid4().hex


class Wake(OwnAuthd, unittest.TestCase):
    authd_config = (f"[push]\nwake_url = http://127.0.0.1:{RELAY.port}/wake\n"
                    f"wake_authorization = {SECRET}\n")

    def linked(self):
        e = email()
        phone, ws = new_linked_phone(self.a, e)
        return e, phone, ws

    def push(self, e):
        step = self.a.login(e).json
        remember_secret(step["login_id"])
        r = self.a.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual(r.status, 200, r)
        return step, r.json

    def test_sleeping_app_is_woken_with_its_token_only(self):
        remember_secret(SECRET.split()[1])
        e, phone, ws = self.linked()
        token = "apns-" + uuid.uuid4().hex
        remember_secret(token)  # never in a log
        ws.send_json({"type": "wake", "token": token})
        time.sleep(1)  # recorded (no answer comes for it)
        # Connected: a push goes over the channel, no wake-up.
        before = len(RELAY.posts)
        self.push(e)
        self.assertEqual(next_of(ws, "challenge")["account"], e)
        time.sleep(0.5)
        self.assertEqual(len(RELAY.posts), before)
        # Asleep (no channel): the relay gets the token, nothing else.
        ws.close()
        time.sleep(0.2)
        self.push(e)
        post = RELAY.wait_for(before + 1)[before]
        self.assertEqual(post["path"], "/wake")
        self.assertEqual(post["body"], {"v": 1, "token": token})
        self.assertEqual(post["headers"]["Authorization"], SECRET)
        self.assertEqual(post["headers"]["Content-Type"], "application/json")
        # Woken, the app connects and finds the challenge waiting.
        ws2, ready = phone.auth(self.a.port)
        self.assertEqual(ready["pending"], 2)  # the first push is still pending too
        self.assertEqual(next_of(ws2, "challenge")["account"], e)
        ws2.close()

    def test_failed_relay_gets_one_retry(self):
        e, phone, ws = self.linked()
        token = "fcm-" + uuid.uuid4().hex
        remember_secret(token)
        ws.send_json({"type": "wake", "token": token})
        time.sleep(1)
        ws.close()
        time.sleep(0.2)
        before = len(RELAY.posts)
        RELAY.fail = 5
        self.push(e)
        posts = RELAY.wait_for(before + 2)
        self.assertEqual(len(posts), before + 2)
        self.assertEqual(posts[before]["body"], posts[before + 1]["body"])
        self.assertGreaterEqual(posts[before + 1]["at"] - posts[before]["at"], 0.9)
        time.sleep(1.5)
        self.assertEqual(len(RELAY.posts), before + 2)  # once more, not forever
        RELAY.fail = 0

    def test_bad_wake_messages(self):
        e, phone, ws = self.linked()
        ws.send_json({"type": "wake", "token": "x" * 257})
        self.assertEqual(ws.recv_json(), {"type": "error", "code": "invalid_message"})
        self.assertEqual(ws.expect_close(), 4400)
        # Before auth: refused as any message is.
        ws2, _ = phone.connect(self.a.port)
        ws2.send_json({"type": "wake", "token": "t"})
        self.assertEqual(ws2.recv_json()["code"], "not_authenticated")
        # No token recorded: a push with no channel wakes nobody.
        before = len(RELAY.posts)
        self.push(e)
        time.sleep(0.5)
        self.assertEqual(len(RELAY.posts), before)


if __name__ == "__main__":
    unittest.main()
