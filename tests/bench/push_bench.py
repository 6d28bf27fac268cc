#!/usr/bin/env python3
"""Push approval with many devices connected: starts authd, links devices
(one account each, each with its channel open, as a phone holds it), then,
with 1 000, 10 000 and 19 000 channels open (19 000: this sandbox's
descriptor ceiling is 20 000 per process), measures one login at a time:

- push -> device: from sending POST /1/login/push to the device holding the
  challenge;
- approval -> page: from sending the signed approval to the waiting page
  (the /1/login/wait WebSocket) holding its session;
- authd's memory per idle channel: the growth of its anonymous RSS while
  the channels were linked and left idle, divided by their number.

--engine postgresql [--nodes 2]: a private PostgreSQL server; with 2 nodes
the devices hold their channels on node 2 while the pages log in and wait
on node 1, so every challenge and every answer crosses nodes (through the
router seam's notes).

Targets (information, nothing fails on time): p99 <= 5 ms for both at
10 000 devices on LMDB; <= 3 KiB per idle channel; across two nodes on
PostgreSQL, p99 at most 2 ms above the one-node figure. The client is Python
(asyncio, one login at a time): its own share of each latency is included,
so the figures are upper bounds. Usage: see tests/bench/README.md.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import resource
import secrets
import socket
import statistics
import struct
import sys
import tempfile
import time
from urllib.parse import parse_qs, urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

from bench import FIXTURE_COST, BenchAuthd, PgServer, say  # noqa: E402
from phone_harness import signed_answer, signed_auth, signed_link  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

PASSWORD = "bench " + secrets.token_urlsafe(12)
LEVELS = (1000, 10000, 19000)
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def percentile(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


# --- a small asyncio HTTP/1.1 and WebSocket client --------------------------------------

class Http:
    """One keep-alive connection."""

    def __init__(self, port, source):
        self.port, self.source = port, source
        self.r = self.w = None

    async def request(self, method, path, body=None, token=None):
        if self.w is None:
            self.r, self.w = await asyncio.open_connection("127.0.0.1", self.port,
                                                           local_addr=(self.source, 0))
        data = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
                f"Content-Length: {len(data)}", "Content-Type: application/json",
                "User-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        self.w.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status_line = await self.r.readline()
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            if k.lower() == "content-length":
                length = int(v)
            if k.lower() == "connection" and v.strip().lower() == "close":
                close = True
        payload = await self.r.readexactly(length) if length else b""
        if close:
            self.w.close()
            self.r = self.w = None
        return status, (json.loads(payload) if payload else None)


class Ws:
    def __init__(self, r, w):
        self.r, self.w = r, w

    @classmethod
    async def open(cls, port, path, subprotocol, source):
        r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        key = base64.b64encode(os.urandom(16)).decode()
        w.write((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: {subprotocol}\r\n\r\n"
                 ).encode())
        head = await r.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"upgrade refused: {head[:40]!r}")
        sock = w.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(r, w)

    def send(self, obj):
        data = json.dumps(obj, separators=(",", ":")).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                               bytes([0x80 | 126]) + struct.pack("!H", n))
        self.w.write(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    async def recv(self):
        """The next text message as JSON (pings answered, close -> None)."""
        while True:
            b0, b1 = await self.r.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", await self.r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", await self.r.readexactly(8))[0]
            payload = await self.r.readexactly(n)
            op = b0 & 0x0F
            if op == 0x1:
                return json.loads(payload)
            if op == 0x8:
                return None
            if op == 0x9:
                self.w.write(bytes([0x8A, 0x80 | len(payload)]) + b"\0\0\0\0" + payload)

    def close(self):
        self.w.close()


# --- the devices -----------------------------------------------------------------------

class Device:
    def __init__(self):
        self.key = Ed25519PrivateKey.generate()
        self.pub = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.id = self.ws = self.email = None
        self.challenges = asyncio.Queue()

    async def listen(self):
        while True:
            msg = await self.ws.recv()
            if msg is None:
                return
            if msg["type"] in ("challenge", "answer_result"):
                await self.challenges.put((time.perf_counter(), msg))


class Run:
    def __init__(self, page_node, device_node):
        self.page, self.dev = page_node, device_node
        self.devices = []
        self.sources = [f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{i}"
                        for i in range(2, 250)]

    async def link_one(self, http, source):
        d = Device()
        d.email = f"b{secrets.token_hex(8)}@example.com"
        st, _ = await http.request("POST", "/1/accounts", {"email": d.email, "password": PASSWORD,
                                                           "name": "Bench"})
        assert st == 201, st
        st, body = await http.request("POST", "/1/login", {"email": d.email,
                                                           "password": PASSWORD})
        assert st == 200 and body["state"] == "done", (st, body)
        st, offer = await http.request("POST", "/1/me/devices", {}, token=body["session"])
        assert st == 201, (st, offer)
        q = parse_qs(urlparse(offer["link_uri"]).query)
        secret = unb64url(q["secret"][0])
        d.ws = await Ws.open(self.dev.port, "/1/device", "authd-device.v1", source)
        hello = await d.ws.recv()
        nonce = unb64url(hello["nonce"])
        sig = d.key.sign(signed_link(nonce, secret, d.pub, "bench"))
        d.ws.send({"type": "link", "secret": q["secret"][0], "public_key": b64url(d.pub),
                   "name": "bench", "sig": b64url(sig)})
        linked = await d.ws.recv()
        assert linked["type"] == "linked", linked
        d.id = linked["device_id"]
        assert (await d.ws.recv())["type"] == "ready"
        d.ws.close()  # the channel opens again later, when it is measured
        d.ws = None
        self.devices.append(d)

    async def connect_one(self, d, source):
        """The device's channel, authenticated, held open."""
        d.ws = await Ws.open(self.dev.port, "/1/device", "authd-device.v1", source)
        hello = await d.ws.recv()
        d.ws.send({"type": "auth", "device_id": d.id,
                   "sig": b64url(d.key.sign(signed_auth(unb64url(hello["nonce"]), d.id)))})
        ready = await d.ws.recv()
        assert ready["type"] == "ready", ready
        d.task = asyncio.ensure_future(d.listen())

    async def connect(self, devices, concurrency=64):
        todo = list(devices)

        async def worker(k):
            while todo:
                await self.connect_one(todo.pop(), self.sources[k % len(self.sources)])

        await asyncio.gather(*(worker(k) for k in range(concurrency)))

    async def link(self, count, concurrency=48):
        todo = count

        async def worker(k):
            nonlocal todo
            http = Http(self.page.port, self.sources[k % len(self.sources)])
            while todo > 0:
                todo -= 1
                await self.link_one(http, self.sources[(k * 7 + todo) % len(self.sources)])

        await asyncio.gather(*(worker(k) for k in range(concurrency)))

    async def one_login(self, d, http):
        st, step = await http.request("POST", "/1/login", {"email": d.email,
                                                           "password": PASSWORD})
        assert st == 200 and step["state"] == "second_factor", (st, step)
        page = await Ws.open(self.page.port, "/1/login/wait", "authd-login-wait.v1",
                             http.source)
        page.send({"login_id": step["login_id"]})
        assert (await page.recv()) == {"state": "pending"}
        t0 = time.perf_counter()
        st, sent = await http.request("POST", "/1/login/push", {"login_id": step["login_id"]})
        assert st == 200, (st, sent)
        t1, ch = await d.challenges.get()
        assert ch["type"] == "challenge", ch
        sig = d.key.sign(signed_answer(ch["id"], unb64url(ch["nonce"]), d.id, "approve",
                                       sent["number"]))
        t2 = time.perf_counter()
        d.ws.send({"type": "answer", "id": ch["id"], "decision": "approve",
                   "number": sent["number"], "sig": b64url(sig)})
        done = await page.recv()
        t3 = time.perf_counter()
        assert done["state"] == "approved", done
        _, result = await d.challenges.get()
        assert result["result"] == "accepted", result
        page.close()
        return (t1 - t0) * 1000, (t3 - t2) * 1000

    async def measure(self, logins):
        http = Http(self.page.port, self.sources[0])
        push, approve = [], []
        chosen = random.sample([d for d in self.devices if d.ws], min(logins, len(self.devices)))
        for d in chosen:
            a, b = await self.one_login(d, http)
            push.append(a)
            approve.append(b)
        return push, approve


