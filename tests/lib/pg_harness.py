"""A private PostgreSQL server for one test run, and a few things to do with it.

Used as a CTest fixture (start/stop), by the store's unit tests (createdb,
dropdb, sql, kill, restart through the command line) and, later, by
integration tests (import it and call start()/url()/stop()). Only the Python
standard library and the PostgreSQL server binaries (/usr/lib/postgresql/15/bin
by default, or AUTHD_PG_BINDIR).

The server listens on 127.0.0.1 at a free port with its Unix socket in its
own temporary directory, trusts local connections as `postgres`, and keeps
fsync on (durability tests rely on it). Run as root, the server runs as the
`postgres` system user. What a started server is (URL, directory, port) is
kept in a JSON state file: the path given with --state, else
AUTHD_TEST_PG_STATE.

    pg_harness.py [--state FILE] start | stop | kill | restart | url
    pg_harness.py [--state FILE] createdb      # prints the URL of a new database
    pg_harness.py [--state FILE] dropdb NAME
    pg_harness.py [--state FILE] sql DBNAME SQL  # runs SQL, prints rows
"""

import argparse
import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

SUPERUSER = "postgres"
DEFAULT_DB = "authd_test"


def bindir():
    d = os.environ.get("AUTHD_PG_BINDIR")
    if d:
        return d
    if os.path.exists("/usr/lib/postgresql/15/bin/initdb"):
        return "/usr/lib/postgresql/15/bin"
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("no PostgreSQL server binaries (install postgresql-15)")
    return os.path.dirname(found[-1])


