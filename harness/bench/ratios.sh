#!/usr/bin/env bash
# The kit's performance targets, measured side by side on this machine, as ratios.
#
# Starts every server itself through `labcheck bench` (a lab's solution, --server, or
# -- CMD {port} for socat), runs the loads of each comparison in turns (A B A B ...:
# a machine that gets busier or quieter during the run affects both sides alike),
# takes the median of each side, and prints every figure, its ratio and PASS/FAIL:
#   1. lab 05's fork server: >= 2x the connections/s of socat's fork server
#      (socat TCP-LISTEN:{port},fork,reuseaddr PIPE, plain echo), 8 clients;
#   2. lab 05's fork server streams >= 0.9x the MB/s of the kit's fastest server
#      (lab 10's epoll solution), one connection;
#   3. 1000 connections held open at once against lab 05's fork server: all served
#      within 1 s;
#   4. the same against a server that listens with a backlog of 5, as the article's
#      listen(fd, 5) (lab 06's solution, its second argument): it cannot; PASS means it
#      missed the 1 s, as it must;
#   5. lab 08's poll server: >= 2x the connections/s of the fork server, 8 clients;
#   6. lab 07's thread server: >= 1.5x the connections/s of the fork server, 8 clients;
#   7. the byte-at-a-time server (one read() and one write() per byte): its MB/s as a
#      fraction of lab 05's, which reads 64 KiB at a time; target: >= 100x slower
#      (expect about 1000x).
#
# usage: harness/bench/ratios.sh [BUILD]
# environment:
#   RATIOS_SECONDS=3    length of each conn-mode run
#   RATIOS_ROUNDS=3     runs of each side (the median counts)
#   RATIOS_CLIENTS=8    clients of the conn-mode comparisons
#   RATIOS_MIB=64       MiB of the stream comparisons (the byte-at-a-time server: 1)
#   RATIOS_HOLD=1000    connections of the hold targets
#   RATIOS_ONLY="1 2 3 4 5 6 7"   which targets
# exit status: 0 every target met; 1 a target missed (or a run failed); 2 something
# to run is missing or a setting is wrong.
set -euo pipefail

kit=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${BUILD:-build}}
[[ $build == /* ]] || build=$kit/$build
labcheck=$build/harness/labcheck
seconds=${RATIOS_SECONDS:-3}
rounds=${RATIOS_ROUNDS:-3}
clients=${RATIOS_CLIENTS:-8}
mib=${RATIOS_MIB:-64}
hold=${RATIOS_HOLD:-1000}
read -r -a only <<<"${RATIOS_ONLY:-1 2 3 4 5 6 7}"

die() {
    echo "ratios: $2" >&2
    exit "$1"
}
[[ -x $labcheck ]] || die 2 "${labcheck#"$kit"/} is missing: run make first"
[[ $seconds =~ ^[0-9]*\.?[0-9]+$ ]] || die 2 "RATIOS_SECONDS=$seconds: want a number of seconds"
for setting in "RATIOS_ROUNDS=$rounds" "RATIOS_CLIENTS=$clients" "RATIOS_MIB=$mib" "RATIOS_HOLD=$hold"; do
    [[ ${setting#*=} =~ ^[1-9][0-9]{0,5}$ ]] || die 2 "$setting: want a whole number from 1 up"
done

work=$(mktemp -d "${TMPDIR:-/tmp}/ratios.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

json_number() {  # the first "FIELD": number of a labcheck bench JSON report
    awk -v field="\"$1\":" '
        index($0, field) { sub(/.*":[ \t]*/, ""); sub(/[,}].*/, ""); print; found = 1; exit }
        END { if (!found) print "" }' "$2"
}

solution() {  # solution NN: the built solution of lab NN, or nothing
    compgen -G "$build/solutions/$1-*/server" | head -n 1 || true
}

missed=0
result() {  # result NUMBER PASS|FAIL|SKIP TEXT
    printf '%-4s target %s: %s\n' "$2" "$1" "$3"
    [[ $2 != FAIL ]] || missed=$((missed + 1))
}

