#!/bin/bash
# A node->node move whose target's agent is SIGKILLed while the image streams: the move fails,
# and the process goes on where it was (node2), to its own end. Its deputy had already turned to
# the new link, saw that close and asked how the process ended: the old link is put back and
# the deputy goes on on it (before, it ended the process as lost 30 s later).
# Three rounds, the kill at a random moment of the move (each round says whether the move got
# through first: both outcomes must leave the process running).
source "$(dirname "$0")/lib.sh"
start_cluster failmove 3
where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
is_at() { [[ "$(where_now "$1")" == "$2" ]]; }
failed=0
for round in 1 2 3; do
  bg_clean "$T/r$round.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L python3 -c '
import time, sys
b = bytearray(300 << 20)
for i in range(0, len(b), 4096): b[i] = 1
print("ready", flush=True)
t = time.monotonic()
while time.monotonic() - t < 8: pass
print("done", sum(b[::4096]), flush=True)'
  py=$BG
  wait_for_text "$T/r$round.out" "ready"
  on node1 -- "$MIGRATE" "$py" node2 >/dev/null || fail "round $round: python3 did not move to node2"
  ( on node1 -- "$MIGRATE" "$py" node3 >"$T/m$round.txt" 2>&1 ) &
  mig=$!
  sleep "0.$((RANDOM % 3 + 1))"
  "$MOSCTL" localcluster stop node3 --kill >/dev/null
  wait "$mig" || failed=$((failed + 1))
  "$MOSCTL" localcluster start node3 >/dev/null
  set +e; wait "$py"; st=$?; set -e
  [[ $st == 0 ]] && grep -q "done 76800" "$T/r$round.out" ||
    fail "round $round: python3 ended with $st after its move to node3 was cut (migrate said: $(cat "$T/m$round.txt")): $(cat "$T/r$round.out")"
done
pass "three moves node2->node3 cut by SIGKILL of node3's agent ($failed failed mid-way): python3 went on each time and ended with its own output"
