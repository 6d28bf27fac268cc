#!/usr/bin/env bash
# The Debian package, end to end, on this (fresh) Debian 12 as root: build
# it with dpkg-buildpackage from the committed tree, install it with apt,
# check what it installed (the authd user, the key file root's only, the
# config, the unit passing systemd-analyze), then run the installed authd
# the way its unit does (as authd, the key as a credential, state in
# /var/lib/authd), sign up and log in over HTTP, and purge it.
# Usage: tests/package/test_deb.sh   (CI runs it after the test suite)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "$(id -u)" -eq 0 ] || { echo "test_deb.sh: needs root (it installs a package)"; exit 2; }
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq --no-install-recommends debhelper dpkg-dev git >/dev/null

work=$(mktemp -d /tmp/authd-deb-XXXXXX)
# Where systemd would put the service's credentials.
creds=/run/credentials/authd.service
cleanup() {
  [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null || true
  rm -rf "$work" "$creds"
  # A failed run leaves no package behind.
  if dpkg-query -W -f='${Status}' authd 2>/dev/null | grep -q installed; then
    apt-get purge -y -qq authd >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
git archive --format=tar HEAD | tar -x -C "$work" --one-top-level=src
(cd "$work/src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
  { tail -40 "$work/build.log"; exit 1; }
deb=$(ls "$work"/authd_*_*.deb)
echo "built $(basename "$deb")"
apt-get install -y -qq "$deb" >/dev/null

fail() { echo "test_deb.sh: $*"; exit 1; }
getent passwd authd >/dev/null || fail "no authd user"
[ "$(stat -c '%U %a' /etc/authd/secret.key)" = "root 600" ] || fail "key file not root's 0600"
[ "$(stat -c '%s' /etc/authd/secret.key)" = 32 ] || fail "key file not 32 bytes"
[ "$(stat -c '%U:%G %a' /etc/authd/authd.conf)" = "root:authd 640" ] || fail "config not root:authd 0640"
dpkg-query -W -f='${Conffiles}' authd | grep -q /etc/authd/authd.conf || fail "config not a conffile"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/authd.service || fail "unit does not verify"
fi

# What the unit does, by hand (no systemd in a CI chroot): the credential
# copy (root's, readable by the service only), the state directory, the user.
rm -rf "$creds"
install -d -m 0750 -g authd "$creds"
install -m 0440 -g authd /etc/authd/secret.key "$creds/secret.key"
install -d -o authd -g authd -m 0700 /var/lib/authd
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
setpriv --reuid authd --regid authd --init-groups env CREDENTIALS_DIRECTORY="$creds" \
  /usr/bin/authd --config /etc/authd/authd.conf --listen "127.0.0.1:$port" 2>"$work/authd.log" &
pid=$!
python3 - "$port" <<'PY' || { cat "$work/authd.log"; fail "sign-up and login failed"; }
import json, sys, time, urllib.request, urllib.error
base = f"http://127.0.0.1:{sys.argv[1]}"
def call(path, body=None):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)
for _ in range(200):
    try:
        if call("/1/ready")[0] == 200:
            break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("authd never got ready")
pw = "a long packaged passphrase"
assert call("/1/accounts", {"email": "deb@example.com", "password": pw, "name": "Deb"})[0] == 201
s, r = call("/1/login", {"email": "deb@example.com", "password": pw})
assert s == 200 and r["state"] == "done", (s, r)
assert call("/1/login", {"email": "deb@example.com", "password": "wrong " + pw})[0] == 401
print("signed up and logged in on the installed authd")
PY
[ "$(stat -c '%U %a' /var/lib/authd/data.mdb)" = "authd 600" ] || fail "data not authd's 0600"
# The operator's command line, on the packaged admin socket (its default).
[ "$(stat -c '%U %a' /var/lib/authd/admin.sock)" = "authd 600" ] || fail "admin socket not authd's 0600"
authctl find deb@example.com | grep -q '"login": "deb@example.com"' || fail "authctl find failed"
authctl lock deb@example.com >/dev/null || fail "authctl lock failed"
authctl unlock deb@example.com >/dev/null || fail "authctl unlock failed"
[ ! -e /var/lib/authd/secret.key ] || fail "a key file was made beside the data"
kill "$pid"; wait "$pid" || fail "authd did not stop cleanly"
pid=""
apt-get purge -y -qq authd >/dev/null
[ ! -e /etc/authd/secret.key ] && [ ! -e /var/lib/authd ] || fail "purge left the key or the data"
echo "test_deb.sh: ok"
