#!/usr/bin/env bash
# How fast and how small is one `labcheck check` of a correct lab-05 server?
# Runs it RUNS times and prints the median and worst wall time and peak RSS.
# usage: harness/bench/check_speed.sh [BUILD_DIR] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
runs=${2:-15}
labcheck=$build/harness/labcheck
# The reference solution once it exists; until then a correct corpus server.
server=$build/solutions/05-robust-server/server
[[ -x $server ]] || server=$build/harness/corpus/sigaction-waitpid
if [[ ! -x $labcheck || ! -x $server ]]; then
  echo "check_speed: build first (make), then run again" >&2
  exit 2
fi
if [[ ! -x /usr/bin/time ]]; then
  echo "check_speed: needs GNU time (/usr/bin/time): apt-get install time" >&2
  exit 2
fi

results=$(mktemp)
trap 'rm -f "$results"' EXIT
for ((i = 0; i < runs; i++)); do
  if ! /usr/bin/time -f '%e %M' -a -o "$results" "$labcheck" check 05 --server "$server" --format json >/dev/null; then
    echo "check_speed: a run did not pass every check; fix that before timing it" >&2
    exit 1
  fi
done
sort -n "$results" | awk -v runs="$runs" -v server="$server" '
  { wall[NR] = $1; if ($2 > rss) rss = $2; if ($1 > worst) worst = $1 }
  END {
    printf "labcheck check 05 of %s, %d runs\n", server, runs
    printf "wall time: median %.2f s, worst %.2f s (target: under 2 s)\n", wall[int((NR + 1) / 2)], worst
    printf "peak RSS of labcheck: %.1f MB (target: under 20 MB)\n", rss / 1024
  }'
