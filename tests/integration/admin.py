"""authctl over the admin socket: find an account, lock it (its sessions
end, it signs in nowhere), read its security events, unlock it, end its
sessions, list the messages that could not be delivered, and rotate the
keys (a new generation, old seals still open and resealed, the old one
retired once nothing uses it). The socket is 0600, serves the operator's
routes only, and checks the peer's uid (root or authd's own); the
operator's routes do not exist on the TCP listener, whatever the
credential."""

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import time
import unittest
import uuid

from authd_harness import ENGINE, OwnAuthd, authd_binary, totp
from smtp_harness import SmtpServer


OUTBOX_BACKOFF_FIRST = 10  # core/outbox.c: the pause after a first failed try
OUTBOX_NOT_HELD = 10  # core.h OUTBOX_NOT_HELD_S


def email():
    return f"adm-{uuid.uuid4().hex[:12]}@example.com"


def unix_get(path, target, token=None):
    """GET target over the Unix socket at path: (status, body)."""
    import http.client
    import socket

    class Conn(http.client.HTTPConnection):
        def connect(self):
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.connect(path)

    c = Conn("authd", timeout=10)
    c.request("GET", target, headers={"Authorization": f"Bearer {token}"} if token else {})
    r = c.getresponse()
    out = (r.status, r.read())
    c.close()
    return out


def authctl_path():
    return os.path.join(os.path.dirname(authd_binary()), "authctl")


