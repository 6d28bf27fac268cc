"""A small RFC 6455 WebSocket client for the tests: the opening handshake,
masked text frames (whole or in fragments), raw frames of any shape (the
bad-input tests send broken ones on purpose), and reading frames back with
pings answered. Only the standard library."""

import base64
import hashlib
import os
import socket
import struct

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class HandshakeRefused(Exception):
    def __init__(self, status, head):
        super().__init__(f"upgrade refused: HTTP {status}")
        self.status = status
        self.head = head


class WebSocket:
    def __init__(self, port, path, subprotocol=None, origin=None, host="127.0.0.1",
                 source_ip=None, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=(source_ip, 0) if source_ip else None)
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}", "Sec-WebSocket-Version: 13"]
        if subprotocol:
            lines.append(f"Sec-WebSocket-Protocol: {subprotocol}")
        if origin:
            lines.append(f"Origin: {origin}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split(" ")[1])
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        if self.status != 101:
            self.sock.close()
            raise HandshakeRefused(self.status, head)
        want = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
        if self.headers.get("sec-websocket-accept") != want:
            raise AssertionError("bad Sec-WebSocket-Accept")
        self.subprotocol = self.headers.get("sec-websocket-protocol")
        self.close_code = None
        self.pings = 0  # pings the server sent and this client answered

    def _read_until(self, marker):
        while marker not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("closed during the handshake")
            self.buf += data
        head, _, self.buf = self.buf.partition(marker)
        return head

    def _read(self, n):
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", b0, (0x80 if mask else 0) | n)
        elif n < 65536:
            head = struct.pack("!BBH", b0, (0x80 if mask else 0) | 126, n)
        else:
            head = struct.pack("!BBQ", b0, (0x80 if mask else 0) | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(c ^ key[i % 4] for i, c in enumerate(payload))
            head += key
        self.sock.sendall(head + payload)

    def send_text(self, text, fragments=1):
        data = text.encode() if isinstance(text, str) else text
        if fragments <= 1:
            self.send_frame(0x1, data)
            return
        step = max(1, -(-len(data) // fragments))
        parts = [data[i:i + step] for i in range(0, len(data), step)]
        for i, part in enumerate(parts):
            self.send_frame(0x1 if i == 0 else 0x0, part, fin=i == len(parts) - 1)

    def recv(self, timeout=5.0):
        """The next message: ("text", str), ("binary", bytes) or ("close",
        code, reason). Pings are answered on the way."""
        self.sock.settimeout(timeout)
        message, opcode = b"", None
        while True:
            b0, b1 = self._read(2)
            op, fin, n = b0 & 0x0F, b0 & 0x80, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            if b1 & 0x80:
                raise AssertionError("the server masked a frame")
            payload = self._read(n)
            if op == 0x9:
                self.pings += 1
                self.send_frame(0xA, payload)
                continue
            if op == 0xA:
                continue
            if op == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                self.close_code = code
                return ("close", code, payload[2:].decode(errors="replace"))
            if op in (0x1, 0x2):
                opcode = op
            message += payload
            if fin:
                return ("text", message.decode()) if opcode == 0x1 else ("binary", message)

    def recv_json(self, timeout=5.0):
        import json
        msg = self.recv(timeout)
        if msg[0] != "text":
            raise AssertionError(f"expected a message, got {msg!r}")
        return json.loads(msg[1])

    def send_json(self, obj, fragments=1):
        import json
        self.send_text(json.dumps(obj, separators=(",", ":")), fragments)

    def expect_close(self, timeout=5.0):
        """Reads until the server's close frame; returns its code."""
        while True:
            msg = self.recv(timeout)
            if msg[0] == "close":
                return msg[1]

    def closed_by_peer(self, timeout=2.0):
        """True once the server has closed the TCP connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()
