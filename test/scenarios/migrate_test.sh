#!/bin/bash
# Moving processes between the nodes of an emulated cluster: the program keeps its pid, stdin,
# stdout, files (which exist only in the home node's /tmp) and exit status; it runs in the
# target's cgroup; the deputy at home holds almost no memory; refusals and faults keep it home.
source "$(dirname "$0")/lib.sh"
start_cluster mig 3
cg_of() { grep ':cpu:' "/proc/$1/cgroup" | sed 's|.*/||'; }
# Starts `mosrun ARGS...` on node1 in the background with stdin from IN and output to OUT; sets
# pid to its (home) pid.
start_home() {  # start_home IN OUT ARGS...
  local in=$1 out=$2
  shift 2
  ( exec <"$in"; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$@" ) >"$out" 2>&1 &
  pid=$!
  track $pid
}
# The pid of the program's part that is not the given (home) pid.
away_pid() { pgrep -f -- "remote_probe $1" | grep -vx "$2" | head -1; }

# 1. migrate PID node2: everything stays the home's.
mkdir -p "$LC/node1/tmp/p1"
echo "typed at home" >"$T/in1"
start_home "$T/in1" "$T/p1.out" "$PROGS/remote_probe" /tmp/p1
wait_for_text "$T/p1.out" ready
out=$(on node1 -- "$MIGRATE" "$pid" node2) || fail "migrate: $out"
[[ "$out" == "pid $pid runs on node2"* ]] || fail "migrate said: $out"
ps_line=$(on node1 -- "$MOSPS" | awk -v p="$pid" '$1 == p')
[[ "$ps_line" == *" node2 "*" node1 "*" remote "* ]] || fail "mosps: $ps_line"
away=$(away_pid /tmp/p1 "$pid")
[[ -n "$away" ]] || fail "no remote part of pid $pid"
# MEM is the process's own, as the node it runs on measures it (not the deputy's). It grows
# for a while as the process touches its libraries there: read it between two measures.
own_mem_shown() {
  local r1 m r2
  r1=$(awk '/^VmRSS/ {print $2}' "/proc/$away/status")
  m=$(on node1 -- "$MOSPS" | awk -v p="$pid" '$1 == p {print $7}' | tr -d K)
  r2=$(awk '/^VmRSS/ {print $2}' "/proc/$away/status")
  (( m * 10 >= r1 * 9 && m * 10 <= r2 * 11 ))
}
wait_until "mosps to show the memory of the part on node2 ($(awk '/^VmRSS/ {print $2}' "/proc/$away/status") K)" own_mem_shown
[[ "$(cg_of "$away")" == node2 && "$(cg_of "$pid")" == node1 ]] || fail "cgroups: away $(cg_of "$away"), home $(cg_of "$pid")"
# The deputy frees the program's memory itself, once the process runs over there.
rss_below() { [[ $(awk '/^VmRSS/ {print $2}' "/proc/$1/status") -lt $2 ]]; }
wait_until "the deputy to free the program's memory" rss_below "$pid" 600
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
[[ "$(tr '\0' ' ' </proc/$pid/cmdline)" == *"remote_probe /tmp/p1"* ]] || fail "ps lost the deputy's command line"
pass "moved to node2 (remote part pid $away in node2's cgroup); deputy $pid holds ${rss} kB"
touch "$LC/node1/tmp/p1/go"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 7 ]] || fail "exit status $st, want 7: $(cat "$T/p1.out")"
for want in "after the move: pid $pid" "stdin said: typed at home" "done, exiting with 7"; do
  grep -q "$want" "$T/p1.out" || fail "missing '$want' in: $(cat "$T/p1.out")"
done
[[ "$(cat "$LC/node1/tmp/p1/written-away.txt")" == "hello from away" ]] || fail "file not written at home"
[[ ! -e "$LC/node2/tmp/p1" ]] || fail "files appeared on node2"
pass "after the move: same pid, home stdin/stdout, files in node1's /tmp only, exit status 7"