def rss_anon_kib(pid):
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("RssAnon:"):
                return int(line.split()[1])
    return 0


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


async def main_async(args, nodes):
    page, dev = nodes[0], nodes[-1]
    run = Run(page, dev)
    results = []
    t = time.time()
    await run.link(max(args.levels))
    say(f"{len(run.devices)} devices linked ({time.time() - t:.0f} s), channels closed")
    await asyncio.sleep(2)
    connected = 0
    rss0 = rss_anon_kib(dev.proc.pid)
    for level in args.levels:
        t = time.time()
        await run.connect(run.devices[connected:level])
        connected = level
        await asyncio.sleep(2)  # idle: jobs done, buffers settled
        rss = rss_anon_kib(dev.proc.pid)
        per = (rss - rss0) * 1024 / connected
        say(f"{connected} channels open ({time.time() - t:.0f} s to connect); authd "
            f"{'node 2 ' if len(nodes) > 1 else ''}anonymous RSS +{(rss - rss0) / 1024:.1f} MiB: "
            f"{per:.0f} bytes per idle channel (target <= 3072)")
        push, approve = await run.measure(args.logins)
        row = {"devices": connected, "per_channel_bytes": round(per),
               "push_p50_ms": round(percentile(push, 50), 2),
               "push_p99_ms": round(percentile(push, 99), 2),
               "approve_p50_ms": round(percentile(approve, 50), 2),
               "approve_p99_ms": round(percentile(approve, 99), 2),
               "push_mean_ms": round(statistics.mean(push), 2),
               "approve_mean_ms": round(statistics.mean(approve), 2)}
        say(f"  {args.logins} logins: push -> device p50 {row['push_p50_ms']} ms, "
            f"p99 {row['push_p99_ms']} ms; approval -> page p50 {row['approve_p50_ms']} ms, "
            f"p99 {row['approve_p99_ms']} ms (target p99 <= 5 ms at 10 000 on LMDB)")
        results.append(row)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(HERE, "..", "..", "build-bench"))
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--nodes", type=int, choices=[1, 2], default=1)
    ap.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")],
                    default=list(LEVELS))
    ap.add_argument("--logins", type=int, default=300, help="measured logins per level")
    args = ap.parse_args()
    hard = raise_fd_limit()
    if max(args.levels) + 200 > hard:
        say(f"this process may open {hard} descriptors: levels above {hard - 200} skipped")
        args.levels = [x for x in args.levels if x + 200 <= hard]
    binary = os.path.join(os.path.abspath(args.build), "authd", "authd")
    work = tempfile.mkdtemp(prefix="authd-push-bench-")
    cost = "".join(f"{k} = {v}\n" for k, v in FIXTURE_COST.items())
    config = (f"[password]\n{cost}[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n"
              f"[server]\nmax_connections = {max(args.levels) + 500}\n"
              f"[session]\nlogin_timeout = 3600\n")
    pg = None
    nodes = []
    try:
        kw = {}
        if args.engine == "postgresql":
            pg = PgServer(work, 1000, False)
            pg.start()
            kw = {"engine": "postgresql", "pg_url": pg.createdb("push_bench"),
                  "key_file": os.path.join(work, "secret.key")}
        for i in range(args.nodes):
            a = BenchAuthd(binary, name=f"push{i + 1}", config=config, test_clock=False, **kw)
            a.start()
            nodes.append(a)
        say(f"authd {binary}, engine {args.engine}, {args.nodes} node(s)"
            + (": devices on node 2, pages on node 1" if args.nodes == 2 else ""))
        results = asyncio.run(main_async(args, nodes))
        print(json.dumps({"engine": args.engine, "nodes": args.nodes, "levels": results}))
    finally:
        for a in nodes:
            a.stop()
            a.cleanup()
        if pg:
            pg.stop()


if __name__ == "__main__":
    main()
