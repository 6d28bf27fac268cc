#!/usr/bin/env bash
# The whole test suite, twice: a plain test build and an AddressSanitizer +
# UndefinedBehaviorSanitizer build. Both enable the test hooks (test clock).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
for variant in plain asan; do
  dir=build-test-$variant
  extra=()
  [ "$variant" = asan ] && extra=(-DAUTHD_SANITIZE=address,undefined)
  echo "=== $variant build ==="
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAUTHD_TEST_HOOKS=ON "${extra[@]}" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== $variant tests ==="
  (cd "$dir" && ctest --output-on-failure -j"$jobs")
done
