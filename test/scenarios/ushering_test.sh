#!/bin/bash
# Memory ushering: programs that grow past a node's memory limit (a cgroup-v1 memory controller)
# are moved off it before the kernel kills one, and all finish with their memory intact. The
# agents' Prometheus metrics show the nodes and the moves.
source "$(dirname "$0")/lib.sh"
DEADLINE=120
PORT=$((20000 + RANDOM % 20000))
start_cluster usher 3 --mem-limit 0,400 --metrics-port "$PORT"
sees_limit() { on node1 -- "$MOSCTL" status --json | python3 -c '
import json, sys
n = {e["node"]: e for e in json.load(sys.stdin)}
sys.exit(0 if n["node2"]["state"] == "up" and 300 < n["node2"]["mem_total_mb"] <= 400 else 1)'; }
wait_until "node1 to see node2's 400 MB" sees_limit
pass "node1 sees node2's memory limit as its memory"

# Two programs of 250 MB each, sent to node2 (400 MB), growing 10 MB/s each.
for i in 1 2; do
  bg_clean "$T/g$i.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -r node2 "$PROGS/grower" 250 1
done
for i in 1 2; do wait_for_text "$T/g$i.out" "grower 250: "; done
for i in 1 2; do grep -q "grower 250: ok" "$T/g$i.out" || fail "grower $i: $(cat "$T/g$i.out")"; done
grep -q "goes from node2 to .* (node2 has [0-9]* MB free)" "$LC/node1/mosixd.log" || fail "nothing was ushered off node2"
if grep -qi "out of memory\|oom" "$LC/node2/mosixd.log"; then fail "node2 ran out of memory"; fi
pass "both programs left node2 as it ran short of memory, and finished with all their memory: $(grep -c 'MB free)' "$LC/node1/mosixd.log") moves"

metrics=$(curl -s "http://127.0.0.1:$PORT/metrics" 2>/dev/null || python3 -c "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:$PORT/metrics').read().decode())")
for m in 'mosix_node_load{node="node2"}' 'mosix_node_memory_total_bytes{node="node2"}' 'mosix_gossip_age_seconds{node="node3"}' \
         'mosix_moves_total{direction="out"}' 'mosix_move_seconds_count{direction="out"}'; do
  grep -qF "$m" <<<"$metrics" || fail "node1's metrics lack $m"
done
out=$(grep -F 'mosix_moves_total{direction="out"}' <<<"$metrics" | awk '{print $2}')
[[ ${out%.*} -ge 2 ]] || fail "node1 counted $out moves out"
pass "node1 serves Prometheus metrics: nodes' load, memory, gossip ages, $out moves out"