class Authctl(OwnAuthd, unittest.TestCase):
    def sock(self):
        return os.path.join(self.a.data_dir, "admin.sock")

    def ctl(self, *args, user=None):
        argv = [authctl_path(), "--socket", self.sock(), *args]
        if user is not None:
            argv = ["setpriv", "--reuid", str(user), "--regid", str(user), "--clear-groups"] + argv
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        out = json.loads(r.stdout) if r.stdout.startswith("{") else r.stdout
        return r.returncode, out, r.stderr

    def test_find_lock_events_unlock(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        rc, acct, _ = self.ctl("find", e)
        self.assertEqual(rc, 0)
        self.assertEqual(acct["login"], e)
        self.assertIsNone(acct["locked_at"])
        self.assertRegex(acct["account_id"], r"^[0-9a-f]{32}$")

        rc, out, _ = self.ctl("lock", acct["account_id"])
        self.assertEqual(rc, 0)
        self.assertIn("locked_at", out)
        self.assertEqual(self.a.get("/1/me", token=tok).status, 401)  # its sessions ended
        self.assertEqual(self.a.login(e).status, 401)  # told as a wrong password
        self.assertIsNotNone(self.ctl("find", e)[1]["locked_at"])
        rc, ev, _ = self.ctl("events", e, "5")
        self.assertEqual(rc, 0)
        locked = [x for x in ev["activity"] if x["kind"] == "account_locked"]
        self.assertEqual(len(locked), 1)
        self.assertEqual(locked[0]["ip"], "local")
        self.assertIn(f"operator locked account={acct['account_id']} uid=", self.a.log_text())

        rc, out, _ = self.ctl("unlock", e)  # by login too
        self.assertEqual((rc, out.strip()), (0, f"unlock: done (account {acct['account_id']})"))
        self.assertEqual(self.a.login(e).status, 200)
        self.assertIsNone(self.ctl("find", e)[1]["locked_at"])

    def test_end_sessions(self):
        e = email()
        self.a.signup(e)
        toks = [self.a.session(e) for _ in range(3)]
        self.assertEqual(self.ctl("end-sessions", e)[0], 0)
        for t in toks:
            self.assertEqual(self.a.get("/1/me", token=t).status, 401)
        self.assertEqual(self.a.login(e).status, 200)  # not locked: signs in again

    def test_unknown_and_bad_arguments(self):
        rc, _, err = self.ctl("find", email())
        self.assertEqual(rc, 1)
        self.assertIn("(404 not_found)", err)
        self.assertEqual(self.ctl("lock", "0" * 32)[0], 1)
        self.assertEqual(self.ctl("lock")[0], 2)
        rc, _, err = self.ctl("lock", "../../../1/me?" + "x" * 18)  # 32, not hex: no path trick
        self.assertEqual(rc, 2)
        self.assertIn("neither an account id", err)
        self.assertEqual(self.ctl("events", "0" * 32, "10x")[0], 2)
        self.assertEqual(self.ctl("frobnicate", "x")[0], 2)
        r = subprocess.run([authctl_path(), "--socket", "/nonexistent/admin.sock", "find",
                            "x@example.com"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        self.assertIn("cannot reach authd", r.stderr)

    def test_socket_is_the_operators_only(self):
        st = os.stat(self.sock())
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(st.st_mode & 0o777, 0o600)
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        # On TCP the operator's routes do not exist, with or without a session.
        for path, method in (("/admin/accounts/find", "POST"), ("/1/admin/accounts/find", "POST"),
                             ("/admin/accounts/" + "0" * 32 + "/lock", "POST")):
            r = self.a.request(method, path, {"login": e}, token=tok)
            self.assertEqual((r.status, r.json["code"]), (404, "not_found"), path)
        # On the socket nothing but them (and health) exists.
        status, body = unix_get(self.sock(), "/1/me", tok)
        self.assertEqual((status, json.loads(body)["code"]), (404, "not_found"))
        status, body = unix_get(self.sock(), "/1/health")
        self.assertEqual(status, 200)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_peer_uid_checked(self):
        # With the file (and its folder) opened to everyone, authd still
        # refuses another uid.
        mode = os.stat(self.a.data_dir).st_mode & 0o777
        os.chmod(self.a.data_dir, 0o711)
        os.chmod(self.sock(), 0o666)
        try:
            rc, _, err = self.ctl("find", email(), user=65534)
        finally:
            os.chmod(self.sock(), 0o600)
            os.chmod(self.a.data_dir, mode)
        self.assertEqual(rc, 1)
        self.assertIn("(403 forbidden)", err)
        self.assertIn("admin socket peer refused uid=65534", self.a.log_text())


def ctl_of(a, *args):
    r = subprocess.run([authctl_path(), "--socket", os.path.join(a.data_dir, "admin.sock"), *args],
                       capture_output=True, text=True, timeout=60)
    out = json.loads(r.stdout) if r.stdout.startswith("{") else r.stdout
    return r.returncode, out, r.stderr


class OutboxFailures(OwnAuthd, unittest.TestCase):
    """A message the mail server refuses for good is listed, without its
    text, the latest first."""

    SMTP = SmtpServer().start()
    authd_config = (f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
                    "[outbox]\npoll_ms = 100\n")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.SMTP.stop()

    def test_refused_messages_listed(self):
        rc, out, _ = ctl_of(self.a, "outbox-failures")
        self.assertEqual(rc, 0)
        before = len(out["failures"])
        bad, good = email(), email()
        self.SMTP.reject.add(bad)
        for e in (bad, good):
            self.a.signup(e)
            tok = self.a.session(e)
            r = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                              "new_password": "another fine phrase"}, token=tok)
            self.assertEqual(r.status, 204)
        self.assertEqual(len(self.SMTP.wait_for(good)), 1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            rc, out, _ = ctl_of(self.a, "outbox-failures", "5")
            if len(out["failures"]) > before:
                break
            time.sleep(0.1)
        self.assertEqual(rc, 0)
        self.assertEqual(len(out["failures"]), before + 1)
        f = out["failures"][0]
        self.assertEqual(f["channel"], "email")
        self.assertEqual(f["attempts"], 1)
        self.assertRegex(f["account_id"], r"^[0-9a-f]{32}$")
        self.assertEqual(set(f), {"id", "account_id", "channel", "attempts", "queued_at",
                                  "failed_at"})
        self.assertNotIn(bad, json.dumps(out))  # the text (and its recipient) is gone
        rc, acct, _ = ctl_of(self.a, "find", bad)
        self.assertEqual(f["account_id"], acct["account_id"])
        self.assertEqual(ctl_of(self.a, "outbox-failures", "0")[0], 2)
        self.assertEqual(ctl_of(self.a, "outbox-failures", "101")[0], 2)


def key_file_lines(a):
    with open(os.path.join(a.data_dir, "secret.key"), "rb") as f:
        data = f.read()
    if len(data) == 32:
        return ["(binary root)"]
    return [ln for ln in data.decode().splitlines()
            if not ln.startswith("#") and not ln.startswith("last ")]


class TotpSignIns:
    """Accounts with TOTP on self.a, and their sign-ins."""

    def totp_try(self, e, secret):
        """A sign-in with e's TOTP code of the next step: the response."""
        self.a.advance(30)
        r = self.a.login(e)
        self.assertEqual(r.json.get("state"), "second_factor", r)
        return self.a.post("/1/login/totp", {"login_id": r.json["login_id"],
                                             "code": totp(secret, self.a.now())})

    def enrolled(self):
        e = email()
        self.a.signup(e)
        secret, _, _ = self.a.enable_totp(self.a.session(e))
        return e, secret


class KeyRotation(TotpSignIns, OwnAuthd, unittest.TestCase):
    """A new key generation seals from then on; what the old one sealed
    still opens, is resealed when its record is written anyway, and by a
    reseal pass; the old generation is retired only once nothing needs
    it, and authd starts again with the new one alone."""

    def ctl(self, *args):
        return ctl_of(self.a, *args)

    def keys(self):
        rc, out, err = self.ctl("keys")
        self.assertEqual(rc, 0, err)
        return out

    def totp_login(self, e, secret):
        r = self.totp_try(e, secret)
        self.assertEqual(r.status, 200, r)

    def test_rotate_reseal_retire(self):
        k = self.keys()
        self.assertEqual(k["generations"], [1])
        self.assertEqual((k["sealing_with"], k["store_generation"]), (1, 0))
        self.assertTrue(k["key_file_writable"])
        old = [self.enrolled() for _ in range(3)]
        k = self.keys()
        self.assertGreaterEqual(k["census"]["seals"]["1"]["totp"], 3)
        self.assertEqual(list(k["census"]["seals"]), ["1"])

        rc, out, err = self.ctl("rotate-keys")
        self.assertEqual(rc, 0, err)
        self.assertEqual((out["generation"], out["active"], out["sealing_with"]), (2, True, 2))
        lines = key_file_lines(self.a)
        self.assertEqual(lines[0], "authd-key-file 2")
        self.assertEqual([ln.split()[:2] for ln in lines[2:]],
                         [["generation", "1"], ["generation", "2"]])
        self.assertEqual(os.stat(os.path.join(self.a.data_dir, "secret.key")).st_mode & 0o777,
                         0o600)
        k = self.keys()
        self.assertEqual((k["generations"], k["sealing_with"], k["store_generation"]),
                         ([1, 2], 2, 2))
        # Old seals open; a new enrolment is sealed with generation 2.
        new = self.enrolled()
        self.totp_login(*old[0])
        k = self.keys()
        # The login wrote its record: resealed while at it.
        self.assertEqual(k["census"]["seals"]["2"]["totp"], 2)
        self.assertGreaterEqual(k["census"]["seals"]["1"]["totp"], 2)
        # The test clock jumped past the node's last report: its next poll
        # (every 5 s) reports again.
        deadline = time.monotonic() + 8
        while not (k["nodes"] and k["nodes"][0]["live"]) and time.monotonic() < deadline:
            time.sleep(0.25)
            k = self.keys()
        self.assertEqual(k["nodes"][0]["live"], True)
        # Too soon after the switch (a link offer sealed before it lives
        # 10 minutes), and then generation 1 still seals something.
        rc, _, err = self.ctl("retire-key", "1")
        self.assertEqual(rc, 1)
        self.assertIn("too recent", err)
        self.assertIn("key_generation_in_use", err)
        self.a.advance(11 * 60)
        rc, _, err = self.ctl("retire-key", "1")
        self.assertEqual(rc, 1)
        self.assertIn("found values it seals", err)

        rc, out, err = self.ctl("reseal")
        self.assertEqual(rc, 0, err)
        self.assertFalse(out["reseal"]["running"])
        self.assertEqual(out["reseal"]["generation"], 2)
        self.assertGreaterEqual(out["reseal"]["resealed"], 2)
        self.assertEqual(out["reseal"]["not_opened"], 0)
        k = self.keys()
        self.assertEqual(list(k["census"]["seals"]), ["2"])
        self.assertEqual(k["census"]["not_held"], 0)
        # The one sealed with cannot go; an unknown one is unknown.
        rc, _, err = self.ctl("retire-key", "2")
        self.assertIn("key_generation_in_use", err)
        rc, _, err = self.ctl("retire-key", "9")
        self.assertIn("key_generation_unknown", err)
        rc, _, err = self.ctl("activate-key", "9")
        self.assertIn("key_generation_unknown", err)
        self.assertEqual(self.ctl("activate-key", "0")[0], 2)
        self.assertEqual(self.ctl("retire-key", "x")[0], 2)

        rc, out, err = self.ctl("retire-key", "1")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["generations"], [2])
        self.assertEqual([ln.split()[:2] for ln in key_file_lines(self.a)[2:]],
                         [["generation", "2"]])
        # Everything still opens, also after a restart with generation 2
        # alone; and the key file's secrets never reach the log.
        self.assertEqual(self.a.stop(), 0)
        self.a.start()
        self.a.advance(3600)  # the test clock started again: past the steps used
        for e, secret in old + [new]:
            self.totp_login(e, secret)
        log = self.a.log_text()
        for ln in key_file_lines(self.a):
            for word in ln.split():
                if len(word) == 64:
                    self.assertNotIn(word, log)
        self.assertIn("operator retired key generation=1", log)

    def test_stage_then_activate(self):
        rc, out, err = self.ctl("rotate-keys", "--stage")
        self.assertEqual(rc, 0, err)
        g = out["generation"]
        self.assertFalse(out["active"])
        k = self.keys()
        self.assertIn(g, k["generations"])
        self.assertNotEqual(k["sealing_with"], g)  # held, not sealed with yet
        e, secret = self.enrolled()
        self.assertNotIn(str(g), self.keys()["census"]["seals"])
        rc, out, err = self.ctl("activate-key", str(g))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out["sealing_with"], g)
        self.enrolled()
        self.assertEqual(self.keys()["census"]["seals"][str(g)]["totp"], 1)
        self.totp_login(e, secret)
        self.assertEqual(self.ctl("rotate-keys", "extra")[0], 2)
        self.assertEqual(self.ctl("keys", "--stage")[0], 2)

    def test_reload_refuses_another_root(self):
        path = os.path.join(self.a.data_dir, "secret.key")
        with open(path, "rb") as f:
            kept = f.read()
        try:
            with open(path, "wb") as f:
                f.write(os.urandom(32))
            self.a.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 5
            while "its root is not the one authd started with" not in self.a.log_text():
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
        finally:
            with open(path, "wb") as f:
                f.write(kept)
        e, secret = self.enrolled()
        self.totp_login(e, secret)


