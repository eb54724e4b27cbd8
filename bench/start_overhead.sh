#!/bin/bash
# What mosrun costs a program's start, beside a lone agent: `mosrun -h /bin/true` against
# `/bin/true`, and a shell running 200 short programs under mosrun (each a process of the
# cluster, registered through its shim) against the same shell without. Each round runs the
# bare command, the one under mosrun, and the bare one again (start_pairs.c), so that machine
# noise hits both; prints medians and the median of the rounds' ratios.
#   bazel run //bench:start_overhead [-- ROUNDS]
set -euo pipefail
rounds=${1:-15}
source "${RUNFILES_DIR:-$0.runfiles}/mosix/bench/lib.sh"
start_lone_agent
MOSRUN="$R/cli/mosrun"
PAIRS="$R/bench/start_pairs"

read -r p u d _ < <("$PAIRS" $((rounds * 20)) -- /bin/true -- "$MOSRUN" -h /bin/true)
echo "| start of /bin/true | $p ms | under mosrun -h $u ms | mosrun adds $d ms (median of rounds) |"

loop='for i in $(seq 200); do /bin/true; done'
read -r p u _ r < <("$PAIRS" "$rounds" -- /bin/bash -c "$loop" -- "$MOSRUN" /bin/bash -c "$loop")
awk -v p="$p" -v u="$u" -v r="$r" 'BEGIN { printf "| a shell running 200 programs | %.3f s | under mosrun %.3f s | %.2fx (median of rounds) |\n", p / 1e3, u / 1e3, r }'
