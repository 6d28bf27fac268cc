"""A real SMTP server on loopback for the tests (Debian's python3-aiosmtpd):
it records every message it accepts, parsed, and can be started late or
stopped, as a mail server that is down would be."""

import asyncio
import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller

from authd_harness import free_port


class _Sink:
    def __init__(self, outer):
        self.outer = outer

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.outer.reject:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.outer.delay:
            await asyncio.sleep(self.outer.delay)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.outer.lock:
            self.outer.messages.append({
                "from": envelope.mail_from,
                "rcpt": list(envelope.rcpt_tos),
                "raw": envelope.content,
                "msg": msg,
                "subject": str(msg["Subject"]),
                "message_id": str(msg["Message-ID"]),
                "body": msg.get_content(),
            })
            m = self.outer.messages[-1]
        if self.outer.on_message:
            self.outer.on_message(m)
        return "250 OK"


class SmtpServer:
    """An SMTP server on 127.0.0.1:port (a free port unless given); not
    listening until start(). Each message takes `delay` seconds to accept."""

    def __init__(self, port=None, delay=0):
        self.port = port or free_port()
        self.delay = delay
        self.lock = threading.Lock()
        self.messages = []
        self.controller = None
        self.on_message = None  # called with each message once recorded
        self.reject = set()  # recipients refused for good (550)

    def start(self):
        self.controller = Controller(_Sink(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def to(self, rcpt):
        with self.lock:
            return [m for m in self.messages if rcpt in m["rcpt"]]

    def wait_for(self, rcpt, n=1, timeout=10):
        """The messages to rcpt once there are at least n (or at the timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.to(rcpt)) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.to(rcpt)
