#!/bin/bash
# The children of a process under mosrun are the cluster's too: a program that a shell under
# mosrun runs, and a child a python3 under mosrun forks (without exec), are each listed by
# mosps with their own pid, move on their own to another node, keep their pid there, and end
# with the status their parent waits for.
source "$(dirname "$0")/lib.sh"
start_cluster kids 2
cg_of() { grep ':cpu:' "/proc/$1/cgroup" | sed 's|.*/||'; }
listed() { [[ -n "$(on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p')" ]]; }
on_node2() {  # on_node2 PATTERN: the pid matching PATTERN that runs in node2's cgroup
  local p
  for p in $(pgrep -f -- "$1"); do [[ "$(cg_of "$p")" == node2 ]] && echo "$p"; done | head -1
}

# Each case runs locked (-L; children inherit it): the moves here are made by hand, and an
# automatic one (a spinning child sent to idle node2 first) would make "migrate" say "already".

# 1. A program run by a shell under mosrun.
mkdir -p "$LC/node1/tmp/k1"
echo "typed at home" >"$T/k1.in"
( exec <"$T/k1.in"; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L bash -c "$PROGS/remote_probe /tmp/k1; echo bash saw \$?" ) >"$T/k1.out" 2>&1 &
shell=$!
track $shell
wait_for_text "$T/k1.out" "ready pid="
child=$(sed -n 's/^ready pid=\([0-9]*\).*/\1/p' "$T/k1.out")
[[ -n "$child" && "$child" != "$shell" ]] || fail "no child of the shell: $(cat "$T/k1.out")"
wait_until "mosps to list the shell's child $child" listed "$child"
# It greeted on the channel it inherited from the shell (no connection of its own at start).
bash_pid=$(awk '{print $4}' "/proc/$child/stat")
[[ "$(readlink "/proc/$child/fd/1021")" == "$(readlink "/proc/$bash_pid/fd/1021")" ]] ||
  fail "the shell's program has a channel of its own before any move: $(readlink "/proc/$child/fd/1021") against the shell's $(readlink "/proc/$bash_pid/fd/1021")"
said=$(on node1 -- "$MIGRATE" "$child" node2) || fail "migrate the child: $said"
[[ -n "$(on_node2 "remote_probe /tmp/k1")" ]] || fail "the child is not on node2"
[[ "$(readlink "/proc/$child/fd/1021")" != "$(readlink "/proc/$bash_pid/fd/1021")" ]] || fail "the moved program's deputy still uses the shell's channel"
touch "$LC/node1/tmp/k1/go"
wait "$shell" || fail "the shell ended with $?: $(cat "$T/k1.out")"
grep -q "after the move: pid $child" "$T/k1.out" && grep -q "bash saw 7" "$T/k1.out" ||
  fail "the shell's child over there: $(cat "$T/k1.out")"
pass "a program run by a shell under mosrun greeted on the shell's channel, moved on its own (pid $child on node2, with a channel of its own) and the shell saw its status 7"