# bench NAME FIELD SIDE LOAD...: one labcheck bench run of the server SIDE names (words:
# "05 --solution", or "-- socat ..." which must come last); prints FIELD of its report.
# A run with failed connections, or that could not start, is reported and prints nothing.
bench() {
    local name=$1 field=$2 side=$3 json status=0
    shift 3
    json=$(mktemp "$work/run.XXXXXX")
    # shellcheck disable=SC2086  # SIDE is several words on purpose
    "$labcheck" bench "$@" --format json $side >"$json" 2>"$json.err" || status=$?
    local errors
    errors=$(json_number errors "$json")
    if ((status == 2)) || [[ -z $errors ]]; then
        echo "ratios: $name could not be measured: $(head -n 1 "$json.err")" >&2
        return
    fi
    if ((errors > 0)); then
        local sample
        sample=$(awk '/"error_samples"/ { getline; gsub(/^[ \t]*"|",?[ \t]*$/, ""); print; exit }' "$json")
        echo "ratios: $name: $errors connection(s) failed in this run ($sample); it does not count" >&2
        return
    fi
    json_number "$field" "$json"
}

median() {  # median VALUES...: of the non-empty ones; nothing when there are none
    printf '%s\n' "$@" | awk 'NF' | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

fmt() { awk -v v="$1" 'BEGIN { printf (v >= 100 ? "%.0f" : v >= 1 ? "%.1f" : "%.3f"), v }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
at_least() { awk -v r="$1" -v t="$2" 'BEGIN { exit !(r >= t) }'; }

# side_by_side LABEL_A LABEL_B FIELD "ARGS A" "ARGS B" LOAD...: RATIOS_ROUNDS runs of each,
# in turns; sets a_median and b_median.
side_by_side() {
    local label_a=$1 label_b=$2 field=$3 args_a=$4 args_b=$5
    shift 5
    local as=() bs=() round
    for ((round = 1; round <= rounds; round++)); do
        as+=("$(bench "$label_a" "$field" "$args_a" "$@")")
        bs+=("$(bench "$label_b" "$field" "$args_b" "$@")")
    done
    a_median=$(median "${as[@]}")
    b_median=$(median "${bs[@]}")
    echo "  $label_a: $(printf '%s ' "${as[@]}")-> median ${a_median:-none}" >&2
    echo "  $label_b: $(printf '%s ' "${bs[@]}")-> median ${b_median:-none}" >&2
}

# compare NUMBER WHAT LABEL_A LABEL_B TARGET UNIT: the verdict of a_median / b_median >= TARGET.
compare() {
    local number=$1 what=$2 label_a=$3 label_b=$4 target=$5 unit=$6
    if [[ -z ${a_median:-} || -z ${b_median:-} ]]; then
        result "$number" FAIL "$what: no valid run of $([[ -z ${a_median:-} ]] && echo "$label_a" || echo "$label_b")"
        return
    fi
    local r
    r=$(ratio "$a_median" "$b_median")
    local verdict=FAIL
    at_least "$r" "$target" && verdict=PASS
    result "$number" "$verdict" "$what: $label_a $(fmt "$a_median") $unit / $label_b $(fmt "$b_median") $unit = ${r}x (target >= ${target}x)"
}

wants() { [[ " ${only[*]} " == *" $1 "* ]]; }
fork=$(solution 05)
[[ -n $fork ]] || die 2 "lab 05's solution is not built: run make first"
echo "ratios: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null), $(nproc) cores;" \
    "$rounds runs a side, medians; conn runs of $seconds s at $clients clients" >&2

conn=(--mode conn --clients "$clients" --seconds "$seconds")

if wants 1; then
    if command -v socat >/dev/null; then
        echo "target 1: fork server against socat's, conn/s:" >&2
        side_by_side "lab-05 fork" "socat fork" conn_per_s "05 --solution" \
            "--protocol plain -- socat TCP-LISTEN:{port},fork,reuseaddr PIPE" "${conn[@]}"
        compare 1 "conn/s at $clients clients" "lab-05 fork" "socat fork" 2.0 conn/s
    else
        result 1 FAIL "socat is missing: run scripts/install-deps.sh"
    fi
fi

if wants 2; then
    if [[ -n $(solution 10) ]]; then
        echo "target 2: fork server's stream against the fastest server's:" >&2
        side_by_side "lab-05 fork" "lab-10 epoll" mb_per_s "05 --solution" "10 --solution" \
            --mode stream --connections 1 --mib "$mib"
        compare 2 "stream MB/s, 1 connection, $mib MiB" "lab-05 fork" "lab-10 epoll" 0.9 MB/s
    else
        result 2 SKIP "lab 10's solution is not built"
    fi
fi

# hold_target NUMBER LABEL EXPECT SIDE: EXPECT "within" (all served in 1 s) or "beyond"
# (a small backlog cannot). One run: the hold mode's figure is a deadline.
hold_target() {
    local number=$1 label=$2 expect=$3 side=$4 json status=0
    json=$(mktemp "$work/run.XXXXXX")
    # shellcheck disable=SC2086  # SIDE is several words on purpose
    "$labcheck" bench --mode hold --hold "$hold" --timeout 3 --format json $side >"$json" \
        2>"$json.err" || status=$?
    local served all_ms
    served=$(json_number served "$json")
    all_ms=$(json_number all_served_ms "$json")
    if ((status == 2)) || [[ -z $served ]]; then
        result "$number" FAIL "$label: could not be measured: $(head -n 1 "$json.err")"
        return
    fi
    local in_time=no
    ((served == hold)) && awk -v t="$all_ms" 'BEGIN { exit !(t <= 1000) }' && in_time=yes
    local figure verdict=FAIL
    figure="$served of $hold served, the last after $(fmt "$all_ms") ms"
    if [[ $expect == within ]]; then
        [[ $in_time == no ]] || verdict=PASS
        result "$number" "$verdict" "$label: $figure (target: all within 1000 ms)"
    else
        [[ $in_time == yes ]] || verdict=PASS
        result "$number" "$verdict" "$label: $figure (expected: a backlog of 5 misses 1000 ms)"
    fi
}

if wants 3; then
    hold_target 3 "$hold connections held, lab-05 fork" within "05 --solution"
fi
if wants 4; then
    small=$(solution 06)
    if [[ -n $small ]]; then
        hold_target 4 "$hold connections held, listen(fd, 5) (lab-06 solution, backlog 5)" beyond \
            "-- $small {port} 5"
    else
        result 4 SKIP "lab 06's solution (a server whose backlog is its second argument) is not built"
    fi
fi

for spec in "5 08 poll 2.0" "6 07 threads 1.5"; do
    read -r number lab name target <<<"$spec"
    wants "$number" || continue
    if [[ -z $(solution "$lab") ]]; then
        result "$number" SKIP "lab $lab's solution is not built"
        continue
    fi
    echo "target $number: $name server against the fork server, conn/s:" >&2
    side_by_side "lab-$lab $name" "lab-05 fork" conn_per_s "$lab --solution" "05 --solution" "${conn[@]}"
    compare "$number" "conn/s at $clients clients" "lab-$lab $name" "lab-05 fork" "$target" conn/s
done

if wants 7; then
    slow=$build/harness/corpus/one-byte-at-a-time
    if [[ -x $slow ]]; then
        echo "target 7: the buffered fork server against the byte-at-a-time one, stream:" >&2
        side_by_side "lab-05 fork" "byte-at-a-time" mb_per_s "05 --solution --mib $mib" \
            "--server $slow --protocol swapcase --mib 1" --mode stream --connections 1
        compare 7 "stream MB/s, 1 connection" "lab-05 fork" "byte-at-a-time" 100 MB/s
    else
        result 7 SKIP "the corpus's one-byte-at-a-time server is not built"
    fi
fi

if ((missed > 0)); then
    echo "ratios: $missed target(s) missed"
    exit 1
fi
echo "ratios: every target met"
