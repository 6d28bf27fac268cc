"""Throttling is on by default and shared across sessions and logins:
password and second-factor failures per account (and per unknown email)
slow down with 429 + Retry-After, never more than 100 evaluated failures
in any hour; per-IP failures slow down too. Time moves by the test clock."""

import base64
import concurrent.futures
import json
import os
import socket
import time
import unittest
import uuid

from authd_harness import Authd, OwnAuthd, random_loopback, remember_secret, totp


def email():
    return f"t{uuid.uuid4().hex[:12]}@example.com"


class AccountThrottle(OwnAuthd, unittest.TestCase):
    def test_delay_grows_and_success_resets(self):
        e = email()
        self.a.signup(e)
        # Three free failures, then a delay that doubles.
        for _ in range(3):
            self.assertEqual(self.a.login(e, "wrong password!").status, 401)
        self.assertEqual(self.a.login(e, "wrong password!").status, 401)  # 4th: evaluated
        r = self.a.login(e, "correct horse battery")
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json["code"], "too_many_attempts")
        # Real seconds pass too: the wait is 5 s from the failure, not from now.
        self.assertIn(int(r.header("Retry-After")), (4, 5))
        self.assertEqual(r.header("Cache-Control"), "no-store")
        self.a.advance(5)
        self.assertEqual(self.a.login(e, "wrong password!").status, 401)  # 5th
        self.assertIn(int(self.a.login(e).header("Retry-After")), (9, 10))
        self.a.advance(10)
        # Success forgets the consecutive failures.
        self.assertEqual(self.a.login(e).status, 200)
        for _ in range(3):
            self.assertEqual(self.a.login(e, "wrong password!").status, 401)
        self.assertEqual(self.a.login(e).status, 200)

    def test_strangers_guesses_do_not_delay_the_owner(self):
        # The delay is per (account, client): four wrong passwords from one
        # address delay that address, not the owner on another one.
        e = email()
        self.a.signup(e)
        stranger = "127.66.66.66"
        for _ in range(4):
            self.assertEqual(self.a.post("/1/login", {"email": e, "password":
                                                      "wrong password!"},
                                         source_ip=stranger).status, 401)
        r = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                        source_ip=stranger)
        self.assertEqual(r.status, 429, r)
        # Another address of the same /24 is the same client (a NAT).
        r = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                        source_ip="127.66.66.99")
        self.assertEqual(r.status, 429, r)
        self.assertEqual(self.a.login(e).json["state"], "done")  # the owner

    def login_from(self, address):
        """A new account logged in from address: its email, the answer and
        the device cookie that came with it."""
        e = email()
        self.a.signup(e)
        ok = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                         source_ip=address)
        remember_secret(ok.json["session"])
        device = ok.set_cookie("__Host-authd_device")
        self.assertIsNotNone(device)
        return e, ok, device

    def test_recognised_browser_is_not_delayed(self):
        # The owner's browser shares the stranger's address (one office
        # NAT), but it logged in before: its device cookie gives it its own
        # delay.
        office = "127.55.55.55"
        e, ok, device = self.login_from(office)
        for attr in ["Path=/", "Secure", "HttpOnly", "SameSite=Strict"]:
            self.assertIn(attr, device)
        cookie = device.split(";")[0]
        for _ in range(4):
            self.a.post("/1/login", {"email": e, "password": "wrong password!"},
                        source_ip=office)
        self.assertEqual(self.a.post("/1/login", {"email": e, "password":
                                                  "correct horse battery"},
                                     source_ip=office).status, 429)
        r = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                        source_ip=office, headers={"Cookie": cookie})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        # A forged or another account's device cookie is nobody's.
        forged = cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB")
        self.assertEqual(self.a.post("/1/login", {"email": e, "password":
                                                  "correct horse battery"},
                                     source_ip=office, headers={"Cookie": forged}).status, 429)
        other = email()
        self.a.signup(other)
        theirs = self.a.login(other).set_cookie("__Host-authd_device").split(";")[0]
        self.assertEqual(self.a.post("/1/login", {"email": e, "password":
                                                  "correct horse battery"},
                                     source_ip=office, headers={"Cookie": theirs}).status, 429)

    def test_unknown_email_behaves_like_an_account_across_addresses(self):
        # Four wrong passwords from one address, the fifth from another:
        # an account and an unknown email answer alike (401 both), so the
        # throttle does not tell which emails have accounts.
        known, unknown = email(), email()
        self.a.signup(known)
        for e in (known, unknown):
            for _ in range(4):
                self.assertEqual(self.a.post("/1/login", {"email": e, "password":
                                                          "wrong password!"},
                                             source_ip="127.31.31.31").status, 401)
        answers = [self.a.post("/1/login", {"email": e, "password": "wrong password!"},
                               source_ip="127.32.32.32").status for e in (known, unknown)]
        self.assertEqual(answers, [401, 401])
        answers = [self.a.post("/1/login", {"email": e, "password": "wrong password!"},
                               source_ip="127.31.31.31").status for e in (known, unknown)]
        self.assertEqual(answers, [429, 429])

    def test_device_cookie_ends_with_a_password_change(self):
        office = "127.56.56.56"
        e, ok, device = self.login_from(office)
        cookie = device.split(";")[0]
        remember_secret("another long passphrase")
        r = self.a.put("/1/me/password", {"current_password": "correct horse battery",
                                          "new_password": "another long passphrase"},
                       token=ok.json["session"])
        self.assertEqual(r.status, 204, r)
        for _ in range(4):
            self.a.post("/1/login", {"email": e, "password": "wrong password!"},
                        source_ip=office)
        # The old cookie no longer names a recognised browser.
        r = self.a.post("/1/login", {"email": e, "password": "another long passphrase"},
                        source_ip=office, headers={"Cookie": cookie})
        self.assertEqual(r.status, 429, r)

    def test_parallel_guesses_from_many_addresses_all_count(self):
        # 20 parallel attempts from 20 addresses each get their own delay,
        # but all count toward the account-wide hourly cap (tested at 100
        # below); none is lost.
        e = email()
        self.a.signup(e)

        def attempt(_):
            return self.a.request("POST", "/1/login",
                                  {"email": e, "password": "wrong password!"},
                                  source_ip=random_loopback()).status

        with concurrent.futures.ThreadPoolExecutor(20) as ex:
            statuses = list(ex.map(attempt, range(20)))
        self.assertEqual(statuses.count(401), 20, statuses)

    def test_unknown_email_is_throttled_alike(self):
        e = email()  # no such account
        for _ in range(4):
            self.assertEqual(self.a.login(e, "whatever it is").status, 401)
        r = self.a.login(e, "whatever it is")
        self.assertEqual(r.status, 429)
        self.assertIn(r.header("Retry-After"), ("4", "5"))

    def test_at_most_100_evaluated_failures_per_hour(self):
        # Guess as fast as the server allows for one hour of (test) time.
        e = email()
        self.a.signup(e)
        start = self.a.now()
        evaluated = 0
        now = start
        while now - start < 3600:
            self.a.source_ip = random_loopback()
            r = self.a.login(e, "wrong password!")
            if r.status == 401:
                evaluated += 1
            else:
                self.assertEqual(r.status, 429, r)
                now = self.a.advance(int(r.header("Retry-After")))
        self.assertLessEqual(evaluated, 100)
        self.assertGreater(evaluated, 3)

    def test_second_factor_failures_count(self):
        e = email()
        self.a.signup(e)
        secret, _, _ = self.a.enable_totp(self.a.session(e))
        statuses = []
        for _ in range(6):
            step = self.a.login(e)
            if step.status != 200:
                statuses.append(step.status)
                break
            r = self.a.post("/1/login/totp", {"login_id": step.json['login_id'], "code": "000000"
                            if totp(secret, self.a.now()) != "000000" else "111111"})
            statuses.append(r.status)
        self.assertIn(429, statuses)
        self.assertLessEqual(statuses.index(429), 4)


