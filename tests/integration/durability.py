"""Durability: every acknowledged write survives kill -9. A load of
sign-ups and logins runs against authd; it is killed with SIGKILL in the
middle; after a restart on the same data every acknowledged account can log
in and every acknowledged session is valid. Also: raising the argon2id cost
rehashes a password at its next login, and stale LMDB readers are cleared."""

import concurrent.futures
import os
import subprocess
import threading
import time
import unittest
import uuid

from authd_harness import ENGINE, Authd, remember_secret


class PromptStop(unittest.TestCase):
    def test_sigterm_between_two_polls_stops_at_once(self):
        # The test-only stall keeps the loop busy between two polls (in an
        # lws timer), and SIGTERM lands then. A stop signal that only set a
        # flag was seen at lws's next timer, up to 30 s later; it must be
        # seen as soon as the loop is free again.
        a = Authd(name="promptstop")
        try:
            a.start()
            r = a.post("/1/_test/stall", {"ms": 1500})
            self.assertEqual(r.status, 200, r)
            time.sleep(0.4)  # the stall starts 50 ms after that answer
            t0 = time.monotonic()
            self.assertEqual(a.stop(timeout=40), 0)
            waited = time.monotonic() - t0
            self.assertLess(waited, 3.0, "the stop waited for lws's next timer")
            self.assertGreater(waited, 0.5, "the stall did not hold the loop")
        finally:
            a.cleanup()

    def test_stall_body_rules(self):
        a = Authd(name="stallrules")
        try:
            a.start()
            for body in [{"ms": 0}, {"ms": 10001}, {"ms": "5"}, {}, {"ms": 5, "x": 1}]:
                with self.subTest(body=body):
                    self.assertEqual(a.post("/1/_test/stall", body).status, 400)
        finally:
            a.cleanup()


class KillNine(unittest.TestCase):
    def test_acknowledged_writes_survive_sigkill(self):
        a = Authd(name="killnine",
                  config="[signup]\nburst = 1000000\nper_hour = 0\ninflight = 4096\n")
        try:
            a.start()
            acked_accounts = []
            acked_sessions = []
            lock = threading.Lock()
            stop = threading.Event()
            prefix = uuid.uuid4().hex[:8]

            def worker(n):
                i = 0
                while not stop.is_set():
                    e = f"k{prefix}-{n}-{i}@example.com"
                    i += 1
                    try:
                        r = a.request("POST", "/1/accounts",
                                      {"email": e, "password": "durable passphrase", "name": "K"})
                        if r.status == 201:
                            with lock:
                                acked_accounts.append(e)
                        r = a.request("POST", "/1/login",
                                      {"email": e, "password": "durable passphrase"})
                        if r.status == 200:
                            with lock:
                                acked_sessions.append(r.json["session"])
                            remember_secret(r.json["session"])
                    except OSError:
                        return

            remember_secret("durable passphrase")
            threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            # At least 2.5 s of load, and until a few sign-ups are in (an
            # ASan build on a busy machine does fewer a second).
            deadline = time.monotonic() + 120
            time.sleep(2.5)
            while len(acked_accounts) <= 10 and time.monotonic() < deadline:
                time.sleep(0.1)
            a.kill9()
            stop.set()
            for t in threads:
                t.join()
            self.assertGreater(len(acked_accounts), 10)
            a.start()
            missing = []
            for e in acked_accounts:
                r = a.login(e, "durable passphrase")
                if r.status != 200:
                    missing.append((e, r.status))
            self.assertEqual(missing, [])
            bad = [s for s in acked_sessions if a.get("/1/me", token=s).status != 200]
            self.assertEqual(bad, [])
            self.assertEqual(a.stop(), 0)
            self.assertEqual(a.sanitizer_reports(), [])
        finally:
            a.cleanup()


@unittest.skipUnless(ENGINE == "lmdb", "the LMDB map filling up")
class MapFull(unittest.TestCase):
    def test_full_map_answers_503_and_recovers(self):
        # A 1 MiB map fills after a few thousand accounts (cheap argon2id
        # here: a test build accepts fixture costs).
        conf = ("[storage]\nmap_size_mb = 1\n[password]\nargon2_memory_kib = 64\n"
                "argon2_iterations = 1\n[signup]\nburst = 1000000\nper_hour = 0\n")
        a = Authd(name="mapfull", config=conf)
        try:
            a.start()
            a.signup("reader@example.com", "map full test pw")
            reader = a.session("reader@example.com", "map full test pw")
            conn = a.connection()
            full = None
            created = []
            for i in range(20000):
                e = f"m{i}@example.com"
                r = a.request("POST", "/1/accounts",
                              {"email": e, "password": "map full test pw", "name": "M" * 100},
                              conn=conn)
                if r.status == 201:
                    created.append(e)
                    continue
                full = r
                break
            conn.close()
            self.assertIsNotNone(full, "the map never filled")
            self.assertEqual((full.status, full.json["code"]), (503, "store_unavailable"))
            self.assertGreater(len(created), 100)
            self.assertEqual(a.get("/1/health").status, 200)
            # Reads still work, and so does a restart.
            me = a.get("/1/me", token=reader)
            self.assertEqual((me.status, me.json["email"]), (200, "reader@example.com"))
            self.assertEqual(a.stop(), 0)
            a.start()
            self.assertEqual(a.get("/1/health").status, 200)
            self.assertEqual(a.get("/1/me", token=reader).status, 200)
            self.assertEqual(a.stop(), 0)
            self.assertEqual(a.sanitizer_reports(), [])
        finally:
            a.cleanup()


class Rehash(unittest.TestCase):
    def test_raised_cost_rehashes_at_next_login(self):
        a = Authd(name="rehash")
        try:
            a.start()
            e = f"r{uuid.uuid4().hex[:10]}@example.com"
            a.signup(e)
            a.stop()
            dump = a.stored_password_hashes()
            self.assertIn("m=19456,t=2,p=1", dump)
            a.write_config("[password]\nargon2_memory_kib = 24576\nargon2_iterations = 3\n")
            a.start()
            self.assertEqual(a.login(e).status, 200)
            self.assertEqual(a.login(e).status, 200)  # the new hash verifies
            a.stop()
            dump = a.stored_password_hashes()
            self.assertIn("m=24576,t=3,p=1", dump)
            self.assertNotIn("m=19456,t=2,p=1", dump)
        finally:
            a.cleanup()

    def test_release_cost_floor_and_bad_config(self):
        bad = Authd(name="badconf", config="[password]\nargon2_iterations = 0\n")
        try:
            with self.assertRaises(RuntimeError):
                bad.start(timeout=5)
        finally:
            bad.cleanup()
        unknown = Authd(name="badkey", config="[server]\nno_such_key = 1\n")
        try:
            with self.assertRaises(RuntimeError):
                unknown.start(timeout=5)
            self.assertIn("unknown key", unknown.log_text())
        finally:
            unknown.cleanup()


if __name__ == "__main__":
    unittest.main()
