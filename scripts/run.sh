#!/usr/bin/env bash
# Installs what is missing, builds a release authd and runs it with its
# embedded defaults: 127.0.0.1:8080, data in ./data (and builds the reference
# phone, build/mobile-protocol/client/authd-phone, and the operator's
# build/authd/authctl). Extra flags go to authd.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh --no-browser
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHD_TEST_HOOKS=OFF -DAUTHD_SANITIZE= \
  -DAUTHD_BUILD_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc)" --target authd authd-phone authctl
exec ./build/authd/authd "$@"
