#!/usr/bin/env bash
# Lab 10: every server design of the kit, measured side by side on this machine.
#
# Runs `labcheck bench` against the reference solution of each design (01 iterative,
# 05 fork per client, 07 threads, 08 poll, 09 prefork, 10 epoll), the corpus's
# byte-at-a-time server (the article's loop, corrected), and your own lab 10 server
# if it is built, at 1, 8 and 64 clients:
#   conn mode:   each client loops connect, 64-byte round trip, close: connections/s
#                and the round trip's latency (p50, p99);
#   stream mode: that many connections each send COMPARE_MIB MiB and read the echo:
#                MB/s of verified echo.
# Writes a markdown table, a CSV, gnuplot data and an SVG plot (compare.gp), and prints
# the table. The load generator runs on the same cores as the servers: see the lab text.
#
# usage: harness/bench/compare.sh [BUILD]        (make compare builds first, then runs it)
# environment:
#   COMPARE_OUT=BUILD/compare   where everything goes
#   COMPARE_CLIENTS="1 8 64"    client counts (conn: clients; stream: connections)
#   COMPARE_SECONDS=2           length of each conn-mode run
#   COMPARE_MIB=32              MiB each stream connection sends
#   COMPARE_SLOW_MIB=1          the same, for the byte-at-a-time server
#   COMPARE_SLOW_MAX=1          most stream connections for the byte-at-a-time server
#   COMPARE_SERVERS="01 05 07 08 09 10 byte yours"   the rows, in order
#   COMPARE_GNUPLOT=gnuplot     the gnuplot to draw with
# exit status: 0 all measured and plotted; 1 a run reported errors (the table marks it);
# 2 something to run is missing (gnuplot, labcheck, a server) or a setting is wrong.
set -euo pipefail

kit=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-${BUILD:-build}}
[[ $build == /* ]] || build=$kit/$build
labcheck=$build/harness/labcheck
out=${COMPARE_OUT:-$build/compare}
[[ $out == /* ]] || out=$kit/$out
read -r -a clients <<<"${COMPARE_CLIENTS:-1 8 64}"
seconds=${COMPARE_SECONDS:-2}
mib=${COMPARE_MIB:-32}
slow_mib=${COMPARE_SLOW_MIB:-1}
slow_max=${COMPARE_SLOW_MAX:-1}
read -r -a wanted <<<"${COMPARE_SERVERS:-01 05 07 08 09 10 byte yours}"

die() {  # die STATUS MESSAGE: one line on stderr, then exit
    echo "compare: $2" >&2
    exit "$1"
}

gnuplot=${COMPARE_GNUPLOT:-gnuplot}
command -v "$gnuplot" >/dev/null ||
    die 2 "gnuplot is missing, and the plot needs it: run scripts/install-deps.sh (or apt-get install gnuplot-nox)"
[[ -x $labcheck ]] || die 2 "${labcheck#"$kit"/} is missing: run make compare (it builds first)"
for n in "${clients[@]}"; do
    [[ $n =~ ^[1-9][0-9]{0,4}$ ]] || die 2 "COMPARE_CLIENTS: '$n' is not a whole number from 1 to 99999"
done
[[ $seconds =~ ^[0-9]*\.?[0-9]+$ ]] || die 2 "COMPARE_SECONDS=$seconds: want a number of seconds, e.g. 2 or 0.5"
for setting in "COMPARE_MIB=$mib" "COMPARE_SLOW_MIB=$slow_mib" "COMPARE_SLOW_MAX=$slow_max"; do
    [[ ${setting#*=} =~ ^[1-9][0-9]{0,4}$ ]] || die 2 "$setting: want a whole number from 1 to 99999"
done

# The rows: key, label, what labcheck bench is told. A solution that is not built (a lab
# not in this kit yet) is left out, with a note.
declare -A label target
label[01]="01 iterative" target[01]="01 --solution"
label[05]="05 fork" target[05]="05 --solution"
label[07]="07 threads" target[07]="07 --solution"
label[08]="08 poll" target[08]="08 --solution"
label[09]="09 prefork" target[09]="09 --solution"
label[10]="10 epoll" target[10]="10 --solution"
label[byte]="byte-at-a-time" target[byte]="--server $build/harness/corpus/one-byte-at-a-time --protocol swapcase"
label[yours]="10 yours" target[yours]="10"

binary_of() {  # binary_of KEY: the executable a row runs
    case $1 in
        byte) echo "$build/harness/corpus/one-byte-at-a-time" ;;
        yours) compgen -G "$build/labs/10-*/server" | head -n 1 || true ;;
        *) compgen -G "$build/solutions/$1-*/server" | head -n 1 || true ;;
    esac
}

