#!/bin/bash
# The node's administration: block and expel (a node gets its CPU back at once and takes no
# guests), stay, bring, isolate and rejoin; settings survive a restart of the agent; only root.
source "$(dirname "$0")/lib.sh"
DEADLINE=90
start_cluster admin 3
where_is() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
print(''.join(p['where'] for p in json.load(sys.stdin) if p['pid'] == $1))"; }
is_on() { [[ "$(where_is "$1")" == "$2" ]]; }
view_of() {  # view_of NODE FIELD OF_NODE: what NODE's status says of OF_NODE
  on "$1" -- "$MOSCTL" status --json | python3 -c "
import json, sys
print([str(n['$2']).lower() for n in json.load(sys.stdin) if n['node'] == '$3'][0])"; }
sees() { [[ "$(view_of "$1" "$2" "$3")" == "$4" ]]; }

# Only root administers.
out=$(on node2 -- setpriv --reuid=65534 --regid=65534 --clear-groups "$MOSCTL" block 2>&1) && fail "uid 65534 could block node2"
[[ "$out" == *"permission denied"* ]] || fail "a non-root block said: $out"
pass "a user who is not root cannot administer: $out"

# Two long jobs sent to node2; node2's owner takes it back: block + expel.
for i in 1 2; do bg_clean "$T/j$i.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L -r node2 "$PROGS/cruncher" 2000; eval "J$i=\$BG"; done
wait_until "job 1 on node2" is_on "$J1" node2
wait_until "job 2 on node2" is_on "$J2" node2
out=$(on node2 -- "$MOSCTL" expel) || fail "expel failed: $out"
[[ "$out" == *"2 guests sent home"* ]] || fail "expel said: $out"
is_on "$J1" node1 && is_on "$J2" node1 || fail "after expel the jobs are on $(where_is "$J1") and $(where_is "$J2")"
pass "expel returned once both guests were home: $out"
out=$(on node1 -- "$MIGRATE" "$J1" node2 2>&1) && fail "a blocked node took a guest"
[[ "$out" == *"takes no guests"* ]] || fail "a move to a blocked node said: $out"
wait_until "node1 to see node2 blocked" sees node1 takes_guests node2 false
pass "a blocked node takes no guest: $out"

# The block survives a restart of node2's agent; noblock lifts it.
"$MOSCTL" localcluster restart node2 >/dev/null
wait_until "node2 to say it is blocked after its restart" sees node2 takes_guests node2 false
on node2 -- "$MOSCTL" noblock >/dev/null
wait_until "node1 to see node2 take guests again" sees node1 takes_guests node2 true
on node1 -- "$MIGRATE" "$J1" node2 >/dev/null || fail "node2 took no guest after noblock"
pass "the block survived node2's restart, and noblock lifted it"

# bring: node1's processes come home; stay: none leaves node1 by itself.
on node1 -- "$MIGRATE" "$J2" node3 >/dev/null
out=$(on node1 -- "$MOSCTL" bring) || fail "bring failed: $out"
[[ "$out" == *"2 processes brought home"* ]] || fail "bring said: $out"
is_on "$J1" node1 && is_on "$J2" node1 || fail "after bring the jobs are on $(where_is "$J1") and $(where_is "$J2")"
pass "bring: $out"
on node1 -- "$MOSCTL" stay >/dev/null
for i in 3 4 5; do bg_clean "$T/j$i.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/cruncher" 2000; done
stays_said() { on node1 -- "$MOSPS" | grep -q "stays: this node keeps its processes"; }
wait_until "mosps to say why the jobs stay" stays_said
for _ in $(seq 1 40); do  # (four seconds of a busy node1 beside idle ones: nothing moves)
  on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
sys.exit(1 if any(p['where'] != 'node1' for p in json.load(sys.stdin)) else 0)" || fail "a process left node1 under stay"
  sleep 0.1
done
on node1 -- "$MOSCTL" nostay >/dev/null
away() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
sys.exit(0 if any(p['where'] != 'node1' for p in json.load(sys.stdin)) else 1)"; }
wait_until "a job to leave node1 after nostay" away
pass "under stay nothing left the busy node1; after nostay work spread"

# isolate: node3 leaves the cluster (others see it down), rejoin: back.
out=$(on node3 -- "$MOSCTL" isolate) || fail "isolate failed: $out"
wait_until "node1 to see node3 down" sees node1 state node3 down
on node3 -- "$MOSCTL" rejoin >/dev/null
wait_until "node1 to see node3 up again" sees node1 state node3 up
pass "isolate: $out; rejoin brought it back"
