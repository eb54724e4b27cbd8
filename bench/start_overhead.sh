#!/bin/bash
# What mosrun costs a program's start, beside a lone agent: `mosrun -h /bin/true` against
# `/bin/true`, and a shell running 200 short programs under mosrun (each a process of the
# cluster, registered through its shim) against the same shell without. Runs alternate, so
# machine noise hits both; prints medians and ratios.
#   bazel run //bench:start_overhead [-- ROUNDS]
set -euo pipefail
rounds=${1:-15}
source "${RUNFILES_DIR:-$0.runfiles}/mosix/bench/lib.sh"
start_lone_agent
MOSRUN="$R/cli/mosrun"
ns() { local t0; t0=$(date +%s%N); "$@" >/dev/null; echo $(( $(date +%s%N) - t0 )); }

plain=(); under=()
for _ in $(seq 1 $((rounds * 4))); do
  plain+=("$(ns /bin/true)")
  under+=("$(ns "$MOSRUN" -h /bin/true)")
done
p=$(median "${plain[@]}"); u=$(median "${under[@]}")
awk -v p="$p" -v u="$u" 'BEGIN { printf "| start of /bin/true | %.2f ms | under mosrun -h %.2f ms | mosrun adds %.2f ms |\n", p / 1e6, u / 1e6, (u - p) / 1e6 }'

loop='for i in $(seq 200); do /bin/true; done'
# Each round: without, under, without again; the round's ratio is under / the mean of the two
# without (the VM's speed drifts within minutes: ratios within a round are steadier).
plain=(); ratios=()
for _ in $(seq 1 "$rounds"); do
  a=$(ns bash -c "$loop")
  u=$(ns "$MOSRUN" bash -c "$loop")
  b=$(ns bash -c "$loop")
  plain+=("$(( (a + b) / 2 ))")
  ratios+=("$(awk -v a="$a" -v u="$u" -v b="$b" 'BEGIN { printf "%.4f", 2 * u / (a + b) }')")
done
p=$(median "${plain[@]}"); r=$(median "${ratios[@]}")
awk -v p="$p" -v r="$r" 'BEGIN { printf "| a shell running 200 programs | %.3f s | under mosrun %.3f s | %.2fx (median of rounds) |\n", p / 1e9, p * r / 1e9, r }'
