"""Runs one browser test file against a real authd: starts a mail server,
an SMS receiver and a fake payment provider on loopback, an authd of the
suite's engine wired to them, then `node --test FILE` with what the test
needs in its environment:

  AUTHD_URL        http://127.0.0.1:PORT (the pages and the API)
  E2E_SPOOL        a folder where each email and SMS lands as a JSON file
                   ({"kind": "mail"|"sms", "to", "subject", "body"})
  E2E_WEBHOOK_SECRET  the provider's webhook key (the test signs as it)
  E2E_SERVICE_CREDENTIAL  the mail service's credential (it reports
                   deleted mailboxes)
  E2E_ARTIFACTS    where the test keeps its screenshots
  AUTHD_PHONE_BIN  the reference authenticator (authd-phone)

authd's log goes to the suite's state folder, where the fixture's stop
step looks for sanitizer reports and for every secret a test used
(secrets.txt: the tests add theirs).

usage: stage.py TEST_FILE ARTIFACTS_DIR
"""

import json
import os
import subprocess
import sys
import secrets
import tempfile

from authd_harness import Authd, remember_secret
from provider_harness import FakeProvider
from sms_harness import SmsReceiver
from smtp_harness import SmtpServer


class Spool:
    """Writes each message to its own file, numbered in arrival order."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="authd-e2e-spool-")
        self.n = 0

    def put(self, msg):
        self.n += 1
        tmp = os.path.join(self.dir, f".{self.n:05d}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(msg, f)
        os.rename(tmp, os.path.join(self.dir, f"{self.n:05d}.json"))


def main():
    test_file, artifacts = sys.argv[1], sys.argv[2]
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isdir(os.path.join(here, "node_modules", "playwright-core")):
        sys.exit("tests/e2e/node_modules is missing: run scripts/deps.sh (npm ci)")
    os.makedirs(artifacts, exist_ok=True)
    spool = Spool()
    smtp = SmtpServer()
    smtp.on_message = lambda m: spool.put({"kind": "mail", "to": m["rcpt"],
                                           "subject": m["subject"], "body": m["body"]})
    smtp.start()
    sms = SmsReceiver()
    sms.on_message = lambda b: spool.put({"kind": "sms", "to": [b["to"]], "subject": "",
                                          "body": b["text"]})
    provider = FakeProvider().start()
    service = "svc-" + secrets.token_hex(16)
    remember_secret(service)
    config = (f"[smtp]\nurl = {smtp.url()}\nfrom = Console <security@example.com>\n"
              f"[sms]\nurl = {sms.url()}\n[services]\nmail_credential = {service}\n"
              + provider.config())
    authd = Authd(name="e2e-" + os.path.splitext(os.path.basename(test_file))[0], config=config)
    rc = 1
    try:
        authd.start()
        env = dict(os.environ)
        env.update({
            "AUTHD_URL": f"http://127.0.0.1:{authd.port}",
            "E2E_SPOOL": spool.dir,
            "E2E_WEBHOOK_SECRET": provider.secret,
            "E2E_SERVICE_CREDENTIAL": service,
            "E2E_ARTIFACTS": artifacts,
        })
        rc = subprocess.run(["node", "--test", "--test-reporter=spec", test_file], env=env,
                            timeout=900).returncode
        if authd.proc.poll() is not None:
            print(f"authd died during the test (exit {authd.proc.returncode})")
            rc = rc or 1
    finally:
        authd.cleanup()
        smtp.stop()
        sms.stop()
        provider.stop()
    reports = authd.sanitizer_reports()
    if reports:
        print("sanitizer report in authd's log:", reports)
        rc = rc or 1
    sys.exit(rc)


if __name__ == "__main__":
    main()
