#!/usr/bin/env bash
# The fuzzing campaign, one command: configures and builds build-fuzz with
# clang (libFuzzer, ASan and UBSan over the fuzz targets and every library
# they link), then runs each target, one after another, from its seed
# corpus (tests/fuzz/corpus/<target>, read only) and a scratch corpus it
# grows (build-fuzz/fuzz-campaign/<target>/corpus, kept between runs), and
# prints one line a target: executions, exec/s, time, coverage, corpus and
# crashes. Exits 1 when any target crashed (or timed out, or ran out of
# memory), each such input's path in the output.
#
#   tests/fuzz/campaign.sh                 10 000 000 executions per target
#   tests/fuzz/campaign.sh --seconds 60    a minute per target (CI)
#   tests/fuzz/campaign.sh --runs 100000 config templates
#
# Options: --runs N (executions per target), --seconds S (time per target;
# with --runs, whichever comes first), --keep (merge what the scratch
# corpus adds in coverage into the seed corpora of the repository),
# --fresh (start from an empty scratch corpus), --jobs N (build), --build
# DIR (default build-fuzz), --source DIR (the sources to build, default
# this repository; e.g. an export of a commit while the working tree is
# mid-change). Names after the options pick targets;
# FUZZ_FLAGS adds libFuzzer flags. Run it under nice on a shared machine:
# nice -n 10 tests/fuzz/campaign.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
ALL=(json_body otp_uri codes proxy mp_msg config templates http_headers)
runs=""
seconds=""
keep=0
fresh=0
jobs="$(nproc)"
build="$root/build-fuzz"
source="$root"
targets=()

usage() {
  sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --fresh) fresh=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --build) build="$(realpath -m "$2")"; shift 2 ;;
    --source) source="$(realpath "$2")"; shift 2 ;;
    -h|--help) usage 0 ;;
    -*) echo "campaign.sh: unknown option $1" >&2; usage 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ -n "$runs$seconds" ] || runs=10000000
for n in $runs $seconds $jobs; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "campaign.sh: not a number: $n" >&2; exit 2; }
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  [[ " ${ALL[*]} " == *" $t "* ]] || { echo "campaign.sh: no target $t (${ALL[*]})" >&2; exit 2; }
done

# clang 14 and its libFuzzer runtime (Debian 12).
missing=()
for p in clang-14 libclang-rt-14-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang-14 cmake -S "$source" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DAUTHD_FUZZ=ON -DAUTHD_TEST_HOOKS=ON -DAUTHD_SANITIZE=address,undefined \
    -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link >/dev/null
fi
grep -q '^AUTHD_FUZZ:BOOL=ON' "$build/CMakeCache.txt" ||
  { echo "campaign.sh: $build is not a fuzzing build (AUTHD_FUZZ=OFF)" >&2; exit 2; }
grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$source" "$build/CMakeCache.txt" ||
  { echo "campaign.sh: $build was configured from other sources than $source" >&2; exit 2; }
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}"

work="$build/fuzz-campaign"
flags=(-rss_limit_mb=2048 -timeout=30 -print_final_stats=1 -close_fd_mask=2)
[ -n "$runs" ] && flags+=(-runs="$runs")
[ -n "$seconds" ] && flags+=(-max_total_time="$seconds")
# More libFuzzer flags from the environment (e.g. FUZZ_FLAGS=-max_len=8192).
read -r -a extra <<<"${FUZZ_FLAGS:-}"
flags+=("${extra[@]}")
failed=0
rows=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  [ "$fresh" = 1 ] && rm -rf "$dir"
  mkdir -p "$dir/corpus" "$dir/artifacts"
  log="$dir/fuzz.log"
  echo "=== $t: ${flags[*]} (log: $log)"
  start=$(date +%s.%N)
  rc=0
  # New inputs go to the first directory only: the scratch corpus.
  "$build/tests/fuzz/fuzz_$t" "${flags[@]}" -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$root/tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  end=$(date +%s.%N)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.* cov: ' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
  if [ -z "$execs" ]; then # no final stats: it died; the last status line counts
    execs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<<"$last")
  fi
  crashes=$(grep -c 'Test unit written to' "$log" || true)
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    failed=1
    [ "$crashes" = 0 ] && crashes="rc=$rc"
    echo "!!! $t failed (exit $rc); last lines of $log:"
    grep -E '^==[0-9]+== ?ERROR|SUMMARY|runtime error|in LLVMFuzzerTestOneInput|Test unit written to' \
      "$log" | head -20
    grep 'Test unit written to' "$log" | sed 's/.*Test unit written to /!!! reproducer: /'
  fi
  rows+=("$(printf '%-13s %12s %9s %8.0f %6s %7s %-14s %s' "$t" "${execs:-?}" "${speed:-?}" \
    "$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes")")
  if [ "$keep" = 1 ] && [ "$rc" = 0 ]; then
    "$build/tests/fuzz/fuzz_$t" -merge=1 -close_fd_mask=2 "$root/tests/fuzz/corpus/$t" \
      "$dir/corpus" >>"$log" 2>&1
    echo "--- $t: seed corpus now $(ls "$root/tests/fuzz/corpus/$t" | wc -l) files"
  fi
done

echo
printf '%-13s %12s %9s %8s %6s %7s %-14s %s\n' target executions exec/s time_s cov ft corpus crashes
printf '%s\n' "${rows[@]}"
exit "$failed"
