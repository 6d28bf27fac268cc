#!/usr/bin/env python3
"""Power loss: the crash campaign's rounds, with the disk losing every
write that was not synced when the cut comes.

authd's data directory (LMDB, and the key file) lives on lossyfs
(tests/campaigns/lossyfs.py), a FUSE file system that keeps each file's
writes in its own memory until the file is synced; with --engine
postgresql, a private PostgreSQL server's data directory (WAL, tables,
pg_control) does, and its processes die with the power. Each round runs the
crash campaign's mixed load (sign-ups, logins, TOTP and backup codes,
password changes), then cuts the power: authd and lossyfs are killed with
SIGKILL together, so whatever authd wrote without a sync is gone, as the
page cache is at a real power cut (kill -9 alone cannot show a missing
fsync: the kernel keeps the dirty pages). lossyfs is mounted again over
what reached its backing folder, authd starts, and every acknowledged write
is checked as in crash.py (and each write under way at the cut is whole or
absent).

What lossyfs does not model: directory changes reach its backing folder at
once (a real file system may lose a new file's name until its folder is
synced), and writes are lost whole pages at a time, never torn inside a
page. LMDB's own claims (ALICE, OSDI'14: no crash vulnerability on real
file systems) cover the rest.

Before the rounds, two checks that the campaign can fail: lossyfs really
loses a write never synced, and (--self-test) a round with the store's
syncs taken away (authd's, by Debian's libeatmydata LD_PRELOADed, on LMDB;
PostgreSQL's `fsync = off`) must lose acknowledged writes and be caught.

Usage (one command, as root; CI runs --rounds 3 --self-test through CTest):
    AUTHD_BIN=build-test-plain/authd/authd \\
      /usr/bin/python3 tests/campaigns/power.py --rounds 100 [--self-test] \\
      [--engine postgresql]
Needs /dev/fuse and Debian's python3-fusepy and libfuse2 (and eatmydata
for --self-test). Exit status 0 when every round held; skipped (77) when
FUSE cannot be mounted here.
"""

import argparse
import os
import pwd
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)

import pg_harness  # noqa: E402
from authd_harness import remember_secret  # noqa: E402
from crash import NEW_PASSWORD, PASSWORD, Campaign, tempfile_dir  # noqa: E402

SKIP = 77


class LossyMount:
    """lossyfs over backing at mountpoint, started and cut at will."""

    def __init__(self, work):
        self.backing = os.path.join(work, "backing")
        self.mountpoint = os.path.join(work, "mnt")
        # PostgreSQL's server, as `postgres`, passes through to its folder.
        os.makedirs(self.backing, mode=0o711)
        os.makedirs(self.mountpoint, mode=0o711)
        os.chmod(work, 0o711)
        self.proc = None
        self.log = os.path.join(work, "lossyfs.log")

    def start(self, timeout=10):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "lossyfs.py"), self.backing,
                 self.mountpoint], stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                start_new_session=True)
        deadline = time.monotonic() + timeout
        while not os.path.ismount(self.mountpoint):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lossyfs did not mount: {self.tail()}")
            time.sleep(0.02)

    def cut(self):
        """The power goes: what lossyfs holds unsynced is lost."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None
        subprocess.run(["umount", "-l", self.mountpoint], check=False,
                       capture_output=True)

    def stop(self):
        self.cut()

    def tail(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def unsynced_lost(self):
        """Whether a write never synced is really gone after a cut (the
        campaign's own check of its disk)."""
        path = os.path.join(self.mountpoint, "probe")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, b"synced\n")
        os.fsync(fd)
        os.write(fd, b"not synced\n")
        os.close(fd)
        self.cut()
        with open(os.path.join(self.backing, "probe"), "rb") as f:
            kept = f.read()
        os.unlink(os.path.join(self.backing, "probe"))
        self.start()
        return kept == b"synced\n"


