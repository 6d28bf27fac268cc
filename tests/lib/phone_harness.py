"""A phone for the integration tests, written from PROTOCOL.md alone (no
code shared with authd's codec): Ed25519 keys with Python's cryptography,
the signing inputs of section 2, linking URIs, and the device channel over
ws_client.WebSocket."""

import base64
import os
import urllib.parse

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ws_client import WebSocket

SUBPROTOCOL = "authd-device.v1"
DECISIONS = {"approve": 1, "deny": 2, "not_me": 3}


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parse_link_uri(uri):
    """{"server", "secret" (bytes), "totp" (otpauth URI)} of a linking URI."""
    u = urllib.parse.urlsplit(uri)
    if (u.scheme, u.netloc) != ("authd", "link"):
        raise ValueError(f"not a linking URI: {uri}")
    q = urllib.parse.parse_qs(u.query, strict_parsing=True)
    if q.get("v") != ["1"]:
        raise ValueError("not version 1")
    return {"server": q["server"][0], "secret": unb64url(q["secret"][0]), "totp": q["totp"][0]}


def signed_link(nonce, secret, public_key, name):
    n = name.encode()
    return b"authd-device-v1 link\0" + nonce + secret + public_key + bytes([len(n)]) + n


def signed_auth(nonce, device_id):
    return b"authd-device-v1 auth\0" + nonce + bytes.fromhex(device_id)


def signed_answer(challenge_id, challenge_nonce, device_id, decision, number):
    return (b"authd-device-v1 answer\0" + bytes.fromhex(challenge_id) + challenge_nonce
            + bytes.fromhex(device_id) + bytes([DECISIONS[decision], number or 0]))


class Phone:
    """One key pair (one link). `seed` fixes the key (tests of forgeries)."""

    def __init__(self, seed=None):
        self.seed = seed or os.urandom(32)
        self.key = Ed25519PrivateKey.from_private_bytes(self.seed)
        self.public_key = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.device_id = None
        self.totp = None

    def sign(self, data):
        return self.key.sign(data)

    def connect(self, port, **kw):
        """A channel that got its hello; returns (ws, nonce)."""
        ws = WebSocket(port, "/1/device", subprotocol=SUBPROTOCOL, **kw)
        hello = ws.recv_json()
        assert hello["type"] == "hello" and hello["v"] == 1, hello
        return ws, unb64url(hello["nonce"])

    def link(self, port, link_uri, name="Test phone", **kw):
        """Links over a new channel; returns (ws, the linked message)."""
        info = parse_link_uri(link_uri)
        ws, nonce = self.connect(port, **kw)
        sig = self.sign(signed_link(nonce, info["secret"], self.public_key, name))
        ws.send_json({"type": "link", "secret": b64url(info["secret"]),
                      "public_key": b64url(self.public_key), "name": name, "sig": b64url(sig)})
        linked = ws.recv_json()
        if linked.get("type") == "linked":
            self.device_id = linked["device_id"]
            self.totp = info["totp"]
        return ws, linked

    def auth(self, port, device_id=None, **kw):
        """Authenticates a new channel; returns (ws, the answer message)."""
        ws, nonce = self.connect(port, **kw)
        did = device_id or self.device_id
        ws.send_json({"type": "auth", "device_id": did,
                      "sig": b64url(self.sign(signed_auth(nonce, did)))})
        return ws, ws.recv_json()


def challenge_nonce(challenge):
    return unb64url(challenge["nonce"])


def answer(phone, ws, challenge, decision, number=None):
    """Signs and sends an answer; returns authd's answer_result."""
    sig = phone.sign(signed_answer(challenge["id"], challenge_nonce(challenge), phone.device_id,
                                   decision, number))
    msg = {"type": "answer", "id": challenge["id"], "decision": decision, "sig": b64url(sig)}
    if decision == "approve":
        msg["number"] = number
    ws.send_json(msg)
    while True:
        reply = ws.recv_json()
        if reply["type"] == "answer_result":
            return reply


def next_of(ws, kind, timeout=5.0):
    """The next message of a type, skipping others."""
    while True:
        msg = ws.recv_json(timeout)
        if msg["type"] == kind:
            return msg


def new_linked_phone(authd, email, password=None):
    """A new account `email` on authd with one linked phone whose channel
    is open and ready; returns (phone, ws)."""
    pw = {"password": password} if password else {}
    authd.signup(email, **pw)
    tok = authd.session(email, **pw)
    offer = authd.post("/1/me/devices", token=tok).json
    phone = Phone()
    ws, linked = phone.link(authd.port, offer["link_uri"])
    assert linked["type"] == "linked", linked
    assert ws.recv_json()["type"] == "ready"
    return phone, ws
