"""An SMS webhook receiver on loopback for the tests: records every POST
authd's outbox makes ({"v", "id", "to", "text"}) and its headers; the first
`fail` requests get 503 (a gateway that is down)."""

import http.server
import json
import threading
import time


class SmsReceiver:
    def __init__(self):
        self.messages = []
        self.fail = 0
        self.on_message = None  # called with each message body once recorded
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(n))
                with outer.lock:
                    failing = outer.fail > 0
                    outer.fail = max(0, outer.fail - 1)
                    if not failing:
                        outer.messages.append({"path": self.path, "body": body,
                                               "headers": dict(self.headers)})
                if not failing and outer.on_message:
                    outer.on_message(body)
                self.send_response(503 if failing else 202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self):
        return f"http://127.0.0.1:{self.port}/sms"

    def to(self, number):
        with self.lock:
            return [m["body"] for m in self.messages if m["body"]["to"] == number]

    def wait_for(self, number, n=1, timeout=10):
        deadline = time.monotonic() + timeout
        while len(self.to(number)) < n and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.to(number)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
