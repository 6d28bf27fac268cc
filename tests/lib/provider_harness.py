"""A local fake payment provider for the billing tests, speaking the seam
authd's provider.c speaks: POST /payments {"id", "amount", "currency",
"description"} with an Idempotency-Key header (the payment id) answers a
checkout {"ref", "checkout_url"}, the same one for the same id; complete()
then plays the payer finishing the checkout: the provider calls authd's
POST /1/billing/webhook, signed "t=<time>,v1=<HMAC-SHA-256 of '<time>.'
+ body>" with the shared secret."""

import hashlib
import hmac
import http.client
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from authd_harness import free_port, remember_secret


def sign(secret, body, t):
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


class FakeProvider:
    def __init__(self, authorization="Bearer provider-test-credential"):
        self.secret = "whsec_" + secrets.token_hex(24)
        self.authorization = authorization
        remember_secret(self.secret)
        remember_secret(authorization.split()[-1])
        self.lock = threading.Lock()
        self.by_id = {}        # payment id -> its latest checkout
        self.by_key = {}       # Idempotency-Key -> checkout
        self.requests = []     # every POST /payments body, in order
        self.arrived = []      # the same, as they arrive (before any delay)
        self.fail = 0          # answer the next n with 500
        self.delay = 0.0       # seconds before answering
        self.port = free_port()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n) or b"{}")
                status, answer = provider.handle(self.path, self.headers, body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def config(self):
        """authd's [billing] section for this provider."""
        return (f"[billing]\nprovider_url = {self.url()}\n"
                f"provider_authorization = {self.authorization}\n"
                f"webhook_secret = {self.secret}\n")

    def handle(self, path, headers, body):
        import time
        with self.lock:
            self.arrived.append(body)
        if self.delay:
            time.sleep(self.delay)
        if path != "/payments":
            return 404, {"error": "not_found"}
        if headers.get("Authorization") != self.authorization:
            return 401, {"error": "unauthorized"}
        key = headers.get("Idempotency-Key")
        want = f"{body.get('id')}-{body.get('currency')}-{round(float(body.get('amount', 0)) * 100)}"
        if key != want:
            return 400, {"error": "the idempotency key is not the payment's id, currency, amount"}
        with self.lock:
            self.requests.append(body)
            if self.fail > 0:
                self.fail -= 1
                return 500, {"error": "down"}
            got = self.by_key.get(key)
            if got is None:
                ref = "pay_" + secrets.token_hex(8)
                got = self.by_key[key] = self.by_id[body["id"]] = {
                    "ref": ref, "id": key, "amount": body["amount"],
                    "currency": body["currency"], "description": body["description"],
                    "checkout_url": f"{self.url()}/checkout/{ref}"}
                return 201, {"ref": ref, "checkout_url": got["checkout_url"]}
        return 200, {"ref": got["ref"], "checkout_url": got["checkout_url"]}

    def created(self):
        """How many checkouts were started."""
        with self.lock:
            return len(self.by_key)

    def checkout(self, payment_id):
        with self.lock:
            return self.by_id[payment_id]

    def webhook(self, authd, payment_id, status="paid", at=None, amount=None, currency=None,
                ref=None, secret=None, raw=None, signature=None):
        """Calls authd's webhook as the provider does when the payer finished
        (or failed) the checkout of payment_id; at is the signing time (the
        test clock's: authd checks it)."""
        c = self.checkout(payment_id) if payment_id in self.by_id else {}
        body = raw if raw is not None else json.dumps({
            "id": payment_id, "ref": ref or c.get("ref", "pay_unknown"), "status": status,
            "amount": amount or c.get("amount", "1.00"),
            "currency": currency or c.get("currency", "CHF")}).encode()
        t = authd.now() if at is None else at
        sig = signature or sign(secret or self.secret, body, t)
        return authd.request("POST", "/1/billing/webhook", raw=body,
                             headers={"X-Provider-Signature": sig,
                                      "Content-Type": "application/json"})