rows=() notes=()
for key in "${wanted[@]}"; do
    [[ -n ${label[$key]:-} ]] || die 2 "COMPARE_SERVERS: unknown row '$key' (known: 01 05 07 08 09 10 byte yours)"
    binary=$(binary_of "$key")
    if [[ -n $binary && -x $binary ]]; then
        rows+=("$key")
    elif [[ $key != yours ]]; then
        notes+=("${label[$key]}: not measured, its server is not built (${binary:-no such lab here})")
    fi
done
((${#rows[@]} > 0)) || die 2 "no server to measure: run make compare (it builds them first)"

mkdir -p "$out/json"
trap 'exit 130' INT
trap 'exit 143' TERM

# The first number after "FIELD": in a JSON file (labcheck bench prints one field a line;
# latency's p50/p99 come before the optional "ceiling" object, so the first is ours).
json_number() {
    awk -v field="\"$1\":" '
        index($0, field) { sub(/.*":[ \t]*/, ""); sub(/[,}].*/, ""); print; found = 1; exit }
        END { if (!found) print "" }' "$2"
}
json_first_error() {
    awk '/"error_samples"/ { getline; gsub(/^[ \t]*"|",?[ \t]*$/, ""); if ($0 !~ /^\]/) print; exit }' "$1"
}

csv=$out/compare.csv
echo "server,mode,clients,conn_per_s,p50_us,p99_us,mb_per_s,errors,status" >"$csv"
failed_runs=0
declare -A cell_conn cell_latency cell_stream unstartable

# measure KEY MODE N: one labcheck bench run; fills the cells and a CSV line.
measure() {
    local key=$1 mode=$2 n=$3 json status=0 load
    if [[ -n ${unstartable[$key]:-} ]]; then
        if [[ $mode == conn ]]; then cell_conn[$key,$n]="—" cell_latency[$key,$n]="—"; else cell_stream[$key,$n]="—"; fi
        return
    fi
    json=$out/json/$key-$mode-$n.json
    if [[ $mode == conn ]]; then
        load=(--mode conn --clients "$n" --seconds "$seconds")
    else
        local each=$mib
        [[ $key != byte ]] || each=$slow_mib
        load=(--mode stream --connections "$n" --mib "$each")
    fi
    # shellcheck disable=SC2086  # target holds several words on purpose
    "$labcheck" bench ${target[$key]} "${load[@]}" --format json >"$json" 2>"$json.err" || status=$?
    local conn p50 p99 mbs errors
    conn=$(json_number conn_per_s "$json")
    p50=$(json_number p50 "$json")
    p99=$(json_number p99 "$json")
    mbs=$(json_number mb_per_s "$json")
    errors=$(json_number errors "$json")
    if ((status == 2)) || [[ -z $conn ]]; then
        local why
        why=$(head -n 1 "$json.err")
        if [[ $key == yours ]]; then
            # Your server is still the starter, or does not listen yet: one note, no more runs.
            unstartable[$key]=1
            notes+=("${label[$key]}: not measured: your lab 10 server did not start listening (make check LAB=10 says why)")
        else
            notes+=("${label[$key]}, $mode mode, $n: not measured: ${why:-labcheck bench exited $status}")
        fi
        if [[ $mode == conn ]]; then
            cell_conn[$key,$n]="—" cell_latency[$key,$n]="—"
        else
            cell_stream[$key,$n]="—"
        fi
        echo "${label[$key]},$mode,$n,,,,,,not measured" >>"$csv"
        printf 'compare: %-15s %-6s %3s: not measured\n' "${label[$key]}" "$mode" "$n" >&2
        return
    fi
    local mark=""
    if ((errors > 0)); then
        mark="*"
        failed_runs=$((failed_runs + 1))
        notes+=("* ${label[$key]}, $mode mode, $n: $errors connection(s) failed, e.g. $(json_first_error "$json")")
    fi
    echo "${label[$key]},$mode,$n,$conn,$p50,$p99,$mbs,$errors,measured" >>"$csv"
    if [[ $mode == conn ]]; then
        cell_conn[$key,$n]=$(awk -v v="$conn" -v m="$mark" 'BEGIN { printf "%.0f%s", v, m }')
        cell_latency[$key,$n]=$(awk -v a="$p50" -v b="$p99" -v m="$mark" 'BEGIN { printf "%.0f / %.0f%s", a, b, m }')
        printf 'compare: %-15s conn   %3s: %s conn/s, p50/p99 %s µs\n' "${label[$key]}" "$n" \
            "${cell_conn[$key,$n]}" "${cell_latency[$key,$n]}" >&2
    else
        cell_stream[$key,$n]=$(awk -v v="$mbs" -v m="$mark" 'BEGIN { printf (v < 10 ? "%.2f%s" : "%.0f%s"), v, m }')
        printf 'compare: %-15s stream %3s: %s MB/s\n' "${label[$key]}" "$n" "${cell_stream[$key,$n]}" >&2
    fi
}

for key in "${rows[@]}"; do
    for n in "${clients[@]}"; do measure "$key" conn "$n"; done
    for n in "${clients[@]}"; do
        if [[ $key == byte ]] && ((n > slow_max)); then
            cell_stream[$key,$n]="(slow)"
            continue
        fi
        measure "$key" stream "$n"
    done
done

# A row that never started (your server, still the starter) has nothing to show.
measured=()
for key in "${rows[@]}"; do [[ -n ${unstartable[$key]:-} ]] || measured+=("$key"); done
rows=("${measured[@]}")

# ------------------------------------------------------------------ the table
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
machine="${cpu:-unknown CPU}, $(nproc) cores, Linux $(uname -r), $(date '+%Y-%m-%d %H:%M')"
header() {  # header WHAT: a table's first two lines
    local line="| server \\ $1 |" rule="| --- |"
    for n in "${clients[@]}"; do
        line+=" $n |"
        rule+=" ---: |"
    done
    printf '%s\n%s\n' "$line" "$rule"
}
table() {  # table ARRAY WHAT
    local -n cells=$1
    header "$2"
    for key in "${rows[@]}"; do
        local line="| ${label[$key]} |"
        for n in "${clients[@]}"; do line+=" ${cells[$key,$n]:-—} |"; done
        echo "$line"
    done
}
{
    echo "# Server designs compared"
    echo
    echo "Measured on $machine. Each figure is one run of \`labcheck bench\` against a"
    echo "server it started; the load generator runs on the same cores."
    echo
    echo "## Connections per second (conn mode: connect, 64-byte round trip, close; ${seconds} s a run)"
    echo
    table cell_conn "clients"
    echo
    echo "## Round-trip latency, p50 / p99 (µs, conn mode)"
    echo
    table cell_latency "clients"
    echo
    echo "## Throughput (stream mode: each connection sends $mib MiB and reads the echo; MB/s)"
    echo
    table cell_stream "connections"
    echo
    echo "The byte-at-a-time server sends $slow_mib MiB a connection, and is measured at up to $slow_max connection(s) at once: (slow) marks what would take minutes."
    for note in "${notes[@]}"; do echo "- $note"; done
} >"$out/compare.md"

# ------------------------------------------------------------------ the plot's data
# One file per panel: a column of client counts, then a column per server (two for
# latency: p50 and p99), "?" where nothing was measured.
plot_value() {  # plot_value KEY MODE N FIELD
    local json=$out/json/$1-$2-$3.json v=""
    [[ -s $json ]] && v=$(json_number "$4" "$json")
    echo "${v:-?}"
}
{
    printf 'clients'
    for key in "${rows[@]}"; do printf ' "%s"' "${label[$key]}"; done
    echo
    for n in "${clients[@]}"; do
        printf '%s' "$n"
        for key in "${rows[@]}"; do printf ' %s' "$(plot_value "$key" conn "$n" conn_per_s)"; done
        echo
    done
} >"$out/conn.dat"
{
    printf 'clients'
    for key in "${rows[@]}"; do printf ' "%s p50" "%s p99"' "${label[$key]}" "${label[$key]}"; done
    echo
    for n in "${clients[@]}"; do
        printf '%s' "$n"
        for key in "${rows[@]}"; do
            printf ' %s %s' "$(plot_value "$key" conn "$n" p50)" "$(plot_value "$key" conn "$n" p99)"
        done
        echo
    done
} >"$out/latency.dat"
{
    printf 'connections'
    for key in "${rows[@]}"; do printf ' "%s"' "${label[$key]}"; done
    echo
    for n in "${clients[@]}"; do
        printf '%s' "$n"
        for key in "${rows[@]}"; do printf ' %s' "$(plot_value "$key" stream "$n" mb_per_s)"; done
        echo
    done
} >"$out/stream.dat"

first=${clients[0]} last=${clients[0]}
for n in "${clients[@]}"; do
    ((n > first)) || first=$n
    ((n < last)) || last=$n
done
"$gnuplot" -e "data_dir='$out'; out_file='$out/compare.svg'; servers=${#rows[@]}; first=$first; last=$last; machine='${machine//\'/}'" \
    "$kit/harness/bench/compare.gp" 2>"$out/gnuplot.log" ||
    die 2 "gnuplot could not draw the plot: $(head -n 1 "$out/gnuplot.log")"
[[ -s $out/compare.svg ]] || die 2 "gnuplot wrote no SVG (see $out/gnuplot.log)"

cat "$out/compare.md"
echo
echo "table: ${out#"$kit"/}/compare.md, data: ${out#"$kit"/}/compare.csv, plot: ${out#"$kit"/}/compare.svg"
if ((failed_runs > 0)); then
    echo "compare: $failed_runs run(s) had failed connections (marked *): the figures above them are not to be trusted" >&2
    exit 1
fi