class ParallelGuesses(OwnAuthd, unittest.TestCase):
    def test_one_address_in_parallel(self):
        # An address that has failed: its attempts in flight count as
        # failures, so a parallel wave of 60 gets no more than the free 20
        # (plus the one that starts the delay) evaluated.
        ip = random_loopback()
        self.assertEqual(self.a.request("POST", "/1/login", {"email": email(), "password": "x"},
                                        source_ip=ip).status, 401)

        def go(_):
            return self.a.request("POST", "/1/login", {"email": email(), "password": "spray!"},
                                  source_ip=ip).status

        with concurrent.futures.ThreadPoolExecutor(30) as ex:
            statuses = list(ex.map(go, range(60)))
        self.assertLessEqual(statuses.count(401), 20, statuses)
        self.assertEqual(statuses.count(401) + statuses.count(429), 60, statuses)

    def test_shared_address_parallel_logins_succeed(self):
        # Many people behind one proxy address log in at once: no 429.
        ip = random_loopback()
        users = [email() for _ in range(24)]
        for e in users:
            self.a.signup(e)

        def go(e):
            r = self.a.request("POST", "/1/login", {"email": e, "password": "correct horse battery"},
                               source_ip=ip)
            if r.status == 200:
                remember_secret(r.json["session"])
            return r.status

        with concurrent.futures.ThreadPoolExecutor(24) as ex:
            statuses = list(ex.map(go, users))
        self.assertEqual(statuses, [200] * 24)

    def test_password_change_guesses_in_parallel(self):
        e = email()
        self.a.signup(e)
        tok = self.a.session(e)

        def go(i):
            return self.a.put("/1/me/password", {"current_password": f"guess number {i}",
                                                 "new_password": "a brand new phrase"},
                              token=tok, source_ip=random_loopback()).status

        with concurrent.futures.ThreadPoolExecutor(20) as ex:
            statuses = list(ex.map(go, range(40)))
        self.assertLessEqual(statuses.count(403), 4, statuses)
        self.assertEqual(statuses.count(403) + statuses.count(429), 40, statuses)

    def test_hanging_up_does_not_make_guesses_free(self):
        # Send wrong passwords and close each connection while the password is
        # being hashed (a few ms after sending), before the answer.
        import socket
        import time
        import json as _json
        e = email()
        self.a.signup(e)
        body = _json.dumps({"email": e, "password": "wrong password!"}).encode()
        for _ in range(6):
            started = self.a.get("/1/_test/stats").json["work_started"]
            with socket.create_connection(("127.0.0.1", self.a.port)) as s:
                s.sendall(b"POST /1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                          b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
                # Hang up once the password is being hashed (after the read:
                # hanging up before it means no guess at all), however slow
                # the machine.
                deadline = time.monotonic() + 10
                while (self.a.get("/1/_test/stats").json["work_started"] == started and
                       time.monotonic() < deadline):
                    time.sleep(0.002)
        r = None
        for _ in range(50):  # the guesses finish in the background
            # From the guesser's address: its delay, not the account's.
            r = self.a.post("/1/login", {"email": e, "password": "correct horse battery"},
                            source_ip="127.0.0.1")
            if r.status == 429:
                break
            time.sleep(0.05)
        self.assertEqual(r.status, 429, r)


class IpThrottle(OwnAuthd, unittest.TestCase):
    def test_one_address_spraying_many_accounts(self):
        ip = random_loopback()
        statuses = []
        for i in range(24):
            r = self.a.request("POST", "/1/login", {"email": email(), "password": "spray spray"},
                               source_ip=ip)
            statuses.append(r.status)
        self.assertEqual(statuses[:20], [401] * 20)
        self.assertIn(429, statuses[20:])
        # Another address is not affected.
        r = self.a.request("POST", "/1/login", {"email": email(), "password": "spray spray"},
                           source_ip=random_loopback())
        self.assertEqual(r.status, 401)

    def test_second_factor_failures_count_when_the_client_hangs_up(self):
        # A client that sends a wrong second step and closes at once, before
        # the answer, is charged for it all the same: 24 such steps (well
        # formed login ids of no pending login) use up the address's free
        # failures, and its next login is delayed.
        ip = random_loopback()
        for _ in range(24):
            login_id = base64.urlsafe_b64encode(os.urandom(48)).decode()
            body = json.dumps({"login_id": login_id, "code": "123456"}).encode()
            with socket.create_connection(("127.0.0.1", self.a.port),
                                          source_address=(ip, 0)) as s:
                s.sendall(b"POST /1/login/totp HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                          % len(body) + body)
        # The steps finish after the hang-ups (a write each, milliseconds):
        # give them time, then one attempt (itself a failure if evaluated).
        time.sleep(1.5)
        r = self.a.request("POST", "/1/login", {"email": email(), "password": "x"},
                           source_ip=ip)
        self.assertEqual(r.status, 429)
        # Another address is not affected.
        r = self.a.request("POST", "/1/login", {"email": email(), "password": "x"},
                           source_ip=random_loopback())
        self.assertEqual(r.status, 401)


class SignupLimits(OwnAuthd, unittest.TestCase):
    """Sign-ups cost an argon2id hash: an address gets a few ([signup] burst),
    then waits; other addresses are not affected."""

    def signup_from(self, ip, e=None):
        return self.a.post("/1/accounts", {"email": e or email(), "password":
                                           "correct horse battery", "name": "S"},
                           source_ip=ip)

    def test_burst_then_wait(self):
        ip = random_loopback()
        for _ in range(5):
            self.assertEqual(self.signup_from(ip).status, 201)
        r = self.signup_from(ip)
        self.assertEqual((r.status, r.json["code"]), (429, "too_many_attempts"), r)
        self.assertGreaterEqual(int(r.header("Retry-After")), 50)
        # A taken email counts too (it is how accounts are probed).
        self.assertEqual(self.signup_from(random_loopback()).status, 201)
        # Time heals: the delay is over after it passes.
        self.a.advance(61)
        self.assertEqual(self.signup_from(ip).status, 201)
        r = self.signup_from(ip)
        self.assertEqual(r.status, 429, r)

    def test_taken_email_counts_against_the_address(self):
        e = email()
        self.assertEqual(self.signup_from(random_loopback(), e).status, 201)
        ip = random_loopback()
        statuses = [self.signup_from(ip, e).status for _ in range(7)]
        self.assertEqual(statuses[:5], [409] * 5)
        self.assertEqual(statuses[5:], [429, 429])


class SignupInFlight(OwnAuthd, unittest.TestCase):
    """At most [signup] inflight sign-ups of one address are under way."""

    authd_config = ("[signup]\nburst = 1000\ninflight = 2\n"
                    "[password]\nargon2_memory_kib = 65536\nargon2_iterations = 4\n")

    def test_parallel_signups_from_one_address(self):
        ip = random_loopback()

        def one(_):
            return self.a.post("/1/accounts", {"email": email(), "password":
                                               "correct horse battery", "name": "S"},
                               source_ip=ip).status

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            statuses = list(ex.map(one, range(8)))
        self.assertIn(429, statuses)
        self.assertIn(201, statuses)
        self.assertEqual(set(statuses), {201, 429})


class PoolQueue(OwnAuthd, unittest.TestCase):
    """The hashing queue is bounded: when it is full a request gets 503
    overloaded at once instead of waiting behind every hash queued."""

    authd_config = ("[server]\nworkers = 1\npool_queue = 1\n"
                    "[signup]\nburst = 1000\ninflight = 1000\n"
                    "[password]\nargon2_memory_kib = 65536\nargon2_iterations = 4\n")

    def test_full_queue_answers_overloaded(self):
        def one(_):
            r = self.a.post("/1/accounts", {"email": email(), "password":
                                            "correct horse battery", "name": "S"},
                            source_ip=random_loopback())
            return r.status, (r.json or {}).get("code")

        with concurrent.futures.ThreadPoolExecutor(8) as ex:
            results = list(ex.map(one, range(8)))
        self.assertIn((503, "overloaded"), results)
        self.assertIn((201, None), results)
        self.assertEqual({s for s, _ in results}, {201, 503})
        # And service goes on once the queue drains.
        e = email()
        self.a.signup(e)
        self.assertEqual(self.a.login(e).status, 200)


class TrustedProxies(OwnAuthd, unittest.TestCase):
    """Behind a trusted proxy each client has its own per-address bucket
    (the rightmost untrusted X-Forwarded-For hop); an untrusted peer's
    header is ignored, so it cannot step out of its own bucket."""

    authd_config = "[server]\ntrusted_proxies = 127.0.0.1/32, 127.0.0.3\n"

    def spray(self, source_ip, xff, n):
        statuses = []
        for _ in range(n):
            h = {"X-Forwarded-For": xff} if xff else {}
            r = self.a.post("/1/login", {"email": email(), "password": "wrong password!"},
                            source_ip=source_ip, headers=h)
            statuses.append(r.status)
        return statuses

    def test_each_client_behind_the_proxy_has_its_own_bucket(self):
        # Client A, through the proxy at 127.0.0.1, fails until it waits.
        s = self.spray("127.0.0.1", "198.51.100.1", 22)
        self.assertEqual(s[:21], [401] * 21)
        self.assertEqual(s[21], 429)
        # Client B through the same proxy is not held back by A.
        self.assertEqual(self.spray("127.0.0.1", "198.51.100.2", 1), [401])
        # A forged hop to the left of A's real address changes nothing.
        self.assertEqual(self.spray("127.0.0.1", "9.9.9.9, 198.51.100.1", 1), [429])
        # Through two trusted proxies A is still A.
        self.assertEqual(self.spray("127.0.0.1", "198.51.100.1, 127.0.0.3", 1), [429])
        self.assertIn("ip=198.51.100.2", self.a.log_text())

    def test_long_header_still_names_the_client(self):
        # A client may send a long X-Forwarded-For of its own; the proxy
        # appends the real address. It must not become the proxy itself.
        forged = ", ".join(f"10.9.{i // 250}.{i % 250}" for i in range(150))
        self.assertGreater(len(forged), 1000)
        self.spray("127.0.0.1", forged + ", 198.51.100.33", 1)
        self.assertIn("ip=198.51.100.33", self.a.log_text())

    def test_untrusted_peer_cannot_pick_its_address(self):
        peer = "127.0.0.77"
        s = self.spray(peer, "198.51.100.50", 21)
        self.assertEqual(s, [401] * 21)
        # A new forged address each time does not give a fresh bucket.
        self.assertEqual(self.spray(peer, "198.51.100.51", 1), [429])
        self.assertNotIn("ip=198.51.100.5", self.a.log_text())


class FactorLock(OwnAuthd, unittest.TestCase):
    """Second-factor failures are forgotten only by a success, never by
    quiet time; past 100 the TOTP step locks until a backup code works."""

    def wrong(self, secret):
        return "000000" if totp(secret, self.a.now()) != "000000" else "111111"

    def pending(self, e):
        """A pending login, waiting out any delay with the test clock."""
        for _ in range(20):
            r = self.a.login(e)
            if r.status == 200:
                return r.json
            self.assertEqual(r.status, 429, r)
            self.a.advance(int(r.header("Retry-After")))
        self.fail("no pending login")

    def fail_codes(self, e, secret, n):
        """n evaluated wrong TOTP codes; returns the last answer."""
        done, step, r = 0, None, None
        while done < n:
            if step is None:
                step = self.pending(e)
            r = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                              "code": self.wrong(secret)})
            if r.status == 429:
                self.a.advance(int(r.header("Retry-After")))
                continue
            if r.json["code"] == "login_expired":  # the wait outlived it
                step = None
                continue
            if r.json["code"] == "second_factor_locked":
                return r
            self.assertEqual(r.json["code"], "invalid_code", r)
            done += 1
            if done % 5 == 0:
                step = None  # five wrong codes end a pending login
        return r

    def test_quiet_time_forgets_nothing_and_100_lock(self):
        e = email()
        self.a.signup(e)
        secret, codes, _ = self.a.enable_totp(self.a.session(e))
        self.fail_codes(e, secret, 10)
        # Two quiet hours: the failures are still counted (the delay is
        # still there: the 11th failure waits).
        self.a.advance(7200)
        step = self.pending(e)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                          "code": self.wrong(secret)})
        self.assertEqual(r.json["code"], "invalid_code", r)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                          "code": self.wrong(secret)})
        self.assertEqual(r.status, 429, r)
        self.a.advance(int(r.header("Retry-After")))
        # Up to 100: then even the right code is refused, without counting.
        self.fail_codes(e, secret, 100 - 11)
        step = self.pending(e)
        self.assertEqual(step["methods"], ["backup_code"])
        self.a.advance(30)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                          "code": totp(secret, self.a.now())})
        self.assertEqual((r.status, r.json["code"]), (403, "second_factor_locked"), r)
        self.assertIn("event=second_factor_locked", self.a.log_text())
        # A backup code works (once the delay of the last failure is over)
        # and unlocks.
        r = self.a.post("/1/login/backup-code", {"login_id": step["login_id"], "code": codes[0]})
        self.assertEqual(r.status, 429, r)
        self.a.advance(int(r.header("Retry-After")))
        step = self.pending(e)
        r = self.a.post("/1/login/backup-code", {"login_id": step["login_id"], "code": codes[0]})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])
        # (The hour's cap still counts those failures: a success forgets
        # the consecutive count, not the hourly history.)
        self.a.advance(3600)
        step = self.pending(e)
        self.assertEqual(step["methods"], ["totp", "backup_code"])
        self.a.advance(30)
        r = self.a.post("/1/login/totp", {"login_id": step["login_id"],
                                          "code": totp(secret, self.a.now())})
        self.assertEqual(r.status, 200, r)
        remember_secret(r.json["session"])

if __name__ == "__main__":
    unittest.main()
