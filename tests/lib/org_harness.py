"""Organization steps the integration tests share: the mails authd sends
(read from the test SMTP server) and joining an organization through an
invitation, as a person would."""

import re
import time
from urllib.parse import parse_qs, urlparse

from authd_harness import ENGINE, remember_secret, random_loopback

PASSWORD = "correct horse battery"
PUBLIC = "https://console.example.test"


def mail(smtp, address, subject, timeout=10):
    """The newest message to address whose subject contains `subject`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = [x for x in smtp.to(address) if subject in x["subject"]]
        if m:
            return m[-1]
        time.sleep(0.02)
    raise AssertionError(f"no mail '{subject}' to {address}: "
                         f"{[x['subject'] for x in smtp.to(address)]}")


def invitation_token(smtp, address, count_before=0, timeout=10):
    """The token of the newest invitation mailed to address, once more than
    count_before invitations reached it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = [x for x in smtp.to(address) if " invites you to " in x["subject"]]
        if len(m) > count_before:
            url = re.search(r"(https?://\S+)", m[-1]["body"]).group(1)
            assert url.startswith(PUBLIC + "/invitations/accept?token="), url
            token = parse_qs(urlparse(url).query)["token"][0]
            remember_secret(token)
            return token
        time.sleep(0.02)
    raise AssertionError(f"no invitation to {address}")


def org_of(a, token):
    """The id of the session's own (first) organization."""
    return a.get("/1/organizations", token=token).json["organizations"][0]["id"]


def join(a, smtp, by_token, org, address, role="collaborator", billing=False, name="Invited"):
    """Invites address (by the session by_token) and joins as a new account
    with that email; returns the new member's session."""
    before = len([x for x in smtp.to(address) if " invites you to " in x["subject"]])
    r = a.post(f"/1/organizations/{org}/invitations",
               {"email": address, "role": role, "billing": billing}, token=by_token)
    assert r.status == 201, r
    token = invitation_token(smtp, address, before)
    r = a.post("/1/invitations/signup", {"token": token, "password": PASSWORD, "name": name},
               source_ip=random_loopback())
    assert r.status == 201, r
    return a.session(address)


def assert_numbered(test, numbers, n):
    """n invoices numbered once each, in order: on LMDB with no gap; on
    PostgreSQL (a sequence: an order that ran again took a new number) maybe
    with some."""
    test.assertEqual(len(set(numbers)), n)
    if ENGINE == "lmdb":
        test.assertEqual(sorted(numbers), list(range(min(numbers), min(numbers) + n)))
