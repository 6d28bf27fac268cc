#!/usr/bin/env bash
# Installs authd's build and test dependencies from Debian 12's packages.
# Idempotent; needs root (or sudo) for apt-get.
set -euo pipefail
PKGS=(build-essential cmake pkg-config python3
      libwebsockets-dev libssl-dev liboath-dev liblmdb-dev libqrencode-dev
      libargon2-dev libjansson-dev libinih-dev libunistring-dev libcmocka-dev
      git python3-zxcvbn python3-cryptography oathtool zbar-tools libmagickcore-6.q16-6-extra lmdb-utils jq clang-format clang-tidy
      libpq-dev postgresql-15 libmaxminddb-dev libmaxmind-db-writer-perl libcurl4-openssl-dev libev-dev
      python3-aiosmtpd python3-yaml libhpdf-dev poppler-utils)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
