#!/bin/bash
# Migration and forwarding on an emulated 3-node cluster (root: it makes namespaces and cgroups).
#   bazel run //bench:migration_bench               (agents with TLS, as a cluster runs by default)
#   INSECURE=1 bazel run //bench:migration_bench    (a network the map marks trusted: no TLS)
# Prints markdown tables: migration time and MB/s of dense memory, and the forwarding costs of a
# moved program next to the same program at home.
set -euo pipefail
source "${RUNFILES_DIR:-$0.runfiles}/mosix/bench/lib.sh"
use_local_cluster bench
"$MOSCTL" localcluster up --nodes 3 --port $((30000 + RANDOM % 20000)) ${INSECURE:+--insecure} >/dev/null
on() { "$MOSCTL" localcluster exec "$@"; }
wait_text() { for _ in $(seq 1 3000); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done; echo "timeout: $2" >&2; exit 1; }
# Runs with only stdio open, in the background; sets PID.
start() { local out=$1; shift; ( for fd in /proc/self/fd/*; do n=${fd##*/}; [[ $n -gt 2 ]] && eval "exec $n>&-" 2>/dev/null; done; exec "$@" ) >"$out" 2>&1 </dev/null & PID=$!; }

# One move of a dense program of MIB MiB to node2; prints "seconds MiB-sent".
move_once() {
  local mib=$1 dir="$LC/node1/tmp/m$1.$RANDOM"
  mkdir -p "$dir"
  start "$dir.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$R/test/programs/dense" "$mib" "/tmp/${dir##*/}"
  wait_text "$dir.out" ready
  local line
  line=$(on node1 -- "$MIGRATE" "$PID" node2)
  touch "$dir/finish"
  wait "$PID" || { echo "dense $mib MiB failed after the move: $(cat "$dir.out")" >&2; exit 1; }
  grep -q "memory ok" "$dir.out" || { echo "memory differs after the move" >&2; exit 1; }
  sed -n 's/.*(\([0-9.]*\) s, frozen \([0-9.]*\) s, \([0-9.]*\) MiB sent).*/\1 \3 \2/p' <<<"$line"
}
RUNS=${RUNS:-5}
move_once 1 >/dev/null  # the agents' first contact (gRPC channels, file checksums) is not a move's cost
echo "| touched memory | migration (median of $RUNS) | MB/s | fastest | frozen (median) | MB/s frozen | sent |"
echo "|---|---|---|---|---|---|---|"
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
for mib in 16 256 1024; do
  runs=$(for _ in $(seq 1 "$RUNS"); do move_once "$mib"; done)
  med=$(cut -d' ' -f1 <<<"$runs" | median)
  best=$(cut -d' ' -f1 <<<"$runs" | sort -n | head -1)
  frozen=$(cut -d' ' -f3 <<<"$runs" | median)
  sent=$(cut -d' ' -f2 <<<"$runs" | head -1)
  awk -v m="$mib" -v s="$med" -v b="$best" -v f="$frozen" -v sent="$sent" 'BEGIN {
    printf "| %d MiB | %.3f s | %.0f | %.3f s | %.3f s | %.0f | %s MiB |\n", m, s, m * 1.048576 / s, b, f, m * 1.048576 / f, sent }'
done

run_fwd() {  # run_fwd home|away
  local dir="$LC/node1/tmp/f$1"; mkdir -p "$dir"
  start "$dir.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$R/bench/fwd_bench" "/tmp/f$1" 20000 256
  wait_text "$dir.out" ready
  [[ $1 == away ]] && on node1 -- "$MIGRATE" "$PID" node2 >/dev/null
  touch "$dir/go"
  wait "$PID"
  grep roundtrip_us "$dir.out"
}
home=$(run_fwd home); away=$(run_fwd away)
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' <<<"$2"; }
echo
echo "| forwarding | at home | moved to node2 | ratio |"
echo "|---|---|---|---|"
for k in roundtrip_us nullwrite_MBps zeroread_MBps write_MBps read_MBps; do
  h=$(field $k "$home"); a=$(field $k "$away")
  awk -v k="$k" -v h="$h" -v a="$a" 'BEGIN {
    if (k == "roundtrip_us") name = "1-byte write round trip (us)"
    if (k == "nullwrite_MBps") name = "write to /dev/null, 1 MiB blocks (MB/s)"
    if (k == "zeroread_MBps") name = "read from /dev/zero, 1 MiB blocks (MB/s)"
    if (k == "write_MBps") name = "write to a new file, 1 MiB blocks (MB/s)"
    if (k == "read_MBps") name = "read that file back, 1 MiB blocks (MB/s)"
    printf "| %s | %s | %s | %.2fx |\n", name, h, a, a / h }'
done

# One dense program of MIB MiB moved home->node2->node3->home; prints the three times.
directions_once() {
  local mib=$1 dir="$LC/node1/tmp/d$1.$RANDOM" t=()
  mkdir -p "$dir"
  start "$dir.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$R/test/programs/dense" "$mib" "/tmp/${dir##*/}"
  wait_text "$dir.out" ready
  for to in node2 node3 home; do
    t+=("$(on node1 -- "$MIGRATE" "$PID" "$to" | sed -n 's/.*(\([0-9.]*\) s.*/\1/p')")
  done
  touch "$dir/finish"
  wait "$PID" || { echo "dense $mib MiB failed after its moves: $(cat "$dir.out")" >&2; exit 1; }
  grep -q "memory ok" "$dir.out" || { echo "memory differs after the moves" >&2; exit 1; }
  echo "${t[*]}"
}
echo
echo "| 1 GiB dense, each direction (median of $RUNS) | home->node2 | node2->node3 | node3->home |"
echo "|---|---|---|---|"
runs=$(for _ in $(seq 1 "$RUNS"); do directions_once 1024; done)
h2=$(cut -d' ' -f1 <<<"$runs" | median); n23=$(cut -d' ' -f2 <<<"$runs" | median); n3h=$(cut -d' ' -f3 <<<"$runs" | median)
awk -v a="$h2" -v b="$n23" -v c="$n3h" 'BEGIN {
  printf "| seconds | %.3f | %.3f | %.3f |\n| ratio to home->node2 | 1.00x | %.2fx | %.2fx |\n", a, b, c, b / a, c / a }'
