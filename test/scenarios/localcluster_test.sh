#!/bin/bash
# mosctl localcluster: N agents on loopback addresses, private /tmp per node, CPU cgroups with
# quotas, exec on a node, and a down that leaves no process, mount or cgroup behind.
source "$(dirname "$0")/lib.sh"
export MOSIX_LOCALCLUSTER_DIR="/run/mosix-lc-test.${T##*.}"
PORT=$((20000 + RANDOM % 20000))
CG="/sys/fs/cgroup/cpu/mosix-${MOSIX_LOCALCLUSTER_DIR##*/}"
trap '"$MOSCTL" localcluster down >/dev/null 2>&1 || true; cleanup' EXIT

# Root only, with a clear error.
if command -v setpriv >/dev/null; then
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$MOSCTL" localcluster up --nodes 2 2>&1) && fail "non-root up succeeded"
  [[ "$out" == *"must run as root"* ]] || fail "non-root: $out"
  pass "non-root refused: $out"
fi

out=$("$MOSCTL" localcluster up --nodes 3 --cpu-quota 0.2,1 --port "$PORT")
[[ $(grep -c "^node" <<<"$out") -eq 3 ]] || fail "up: $out"
for k in 1 2 3; do
  st=$("$MOSCTL" localcluster exec "node$k" -- "$MOSCTL" status)
  [[ "$st" == "node node$k:"* && "$st" == *"127.0.0.$k:$PORT"* && "$st" == *$'\nnode1 '* && "$st" == *$'\nnode3 '* ]] || fail "node$k status: $st"
done
pass "3 agents, each on its own address, each knowing the cluster"

out=$("$MOSCTL" localcluster up --nodes 2 --port "$PORT" 2>&1) && fail "second up succeeded"
[[ "$out" == *"already up"* ]] || fail "second up: $out"

# Private /tmp and state dir per node.
"$MOSCTL" localcluster exec node2 -- sh -c 'echo secret >/tmp/node2-only'
"$MOSCTL" localcluster exec node2 -- test -f /tmp/node2-only || fail "node2 lost its own /tmp file"
"$MOSCTL" localcluster exec node3 -- test -f /tmp/node2-only && fail "node3 sees node2's /tmp"
test -f /tmp/node2-only && fail "the host sees node2's /tmp"
pass "private /tmp per node"

# CPU cgroups: membership and a quota that really throttles.
[[ $(cat "$CG/node1/cpu.cfs_quota_us") -eq 20000 && $(cat "$CG/node3/cpu.cfs_quota_us") -eq -1 ]] || fail "quotas"
cg=$("$MOSCTL" localcluster exec node1 -- grep ":cpu:" /proc/self/cgroup)
[[ "$cg" == *"/node1" ]] || fail "exec on node1 runs in $cg"
"$MOSCTL" localcluster exec node1 -- python3 -c 'x = 0
for i in range(3000000): x += i'
throttled=$(awk '/^nr_throttled/ {print $2}' "$CG/node1/cpu.stat")
[[ $throttled -gt 0 ]] || fail "a busy loop on a 0.2-CPU node was never throttled"
pass "node1 limited to 0.2 CPU (throttled $throttled times)"

# Bad requests.
out=$("$MOSCTL" localcluster exec node9 -- true 2>&1) && fail "exec on a missing node succeeded"
[[ "$out" == *"node9"* ]] || fail "missing node: $out"

# down: nothing left.
"$MOSCTL" localcluster exec node2 -- sleep 600 &
track $!
wait_until "sleep on node2" sh -c "grep -q . '$CG/node2/cgroup.procs'"
"$MOSCTL" localcluster down >/dev/null || fail "down failed"
[[ ! -e "$CG" ]] || fail "cgroups left: $(ls "$CG")"
[[ ! -e "$MOSIX_LOCALCLUSTER_DIR" ]] || fail "files left in $MOSIX_LOCALCLUSTER_DIR"
pgrep -f -- "--config $MOSIX_LOCALCLUSTER_DIR" && fail "an agent is left"
grep -q "$MOSIX_LOCALCLUSTER_DIR" /proc/mounts && fail "a mount is left"
pass "down: no process, mount, cgroup or file left"
