#!/usr/bin/env bash
# Do the corpus verdicts hold with both cores busy? Runs every corpus test ROUNDS
# times, three at a time per core (one more than `make test` runs), while stress-ng
# keeps the CPUs loaded, and counts verdicts that changed.
# usage: harness/bench/corpus_under_load.sh [BUILD_DIR] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
rounds=${2:-20}
command -v stress-ng >/dev/null || { echo "corpus_under_load: needs stress-ng (scripts/install-deps.sh --with-stress)" >&2; exit 2; }
[[ -x $build/harness/labcheck ]] || { echo "corpus_under_load: build first (make)" >&2; exit 2; }

stress-ng --cpu "$(nproc)" --timeout 0 --quiet &
stress_pid=$!
ctest_pid=
# Every kill may find its process gone already: under `set -e` a failed kill would end
# this function before stress-ng is stopped, and leave it loading the machine.
stop_stress() {
  if [[ -n $ctest_pid ]]; then kill "$ctest_pid" 2>/dev/null || true; fi
  kill "$stress_pid" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT TERM

failures=0
for ((round = 1; round <= rounds; round++)); do
  started=$SECONDS
  # In the background, so that an interrupt reaches the trap at once.
  (cd "$build" && exec ctest -L corpus -j "$(( $(nproc) * 3 ))" --output-on-failure >"ctest-load-$round.log" 2>&1) &
  ctest_pid=$!
  if wait "$ctest_pid"; then
    echo "round $round: every verdict as expected ($((SECONDS - started)) s)"
  else
    failures=$((failures + 1))
    echo "round $round: CHANGED VERDICTS ($((SECONDS - started)) s):"
    grep -E '^XX|Failed|\*\*\*' "$build/ctest-load-$round.log" | head -20
  fi
done
echo "under load: $rounds rounds, $failures with changed verdicts"
((failures == 0))
