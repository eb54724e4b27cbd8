#!/bin/bash
# Slowdown of a system-call-heavy loop under mosrun at home, against the same loop without it.
# Runs alternate (native, mosrun, native, ...) so machine noise hits both; prints the medians
# and their ratio.   bazel run //bench:home_overhead [-- ROUNDS]
set -euo pipefail
rounds=${1:-9}
source "${RUNFILES_DIR:-$0.runfiles}/mosix/bench/lib.sh"
start_lone_agent
native=(); under=()
for i in $(seq 1 "$rounds"); do
  native+=("$("$R/bench/syscall_loop")")
  under+=("$("$R/cli/mosrun" "$R/bench/syscall_loop")")
done
n=$(median "${native[@]}"); m=$(median "${under[@]}")
echo "ns per round (getppid + write + close), median of $rounds: native $n, under mosrun $m"
awk -v n="$n" -v m="$m" 'BEGIN {printf "slowdown under mosrun at home: %+.2f%%\n", (m / n - 1) * 100}'
