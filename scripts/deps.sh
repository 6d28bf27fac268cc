#!/usr/bin/env bash
# Installs authd's build and test dependencies from Debian 12's packages,
# and the browser tests' npm packages (tests/e2e, from its lock file).
# Idempotent; needs root (or sudo) for apt-get. With --no-browser (what
# scripts/run.sh uses) it skips Chromium, Node.js and the npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
browser=1
[ "${1:-}" = "--no-browser" ] && browser=0
PKGS=(build-essential cmake pkg-config python3
      libwebsockets-dev libssl-dev liboath-dev liblmdb-dev libqrencode-dev
      libargon2-dev libjansson-dev libinih-dev libunistring-dev libcmocka-dev
      git python3-zxcvbn python3-cryptography oathtool zbar-tools libmagickcore-6.q16-6-extra lmdb-utils jq clang-format clang-tidy
      libpq-dev postgresql-15 libmaxminddb-dev libmaxmind-db-writer-perl libcurl4-openssl-dev libev-dev
      python3-aiosmtpd python3-yaml libhpdf-dev poppler-utils python3-prometheus-client
      libsystemd-dev systemd
      python3-fusepy libfuse2 eatmydata)
if [ "$browser" = 1 ]; then
  PKGS+=(chromium fonts-dejavu-core ca-certificates)
  # Node.js and npm from Debian, unless a Node.js with its own npm is there.
  command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
fi
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The npm packages, exactly as locked, when the lock changed since the last
# install (npm ci starts from an empty node_modules).
stamp=tests/e2e/node_modules/.authd-installed-lock
if [ "$browser" = 1 ] && ! cmp -s tests/e2e/package-lock.json "$stamp"; then
  # Node.js trusts its own list of authorities; the machine's (Debian's
  # store, with any the site added) is added to it, as curl and apt use it.
  if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ]; then
    export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
  fi
  npm ci --prefix tests/e2e --no-audit --no-fund --loglevel=error
  cp tests/e2e/package-lock.json "$stamp"
fi
