#!/bin/bash
# The cluster decides: nodes find each other by gossip (and see one stop and come back), CPU-bound
# jobs started on one node spread over the others and finish with the right results, locked and
# kept-home jobs never move and mosps says why, and mosmon draws the cluster on a terminal.
source "$(dirname "$0")/lib.sh"
DEADLINE=90
MOSMON="$ROOT/cli/mosmon"
start_cluster brain 3 --cpu-quota 0.5,0.5,1

# ---- Discovery: every node sees every other up, with its CPUs (the quota), within seconds.
sees_all() {  # sees_all NODE: NODE's view has all three up with their quotas
  on "$1" -- "$MOSCTL" status --json | python3 -c '
import json, sys
nodes = {n["node"]: n for n in json.load(sys.stdin)}
want = {"node1": 0.5, "node2": 0.5, "node3": 1.0}
ok = all(nodes[k]["state"] == "up" and abs(nodes[k]["cpus"] - c) < 0.01 and nodes[k]["mem_total_mb"] > 0 for k, c in want.items())
sys.exit(0 if ok else 1)'
}
for n in node1 node2 node3; do wait_until "$n to see all nodes up with their CPUs" sees_all "$n"; done
pass "every node sees every other up, with its CPUs and memory"
state_of() { on node1 -- "$MOSCTL" status --json | python3 -c "import json,sys; print([n['state'] for n in json.load(sys.stdin) if n['node']=='$1'][0])"; }
is_state() { [[ "$(state_of "$1")" == "$2" ]]; }
"$MOSCTL" localcluster stop node3 >/dev/null
wait_until "node1 to see node3 down" is_state node3 down
"$MOSCTL" localcluster start node3 >/dev/null
wait_until "node1 to see node3 up again" is_state node3 up
pass "a stopped node is seen down, and up again when it comes back"
on node1 -- "$MOSMON" --json | python3 -c '
import json, sys
n = json.load(sys.stdin)
keys = {"node", "state", "cpus", "speed", "load", "mem_free_mb", "mem_total_mb", "procs", "guests", "age_s"}
assert len(n) == 3 and all(keys <= set(e) for e in n), n' || fail "mosmon --json lacks fields"
pass "mosmon --json lists every node with its fields"

# ---- Balancing: three CPU-bound jobs on node1 (half a CPU) spread out and finish right.
# (Three, so that once they are gone another node is still less loaded than node1 for the
# two that stay: mosps says why they stay only while there is somewhere better to go.)
WORK=300
"$PROGS/cruncher" $WORK >"$T/native.out"
for i in 1 2 3; do bg_clean "$T/job$i.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/cruncher" $WORK; done
# One locked and one kept home among them: they must never move.
bg_clean "$T/locked.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L "$PROGS/cruncher" $WORK
LOCKED=$BG
bg_clean "$T/home.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -h "$PROGS/cruncher" $WORK
HOME_JOB=$BG
jobs_away() { on node1 -- "$MOSPS" --json | python3 -c '
import json, sys
away = [p for p in json.load(sys.stdin) if p["where"] != "node1"]
sys.exit(0 if away else 1)'; }
wait_until "a job to leave node1 by itself" jobs_away
says_why() { on node1 -- "$MOSPS" >"$T/mosps.txt" && grep -q "stays: locked (mosrun -L)" "$T/mosps.txt" &&
  grep -q "stays: kept home (mosrun -h)" "$T/mosps.txt"; }
for _ in $(seq 1 100); do says_why && break; sleep 0.1; done
grep -q "stays: locked (mosrun -L)" "$T/mosps.txt" || fail "mosps does not say the locked job stays because it is locked: $(cat "$T/mosps.txt")"
grep -q "stays: kept home (mosrun -h)" "$T/mosps.txt" || fail "mosps does not say why the -h job stays: $(cat "$T/mosps.txt")"
pass "jobs left node1 by themselves; mosps says why the locked and kept-home jobs stay"
# Long runners yield: a job the cluster may move runs at nice 19 once it has had its second of
# CPU, wherever it runs (away too: its home names it to its node), while the locked and the
# kept-home job keep their priority.
old_yields() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
ps = json.load(sys.stdin)
sys.exit(0 if any(p['pid'] not in ($LOCKED, $HOME_JOB) and p['where'] != 'node1' and p['nice'] == 19 for p in ps) else 1)"; }
wait_until "a job away to run at nice 19 once old" old_yields
pass "a job away from home runs niced once it has had a second of CPU"
# While they run, the locked and the kept-home job are always on node1, at their own priority.
never_moved() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
for p in json.load(sys.stdin):
    if p['pid'] in ($LOCKED, $HOME_JOB) and (p['where'] != 'node1' or p['moves'] != 0 or p['nice'] != 0):
        sys.exit(1)
    if p['nice'] == 19 and p['cpu_seconds'] < 0.5:  # (niced before it had half its second)
        sys.exit(1)"; }
for i in $(seq 1 200); do
  never_moved || fail "a locked or -h job moved or runs niced, or a job runs niced too young: $(on node1 -- "$MOSPS")"
  kill -0 "$LOCKED" 2>/dev/null || break
  sleep 0.1
done
for f in job1 job2 job3 locked home; do
  wait_for_text "$T/$f.out" "cruncher $WORK:"
  cmp -s "$T/native.out" "$T/$f.out" || fail "$f printed '$(cat "$T/$f.out")', unmoved: '$(cat "$T/native.out")'"
done
moves=$(grep -c " goes from " "$LC/node1/mosixd.log" || true)
[[ $moves -ge 1 ]] || fail "no automatic move in node1's log"
pass "all five jobs finished with the right result after $moves automatic moves"

# ---- migrate PID balance: a locked job (no automatic moves) alone on the slow node1 is sent by
# hand to where it runs best: node3, the node with a whole CPU.
bg_clean "$T/b.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L "$PROGS/cruncher" 3000
B=$BG
has_run() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
sys.exit(0 if any(p['pid'] == $B and p['cpu_seconds'] >= 1 for p in json.load(sys.stdin)) else 1)"; }
wait_until "the locked job to run a while" has_run
out=$(on node1 -- "$MIGRATE" "$B" balance 2>&1) || fail "migrate $B balance failed: $out"
[[ "$out" == *"going to node3"* ]] || fail "migrate $B balance said: $out"
runs_on() { on node1 -- "$MOSPS" --json | python3 -c "
import json, sys
sys.exit(0 if any(p['pid'] == $B and p['where'] == '$1' for p in json.load(sys.stdin)) else 1)"; }
wait_until "the job to run on node3" runs_on node3
kill "$B" 2>/dev/null || true
pass "migrate PID balance sent a locked job to node3: $out"

# ---- mosmon on a real pseudo-terminal: draws bars, switches views, quits on q.
on node1 -- python3 - "$MOSMON" <<'PY' || fail "mosmon on a pseudo-terminal"
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1]])
def read_until(text, timeout=30):
    buf, end = b"", time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
            if text in buf:
                return buf
    raise SystemExit("mosmon never drew %r; got %r" % (text, buf[-400:]))
out = read_until(b"node3")
assert b"mosmon: load" in out, out[-400:]
os.write(fd, b"m")
read_until(b"mosmon: memory")
os.write(fd, b"d")
read_until(b"no dead nodes")
os.write(fd, b"q")
_, status = os.waitpid(pid, 0)
assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
PY
pass "mosmon draws the nodes on a terminal, switches views and quits on q"
