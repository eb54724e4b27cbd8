#!/bin/bash
# mosix-demo: an emulated 3-node cluster on this machine. A program started on node1 moves to
# node2 while it runs and keeps writing to this terminal through its deputy; it comes back home;
# then it is checkpointed, "the node crashes", and mosrun -R brings it back from the checkpoint.
set -euo pipefail
# Whatever fds the caller leaked (a pipe of an IDE, a CI runner) must not reach the program: a
# process holding a pipe other than stdio cannot move.
for fd in /proc/$$/fd/*; do n=${fd##*/}; [[ $n -gt 2 ]] && eval "exec $n>&-" 2>/dev/null || true; done
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
COUNTER=${MOSIX_DEMO_PROGRAM:-$here/../lib/mosix/demo/counter}
[[ -x "$COUNTER" ]] || COUNTER="$here/../bazel-bin/test/programs/counter"
for c in mosixd mosrun migrate mosctl mosps; do command -v $c >/dev/null || { echo "mosix-demo: $c is not on PATH (run tools/install.sh)"; exit 1; }; done
[[ $(id -u) -eq 0 ]] || { echo "mosix-demo: run as root (the emulated cluster makes namespaces and cgroups)"; exit 1; }

export MOSIX_LOCALCLUSTER_DIR=/run/mosix-demo
LC=$MOSIX_LOCALCLUSTER_DIR
prog=""
cleanup() {
  [[ -n "$prog" ]] && kill -9 "$prog" 2>/dev/null || true
  mosctl localcluster down >/dev/null 2>&1 || true
}
trap cleanup EXIT
on() { mosctl localcluster exec "$@"; }
wait_for() { local i; for i in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "mosix-demo: timed out"; exit 1; }
mosctl localcluster down >/dev/null 2>&1 || true

say "1. An emulated cluster: mosctl localcluster up --nodes 3 --cpu-quota 1,1,0.5"
mosctl localcluster up --nodes 3 --cpu-quota 1,1,0.5
# The nodes find each other by gossip within a few seconds.
for _ in $(seq 1 200); do [[ $(on node1 -- mosctl status --json | grep -o '"state":"up"' | wc -l) -eq 3 ]] && break; sleep 0.05; done
on node1 -- mosctl status

say "2. On node1, run an unmodified program under mosix: mosrun -C /tmp/ckpt counter 30"
out=$LC/node1/tmp/counter.out
( exec </dev/null; exec mosctl localcluster exec node1 -- mosrun -C /tmp/ckpt "$COUNTER" 30 ) >"$out" 2>&1 &
prog=$!
wait_for "$out" "step  4"
cat "$out"

say "3. Move it to node2 while it runs: migrate $prog node2"
on node1 -- migrate "$prog" node2
on node1 -- mosps
wait_for "$out" "step 10"
echo "  ... it goes on over there; its output still arrives here, through its deputy (pid $prog):"
tail -n 3 "$out"

say "4. Bring it back: migrate $prog home"
on node1 -- migrate "$prog" home
on node1 -- mosps
wait_for "$out" "step 14"
tail -n 2 "$out"

say "5. Checkpoint it (it keeps running): migrate $prog checkpoint"
ckpt=$(on node1 -- migrate "$prog" checkpoint)
echo "  $ckpt"
wait_for "$out" "step 17"

say "6. The node 'crashes': kill -9 $prog"
kill -9 "$prog"; wait "$prog" 2>/dev/null || true
prog=""
echo "  the program is gone after step $(grep -c ' step ' "$out") of 30"

say "7. Recover it from the checkpoint: mosrun -R $ckpt (it goes on from there, under a new pid)"
set +e
on node1 -- mosrun -R "$ckpt"
status=$?
set -e
echo "  recovered process exited with status $status"
say "Done. Next: tools/test.sh runs every test."
exit $status
