#!/usr/bin/env bash
# Lab 02, Step 4: what does one system call per byte cost?
#
# Starts two swapcase servers, each on a free loopback port: yours
# (build/labs/02-swapcase/server, or the SERVER you name), which reads a whole buffer
# per read(), and the kit's build/harness/corpus/one-byte-at-a-time, which makes one
# read() and one write() per byte, as the article's loop does. Pushes random bytes
# through each with nc, checks every byte of each reply, and prints both throughputs
# and their ratio. With strace installed it also counts the read() and write() calls
# each server makes for the same small amount of data.
#
# usage, from the kit's folder after make:
#   bash labs/02-swapcase/measure.sh [SERVER]
# environment:
#   MEASURE_MIB=16         MiB pushed through SERVER (the buffered one)
#   MEASURE_SLOW_MIB=1     MiB pushed through the one-byte-at-a-time server
#   MEASURE_STRACE_KIB=16  KiB for the system-call count; 0 skips it
#   BUILD=build            the build folder, as in make BUILD=...
# exit status: 0 measured; 1 a reply was short or wrong, or a server did not listen;
# 2 a binary, a tool or a setting is missing or wrong.
set -euo pipefail

kit=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${BUILD:-build}
[[ $build == /* ]] || build=$kit/$build

die() {  # die STATUS MESSAGE: one line on stderr, then exit
    echo "measure: $2" >&2
    exit "$1"
}

whole_number() {  # whole_number NAME VALUE MIN: prints VALUE in base 10, or dies
    if [[ ! $2 =~ ^[0-9]{1,5}$ ]] || ((10#$2 < $3)); then
        die 2 "$1=$2: want a whole number from $3 to 99999"
    fi
    echo $((10#$2))
}
fast_mib=$(whole_number MEASURE_MIB "${MEASURE_MIB:-16}" 1)
slow_mib=$(whole_number MEASURE_SLOW_MIB "${MEASURE_SLOW_MIB:-1}" 1)
strace_kib=$(whole_number MEASURE_STRACE_KIB "${MEASURE_STRACE_KIB:-16}" 0)

if (($# > 1)); then die 2 "usage: bash labs/02-swapcase/measure.sh [SERVER]"; fi
if (($# == 1)); then
    fast_bin=$1
    [[ -x $fast_bin ]] || die 2 "$fast_bin: no such executable (build it first)"
    [[ $fast_bin == */* ]] || fast_bin=./$fast_bin
else
    fast_bin=$build/labs/02-swapcase/server
    [[ -x $fast_bin ]] || die 2 "${fast_bin#"$kit"/} is missing: run make first"
fi
slow_bin=$build/harness/corpus/one-byte-at-a-time
[[ -x $slow_bin ]] || die 2 "${slow_bin#"$kit"/} is missing: run make first"

for tool in nc ss head tr cmp date; do
    command -v "$tool" >/dev/null || die 2 "$tool is missing: run make first (it installs what the kit needs)"
