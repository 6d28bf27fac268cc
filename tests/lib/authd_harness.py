"""Starts a real authd on a free loopback port and speaks HTTP to it.

Used by the integration tests and the benchmark. Only the Python standard
library: http.client for requests, subprocess for the daemon, oathtool for
TOTP codes (the reference implementation an authenticator app matches).
"""

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time

# The storage engine the integration suite runs against (CTest sets it; the
# PostgreSQL server is the pg_harness fixture's, one database per Authd).
ENGINE = os.environ.get("AUTHD_TEST_ENGINE", "lmdb")

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
                     "SUMMARY: UndefinedBehaviorSanitizer")


def authd_binary():
    path = os.environ.get("AUTHD_BIN")
    if not path or not os.path.exists(path):
        raise RuntimeError("set AUTHD_BIN to the authd binary")
    return path


def state_dir():
    """A folder shared by every test of one ctest run (logs, secrets seen)."""
    d = os.environ.get("AUTHD_TEST_STATE") or os.path.join(tempfile.gettempdir(), "authd-test")
    os.makedirs(d, exist_ok=True)
    return d


def remember_secret(value):
    """Records a secret the tests used, so the final log check can grep for it."""
    if value:
        with open(os.path.join(state_dir(), "secrets.txt"), "a", encoding="utf-8") as f:
            f.write(value.replace("\n", " ") + "\n")


def random_loopback():
    """A fresh 127.x.y.z source address: each test is its own client IP, so
    per-IP throttling in one test never leaks into another."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        self.json = None
        if body:
            try:
                self.json = json.loads(body)
            except ValueError:
                pass

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def headers_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def set_cookie(self, cookie="__Host-authd_session"):
        """The Set-Cookie header that sets cookie (a response may set the
        session and the device cookie), or None."""
        for v in self.headers_all("Set-Cookie"):
            if v.startswith(cookie + "="):
                return v
        return None

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class Authd:
    """One authd process with its own data dir (kept across restarts)."""

    def __init__(self, name="authd", extra_args=(), config=None, data_dir=None, test_clock=True,
                 engine=None, pg_url=None, key_file=None):
        """engine: "lmdb" or "postgresql" (default: the suite's ENGINE);
        with PostgreSQL each Authd gets a new database unless pg_url names
        one (several nodes share it, and then key_file too)."""
        self.name = name
        self.port = None
        self.proc = None
        self.extra_args = list(extra_args)
        self.test_clock = test_clock
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="authd-data-")
        self.engine = engine or ENGINE
        self.pg_url = pg_url
        self.own_db = False
        self.migrated = False
        if self.engine == "postgresql" and self.pg_url is None:
            import pg_harness
            self.pg_url = pg_harness.createdb()
            self.own_db = True
        self.key_file = key_file
        self.config_path = None
        self.write_config(config)
        self.log_path = os.path.join(state_dir(), f"{name}-{os.getpid()}-{id(self)}.log")
        self.source_ip = random_loopback()

    def write_config(self, config):
        """(Re)writes the config file: config, then the storage settings."""
        text = config or ""
        storage = ""
        if self.engine == "postgresql":
            storage += f"engine = postgresql\nurl = {self.pg_url}\n"
        if self.key_file:
            storage += f"key_file = {self.key_file}\n"
        if storage:
            text += "\n[storage]\n" + storage
        if not text:
            self.config_path = None
            return
        self.config_path = self.data_dir + ".conf"
        with open(self.config_path, "w", encoding="utf-8") as f:
            f.write(text)

    def migrate(self):
        """authd migrate (PostgreSQL): creates the schema of a new database."""
        args = [authd_binary(), "--data-dir", self.data_dir]
        if self.config_path:
            args += ["--config", self.config_path]
        with open(self.log_path, "ab") as log:
            rc = subprocess.run(args + ["migrate"], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, timeout=60).returncode
        if rc != 0:
            raise RuntimeError(f"authd migrate exited with {rc}: {self.log_tail()}")
        self.migrated = True

    def database_dump(self):
        """Everything the store holds, as bytes (to grep for secrets): the
        LMDB data file, or the PostgreSQL database as pg_dump writes it."""
        if self.engine == "postgresql":
            import pg_harness
            state = pg_harness._load(pg_harness.default_state_path())
            db = self.pg_url.rsplit("/", 1)[1]
            return subprocess.run(pg_harness._client(state, "pg_dump", "-d", db),
                                  check=True, capture_output=True).stdout
        with open(os.path.join(self.data_dir, "data.mdb"), "rb") as f:
            return f.read()

    def stored_password_hashes(self):
        """The PHC strings of every account, as stored."""
        if self.engine == "postgresql":
            import pg_harness
            return pg_harness.sql(self.pg_url, "SELECT pw_hash FROM accounts")
        return subprocess.run(["mdb_dump", "-p", "-s", "accounts", self.data_dir],
                              capture_output=True, text=True, check=True).stdout

    def start(self, timeout=20):
        if self.engine == "postgresql" and not self.migrated:
            self.migrate()
        self.port = free_port()
        args = [authd_binary(), "--listen", f"127.0.0.1:{self.port}",
                "--data-dir", self.data_dir, "--log-level", "debug"]
        if self.test_clock:
            args.append("--test-clock")
        if self.config_path:
            args += ["--config", self.config_path]
        args += self.extra_args
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"authd exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                if self.get("/1/health").status == 200:
                    if self.test_clock:
                        # Freeze the test clock: time moves only when a test
                        # says so, so a code computed from now() cannot fall
                        # into the next 30-second step before it is checked.
                        r = self.post("/1/_test/clock", {"advance": 0, "freeze": True})
                        assert r.status == 200, r
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("authd did not answer /1/health in time")

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        rc = self.proc.returncode if self.proc else 0
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            if self.config_path and os.path.exists(self.config_path):
                os.unlink(self.config_path)
        if self.own_db:
            import pg_harness
            pg_harness.dropdb(self.pg_url.rsplit("/", 1)[1])
            self.own_db = False

    def log_text(self):
        with open(self.log_path, "r", encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_tail(self, n=2000):
        return self.log_text()[-n:]

    def sanitizer_reports(self):
        text = self.log_text()
        return [m for m in SANITIZER_MARKERS if m in text]

    # --- HTTP -----------------------------------------------------------------

    def request(self, method, path, body=None, token=None, headers=None, raw=None,
                content_type="application/json", conn=None, source_ip=None):
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type and "Content-Type" not in h:
            h["Content-Type"] = content_type
        if token:
            h["Authorization"] = f"Bearer {token}"
        own = conn is None
        c = conn or self.connection(source_ip)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            out = Response(r.status, r.getheaders(), r.read())
        finally:
            if own:
                c.close()
        return out

    def connection(self, source_ip=None):
        """A keep-alive connection from this client's own loopback address."""
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30,
                                          source_address=(source_ip or self.source_ip, 0))

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    # --- the test clock -------------------------------------------------------------

    def now(self):
        return self.post("/1/_test/clock", {"advance": 0}).json["now"]

    def advance(self, seconds):
        r = self.post("/1/_test/clock", {"advance": int(seconds)})
        assert r.status == 200, r
        return r.json["now"]

    def metrics(self, credential):
        """GET /metrics with the scraper's credential, parsed by Prometheus'
        own text-format parser (which must take the whole exposition):
        {(name, ((label, value), ...)): value}."""
        from prometheus_client.parser import text_string_to_metric_families
        r = self.request("GET", "/metrics", headers={"Authorization": "Bearer " + credential})
        assert r.status == 200, r
        assert r.header("Content-Type").startswith("text/plain; version=0.0.4"), r
        out = {}
        for fam in text_string_to_metric_families(r.body.decode()):
            for s in fam.samples:
                out[(s.name, tuple(sorted(s.labels.items())))] = s.value
        return out

    # --- flows ---------------------------------------------------------------------

    def signup(self, email, password="correct horse battery", name="Test Person"):
        remember_secret(password)
        # Each sign-up is a new person on an address of their own: sign-ups
        # are limited per address ([signup] burst, per_hour, inflight).
        r = self.post("/1/accounts", {"email": email, "password": password, "name": name},
                      source_ip=random_loopback())
        assert r.status == 201, r
        return r.json

    def login(self, email, password="correct horse battery"):
        r = self.post("/1/login", {"email": email, "password": password})
        if r.json and r.json.get("session"):
            remember_secret(r.json["session"])
        if r.json and r.json.get("login_id"):
            remember_secret(r.json["login_id"])
        return r

    def session(self, email, password="correct horse battery"):
        r = self.login(email, password)
        assert r.status == 200 and r.json["state"] == "done", r
        return r.json["session"]

    def session_totp(self, email, secret, fresh_step=True):
        """A session with the second factor done by a TOTP code (staff act
        with one). fresh_step moves the clock 30 s on first, so that the
        code is of a step not used yet."""
        if fresh_step:
            self.advance(30)
        r = self.login(email)
        assert r.json.get("state") == "second_factor", r
        r = self.post("/1/login/totp", {"login_id": r.json["login_id"],
                                        "code": totp(secret, self.now())})
        assert r.status == 200, r
        remember_secret(r.json["session"])
        return r.json["session"]

    def enable_totp(self, token):
        """Enrols and confirms TOTP; returns (secret, backup_codes, session):
        confirming replaces the session `token` by a new one."""
        e = self.post("/1/me/2fa/totp", token=token)
        assert e.status == 200, e
        secret = e.json["secret"]
        remember_secret(secret)
        c = self.post("/1/me/2fa/totp/confirm", {"code": totp(secret, self.now())}, token=token)
        assert c.status == 200, c
        for code in c.json["backup_codes"]:
            remember_secret(code)
        remember_secret(c.json["session"])
        return secret, c.json["backup_codes"], c.json["session"]