# 2. A child forked (no exec) by python3 under mosrun: its own channel, its own home pid.
# The parent must stay home when its child is moved (a CI run, before the lock, saw the balancer
# move the parent for its start-up's CPU).
mkdir -p "$LC/node1/tmp/k2"
( exec </dev/null; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L python3 -c '
import os, sys, time
child = os.fork()
if child == 0:
    me = os.getpid()
    print("child ready", me, flush=True)
    n = 0
    while not os.path.exists("/tmp/k2/go"):
        n += 1
    print("child done: getpid", os.getpid(), "was", me, "ppid", os.getppid(), flush=True)
    os._exit(5)
_, status = os.waitpid(child, 0)
print("parent", os.getpid(), "saw its child end with", os.waitstatus_to_exitcode(status), flush=True)
' ) >"$T/k2.out" 2>&1 &
parent=$!
track $parent
wait_for_text "$T/k2.out" "child ready"
child=$(awk '/child ready/ {print $3}' "$T/k2.out")
wait_until "mosps to list the forked child $child" listed "$child"
said=$(on node1 -- "$MIGRATE" "$child" node2) || fail "migrate the forked child: $said"
[[ -n "$(on_node2 "python3 -c")" ]] || fail "the forked child is not on node2"
[[ "$(on node1 -- "$MOSPS" | awk -v p="$parent" '$1 == p {print $5}')" == home ]] || fail "the parent moved too"
touch "$LC/node1/tmp/k2/go"
wait "$parent" || fail "the parent ended with $?: $(cat "$T/k2.out")"
grep -q "child done: getpid $child was $child ppid $parent" "$T/k2.out" && grep -q "saw its child end with 5" "$T/k2.out" ||
  fail "the forked child over there: $(cat "$T/k2.out")"
pass "a child forked by python3 moved on its own to node2 (pid $child there too, parent $parent at home) and its parent saw it end with 5"

# 3. A program away that execs comes home for the exec, and the new program goes back where
# the old one was (as in MOSIX, where the exec happens over there); what the agent knew of the
# old program's memory (where its shim was) is not used for the new one.
mkdir -p "$LC/node1/tmp/k3"
mkfifo "$T/k3.in"
exec 7<>"$T/k3.in"
( exec <"$T/k3.in" 7>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L bash -c "read -r x; exec $PROGS/remote_probe /tmp/k3" ) >"$T/k3.out" 2>&1 &
pid=$!
track $pid
wait_until "bash to read its stdin" in_syscall "$pid" 0
said=$(on node1 -- "$MIGRATE" "$pid" node2) || fail "migrate bash: $said"
echo "go on" >&7
wait_for_text "$T/k3.out" "ready pid=$pid"
wait_until "the new program to go back to node2" sh -c "'$MOSCTL' localcluster exec node1 -- '$MOSPS' | awk -v p=$pid '\$1 == p && \$3 == \"node2\"' | grep -q remote_probe"
[[ -n "$(on_node2 "remote_probe /tmp/k3")" ]] || fail "the exec'd program is not on node2"
echo "typed for the new program" >&7
touch "$LC/node1/tmp/k3/go"
set +e; wait "$pid"; st=$?; set -e
exec 7>&-
[[ $st -eq 7 ]] && grep -q "after the move: pid $pid" "$T/k3.out" && grep -q "stdin said: typed for the new program" "$T/k3.out" ||
  fail "after exec and a second move: $st $(cat "$T/k3.out")"
pass "bash moved to node2 exec'd a program: it came home for the exec and the new program went back to node2 (same pid $pid, status 7)"

# 4. mosrun -r NODE through a wrapper that forks before it execs the real program (as pyenv's
# python3 does): the fork brings the wrapper home; the program it execs still goes to NODE.
mkdir -p "$LC/node1/tmp/k4"
echo "typed at home" >"$T/k4.in"
( exec <"$T/k4.in"; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -r node2 sh -c "x=\$(echo wrapped); exec $PROGS/remote_probe /tmp/k4" ) >"$T/k4.out" 2>&1 &
pid=$!
track $pid
wait_for_text "$T/k4.out" "ready pid=$pid"
wait_until "the wrapped program to run on node2" sh -c "[ -n \"\$(for p in \$(pgrep -f 'remote_probe /tmp/k4'); do grep -q '/node2\$' /proc/\$p/cgroup 2>/dev/null && echo \$p; done)\" ]"
touch "$LC/node1/tmp/k4/go"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 7 ]] && grep -q "after the move: pid $pid" "$T/k4.out" || fail "mosrun -r through a wrapper: $st $(cat "$T/k4.out")"
pass "mosrun -r node2 through a wrapper that forks, then execs: the program ran on node2 (pid $pid, status 7)"

# 4b. A chain of wrappers under mosrun -r node2 (as pyenv's python3 is: a shell that forks, then
# execs env, which execs the interpreter; here, longer), thirty times: each exec over there
# comes home and the next program goes back. The hello of a program caught by its move must count before the move
# ends, or the process away loses where its shim is and cannot come home for its next exec.
mkdir -p "$LC/node1/tmp/k4b"
echo "chained" >"$LC/node1/tmp/k4b/in"
for i in $(seq 1 30); do
  out=$(on node1 -- "$MOSRUN" -r node2 sh -c 'x=$(echo a); exec env env env env sh -c "y=\$(echo b); exec env env env env cat /tmp/k4b/in"' 2>&1) ||
    fail "run $i of a wrapper chain under mosrun -r node2 failed: $out"
  [[ "$out" == chained ]] || fail "run $i of a wrapper chain under mosrun -r node2 said: $out"
done
pass "thirty wrapper chains under mosrun -r node2 (a fork, five execs, a fork, five execs) ran to the end"

# 5. A child forked under mosrun greets on the channel it inherited from its parent and is given
# one of its own only when it first moves. A grandchild (forked by such a child) whose parent and
# grandparent have both ended moves, is signalled over there, and ends with its own status.
mkdir -p "$LC/node1/tmp/k5"
( exec </dev/null; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L python3 -c '
import os, signal
if os.fork() == 0:
    if os.fork() == 0:
        got = []
        signal.signal(signal.SIGUSR1, lambda s, f: got.append(s))
        me = os.getpid()
        print("grandchild ready", me, flush=True)
        while not (got and os.path.exists("/tmp/k5/go")):
            pass
        print("grandchild done: getpid", os.getpid(), "was", me, "signals", got, flush=True)
        os._exit(6)
    os._exit(0)
os.wait()
' ) >"$T/k5.out" 2>&1 &
top=$!
track $top
wait_for_text "$T/k5.out" "grandchild ready"
gc=$(awk '/grandchild ready/ {print $3}' "$T/k5.out")
wait "$top" || fail "the top process ended with $?: $(cat "$T/k5.out")"
wait_until "mosps to list the grandchild $gc" listed "$gc"
said=$(on node1 -- "$MIGRATE" "$gc" node2) || fail "migrate the grandchild: $said"
[[ -n "$(on_node2 "python3 -c")" ]] || fail "the grandchild is not on node2"
kill -USR1 "$gc"
touch "$LC/node1/tmp/k5/go"
wait_for_text "$T/k5.out" "grandchild done"
grep -q "grandchild done: getpid $gc was $gc signals \[10\]" "$T/k5.out" || fail "the grandchild over there: $(cat "$T/k5.out")"
wait_until "the grandchild $gc to end" sh -c "! kill -0 $gc 2>/dev/null"
pass "a grandchild forked under mosrun, its parents gone, moved to node2 (pid $gc there too), got SIGUSR1 there and ended"
