#!/usr/bin/env bash
# clang-format (every C file must be formatted) and clang-tidy (bugprone-*,
# cert-*, clang-analyzer-* as configured in .clang-tidy) on our own sources.
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.c' '*.h')
echo "=== clang-format ==="
clang-format --dry-run -Werror $files
echo "=== clang-tidy ==="
cmake -S . -B build-lint -DAUTHD_TEST_HOOKS=ON -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
cmake --build build-lint -j"$(nproc)" --target authd_core >/dev/null # generated sources
# gcc's -ftrivial-auto-var-init is experimental in clang 14: allow it there.
clang-tidy -p build-lint --quiet \
  --extra-arg=-enable-trivial-auto-var-init-zero-knowing-it-will-be-removed-from-clang \
  $(git ls-files 'authd/*.c' 'otp/*.c' 'util/*.c' 'core/*.c' 'store/*.c' 'push/*.c' \
    'mobile-protocol/*.c' 'recovery/*.c' 'billing/*.c')
echo "lint clean"