class KeyFileBehindTheStore(TotpSignIns, OwnAuthd, unittest.TestCase):
    """A node started with a key file that lacks the generation the store
    seals with (an old copy after a rotation) cannot open what was sealed
    since: it says so on /1/ready (503 key_generation_missing, so a load
    balancer takes it out) and in its metrics, a TOTP sign-in of a seed it
    cannot open is refused with that code (503, not a 500), what it can open
    still works, a queued message it cannot open is left for a node that
    can without costing an attempt, and a reload of the right file makes it
    ready again."""

    scraper = "metrics-" + uuid.uuid4().hex + uuid.uuid4().hex
    SMTP = SmtpServer()  # started only once the node lacks the key
    authd_config = (f"[services]\nmetrics_credential = {scraper}\n"
                    f"[smtp]\nurl = {SMTP.url()}\nfrom = Console <security@example.com>\n"
                    "[outbox]\npoll_ms = 100\n")

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls.SMTP.stop()

    def gauge(self, name):
        return self.a.metrics(self.scraper)[(name, ())]

    def test_not_ready_until_it_holds_it(self):
        from authd_harness import remember_secret
        remember_secret(self.scraper)
        path = os.path.join(self.a.data_dir, "secret.key")
        self.assertEqual(self.a.get("/1/ready").json, {"status": "ready"})
        self.assertEqual(self.gauge("authd_key_generation_missing"), 0)
        before = self.enrolled()
        # An app seed of generation 1, and (below) a phone linked after the
        # rotation, whose seed is of the new generation.
        mixed = email()
        self.a.signup(mixed)
        _, _, mixed_tok = self.a.enable_totp(self.a.session(mixed))
        with open(path, "rb") as f:
            old = f.read()
        rc, out, err = ctl_of(self.a, "rotate-keys")
        self.assertEqual(rc, 0, err)
        g = out["generation"]
        from phone_harness import Phone
        offer = self.a.post("/1/me/devices", token=mixed_tok)
        self.assertEqual(offer.status, 201, offer)
        ws, linked = Phone().link(self.a.port, offer.json["link_uri"])
        self.assertEqual(linked["type"], "linked", linked)
        ws.close()
        self.assertEqual(self.gauge("authd_key_generation_sealing"), g)
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)
        secret, _, tok = self.a.enable_totp(tok)
        after = (e, secret)
        # A message sealed with g, queued while no mail server answers.
        r = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                          "new_password": "correct horse battery"}, token=tok)
        self.assertEqual(r.status, 204, r)
        with open(path, "rb") as f:
            new = f.read()
        # Started again with the copy taken before the rotation.
        self.assertEqual(self.a.stop(), 0)
        with open(path, "wb") as f:
            f.write(old)
        self.a.start()
        r = self.a.get("/1/ready")
        self.assertEqual((r.status, r.json["code"]), (503, "key_generation_missing"), r)
        self.assertEqual(self.a.get("/1/health").status, 200)
        self.assertEqual(self.gauge("authd_key_generation_missing"), 1)
        self.assertNotEqual(self.gauge("authd_key_generation_sealing"), g)
        r = self.totp_try(*after)
        self.assertEqual((r.status, r.json["code"]), (503, "key_generation_missing"), r)
        self.assertEqual(self.totp_try(*before).status, 200)
        self.assertIn(f"says to seal with key generation {g}", self.a.log_text())
        # A wrong code for `mixed`: its app seed refused it and its phone's
        # did not open. 503, and the try counts as a wrong code (else codes
        # could be tried here for free against the app seed).
        self.a.advance(30)
        r = self.a.login(mixed)
        self.assertEqual(r.json.get("state"), "second_factor", r)
        r = self.a.post("/1/login/totp", {"login_id": r.json["login_id"], "code": "000000"})
        self.assertEqual((r.status, r.json["code"]), (503, "key_generation_missing"), r)
        rc, ev, err = ctl_of(self.a, "events", mixed, "5")
        self.assertEqual(rc, 0, err)
        self.assertIn(("totp", "failure"),
                      [(x.get("method"), x.get("outcome")) for x in ev["activity"]], ev)
        # The message is due again (its backoff was 10 s): claimed, not
        # opened, not tried, no attempt counted; nothing reaches the server.
        self.SMTP.start()
        self.a.advance(OUTBOX_BACKOFF_FIRST)
        deadline = time.monotonic() + 10
        while "left for another node" not in self.a.log_text():
            self.assertLess(time.monotonic(), deadline, self.a.log_tail())
            time.sleep(0.1)
        m = re.search(r"outbox: email ([0-9a-f]{32}) left for another node: sealed with key "
                      rf"generation {g}, not held here", self.a.log_text())
        self.assertIsNotNone(m, self.a.log_tail())
        msg_id = m.group(1)
        self.assertGreaterEqual(self.a.metrics(self.scraper)[
            ("authd_outbox_messages_total", (("state", "not_held"),))], 1)
        self.assertEqual(self.SMTP.to(after[0]), [])
        # The right file, and a reload: ready, and the seed opens.
        with open(path, "wb") as f:
            f.write(new)
        self.a.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while self.a.get("/1/ready").status != 200:
            self.assertLess(time.monotonic(), deadline, self.a.log_tail())
            time.sleep(0.1)
        self.assertEqual(self.gauge("authd_key_generation_missing"), 0)
        self.assertEqual(self.gauge("authd_key_generation_sealing"), g)
        self.assertEqual(self.totp_try(*after).status, 200)
        self.assertEqual(self.totp_try(*before).status, 200)
        # The message goes out, its attempt number counting only real tries
        # (the failed ones, if it was tried before the restart, and this one).
        self.a.advance(OUTBOX_NOT_HELD)
        self.assertGreaterEqual(len(self.SMTP.wait_for(after[0])), 1)
        deadline = time.monotonic() + 10
        while f"outbox: email {msg_id} sent" not in self.a.log_text():
            self.assertLess(time.monotonic(), deadline, self.a.log_tail())
            time.sleep(0.1)
        log = self.a.log_text()
        tries = len(re.findall(rf"outbox: email {msg_id} attempt \d+ failed", log))
        mine = "\n".join(ln for ln in log.splitlines() if msg_id in ln)
        self.assertIn(f"outbox: email {msg_id} sent by smtp (attempt {tries + 1})", log, mine)


