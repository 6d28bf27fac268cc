#!/usr/bin/env python3
"""Checks mobile-protocol/PROTOCOL.md's test vectors with a second
implementation: every signing input is rebuilt here from the rules of
section 2, every key and signature computed with the `cryptography`
package, and every _json message parsed and compared with the values it
should carry. Usage: vectors.py PROTOCOL.md"""

import base64
import json
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def load(path):
    vectors, inside = {}, False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not inside:
                inside = line == "```vectors"
                continue
            if line == "```":
                break
            name, _, value = line.partition(" ")
            vectors[name] = value.strip()
    if not vectors:
        raise SystemExit(f"{path}: no ```vectors block")
    return vectors


def b64url(raw):
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def main():
    v = load(sys.argv[1])
    h = bytes.fromhex
    key = Ed25519PrivateKey.from_private_bytes(h(v["seed"]))
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    failures = []

    def same(what, got, want):
        if got != want:
            failures.append(f"{what}: got {got!r}, want {want!r}")

    same("public_key", pub.hex(), v["public_key"])
    name = v["device_name"].encode()
    nonce, dev, cid = h(v["hello_nonce"]), h(v["device_id"]), h(v["challenge_id"])
    inputs = {
        "link": b"authd-device-v1 link\0" + nonce + h(v["link_secret"]) + pub
                + bytes([len(name)]) + name,
        "auth": b"authd-device-v1 auth\0" + nonce + dev,
        "approve": b"authd-device-v1 answer\0" + cid + h(v["challenge_nonce"]) + dev
                   + bytes([1, 42]),
        "not_me": b"authd-device-v1 answer\0" + cid + h(v["challenge_nonce"]) + dev
                  + bytes([3, 0]),
    }
    for kind, data in inputs.items():
        same(f"{kind}_input", data.hex(), v[f"{kind}_input"])
        same(f"{kind}_sig", key.sign(data).hex(), v[f"{kind}_sig"])
        key.public_key().verify(h(v[f"{kind}_sig"]), data)  # raises if forged

    hello = json.loads(v["hello_json"])
    same("hello_json", hello, {"type": "hello", "v": 1, "nonce": b64url(nonce),
                               "server_time": hello.get("server_time")})
    same("link_json", json.loads(v["link_json"]),
         {"type": "link", "secret": b64url(h(v["link_secret"])), "public_key": b64url(pub),
          "name": v["device_name"], "sig": b64url(h(v["link_sig"]))})
    same("auth_json", json.loads(v["auth_json"]),
         {"type": "auth", "device_id": v["device_id"], "sig": b64url(h(v["auth_sig"]))})
    same("approve_json", json.loads(v["approve_json"]),
         {"type": "answer", "id": v["challenge_id"], "decision": "approve", "number": 42,
          "sig": b64url(h(v["approve_sig"]))})
    same("not_me_json", json.loads(v["not_me_json"]),
         {"type": "answer", "id": v["challenge_id"], "decision": "not_me",
          "sig": b64url(h(v["not_me_sig"]))})
    if failures:
        raise SystemExit("PROTOCOL.md vectors disagree:\n  " + "\n  ".join(failures))
    print(f"PROTOCOL.md: {len(v)} vectors agree with an independent implementation")


if __name__ == "__main__":
    main()
