#!/bin/bash
# migrate PID freeze / continue: the user context goes to an image on the home node's disk, the
# process stays (same pid, parent, fds) using no CPU and almost no memory, and comes back.
source "$(dirname "$0")/lib.sh"
start_agent
W="$T/work"; mkdir -p "$W"

"$MOSRUN" "$PROGS/selfcheck" "$W" >"$T/run.out" 2>&1 </dev/null &
pid=$!
track $pid
wait_for_text "$T/run.out" ready
out=$("$MIGRATE" "$pid" freeze)
[[ "$out" == "pid $pid frozen: image $MOSIX_STATE_DIR/frozen/$pid.img"* ]] || fail "freeze: $out"
[[ -f "$MOSIX_STATE_DIR/frozen/$pid.img" ]] || fail "no frozen image"
kill -0 "$pid" || fail "the frozen process is gone"
wait_until "the frozen process to wait in pause()" in_syscall "$pid" 34
rss=$(awk '/^VmRSS/ {print $2}' /proc/$pid/status)
[[ $rss -lt 200 ]] || fail "frozen process still holds $rss kB"
[[ "$(readlink /proc/$pid/fd/3)" == "$W/state.txt" ]] || fail "frozen process lost its fds"
ps_line=$("$MOSPS" | awk -v p="$pid" '$1 == p')
[[ "$ps_line" == *" frozen "* ]] || fail "mosps: $ps_line"
"$MOSPS" --json | python3 -c "import json,sys; d=[p for p in json.load(sys.stdin) if p['pid']==$pid][0]; assert d['state']=='frozen', d"
pass "frozen: same pid, in pause(), ${rss} kB resident, fds kept, mosps says frozen"

# Refusals while frozen.
out=$("$MIGRATE" "$pid" freeze 2>&1) && fail "double freeze accepted"
[[ "$out" == *"frozen already"* ]] || fail "double freeze: $out"
out=$("$MIGRATE" "$pid" checkpoint 2>&1) && fail "checkpoint of a frozen process accepted"
[[ "$out" == *"is frozen"* ]] || fail "checkpoint while frozen: $out"
out=$("$MIGRATE" "$pid" nowhere 2>&1) && fail "unknown node accepted"
[[ "$out" == *"no node 'nowhere'"* ]] || fail "unknown node: $out"
pass "refusals while frozen"

# A signal sent while frozen waits for it; continue brings it back where it was.
kill -USR2 "$pid"
out=$("$MIGRATE" "$pid" continue)
[[ "$out" == "pid $pid is home"* ]] || fail "continue: $out"
[[ ! -f "$MOSIX_STATE_DIR/frozen/$pid.img" ]] || fail "frozen image left after continue"
out=$("$MIGRATE" "$pid" continue 2>&1) && fail "continue of a running process accepted"
touch "$W/finish"
wait "$pid" || fail "continued selfcheck exited $?: $(cat "$T/run.out")"
grep -q "VERDICT OK.*usr2=1" "$T/run.out" || fail "after continue: $(cat "$T/run.out")"
pass "continued: $(grep VERDICT "$T/run.out")"

# The shell's wait sees the real exit status of a process that was frozen and continued.
rm -f "$W/finish"
"$MOSRUN" "$PROGS/exiter" "$W" exit 9 >"$T/ex.out" 2>&1 </dev/null &
pid=$!
track $pid
wait_for_text "$T/ex.out" ready
"$MIGRATE" "$pid" freeze >/dev/null
"$MIGRATE" "$pid" home >/dev/null
touch "$W/finish"
set +e
wait "$pid"; st=$?
set -e
[[ $st -eq 9 ]] || fail "exit status after freeze/home $st, want 9"
pass "exit status 9 reaches the shell after freeze and home"

# Killed while frozen: the shell sees SIGKILL, the agent forgets it and removes its image.
rm -f "$W/finish"
"$MOSRUN" "$PROGS/exiter" "$W" exit 0 >"$T/ex2.out" 2>&1 </dev/null &
pid=$!
track $pid
wait_for_text "$T/ex2.out" ready
"$MIGRATE" "$pid" freeze >/dev/null
kill -9 "$pid"
set +e
wait "$pid"; st=$?
set -e
[[ $st -eq 137 ]] || fail "killed frozen process gave $st"
wait_until "the frozen image to be removed" test ! -e "$MOSIX_STATE_DIR/frozen/$pid.img"
pass "killed while frozen: status 137, image removed"
