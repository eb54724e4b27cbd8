#!/bin/bash
# mosix-demo: a process is checkpointed while it runs, "the node crashes" (it is killed), and
# mosrun -R brings it back: it continues from the instant of the checkpoint, not from the start.
# Runs its own agent on a private socket and stops it at the end.
set -euo pipefail
# Whatever fds the caller leaked (a pipe of an IDE, a CI runner) must not reach the program: a
# process holding a pipe other than stdio cannot be checkpointed.
for fd in /proc/$$/fd/*; do n=${fd##*/}; [[ $n -gt 2 ]] && eval "exec $n>&-" 2>/dev/null || true; done
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
COUNTER=${MOSIX_DEMO_PROGRAM:-$here/../lib/mosix/demo/counter}
[[ -x "$COUNTER" ]] || COUNTER="$here/../bazel-bin/test/programs/counter"
for c in mosixd mosrun migrate mosctl; do command -v $c >/dev/null || { echo "mosix-demo: $c is not on PATH (run tools/install.sh)"; exit 1; }; done

D=$(mktemp -d /tmp/mosix-demo.XXXXXX)
export MOSIX_SOCKET="$D/mosixd.sock" MOSIX_STATE_DIR="$D/state"
agent=""; prog=""
cleanup() {
  [[ -n "$prog" ]] && kill -9 "$prog" 2>/dev/null || true
  [[ -n "$agent" ]] && kill "$agent" 2>/dev/null && wait "$agent" 2>/dev/null || true
  rm -rf "$D"
}
trap cleanup EXIT
wait_for() { local i; for i in $(seq 1 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; echo "mosix-demo: timed out"; exit 1; }

say "1. Start the agent of this node (a one-node cluster): mosixd"
mosixd 2>"$D/mosixd.log" &
agent=$!
for i in $(seq 1 200); do mosctl status >/dev/null 2>&1 && break; sleep 0.05; done
mosctl status

say "2. Run an unmodified program under mosix: mosrun -C $D/ckpt counter 20"
mosrun -C "$D/ckpt" "$COUNTER" 20 >"$D/run1.out" 2>&1 &
prog=$!
wait_for "$D/run1.out" "step  6"
cat "$D/run1.out"

say "3. Checkpoint it while it runs: migrate $prog checkpoint"
migrate "$prog" checkpoint
wait_for "$D/run1.out" "step  9"
cat "$D/run1.out" | tail -n +7

say "4. The node 'crashes': kill -9 $prog"
kill -9 "$prog"; wait "$prog" 2>/dev/null || true
prog=""
echo "  the program is gone after step $(grep -c step "$D/run1.out") of 20"

say "5. What the image holds: mosctl image show $D/ckpt.1"
mosctl image show "$D/ckpt.1" | sed -n '1,6p;/^memory/p;/^files/,/^signals/p'

say "6. Recover it: mosrun -R $D/ckpt.1 (it goes on from the checkpoint, under a new pid)"
set +e
mosrun -R "$D/ckpt.1"
status=$?
set -e
echo "  recovered process exited with status $status"
say "Done. Next: tools/test.sh runs every test."
exit $status