class KeysCommand(unittest.TestCase):
    """authd keys list|add|drop on a key file, as its owner (the Debian
    package's way: systemd's copy is never written)."""

    def keys(self, *args):
        r = subprocess.run([authd_binary(), "--key-file", self.path, "keys", *args],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def setUp(self):
        self.dir = os.path.realpath(os.path.join(os.environ.get("TMPDIR", "/tmp"),
                                                 "authd-keys-" + uuid.uuid4().hex[:8]))
        os.mkdir(self.dir, 0o700)
        self.path = os.path.join(self.dir, "secret.key")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_add_list_drop(self):
        self.assertEqual(self.keys("list")[0], 1)  # no file: nothing is made
        self.assertFalse(os.path.exists(self.path))
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)
        self.assertEqual(self.keys("list"), (0, f"key file {self.path}: generations 1\n"))
        rc, out = self.keys("add")
        self.assertEqual(rc, 0, out)
        self.assertIn("generation 2 added", out)
        self.assertIn("authctl activate-key 2", out)
        self.assertEqual(os.stat(self.path).st_mode & 0o777, 0o600)
        self.assertEqual(os.listdir(self.dir), ["secret.key"])
        rc, out = self.keys("drop", "2")
        self.assertEqual(rc, 1)
        self.assertIn("newest", out)
        self.assertEqual(self.keys("drop", "1")[0], 0)
        self.assertEqual(self.keys("list")[1], f"key file {self.path}: generations 2\n")
        self.assertEqual(self.keys("drop", "9")[0], 1)
        self.assertEqual(self.keys("drop", "x")[0], 2)
        self.assertEqual(self.keys("drop")[0], 2)
        self.assertEqual(self.keys("frob")[0], 2)
        os.chmod(self.path, 0o640)
        rc, out = self.keys("add")
        self.assertEqual(rc, 1)
        self.assertIn("group or others", out)