def totp(secret, at, digits=6, algorithm="SHA1", period=30):
    """The TOTP code for base32 `secret` at unix time `at`, from oathtool."""
    args = ["oathtool", "--totp=" + algorithm.lower(), "-b", "-d", str(digits),
            "-s", f"{period}s", "-N", f"@{int(at)}", secret]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout.strip()
    return out


def shared():
    """The authd the CTest fixture started (its port is in the state dir)."""
    with open(os.path.join(state_dir(), "shared.json"), encoding="utf-8") as f:
        info = json.load(f)
    a = Authd.__new__(Authd)
    a.name = "shared"
    a.port = info["port"]
    a.proc = None
    a.log_path = info["log"]
    a.data_dir = info["data_dir"]
    a.own_dir = False
    a.config_path = None
    a.engine = ENGINE
    a.pg_url = info.get("pg_url")
    a.own_db = False
    a.migrated = True
    a.key_file = None
    a.source_ip = random_loopback()
    return a


class OwnAuthd:
    """Mixin for a unittest.TestCase class that runs its own authd (for tests
    that move the clock, restart or kill it). Checks on tear-down that it
    exits cleanly with no sanitizer report."""

    authd_config = None
    authd_args = ()

    @classmethod
    def setUpClass(cls):
        cls.a = Authd(name=cls.__name__, config=cls.authd_config, extra_args=cls.authd_args)
        cls.a.start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.a.stop()
        reports = cls.a.sanitizer_reports()
        cls.a.cleanup()
        if rc != 0 or reports:
            raise AssertionError(f"authd exited {rc}, sanitizer reports: {reports}")
