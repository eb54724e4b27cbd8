#!/bin/bash
# The cluster decides while its nodes come and go: jobs spread by themselves from node1; a node
# is stopped under its guests (they come home and spread again), started again (it gets work),
# and another is restarted; every job finishes with the result of an unmoved run.
source "$(dirname "$0")/lib.sh"
DEADLINE=180
start_cluster churn 3 --cpu-quota 0.5,0.5,1
WORK=(250 280 310 340 370 400)
for w in "${WORK[@]}"; do "$PROGS/cruncher" "$w"; done >"$T/want"
for i in "${!WORK[@]}"; do bg_clean "$T/job$i" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/cruncher" "${WORK[i]}"; done
count_on() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
print(sum(1 for p in json.load(sys.stdin) if p['where'] == '$1'))"; }
has_on() { [[ "$(count_on "$1")" -ge 1 ]]; }
wait_until "a job on node3" has_on node3
"$MOSCTL" localcluster stop node3 >/dev/null
[[ "$(count_on node3)" -eq 0 ]] || fail "jobs still on node3 after it stopped"
pass "node3 stopped under its guests: they came home"
"$MOSCTL" localcluster start node3 >/dev/null
wait_until "the restarted node3 to get work again" has_on node3
pass "the restarted node3 got work again"
"$MOSCTL" localcluster restart node2 >/dev/null
for i in "${!WORK[@]}"; do wait_for_text "$T/job$i" "cruncher ${WORK[i]}: "; done
for i in "${!WORK[@]}"; do cat "$T/job$i"; done | cmp -s - "$T/want" || fail "results differ: $(cat "$T"/job*) against $(cat "$T/want")"
moves=$(grep -c " goes from " "$LC/node1/mosixd.log" || true)
failed=$(grep -c " did not go to " "$LC/node1/mosixd.log" || true)
pass "all ${#WORK[@]} jobs finished with the right results: $moves automatic moves, $failed failed"