done
nc -h 2>&1 | grep -q -- '-N' || die 2 "this nc has no -N option: install netcat-openbsd (make does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/measure.XXXXXX")
started=()   # the processes this script started and has not waited for yet
listener=""  # the process listening for the server started last (under strace: its child)
cleanup() {
    local pid
    [[ -z $listener ]] || kill -TERM "$listener" 2>/dev/null || true
    for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${started[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
# reap PID: waits for a process this script started, and forgets it, so that cleanup
# never signals a pid the system may have given to another process since.
reap() {
    local keep=() other
    wait "$1" 2>/dev/null || true
    for other in "${started[@]}"; do [[ $other == "$1" ]] || keep+=("$other"); done
    started=("${keep[@]}")
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ns() { date +%s%N; }

# listener_of PORT: the pids of the processes listening on PORT, one per line.
listener_of() {
    ss -Hltnp "sport = :$1" | grep -o 'pid=[0-9]*' | cut -d= -f2 || true
}

# wait_listening PID PORT: polls until PID, or a child of PID (a server run under strace),
# listens on PORT; sets listener. Returns 1 if PID has exited, 2 after 5 s.
wait_listening() {
    local pid=$1 port=$2 deadline candidate
    deadline=$(($(now_ns) + 5000000000))
    for (( ; ; )); do
        for candidate in $(listener_of "$port"); do
            if [[ $candidate == "$pid" || $(ps -o ppid= -p "$candidate" | tr -d ' ') == "$pid" ]]; then
                listener=$candidate
                return 0
            fi
        done
        kill -0 "$pid" 2>/dev/null || return 1
        (($(now_ns) < deadline)) || return 2
        sleep 0.02
    done
}

# start NAME COMMAND...: runs COMMAND PORT on the first port of a range that it manages
# to listen on. Sets port, pid (what was started) and listener (what listens).
start() {
    local name=$1 tries
    shift
    port=$((20000 + RANDOM % 12000))  # below the ephemeral ports (32768 up)
    for ((tries = 1; tries <= 10; tries++, port++)); do
        [[ -z $(listener_of "$port") ]] || continue  # taken: try the next one
        "$@" "$port" >"$work/$name.log" 2>&1 &
        pid=$!
        started+=("$pid")
        local status=0
        wait_listening "$pid" "$port" || status=$?
        ((status != 0)) || return 0
        if ((status == 2)); then
            echo "measure: $name was started on port $port but did not listen on it within 5 s; its log:" >&2
            tail -n 5 "$work/$name.log" | sed 's/^/  /' >&2
            exit 1
        fi
        # It exited: most likely another program took the port first. Try the next one.
        reap "$pid"
    done
    echo "measure: $name exited before listening, on 10 ports in a row; its log:" >&2
    tail -n 5 "$work/$name.log" | sed 's/^/  /' >&2
    exit 1
}

# stop: ends the server start() last started, and waits for what was started.
stop() {
    kill -TERM "$listener" 2>/dev/null || true
    listener=""
    reap "$pid"
}

# push NAME BYTES: sends the first BYTES of the random input through the server on
# $port with nc, half-closes, reads the reply to its end and checks every byte of it
# against what swapcase must give. Sets elapsed_ns.
push() {
    local name=$1 bytes=$2 t0 t1 got
    head -c "$bytes" "$work/input" >"$work/in"
    LC_ALL=C tr 'A-Za-z' 'a-zA-Z' <"$work/in" >"$work/expected"  # the protocol, done by tr
    t0=$(now_ns)
    # -N: half-close after the input (the server sees EOF); -w 10: give up after 10 s
    # without traffic. head keeps at most one byte too many from a server that never stops.
    nc -N -w 10 127.0.0.1 "$port" <"$work/in" 2>"$work/nc.err" | head -c $((bytes + 1)) >"$work/out" || true
    t1=$(now_ns)
    elapsed_ns=$((t1 - t0))
    got=$(wc -c <"$work/out")
    if ((got > bytes)); then
        die 1 "$name: sent $bytes bytes and half-closed, and the server kept sending past $bytes (does its loop stop when read() returns 0?)"
    elif ((got < bytes)); then
        die 1 "$name: short reply: $got of $bytes bytes came back before the server closed or 10 s passed without traffic$(sed 's/^/; nc: /' "$work/nc.err" | head -n 1)"
    fi
    local first
    first=$(cmp -l "$work/expected" "$work/out" 2>/dev/null | head -n 1 || true)
    if [[ -n $first ]]; then
        local at want have
        read -r at want have <<<"$first"
        die 1 "$name: wrong reply: byte $at should be $(printf '0x%02x' "0$want") and is $(printf '0x%02x' "0$have") (the input byte was $(od -An -tx1 -j $((at - 1)) -N 1 "$work/in" | tr -d ' ' | sed 's/^/0x/'))"
    fi
}

mb_per_s() { awk -v b="$1" -v ns="$2" 'BEGIN { printf "%.2f", b * 1000 / ns }'; }

show() {  # show NAME COMMAND: what each name stands for, relative to the kit when inside it
    printf '  %-15s %s\n' "$1:" "${2#"$kit"/}"
}

mib=1048576
fast_bytes=$((fast_mib * mib))
slow_bytes=$((slow_mib * mib))
input_bytes=$((fast_bytes > slow_bytes ? fast_bytes : slow_bytes))
head -c "$input_bytes" /dev/urandom >"$work/input"

echo "Two swapcase servers on 127.0.0.1, one client each (nc), random bytes, every byte of the reply checked:"
show buffered "$fast_bin"
show byte-at-a-time "$slow_bin"
echo "(sizes: $fast_mib MiB through the buffered one, $slow_mib MiB through the other; set MEASURE_MIB and MEASURE_SLOW_MIB to change them)"
echo

start buffered "$fast_bin"
push buffered "$fast_bytes"
fast_ns=$elapsed_ns
stop
fast_rate=$(mb_per_s "$fast_bytes" "$fast_ns")
printf '%-15s %4d MiB in %8.3f s: %10s MB/s\n' buffered "$fast_mib" "$(awk -v ns="$fast_ns" 'BEGIN { print ns / 1e9 }')" "$fast_rate"

start byte-at-a-time "$slow_bin"
push byte-at-a-time "$slow_bytes"
slow_ns=$elapsed_ns
stop
slow_rate=$(mb_per_s "$slow_bytes" "$slow_ns")
printf '%-15s %4d MiB in %8.3f s: %10s MB/s\n' byte-at-a-time "$slow_mib" "$(awk -v ns="$slow_ns" 'BEGIN { print ns / 1e9 }')" "$slow_rate"

echo
awk -v fb="$fast_bytes" -v fns="$fast_ns" -v sb="$slow_bytes" -v sns="$slow_ns" 'BEGIN {
    printf "the buffered server moved data %.0fx faster\n", (fb / fns) / (sb / sns)
}'

((strace_kib > 0)) || exit 0
if ! command -v strace >/dev/null; then
    echo "(install strace to also count the system calls each server makes)"
    exit 0
fi
if ! strace -f -qq -o /dev/null true 2>/dev/null; then
    echo "(strace cannot trace here: $(strace -o /dev/null true 2>&1 | head -n 1))"
    exit 0
fi

# The same data through both servers again, each run under strace -c, which counts the
# calls of each kind (and slows them down: this run is not timed).
strace_bytes=$((strace_kib * 1024))
echo
echo "system calls to move $strace_kib KiB (strace -f -c, not timed):"
calls="read,write,readv,writev,recvfrom,sendto,recvmsg,sendmsg"
for name in buffered byte-at-a-time; do
    bin=$fast_bin
    [[ $name == buffered ]] || bin=$slow_bin
    start "$name-under-strace" strace -f -c -o "$work/$name.strace" -e trace="$calls" "$bin"
    push "$name" "$strace_bytes"
    stop
    # A row of strace -c: % time, seconds, usecs/call, calls, [errors,] syscall.
    printf '  %-15s %s\n' "$name:" "$(awk -v order="${calls//,/ }" '
        $NF ~ /^[a-z]+$/ && $4 ~ /^[0-9]+$/ { count[$NF] = $4 }
        END {
            n = split(order, names, " ")
            for (i = 1; i <= n; i++)
                if (names[i] in count) out = out (out == "" ? "" : ", ") names[i] "() " count[names[i]]
            print (out == "" ? "none counted" : out)
        }' "$work/$name.strace")"
done