class PowerCampaign(Campaign):
    """The crash campaign's rounds with the store on the lossy disk: LMDB
    in authd's data directory, or PostgreSQL's data directory (its WAL and
    tables) with authd's own folder (the key file) apart."""

    def __init__(self, seed, disk, engine="lmdb"):
        self.disk = disk
        self.pg_state = None
        data_dir = None
        if engine == "postgresql":
            pg_dir = os.path.join(disk.mountpoint, "pg")
            os.mkdir(pg_dir, 0o700)
            pw = pwd.getpwnam("postgres")
            os.chown(pg_dir, pw.pw_uid, pw.pw_gid)
            self.pg_state = os.path.join(os.path.dirname(disk.mountpoint), "pg.json")
            os.environ["AUTHD_TEST_PG_STATE"] = self.pg_state
            pg_harness.start(self.pg_state, data_parent=pg_dir)
        else:
            data_dir = os.path.join(disk.mountpoint, "data")
            os.mkdir(data_dir, 0o700)
        # The admin socket stays off the FUSE disk.
        super().__init__(engine, seed, data_dir=data_dir, config="[admin]\nsocket = none\n")
        if data_dir:
            # The harness writes the config beside the data directory, here
            # on lossyfs, unsynced: a cut would take it. It lives off the disk.
            conf = os.path.join(os.path.dirname(disk.mountpoint), "authd.conf")
            shutil.copyfile(self.a.config_path, conf)
            os.unlink(self.a.config_path)
            self.a.config_path = conf
        self.cuts = 0

    def start(self):
        try:
            if not os.path.ismount(self.disk.mountpoint):
                self.disk.start()
                if self.pg_state:
                    pg_harness.restart(self.pg_state)  # its recovery replays the WAL kept
            super().start()
        except (RuntimeError, subprocess.CalledProcessError) as e:
            raise AssertionError(f"the store did not come back after the cut: {e}\n"
                                 f"{self.pg_log_tail()}") from e

    def pg_log_tail(self):
        if not self.pg_state:
            return ""
        log = os.path.join(pg_harness._load(self.pg_state)["dir"], "server.log")
        try:
            with open(log, encoding="utf-8", errors="replace") as f:
                return "PostgreSQL's log ends:\n" + f.read()[-3000:]
        except OSError:
            return ""

    def pg_pids(self):
        """The postmaster and its children."""
        data = pg_harness._load(self.pg_state)["data"]
        with open(os.path.join(data, "postmaster.pid"), encoding="utf-8") as f:
            root = int(f.readline())
        pids = [root]
        for d in os.listdir("/proc"):
            try:
                with open(f"/proc/{d}/stat", encoding="utf-8") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == root:
                        pids.append(int(d))
            except (OSError, ValueError, IndexError):
                pass
        return pids

    def crash(self):
        # authd first, so that none of its writes lands after the cut; then
        # the disk: from here on nothing reaches it. PostgreSQL's processes
        # die after, their last writes failing on the dead disk.
        pids = self.pg_pids() if self.pg_state else []
        self.a.kill9()
        self.disk.cut()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while any(alive(p) for p in pids):
            if time.monotonic() > deadline:
                raise AssertionError(f"PostgreSQL's processes outlived SIGKILL: {pids}")
            time.sleep(0.02)
        self.cuts += 1

    def stop_store(self):
        if self.pg_state and os.path.exists(self.pg_state):
            pg_harness.stop(self.pg_state)


