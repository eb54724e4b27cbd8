#!/bin/bash
# Slowdown of a system-call-heavy loop under mosrun at home, against the same loop without it.
# Runs alternate (native, mosrun, native, ...) so machine noise hits both; prints the medians
# and their ratio.   bazel run //bench:home_overhead [-- ROUNDS]
set -euo pipefail
R="${RUNFILES_DIR:-$0.runfiles}/mosix"
rounds=${1:-9}
T=$(mktemp -d /tmp/mosix-bench.XXXXXX)
export MOSIX_SOCKET="$T/sock" MOSIX_STATE_DIR="$T/state" MOSIX_SHIM="$R/interceptor/libmosix.so"
"$R/agent/mosixd" 2>"$T/log" &
agent=$!
trap 'kill $agent 2>/dev/null; wait $agent 2>/dev/null; rm -rf "$T"' EXIT
for i in $(seq 1 100); do "$R/cli/mosctl" status >/dev/null 2>&1 && break; sleep 0.05; done
native=(); under=()
for i in $(seq 1 "$rounds"); do
  native+=("$("$R/bench/syscall_loop")")
  under+=("$("$R/cli/mosrun" "$R/bench/syscall_loop")")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
n=$(median "${native[@]}"); m=$(median "${under[@]}")
echo "ns per round (getppid + write + close), median of $rounds: native $n, under mosrun $m"
awk -v n="$n" -v m="$m" 'BEGIN {printf "slowdown under mosrun at home: %+.2f%%\n", (m / n - 1) * 100}'