# 1b. migrate PID home: out and back again, then it finishes at home.
mkdir -p "$LC/node1/tmp/p7"
echo "typed at home" >"$T/in7"
start_home "$T/in7" "$T/p7.out" "$PROGS/remote_probe" /tmp/p7
wait_for_text "$T/p7.out" ready
on node1 -- "$MIGRATE" "$pid" node3 >/dev/null
away=$(away_pid /tmp/p7 "$pid")
[[ -n "$away" && "$(cg_of "$away")" == node3 ]] || fail "not on node3"
out=$(on node1 -- "$MIGRATE" "$pid" home) || fail "migrate home: $out"
[[ "$out" == "pid $pid is home"* ]] || fail "migrate home said: $out"
wait_until "the remote part to be gone" sh -c "! kill -0 $away 2>/dev/null"
ps_line=$(on node1 -- "$MOSPS" | awk -v p="$pid" '$1 == p')
[[ "$ps_line" == *" node1 "*" node1 "*" home "* ]] || fail "mosps after home: '$ps_line'; probe: $(cat "$T/p7.out"); agents: $(cat "$LC"/node*/mosixd.log)"
# It is the program again, not a deputy: its libraries are mapped from this node's files (the
# same as when it left, so they were not sent back).
rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
grep -q '/libc\.so' "/proc/$pid/maps" || fail "back home without its libc mapped: $(cat "/proc/$pid/maps")"
out=$(on node1 -- "$MIGRATE" "$pid" node2) || fail "out again after coming home: $out"
away=$(away_pid /tmp/p7 "$pid")
[[ "$(cg_of "$away")" == node2 ]] || fail "not on node2 the second time"
out=$(on node1 -- "$MIGRATE" "$pid" node3) || fail "node2 -> node3: $out"
wait_until "the part on node2 to be gone" sh -c "! kill -0 $away 2>/dev/null"
[[ "$(cg_of "$(away_pid /tmp/p7 "$pid")")" == node3 ]] || fail "not on node3 after node2 -> node3"
touch "$LC/node1/tmp/p7/go"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 7 ]] || fail "after coming home: status $st: $(cat "$T/p7.out")"
grep -q "stdin said: typed at home" "$T/p7.out" || fail "after coming home: $(cat "$T/p7.out")"
pass "node1 -> node3 -> home (${rss} kB resident again, libc mapped from this node) -> node2 -> node3 directly: finished with status 7"

# 1c. A sleeping process (a local call made inside the shim) comes home; a process blocked
# reading stdin at home moves, and the line typed afterwards is read once, over there.
start_home /dev/null "$T/sl.out" "$PROGS/sleeper" 2
wait_until "the sleeper to sleep" in_syscall "$pid" 230
on node1 -- "$MIGRATE" "$pid" node2 >/dev/null
on node1 -- "$MIGRATE" "$pid" home >/dev/null || fail "a sleeping process could not come home"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 0 ]] && grep -q "slept ok" "$T/sl.out" || fail "sleeper after node2 and back: $st $(cat "$T/sl.out")"
mkfifo "$T/rd.in"
exec 8<>"$T/rd.in"
( exec <"$T/rd.in" 8>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/reader" ) >"$T/rd.out" 2>&1 &
pid=$!
track $pid
wait_until "the reader to block in read" in_syscall "$pid" 0
on node1 -- "$MIGRATE" "$pid" node2 >/dev/null
away=$(pgrep -f -- "$PROGS/reader" | grep -vx "$pid" | head -1)
[[ -n "$away" && "$(cg_of "$away")" == node2 ]] || fail "the reader is not on node2"
# Its read is now a forwarded call, blocked at home: it moves on to node3 while it waits.
wait_until "the deputy to read stdin for node2" in_syscall "$pid" 0
on node1 -- "$MIGRATE" "$pid" node3 >/dev/null || fail "a process waiting on a forwarded read could not move on"
wait_until "the reader to leave node2" sh -c "! kill -0 $away 2>/dev/null"
away=$(pgrep -f -- "$PROGS/reader" | grep -vx "$pid" | head -1)
[[ -n "$away" && "$(cg_of "$away")" == node3 ]] || fail "the reader is not on node3"
# And home, its read still in flight: it makes the call itself, at home, and waits there.
wait_until "the deputy to read stdin for node3" in_syscall "$pid" 0
out=$(on node1 -- "$MIGRATE" "$pid" home) || fail "a process waiting on a forwarded read could not come home: $out"
wait_until "the reader to leave node3" sh -c "! kill -0 $away 2>/dev/null"
wait_until "the reader to read stdin at home" in_syscall "$pid" 0
[[ "$(on node1 -- "$MOSPS" | awk -v p="$pid" '$1 == p {print $5}')" == home ]] || fail "mosps: $(on node1 -- "$MOSPS")"
echo "typed after the move" >&8
set +e; wait "$pid"; st=$?; set -e
exec 8>&-
[[ $st -eq 0 && "$(cat "$T/rd.out")" == $'waiting\ngot 21: typed after the move' ]] || fail "reader: $st $(cat "$T/rd.out")"
pass "a sleeping process came home and slept on; a reader blocked on stdin moved to node2, then, its forwarded read in flight, to node3 and home, and read its line once"

# 2. mosrun -r NODE: starts home, moves as soon as it runs.
mkdir -p "$LC/node1/tmp/p2"
start_home /dev/null "$T/p2.out" -r node3 "$PROGS/remote_probe" /tmp/p2
wait_until "pid $pid to be on node3" sh -c "'$MOSCTL' localcluster exec node1 -- '$MOSPS' | awk -v p=$pid '\$1 == p' | grep -q ' node3 .* remote '"
echo "x" >/dev/null
touch "$LC/node1/tmp/p2/go"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 3 ]] || fail "mosrun -r: status $st: $(cat "$T/p2.out")"  # its stdin was empty: PROBE FAIL stdin
grep -q "PROBE FAIL: stdin" "$T/p2.out" || fail "mosrun -r: $(cat "$T/p2.out")"
out=$(on node1 -- "$MOSRUN" -r nowhere /bin/true 2>&1) && fail "mosrun -r to an unknown node ran"
[[ "$out" == *"no node 'nowhere'"* ]] || fail "mosrun -r nowhere: $out"
pass "mosrun -r node3: moved as it started (and read EOF from its empty home stdin)"