def alive(pid):
    """Whether pid runs (a zombie does not: its parent may never reap it)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


EATMYDATA = "/usr/lib/x86_64-linux-gnu/libeatmydata.so"


def self_test(seed, work, engine):
    """One round with the store's syncs taken away (authd's fsync and
    fdatasync made no-ops on LMDB, `fsync = off` on PostgreSQL): acknowledged
    writes must be lost at the cut, and caught. True when they were."""
    if engine == "lmdb" and not os.path.exists(EATMYDATA):
        print(f"power campaign FAILED: --self-test needs {EATMYDATA} (Debian's eatmydata)")
        return False
    disk = LossyMount(os.path.join(work, "self-test"))
    asan_before = os.environ.get("ASAN_OPTIONS")
    disk.start()
    c = None
    try:
        c = PowerCampaign(seed, disk, engine)
        # The key file and the fixtures are made with syncs, as usual: only
        # the round's writes go without.
        c.start()
        c.setup(n_totp=12)
        c.a.stop()
        if engine == "postgresql":
            pg_harness.sql(pg_harness.DEFAULT_DB, "ALTER SYSTEM SET fsync = off", c.pg_state)
            pg_harness.sql(pg_harness.DEFAULT_DB, "SELECT pg_reload_conf()", c.pg_state)
        else:
            os.environ["LD_PRELOAD"] = EATMYDATA  # authd's (and lossyfs's: harmless)
            # An ASan build insists on coming first among the libraries: the
            # preloaded one comes before it, which is what this round wants.
            os.environ["ASAN_OPTIONS"] = ":".join(
                filter(None, [asan_before, "verify_asan_link_order=0"]))
        c.round(1)
    except AssertionError as e:
        # Only the check's finding counts: an acknowledged write gone.
        if "acknowledged" not in str(e) or "before the kill" in str(e):
            print(f"power campaign FAILED: the self-test round broke otherwise: {e}")
            return False
        print(f"self-test: without syncs a round lost acknowledged writes, as it must: "
              f"{str(e)[:300]}")
        return True
    finally:
        os.environ.pop("LD_PRELOAD", None)
        if asan_before is None:
            os.environ.pop("ASAN_OPTIONS", None)
        else:
            os.environ["ASAN_OPTIONS"] = asan_before
        if c and c.a.proc:
            c.a.kill9()
        if c:
            c.provider.stop()
            c.stop_store()
        disk.stop()
    print("power campaign FAILED: its self-test round held without syncs: the campaign "
          "cannot tell a missing fsync")
    return False


def fuse_usable():
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    try:
        import fusepy  # noqa: F401
    except ImportError:
        return "no python3-fusepy"
    if os.geteuid() != 0:
        return "not root"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--engine", choices=["lmdb", "postgresql"], default="lmdb")
    ap.add_argument("--self-test", action="store_true",
                    help="first check that a round without syncs is caught")
    args = ap.parse_args()
    why = fuse_usable()
    if why:
        print(f"power campaign skipped: {why}")
        return SKIP
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    if not os.environ.get("AUTHD_TEST_STATE"):
        os.environ["AUTHD_TEST_STATE"] = tempfile_dir()
    remember_secret(PASSWORD)
    remember_secret(NEW_PASSWORD)
    work = tempfile.mkdtemp(prefix="authd-power-")
    disk = LossyMount(work)
    try:
        disk.start()
    except RuntimeError as e:
        print(f"power campaign skipped: FUSE does not mount here ({e})")
        shutil.rmtree(work, ignore_errors=True)
        return SKIP
    c = None
    t0 = time.monotonic()
    try:
        if not disk.unsynced_lost():
            print("power campaign FAILED: lossyfs kept a write that was never synced")
            return 1
        if args.self_test and not self_test(seed, work, args.engine):
            return 1
        c = PowerCampaign(seed, disk, args.engine)
        c.run(args.rounds)
    except AssertionError as e:
        print(f"power campaign FAILED (seed {seed}): {e}")
        if c:
            print(c.a.log_tail(3000))
        return 1
    finally:
        if c and c.a.proc:
            c.a.kill9()
        if c:
            c.provider.stop()
            c.stop_store()
        disk.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"power campaign: {args.rounds} rounds of power cuts on {args.engine} (seed {seed}) "
          f"held in {time.monotonic() - t0:.0f} s; acknowledged and checked: {c.figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
