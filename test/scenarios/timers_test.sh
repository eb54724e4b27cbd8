#!/bin/bash
# POSIX timers (timer_create) go with the process: a program with a 20 ms periodic timer keeps
# its ticks (same id, same value) while it is moved node1 -> node2 -> node3 -> home, and after a
# checkpoint is recovered with mosrun -R.
source "$(dirname "$0")/lib.sh"
start_cluster timers 3
W="$LC/node1/tmp/t"; mkdir -p "$W"; chmod 777 "$W"
where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
gone() { ! kill -0 "$1" 2>/dev/null; }

bg_clean "$W/moved.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/posix_timer" 5
p=$BG
wait_for_text "$W/moved.out" ready
for to in node2 node3 home; do
  wait_for_text "$W/moved.out" "ticks"
  on node1 -- "$MIGRATE" "$p" "$to" >/dev/null || fail "the timer program did not move to $to"
done
wait_until "the timer program to end" gone "$p"
wait "$p" || fail "the timer program failed after its moves: $(cat "$W/moved.out")"
grep -q "timer ok" "$W/moved.out" || fail "no 'timer ok' after the moves: $(cat "$W/moved.out")"
pass "a POSIX timer kept ticking through moves to node2, node3 and home: $(grep 'timer ok' "$W/moved.out")"

bg_clean "$W/ckpt.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -C /tmp/t/timer.ckpt "$PROGS/posix_timer" 4
p=$BG
wait_for_text "$W/ckpt.out" "ticks"
on node1 -- "$MIGRATE" "$p" checkpoint >/dev/null || fail "no checkpoint of the timer program"
kill -9 "$p"; wait "$p" 2>/dev/null || true
bg_clean "$W/recovered.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -R /tmp/t/timer.ckpt.1
r=$BG
wait_until "the recovered timer program to end" gone "$r"
wait "$r" || fail "the recovered timer program failed: $(cat "$W/recovered.out")"
grep -q "timer ok" "$W/recovered.out" || fail "no 'timer ok' after recovery: $(cat "$W/recovered.out")"
pass "a POSIX timer came back with its process from a checkpoint: $(grep 'timer ok' "$W/recovered.out")"

# An interval timer (setitimer ITIMER_REAL, 20 ms), in python3: it fires after each of two
# recoveries in a row, and through moves.
cat >"$W/alarm.py" <<'PYEOF'
import signal, sys, time
ticks = 0
def tick(sig, frame):
    global ticks
    ticks += 1
signal.signal(signal.SIGALRM, tick)
signal.setitimer(signal.ITIMER_REAL, 0.02, 0.02)
print("ready", flush=True)
start = time.monotonic()
while time.monotonic() - start < float(sys.argv[1]):
    time.sleep(0.01)
signal.setitimer(signal.ITIMER_REAL, 0)  # (python resets its handlers as it exits)
print("alarm ok" if ticks >= float(sys.argv[1]) / 0.02 / 2 else "too few alarms: %d" % ticks, flush=True)
PYEOF
bg_clean "$W/alarm.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -C /tmp/t/alarm.ckpt python3 /tmp/t/alarm.py 3
p=$BG
wait_for_text "$W/alarm.out" ready
on node1 -- "$MIGRATE" "$p" node2 >/dev/null || fail "the alarm program did not move"
on node1 -- "$MIGRATE" "$p" checkpoint >/dev/null || fail "no checkpoint of the alarm program away"
kill -9 "$p"; wait "$p" 2>/dev/null || true
for round in 1 2; do
  bg_clean "$W/alarm.r$round" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -R /tmp/t/alarm.ckpt.$round
  r=$BG
  if [[ $round == 1 ]]; then
    sleep 0.5  # (let it run a little before its second checkpoint; the result does not depend on it)
    on node1 -- "$MIGRATE" "$r" checkpoint >/dev/null || fail "no second checkpoint of the alarm program"
    kill -9 "$r"; wait "$r" 2>/dev/null || true
    continue
  fi
  wait_until "the twice recovered alarm program to end" gone "$r"
  set +e; wait "$r"; st=$?; set -e
  [[ $st == 0 ]] || fail "the twice recovered alarm program ended with $st: $(cat "$W/alarm.r$round")"
  grep -q "alarm ok" "$W/alarm.r$round" || fail "ITIMER_REAL after two recoveries: $(cat "$W/alarm.r$round")"
done
pass "ITIMER_REAL kept firing through a move and two recoveries in a row"