# 3. Unsupported calls away from home: killed with a message by default, ENOSYS with -e.
# fork and exec are made at home: the process comes home first, at once.
mkdir -p "$LC/node1/tmp/p3" "$LC/node1/tmp/p4"
for mode in kill enosys; do
  dir=$([[ $mode == kill ]] && echo p3 || echo p4)
  opt=$([[ $mode == kill ]] && printf %s -h || printf %s -e)
  ( exec </dev/null; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" $opt "$PROGS/remote_probe" /tmp/$dir unsupported ) >"$T/$dir.out" 2>&1 &
  pid=$!
  track $pid
  wait_for_text "$T/$dir.out" ready
  on node1 -- "$MIGRATE" "$pid" node2 >/dev/null
  touch "$LC/node1/tmp/$dir/go"
  set +e; wait "$pid"; st=$?; set -e
  if [[ $mode == kill ]]; then
    [[ $st -eq 137 ]] || fail "unsupported io_setup: status $st: $(cat "$T/$dir.out")"
    grep -q "system call io_setup is not supported away from home.*mosrun -e" "$T/$dir.out" || fail "no message: $(cat "$T/$dir.out")"
  else
    [[ $st -eq 5 ]] || fail "io_setup under -e: status $st: $(cat "$T/$dir.out")"
    grep -q "io_setup failed: Function not implemented" "$T/$dir.out" || fail "-e: $(cat "$T/$dir.out")"
  fi
done
pass "unsupported call away from home: killed with a message naming mosrun -e; under -e, ENOSYS"
mkdir -p "$LC/node1/tmp/p8" "$LC/node1/tmp/p9"
for mode in fork exec; do
  dir=$([[ $mode == fork ]] && echo p8 || echo p9)
  start_home /dev/null "$T/$dir.out" "$PROGS/remote_probe" /tmp/$dir $mode
  wait_for_text "$T/$dir.out" ready
  on node1 -- "$MIGRATE" "$pid" node2 >/dev/null
  away=$(away_pid "/tmp/$dir" "$pid")
  [[ -n "$away" && "$(cg_of "$away")" == node2 ]] || fail "$mode: not on node2"
  touch "$LC/node1/tmp/$dir/go"
  set +e; wait "$pid"; st=$?; set -e
  if [[ $mode == fork ]]; then
    [[ $st -eq 6 ]] && grep -q "fork worked: pid $pid, child [0-9]* exited 3" "$T/$dir.out" || fail "fork away: $st $(cat "$T/$dir.out")"
  else
    [[ $st -eq 9 ]] && grep -q "exec worked, pid $pid was $pid" "$T/$dir.out" || fail "exec away: $st $(cat "$T/$dir.out")"
  fi
  kill -0 "$away" 2>/dev/null && fail "$mode: its part on node2 is still there"
done
grep -q "came home\|is home" "$LC/node1/mosixd.log" || true
pass "fork and exec away from home: the process came home and made them there (child's parent and exec's pid are the home pid)"

# 4. Signals sent at home reach the process away: during a forwarded read (handled, and the
# read goes on, as with SA_RESTART), Ctrl-Z/fg (stop and continue both parts), and SIGTERM
# (the shell sees death by SIGTERM).
proc_state() { awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
mkdir -p "$LC/node1/tmp/p6"
mkfifo "$T/sig.in"
exec 7<>"$T/sig.in"
( exec <"$T/sig.in" 7>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/remote_probe" /tmp/p6 signals ) >"$T/p6.out" 2>&1 &
pid=$!
track $pid
wait_for_text "$T/p6.out" ready
on node1 -- "$MIGRATE" "$pid" node2 >/dev/null
away=$(away_pid /tmp/p6 "$pid")
touch "$LC/node1/tmp/p6/go"
wait_for_text "$T/p6.out" reading
wait_until "the deputy to read stdin for its remote part" in_syscall "$pid" 0
kill -USR1 "$pid"
echo "after the signal" >&7
wait_for_text "$T/p6.out" "usr1=1 line=after the signal"
wait_for_text "$T/p6.out" computing
pass "SIGUSR1 at home reached the handler away; the interrupted read went on"
kill -TSTP "$pid"
wait_until "both parts stopped" sh -c "[ \"\$(awk '/^State:/ {print \$2}' /proc/$pid/status)\" = T ] && [ \"\$(awk '/^State:/ {print \$2}' /proc/$away/status)\" = T ]"
kill -CONT "$pid"
wait_until "the remote part to run again" sh -c "[ \"\$(awk '/^State:/ {print \$2}' /proc/$away/status)\" = R ]"
pass "Ctrl-Z (SIGTSTP) stopped both parts; SIGCONT resumed the remote part"
kill -TERM "$pid"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 143 ]] || fail "SIGTERM at home: status $st: $(cat "$T/p6.out")"
exec 7>&-
pass "kill -TERM at home: the process away died of it, and the shell saw status 143"

# 5. The node a process runs on dies (its agent and the process with it).
node_dies() { kill -9 "$(cat "$LC/$1/pid")" "$2" 2>/dev/null || true; }
# With checkpoints (-C/-A, taken over there and kept at home): it comes back from the newest.
mkdir -p "$LC/node1/tmp/d2"
start_home /dev/null "$T/d2.out" -C /tmp/d2/ck -A 0.005 "$PROGS/exiter" /tmp/d2 exit 9
wait_for_text "$T/d2.out" ready
on node1 -- "$MIGRATE" "$pid" node3 >/dev/null
away=$(pgrep -f -- "$PROGS/exiter /tmp/d2" | grep -vx "$pid" | head -1)
wait_until "a checkpoint taken on node3" test -f "$LC/node1/tmp/d2/ck.2"
node_dies node3 "$away"
wait_until "pid $pid back home from its checkpoint" sh -c "'$MOSCTL' localcluster exec node1 -- '$MOSPS' | awk -v p=$pid '\$1 == p' | grep -q ' node1 .* home '"
touch "$LC/node1/tmp/d2/finish"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 9 ]] || fail "after its node died: status $st: $(cat "$T/d2.out"; cat "$LC"/node1/mosixd.log)"
pass "node3 died: pid $pid came back home from its newest checkpoint and ended with its own status 9"