def default_state_path():
    path = os.environ.get("AUTHD_TEST_PG_STATE")
    if not path:
        path = os.path.join(tempfile.gettempdir(), "authd-pg-test.json")
    return path


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(cmd):
    """Server programs refuse to run as root: run them as `postgres` then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def _run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw)


def _load(state_path):
    with open(state_path, encoding="utf-8") as f:
        return json.load(f)


def _client(state, prog, *args):
    return [os.path.join(state["bindir"], prog), "-h", "127.0.0.1", "-p", str(state["port"]),
            "-U", SUPERUSER] + list(args)


def _url(state, db):
    return f"postgresql://{SUPERUSER}@127.0.0.1:{state['port']}/{db}"


def _pg_ctl_start(state):
    data = state.get("data") or os.path.join(state["dir"], "data")
    log = os.path.join(state["dir"], "server.log")
    _run(_as_server_user([os.path.join(state["bindir"], "pg_ctl"), "-D", data, "-l", log,
                          "-w", "-t", "60", "start"]))


def start(state_path=None, data_parent=None):
    """Starts a new server, creates the default database and returns its URL.
    data_parent: a folder (the power campaign's lossy disk) to hold the data
    directory, which initdb then syncs; the socket and log stay apart."""
    state_path = state_path or default_state_path()
    if os.path.exists(state_path):
        try:
            stop(state_path)  # a leftover of an interrupted run
        except Exception:  # noqa: BLE001 - best effort
            pass
    bd = bindir()
    d = tempfile.mkdtemp(prefix="authd-pg-")
    os.chmod(d, 0o700)
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
    data = os.path.join(data_parent or d, "data")
    port = _free_port()
    try:
        # --no-sync: only initdb's own files skip fsync; the server keeps it.
        _run(_as_server_user([os.path.join(bd, "initdb"), "-D", data, "-U", SUPERUSER,
                              "--auth=trust", "-E", "UTF8", "--locale=C"]
                             + ([] if data_parent else ["--no-sync"])))
    except BaseException:
        shutil.rmtree(d, ignore_errors=True)
        raise
    conf = os.path.join(data, "postgresql.conf")
    with open(conf, "a", encoding="utf-8") as f:
        f.write("\n# authd test server\n"
                f"port = {port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{d}'\n"
                "fsync = on\n"
                "synchronous_commit = on\n"
                "max_connections = 200\n"
                "shared_buffers = 32MB\n")
        f.flush()
        os.fsync(f.fileno())  # on the power campaign's disk, a cut would take it
    state = {"dir": d, "data": data, "port": port, "bindir": bd, "db": DEFAULT_DB}
    state["url"] = _url(state, DEFAULT_DB)
    os.makedirs(os.path.dirname(os.path.abspath(state_path)), exist_ok=True)
    with open(state_path, "w", encoding="utf-8") as f:
        json.dump(state, f)
    try:
        _pg_ctl_start(state)
        _run(_client(state, "createdb", DEFAULT_DB))
    except BaseException:
        log = os.path.join(d, "server.log")
        if os.path.exists(log):
            with open(log, encoding="utf-8", errors="replace") as f:
                sys.stderr.write(f.read()[-4000:])
        stop(state_path)
        raise
    return state["url"]


def url(state_path=None):
    """The URL of the default database of the started server."""
    return _load(state_path or default_state_path())["url"]


def stop(state_path=None):
    """Stops the server (fast) and removes its directory and state file."""
    state_path = state_path or default_state_path()
    if not os.path.exists(state_path):
        sys.stderr.write(f"pg_harness: no server recorded in {state_path}\n")
        return
    state = _load(state_path)
    data = state.get("data") or os.path.join(state["dir"], "data")
    if os.path.exists(os.path.join(data, "postmaster.pid")):
        subprocess.run(_as_server_user([os.path.join(state["bindir"], "pg_ctl"), "-D", data,
                                        "-w", "-t", "60", "stop", "-m", "fast"]),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(state["dir"], ignore_errors=True)
    os.unlink(state_path)


def kill(state_path=None):
    """Stops the server at once, as a crash would (pg_ctl stop -m immediate)."""
    state = _load(state_path or default_state_path())
    data = state.get("data") or os.path.join(state["dir"], "data")
    _run(_as_server_user([os.path.join(state["bindir"], "pg_ctl"), "-D", data, "-w", "stop",
                          "-m", "immediate"]))


def restart(state_path=None):
    """Starts a stopped server again on the same port and data."""
    state = _load(state_path or default_state_path())
    for _ in range(50):  # the port may linger a moment after a kill
        try:
            _pg_ctl_start(state)
            return
        except subprocess.CalledProcessError:
            time.sleep(0.2)
    _pg_ctl_start(state)


def createdb(state_path=None, name=None):
    """Creates a new empty database; returns its URL."""
    state = _load(state_path or default_state_path())
    if name is None:
        name = f"authd_u_{os.getpid()}_{time.monotonic_ns() % 10**9}"
    _run(_client(state, "createdb", name))
    return _url(state, name)


def dropdb(name, state_path=None):
    state = _load(state_path or default_state_path())
    _run(_client(state, "dropdb", "--if-exists", "--force", name))


def sql(db, statement, state_path=None):
    """Runs SQL in database db (a name or a URL); returns psql's unaligned rows."""
    state = _load(state_path or default_state_path())
    if "://" in db:
        db = db.rsplit("/", 1)[1]
    out = _run(_client(state, "psql", "-d", db, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-A",
                        "-t", "-c", statement))
    return out.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--state", default=None)
    ap.add_argument("command", choices=["start", "stop", "kill", "restart", "url", "createdb",
                                        "dropdb", "sql"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args()
    try:
        if a.command == "start":
            print(start(a.state))
        elif a.command == "stop":
            stop(a.state)
        elif a.command == "kill":
            kill(a.state)
        elif a.command == "restart":
            restart(a.state)
        elif a.command == "url":
            print(url(a.state))
        elif a.command == "createdb":
            print(createdb(a.state, a.args[0] if a.args else None))
        elif a.command == "dropdb":
            dropdb(a.args[0], a.state)
        elif a.command == "sql":
            sys.stdout.write(sql(a.args[0], a.args[1], a.state))
    except subprocess.CalledProcessError as e:
        sys.stderr.write(f"pg_harness {a.command}: {' '.join(e.cmd)} failed:\n{e.stdout}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
