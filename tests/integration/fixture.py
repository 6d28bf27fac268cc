"""CTest fixture: `start` runs the shared authd, `stop` ends it and checks
that it did not die early, that its log holds no sanitizer report, and that
no secret any test used appears in any authd log of this run."""

import glob
import json
import os
import re
import shutil
import sys

from authd_harness import Authd, state_dir


def start():
    d = state_dir()
    for f in glob.glob(os.path.join(d, "*")):
        if os.path.isdir(f):
            shutil.rmtree(f, ignore_errors=True)
        else:
            os.unlink(f)
    a = Authd(name="shared", data_dir=os.path.join(d, "shared-data"))
    a.start()
    with open(os.path.join(d, "shared.json"), "w", encoding="utf-8") as f:
        json.dump({"port": a.port, "pid": a.proc.pid, "log": a.log_path,
                   "data_dir": a.data_dir, "engine": a.engine, "pg_url": a.pg_url}, f)
    print(f"authd ({a.engine}) running on 127.0.0.1:{a.port} pid {a.proc.pid}")


def stop():
    d = state_dir()
    failures = []
    with open(os.path.join(d, "shared.json"), encoding="utf-8") as f:
        info = json.load(f)
    pid = info["pid"]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        failures.append("the shared authd died before the end of the suite")
    else:
        os.kill(pid, 15)
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            import time
            time.sleep(0.05)
    logs = glob.glob(os.path.join(d, "*.log"))
    secrets = []
    path = os.path.join(d, "secrets.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            secrets = sorted({s.strip() for s in f if len(s.strip()) >= 6})
    for log in logs:
        with open(log, encoding="utf-8", errors="replace") as f:
            text = f.read()
        for marker in ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer"):
            if marker in text:
                failures.append(f"{os.path.basename(log)}: sanitizer report ({marker})")
        # Request ids are a counter the server assigns: a long soak reaches
        # every 6-digit number, so they are not searched for codes.
        digits_text = re.sub(r'(?<![0-9A-Za-z])(req[=":]+)[0-9]+', r"\1", text)
        for s in secrets:
            # A code of digits counts only on its own: inside a hex id or a
            # longer number it is a coincidence (6 digits are only 10^6).
            found = (re.search(r"(?<![0-9A-Za-z])" + s + r"(?![0-9A-Za-z])", digits_text)
                     if s.isdigit() else s in text)
            if found:
                failures.append(f"{os.path.basename(log)}: a secret appears in the log "
                                f"(first chars {s[:3]}...)")
    print(f"checked {len(logs)} logs against {len(secrets)} secrets")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    {"start": start, "stop": stop}[sys.argv[1]]()