@unittest.skipUnless(ENGINE == "postgresql", "several nodes share PostgreSQL only")
class KeyRotationTwoNodes(unittest.TestCase):
    """Two nodes, one key file: a generation staged in the file, activated
    in the store; a node whose key file lacks it keeps sealing with what
    it holds (so the other opens it) until a reload gives it the new one."""

    def test_stage_activate_reload(self):
        from cluster import Cluster
        c = Cluster(2)
        try:
            c.start()
            n1, n2 = c.nodes

            def login(node, e, secret):
                now = c.advance(30)
                r = node.login(e)
                self.assertEqual(r.json.get("state"), "second_factor", r)
                r = node.post("/1/login/totp", {"login_id": r.json["login_id"],
                                                "code": totp(secret, now)})
                self.assertEqual(r.status, 200, r)

            def enrolled(node):
                e = email()
                node.signup(e)
                return e, node.enable_totp(node.session(e))[0]

            def sealing_with(node):
                return ctl_of(node, "keys")[1]["sealing_with"]

            first = enrolled(n1)
            rc, out, err = ctl_of(n1, "rotate-keys", "--stage")
            self.assertEqual((rc, out["generation"], out["active"]), (0, 2, False), err)
            # Staged: held by n1, sealed with by nobody (n2 lacks it).
            self.assertEqual(sealing_with(n1), 1)
            rc, out, err = ctl_of(n2, "activate-key", "2")
            self.assertEqual(rc, 1)  # n2 has not read the file again yet
            self.assertIn("key_generation_unknown", err)
            rc, out, err = ctl_of(n1, "activate-key", "2")
            self.assertEqual((rc, out["sealing_with"]), (0, 2), err)
            deadline = time.monotonic() + 10
            while "which key file" not in n2.log_text():
                self.assertLess(time.monotonic(), deadline, n2.log_tail())
                time.sleep(0.1)
            self.assertEqual(sealing_with(n2), 1)  # what n1 opens too
            # n2 cannot open what n1 seals now: a load balancer takes it out.
            r = n2.get("/1/ready")
            self.assertEqual((r.status, r.json["code"]), (503, "key_generation_missing"), r)
            self.assertEqual(n1.get("/1/ready").status, 200)
            second = enrolled(n2)
            login(n1, *second)
            # n2 still seals with 1: generation 1 cannot go, however long
            # after the switch, and whatever a census says.
            c.advance(11 * 60)
            rc, out, err = ctl_of(n1, "reseal")
            self.assertEqual(rc, 0, err)

            def reported(node_name, generation):
                """Once node_name's report since the clock moved says it."""
                deadline = time.monotonic() + 15
                while True:
                    nodes = ctl_of(n1, "keys")[1]["nodes"]
                    if any(x["node"] == node_name and x["live"] and
                           x["sealing_with"] == generation for x in nodes):
                        return
                    self.assertLess(time.monotonic(), deadline, nodes)
                    time.sleep(0.5)

            reported("node2", 1)
            rc, _, err = ctl_of(n1, "retire-key", "1")
            self.assertEqual(rc, 1)
            self.assertIn("a node still seals with it", err)
            n2.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while sealing_with(n2) != 2:
                self.assertLess(time.monotonic(), deadline, n2.log_tail())
                time.sleep(0.1)
            self.assertEqual(n2.get("/1/ready").json, {"status": "ready"})
            third = enrolled(n2)
            for node in (n1, n2):
                for who in (first, second, third):
                    login(node, *who)
            rc, out, err = ctl_of(n2, "reseal")
            self.assertEqual(rc, 0, err)
            k = ctl_of(n1, "keys")[1]
            self.assertEqual(list(k["census"]["seals"]), ["2"])
            # Once n2 has said it seals with 2 (a poll: every 5 s).
            reported("node2", 2)
            rc, out, err = ctl_of(n1, "retire-key", "1")
            self.assertEqual(rc, 0, err)
            n2.proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 10
            while ctl_of(n2, "keys")[1]["generations"] != [2]:
                self.assertLess(time.monotonic(), deadline, n2.log_tail())
                time.sleep(0.1)
            for node in (n2, n1):
                for who in (first, second, third):
                    login(node, *who)
        finally:
            reports = c.stop()
            c.cleanup()
        self.assertEqual(reports, [])