# 6. Refusals and faults keep the process home, running.
mkdir -p "$LC/node1/tmp/p5"
start_home /dev/null "$T/p5.out" "$PROGS/remote_probe" /tmp/p5
wait_for_text "$T/p5.out" ready
out=$(on node1 -- "$MIGRATE" "$pid" node9 2>&1) && fail "unknown node accepted"
[[ "$out" == *"no node 'node9'"* ]] || fail "unknown node: $out"
kill "$(cat "$LC/node3/pid")" 2>/dev/null || true  # (dead already if section 5 ran)
wait_until "node3's agent to stop" sh -c "! kill -0 $(cat "$LC/node3/pid") 2>/dev/null"
out=$(on node1 -- "$MIGRATE" "$pid" node3 2>&1) && fail "move to a dead node succeeded"
[[ "$out" == *"node3"* ]] || fail "dead node: $out"
ps_line=$(on node1 -- "$MOSPS" | awk -v p="$pid" '$1 == p')
[[ "$ps_line" == *" node1 "*" home "* ]] || fail "after a failed move: $ps_line"
touch "$LC/node1/tmp/p5/go"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 3 ]] && grep -q "PROBE FAIL: stdin" "$T/p5.out" || fail "after a failed move it did not go on at home: $st $(cat "$T/p5.out")"
pass "unknown node and unreachable node: clear errors ($out), the process went on at home"

