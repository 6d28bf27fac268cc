"""Push approval across three authd nodes on one PostgreSQL (postgresql
engine only): the page on one node, the phone on another, the answer
wherever the phone is. A new challenge reaches a phone held by another node,
an answer withdraws the copies other nodes hold, removing a device closes its
channel on the node that holds it within a second, a link offered on one node
completes on another, and killing the node that holds the phone (-9) loses
nothing: the phone connects to another node, gets the challenge still
pending and approves it."""

import threading
import time
import unittest
import uuid

from authd_harness import ENGINE, remember_secret
from cluster import UNLIMITED_SIGNUP, ClusterCase
from phone_harness import Phone, answer, next_of
from ws_client import WebSocket

# Pages read the store only when a note wakes them (or after a minute), so a
# page that hears an answer made on another node heard it through the note;
# challenges last 90 s here (the default is 120).
CONFIG = UNLIMITED_SIGNUP + "[push]\nrecheck_ms = 60000\nchallenge_ttl = 90\n"


def email():
    return f"q{uuid.uuid4().hex[:12]}@example.com"


@unittest.skipUnless(ENGINE == "postgresql", "several nodes need PostgreSQL")
class PushAcrossNodes(ClusterCase):
    config = CONFIG

    def account(self, node):
        e = email()
        node.signup(e)
        return e, node.session(e)

    def link(self, offer_node, phone_node, tok):
        offer = offer_node.post("/1/me/devices", token=tok).json
        phone = Phone()
        ws, linked = phone.link(phone_node.port, offer["link_uri"])
        self.assertEqual(linked["type"], "linked", linked)
        self.assertEqual(ws.recv_json()["type"], "ready")
        return phone, ws, offer

    def password_step(self, node, e):
        step = node.login(e).json
        self.assertEqual(step["state"], "second_factor", step)
        remember_secret(step["login_id"])
        return step

    def wait_in_background(self, node, login_id, timeout=15):
        result = {}

        def run():
            result["r"] = node.post("/1/login/wait", {"login_id": login_id,
                                                      "timeout": timeout})

        t = threading.Thread(target=run)
        t.start()
        return t, result

    def test_link_on_one_node_seen_on_another(self):
        n1, n2, n3 = self.c.nodes
        e, tok = self.account(n1)
        phone, ws, offer = self.link(n1, n2, tok)
        self.assertEqual(phone.device_id, offer["id"])
        # The console polling a third node learns the link completed.
        r = n3.get(f"/1/me/devices/{offer['id']}", token=tok)
        self.assertEqual((r.status, r.json["name"]), (200, "Test phone"), r)
        ws.close()

    def test_page_phone_and_answer_on_three_nodes(self):
        n1, n2, n3 = self.c.nodes
        e, tok = self.account(n1)
        phone, ws2, _ = self.link(n1, n2, tok)
        # The same phone also holds a channel on node 3 (two connections).
        ws3, authed = phone.auth(n3.port)
        self.assertEqual(authed["type"], "ready", authed)
        step = self.password_step(n1, e)
        t, res = self.wait_in_background(n1, step["login_id"])
        sent = n1.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual(sent.status, 200, sent)
        self.assertEqual(sent.json["expires_in"], 90)  # [push] challenge_ttl
        # Node 1 wrote it; nodes 2 and 3 hold the channels.
        ch2 = next_of(ws2, "challenge", timeout=2)
        ch3 = next_of(ws3, "challenge", timeout=2)
        self.assertEqual(ch2, ch3)
        self.assertEqual(ch2["account"], e)
        # The answer arrives on node 3 and the page on node 1 gets its
        # session (node 3's note wakes it).
        result = answer(phone, ws3, ch3, "approve", sent.json["number"])
        self.assertEqual(result["result"], "accepted", result)
        t.join(5)
        r = res["r"]
        self.assertEqual((r.status, r.json["state"]), (200, "approved"), r)
        remember_secret(r.json["session"])
        self.assertEqual(n2.get("/1/me", token=r.json["session"]).status, 200)
        ws2.close()
        ws3.close()

    def test_withdrawn_on_other_nodes(self):
        n1, n2, n3 = self.c.nodes
        e, tok = self.account(n1)
        p2, ws2, _ = self.link(n1, n2, tok)
        p3, ws3, _ = self.link(n1, n3, tok)
        step = self.password_step(n1, e)
        page = WebSocket(n1.port, "/1/login/wait", subprotocol="authd-login-wait.v1")
        page.send_json({"login_id": step["login_id"]})
        self.assertEqual(page.recv_json(), {"state": "pending"})
        n1.post("/1/login/push", {"login_id": step["login_id"]})
        ch2 = next_of(ws2, "challenge", timeout=2)
        ch3 = next_of(ws3, "challenge", timeout=2)
        self.assertEqual(answer(p2, ws2, ch2, "deny")["result"], "accepted")
        # The page on node 1 hears it from node 2's note.
        self.assertEqual(page.recv_json(timeout=2), {"state": "denied"})
        # The other device's copy, on node 3, is withdrawn within a second.
        self.assertEqual(next_of(ws3, "withdraw", timeout=1),
                         {"type": "withdraw", "id": ch3["id"], "reason": "answered"})
        self.assertEqual(answer(p3, ws3, ch3, "approve", 42)["code"], "answered")
        r = n3.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "denied")
        ws2.close()
        ws3.close()

    def test_removed_device_closed_on_the_node_that_holds_it(self):
        n1, n2, n3 = self.c.nodes
        e, tok = self.account(n1)
        phone, ws2, offer = self.link(n1, n2, tok)
        step = self.password_step(n3, e)
        sent = n3.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = next_of(ws2, "challenge", timeout=2)
        # Removed through node 1 while the phone sits on node 2 with a
        # challenge: revoked and closed within a second.
        self.assertEqual(n1.delete(f"/1/me/devices/{offer['id']}", token=tok).status, 204)
        started = time.monotonic()
        self.assertEqual(next_of(ws2, "revoked", timeout=1)["device_id"], offer["id"])
        self.assertEqual(ws2.expect_close(timeout=1), 4403)
        self.assertLess(time.monotonic() - started, 1.0)
        # Its key is gone on every node: no channel, no answer.
        ws, refused = phone.auth(n3.port)
        self.assertEqual(refused.get("code"), "unknown_device", refused)
        ws.close()
        r = n3.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 1})
        self.assertEqual(r.json["state"], "pending")
        self.assertTrue(10 <= sent["number"] <= 99 and ch["id"])

    def test_node_holding_the_phone_killed(self):
        n1, n2, n3 = self.c.nodes
        e, tok = self.account(n1)
        phone, ws2, _ = self.link(n1, n2, tok)
        step = self.password_step(n1, e)
        sent = n1.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = next_of(ws2, "challenge", timeout=2)
        n2.kill9()
        ws2.close()
        # The phone connects to another node: the challenge is still there.
        ws3, ready = phone.auth(n3.port)
        self.assertEqual((ready["type"], ready["pending"]), ("ready", 1), ready)
        again = next_of(ws3, "challenge", timeout=2)
        self.assertEqual(again, ch)
        t, res = self.wait_in_background(n1, step["login_id"])
        self.assertEqual(answer(phone, ws3, again, "approve", sent["number"])["result"],
                         "accepted")
        t.join(5)
        r = res["r"]
        self.assertEqual((r.status, r.json["state"]), (200, "approved"), r)
        remember_secret(r.json["session"])
        ws3.close()
        self.c.restart(n2)

    def test_reference_phone_across_nodes(self):
        """authd-phone links through node 1, waits on node 2 and answers
        through node 3 after node 2 is killed."""
        import json
        from phone import Phone as CliPhone
        n1, n2, n3 = self.c.nodes
        e, tok = self.account(n1)
        phone = CliPhone()
        offer = n1.post("/1/me/devices", token=tok).json
        remember_secret(offer["link_uri"].split("secret=")[1].split("&")[0])
        self.assertEqual(phone.ok("link", offer["link_uri"]).strip(), offer["id"])
        step = self.password_step(n1, e)
        sent = n1.post("/1/login/push", {"login_id": step["login_id"]}).json
        rc, out, err = phone.run("wait", "--server", f"http://127.0.0.1:{n2.port}",
                                 "--timeout", "5")
        self.assertEqual(rc, 0, err)
        ch = json.loads(out)
        self.assertEqual(ch["account"], e)
        n2.kill9()
        phone.ok("answer", ch["id"], "approve", "--number", str(sent["number"]), "--server",
                 f"http://127.0.0.1:{n3.port}")
        r = n1.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "approved", r)
        remember_secret(r.json["session"])
        self.c.restart(n2)

    def test_reference_phones_deny_not_me_expiry_removal(self):
        """Two authd-phones of one account, each waiting on its own node:
        the first answer wins (a deny), not-me pauses push, a challenge
        that expired is refused, and a removed phone's answer is refused."""
        import json
        from phone import Phone as CliPhone
        n1, n2, n3 = self.c.nodes
        url = {n: f"http://127.0.0.1:{n.port}" for n in self.c.nodes}
        e, tok = self.account(n1)
        a, b = CliPhone(), CliPhone()
        for phone, node in ((a, n1), (b, n2)):
            offer = node.post("/1/me/devices", token=tok).json
            remember_secret(offer["link_uri"].split("secret=")[1].split("&")[0])
            phone.ok("link", offer["link_uri"], "--server", url[node])
        a_id = json.loads(a.ok("list"))["device_id"]

        def wait(phone, node):
            rc, out, err = phone.run("wait", "--server", url[node], "--timeout", "5")
            self.assertEqual(rc, 0, err)
            return json.loads(out)

        # First answer wins: a denies through node 2, b's approval through
        # node 3 comes second.
        step = self.password_step(n1, e)
        sent = n1.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch_a, ch_b = wait(a, n2), wait(b, n3)
        self.assertEqual(ch_a["id"], ch_b["id"])
        a.ok("answer", ch_a["id"], "deny", "--server", url[n2])
        rc, _, err = b.run("answer", ch_b["id"], "approve", "--number", str(sent["number"]),
                           "--server", url[n3])
        self.assertEqual(rc, 1)
        self.assertIn("answered", err)
        r = n1.post("/1/login/wait", {"login_id": step["login_id"], "timeout": 2})
        self.assertEqual(r.json["state"], "denied")
        # Expired: the clocks move past the challenge's 90 s.
        step = self.password_step(n3, e)
        n3.post("/1/login/push", {"login_id": step["login_id"]})
        ch = wait(b, n1)
        self.c.advance(91)
        rc, _, err = b.run("answer", ch["id"], "deny", "--server", url[n2])
        self.assertEqual(rc, 1)
        self.assertIn("expired", err)
        # Removed mid-challenge: a's answer is refused, on any node.
        step = self.password_step(n2, e)
        sent = n2.post("/1/login/push", {"login_id": step["login_id"]}).json
        ch = wait(a, n3)
        self.assertEqual(n1.delete(f"/1/me/devices/{a_id}", token=tok).status, 204)
        rc, _, err = a.run("answer", ch["id"], "approve", "--number", str(sent["number"]),
                           "--server", url[n3])
        self.assertEqual(rc, 1, err)
        self.assertEqual(n2.post("/1/login/wait", {"login_id": step["login_id"],
                                                   "timeout": 1}).json["state"], "pending")
        # Not me, through b on node 3: push pauses for the account everywhere.
        b.ok("answer", wait(b, n3)["id"], "not-me", "--server", url[n3])
        step = self.password_step(n1, e)
        r = n1.post("/1/login/push", {"login_id": step["login_id"]})
        self.assertEqual((r.status, r.json["code"]), (409, "push_paused"))


if __name__ == "__main__":
    unittest.main()