class SocketPath(unittest.TestCase):
    """lws unlinks whatever is at the path before it binds: authd takes only
    a free path, or a socket nobody answers on (a dead authd's)."""

    def setUp(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="authd-admin-path-")
        self.nodes = []

    def tearDown(self):
        for a in self.nodes:
            a.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)

    def node(self, name, path):
        from authd_harness import Authd
        a = Authd(name=name, config=f"[admin]\nsocket = {path}\n")
        self.nodes.append(a)
        return a

    def test_a_file_at_the_path_is_kept(self):
        path = os.path.join(self.dir, "precious")
        with open(path, "w", encoding="utf-8") as f:
            f.write("not a socket\n")
        a = self.node("admin-file", path)
        with self.assertRaises(RuntimeError):
            a.start(timeout=5)
        self.assertIn("exists and is not a socket: not replaced", a.log_text())
        self.assertEqual(open(path, encoding="utf-8").read(), "not a socket\n")

    def test_a_live_socket_is_not_taken_a_dead_one_is(self):
        path = os.path.join(self.dir, "admin.sock")
        first = self.node("admin-first", path).start()
        second = self.node("admin-second", path)
        with self.assertRaises(RuntimeError):
            second.start(timeout=5)
        self.assertIn("is another authd's (it answers)", second.log_text())
        self.assertEqual(unix_get(path, "/1/health")[0], 200)  # still the first's
        first.kill9()  # its socket file stays, and nobody answers on it
        self.assertTrue(stat.S_ISSOCK(os.lstat(path).st_mode))
        second.start()
        self.assertEqual(unix_get(path, "/1/health")[0], 200)
        # A clean stop takes the socket file away.
        second.stop()
        self.assertFalse(os.path.exists(path))


if __name__ == "__main__":
    unittest.main()