bg_clean "$T/static.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/selfcheck_static" /tmp
spid=$BG
wait_for_text "$T/static.out" ready
out=$(on node1 -- "$MIGRATE" "$spid" node2 2>&1) && fail "a static program moved"
[[ "$out" == *"no mosix shim"* ]] || fail "static: $out"
pass "a static program cannot move: $out"

# 6b. Kernel objects stay home with the deputy: an epoll, an eventfd and a periodic timerfd
# work node1->node2->node1->node2 (their calls go home; node3 is down by now); a signalfd cannot (its reads would see the
# deputy's signals), so a process holding one is refused with the fd named, and untouched.
mkdir -p "$LC/node1/tmp/k1" "$LC/node1/tmp/k2"
start_home /dev/null "$T/k1.out" -L "$PROGS/kernel_fds" /tmp/k1/go nosignalfd
wait_for_text "$T/k1.out" ready
out=$(on node1 -- "$MIGRATE" "$pid" node2) || fail "migrate with kernel objects: $out"
out=$(on node1 -- "$MIGRATE" "$pid" home 2>&1) || fail "migrate node2->home with kernel objects: $out"
out=$(on node1 -- "$MIGRATE" "$pid" node2 2>&1) || fail "migrate home->node2 again with kernel objects: $out"
touch "$LC/node1/tmp/k1/go"
wait "$pid" || fail "kernel_fds after moves: $(cat "$T/k1.out")"
grep -q "epoll abc def / eventfd 1 1 1 1 1 empty / signalfd none / timerfd ticking / socketpair seqpacket" "$T/k1.out" || fail "kernel_fds: $(cat "$T/k1.out")"
start_home /dev/null "$T/k2.out" -L "$PROGS/kernel_fds" /tmp/k2/go
wait_for_text "$T/k2.out" ready
if out=$(on node1 -- "$MIGRATE" "$pid" node2 2>&1); then fail "a process with a signalfd moved: $out"; fi
[[ "$out" == *"fd 4 is a signalfd"* ]] || fail "refusal: $out"
touch "$LC/node1/tmp/k2/go"
wait "$pid" || fail "kernel_fds after a refused move: $(cat "$T/k2.out")"
grep -q "signalfd SIGUSR2" "$T/k2.out" || fail "kernel_fds after a refused move: $(cat "$T/k2.out")"
pass "epoll, eventfd and timerfd work after node1->node2->node1->node2; a signalfd is refused: $out"

# 7. Without checkpoints, a process whose node dies is lost: the deputy says so at once and
# exits 112 (never a silent hang).
mkdir -p "$LC/node1/tmp/d1"
start_home /dev/null "$T/d1.out" "$PROGS/exiter" /tmp/d1 exit 0
wait_for_text "$T/d1.out" ready
on node1 -- "$MIGRATE" "$pid" node2 >/dev/null
away=$(pgrep -f -- "$PROGS/exiter /tmp/d1" | grep -vx "$pid" | head -1)
node_dies node2 "$away"
set +e; wait "$pid"; st=$?; set -e
[[ $st -eq 112 ]] || fail "lost process: status $st: $(cat "$T/d1.out")"
grep -q "the remote part of this process is gone" "$T/d1.out" || fail "no message: $(cat "$T/d1.out")"
pass "node2 died under a process without checkpoints: it said so and exited 112"
