#!/usr/bin/env bash
# How long does `labcheck grade` take for a class? Makes N submissions of lab 04 (by
# default 100: 60 copies of the reference solution, 20 of a server that never reaps,
# 10 of an iterative one, 10 that do not compile), grades them with --jobs = cores,
# and prints the wall time, the time per submission, and where it went.
# usage: harness/bench/grade_class.sh [BUILD_DIR] [N]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
count=${2:-100}
labcheck=$build/harness/labcheck
[[ -x $labcheck ]] || { echo "grade_class: build first (make)" >&2; exit 2; }

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A corpus server as the one file a student hands in: its header pasted in.
single_file() {
  sed -e '/#include "corpus_server.hpp"/{r harness/corpus/corpus_server.hpp' -e 'd}' \
    "harness/corpus/$1.cpp" | grep -v '^#pragma once'
}
single_file no-reaping >"$scratch/no-reaping.cpp"
single_file no-fork >"$scratch/no-fork.cpp"
for ((i = 1; i <= count; i++)); do
  dir=$scratch/class/student-$(printf '%03d' "$i")
  mkdir -p "$dir"
  case $((i % 10)) in
    1 | 2) cp "$scratch/no-reaping.cpp" "$dir/server.cpp" ;;
    3) cp "$scratch/no-fork.cpp" "$dir/server.cpp" ;;
    4) echo 'int main() { return missing; }' >"$dir/server.cpp" ;;
    *) cp solutions/04-reaping-zombies/server.cpp "$dir/server.cpp" ;;
  esac
done

started=$(date +%s.%N)
"$labcheck" grade 04 "$scratch/class" --out "$scratch/out" >"$scratch/progress.log"
ended=$(date +%s.%N)
awk -v wall="$(echo "$ended - $started" | bc)" -v n="$count" -v cores="$(nproc)" '
  /\(compile / {
    compile += $(NF - 4); checks += $(NF - 1)
  }
  END {
    printf "graded %d submissions in %.1f s wall on %d cores: %.2f s per submission\n", n, wall, cores, wall / n
    printf "where it went (summed over submissions): compile %.1f s (%.2f s each), checks %.1f s (%.2f s each)\n", compile, compile / n, checks, checks / n
  }' "$scratch/progress.log"
grep -c ',graded,' "$scratch/out/grades.csv" | xargs printf 'graded by labcheck: %s; '
grep -c ',does not compile,' "$scratch/out/grades.csv" | xargs printf 'did not compile: %s\n'
