"""authctl over the admin socket: find an account, lock it (its sessions
end, it signs in nowhere), read its security events, unlock it, end its
sessions. The socket is 0600, serves the operator's routes only, and checks
the peer's uid (root or authd's own); the operator's routes do not exist on
the TCP listener, whatever the credential."""

import json
import os
import shutil
import stat
import subprocess
import unittest
import uuid

from authd_harness import OwnAuthd, authd_binary


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
