#!/bin/bash
# migrate PID checkpoint, mosrun -C/-A, mosrun -R/-O: the MOSIX checkpoint/recovery semantics.
source "$(dirname "$0")/lib.sh"
start_agent
W="$T/work"
mkdir -p "$W"

# A checkpoint on request: printed path, the process keeps running; recovery continues it.
bg_clean "$T/run1.out" "$MOSRUN" -C "$W/ck" "$PROGS/selfcheck" "$W"
pid=$BG
wait_for_text "$T/run1.out" ready
path=$("$MIGRATE" "$pid" checkpoint)
[[ "$path" == "$W/ck.1" && -f "$path" ]] || fail "checkpoint path '$path'"
kill -0 "$pid" || fail "process died after checkpoint"
path2=$("$MIGRATE" "$pid" checkpoint)
[[ "$path2" == "$W/ck.2" ]] || fail "second checkpoint path '$path2'"
argv_before=$(tr '\0' ' ' </proc/$pid/cmdline)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
pass "migrate PID checkpoint: $path, process kept running"

# Recovery: same stdout as the recovering mosrun, the command line back, exit status 0.
bg_clean "$T/rec1.out" "$MOSRUN" -R "$W/ck.2"
rpid=$BG
wait_until "recovered process to show its command line" sh -c "tr '\0' ' ' </proc/$rpid/cmdline | grep -q selfcheck"
argv_after=$(tr '\0' ' ' </proc/$rpid/cmdline)
[[ "$argv_after" == "$argv_before" ]] || fail "cmdline after recovery '$argv_after', before '$argv_before'"
[[ "$(ps -o comm= -p "$rpid")" == selfcheck ]] || fail "ps shows '$(ps -o comm= -p "$rpid")'"
touch "$W/finish"
wait "$rpid" || fail "recovered selfcheck exited $?: $(cat "$T/rec1.out")"
grep -q "VERDICT OK" "$T/rec1.out" || fail "no verdict: $(cat "$T/rec1.out")"
pass "recovered from $W/ck.2: $(grep VERDICT "$T/rec1.out")"

# -O: the image's file is gone; recovery without -O says so; with -O it uses the new path.
rm -f "$W/finish"
mv "$W/state.txt" "$W/moved.txt"
set +e
out=$("$MOSRUN" -R "$W/ck.2" 2>&1); st=$?
set -e
[[ $st -ne 0 && "$out" == *"state.txt"* && "$out" == *"-O 3="* ]] || fail "missing file: $st '$out'"
bg_clean "$T/rec2.out" "$MOSRUN" -R "$W/ck.1" -O "3=$W/moved.txt"
rpid=$BG
wait_until "recovered process" sh -c "ls -l /proc/$rpid/fd/3 | grep -q moved.txt"
touch "$W/finish"
wait "$rpid" || fail "recovery with -O exited $?: $(cat "$T/rec2.out")"
grep -q "VERDICT OK" "$T/rec2.out" || fail "no verdict with -O"
pass "-O 3=PATH redirects the fd"

# A job-stopped process stays stopped through a checkpoint; a pending (blocked) signal is carried
# by the image and delivered after recovery.
rm -f "$W/finish"
bg_clean "$T/run5.out" "$MOSRUN" "$PROGS/selfcheck" "$W"
pid=$BG
wait_for_text "$T/run5.out" ready
kill -USR2 "$pid"
kill -STOP "$pid"
wait_until "job stop" sh -c "grep -q '^State:.*T (stopped)' /proc/$pid/status"
img=$("$MIGRATE" "$pid" checkpoint)
wait_until "still stopped after the checkpoint" sh -c "grep -q '^State:.*T (stopped)' /proc/$pid/status"
shown=$("$MOSCTL" image show "$img")
grep -qE '; pending ([A-Z0-9]+,)*USR2' <<<"$shown" || fail "pending SIGUSR2 not in the image: $shown"
kill -CONT "$pid"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
touch "$W/finish"
bg_clean "$T/rec5.out" "$MOSRUN" -R "$img"
wait "$BG" || fail "recovery exited $?: $(cat "$T/rec5.out")"
grep -q "VERDICT OK.*usr2=1" "$T/rec5.out" || fail "pending signal: $(cat "$T/rec5.out")"
pass "job-stopped process stays stopped; pending signal delivered after recovery"

# Periodic checkpoints with -A (fractions of a minute), then recovery of the newest.
W2="$T/periodic"; mkdir -p "$W2"
bg_clean "$T/run2.out" "$MOSRUN" -C "$W2/auto" -A 0.005 "$PROGS/selfcheck" "$W2"
pid=$BG
wait_until "two periodic checkpoints" test -f "$W2/auto.2"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
shown=$("$MOSCTL" image show "$W2/auto.2")
[[ "$shown" == *"checkpoint #2"* ]] || fail "image does not record its number: $shown"
touch "$W2/finish"
bg_clean "$T/rec3.out" "$MOSRUN" -R "$W2/auto.2"
wait "$BG" || fail "recovery of a periodic checkpoint exited $?: $(cat "$T/rec3.out")"
grep -q "VERDICT OK" "$T/rec3.out" || fail "no verdict after periodic checkpoint"
pass "-A 0.005: periodic checkpoints, newest recovered"

# exiter, checkpointed and recovered: the recovered process's end reaches the shell.
# Sets CKPT to the image path and STATUS to the recovering mosrun's exit status.
exiter_round_trip() {  # exiter_round_trip exit|signal N
  rm -f "$W/finish"
  bg_clean "$T/exiter.out" "$MOSRUN" "$PROGS/exiter" "$W" "$1" "$2"
  local pid=$BG
  wait_for_text "$T/exiter.out" ready
  CKPT=$("$MIGRATE" "$pid" checkpoint)
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  touch "$W/finish"
  set +e
  "$MOSRUN" -R "$CKPT" >/dev/null; STATUS=$?
  set -e
}

# Without -C, checkpoints go to the agent's state dir; exit status propagates after recovery.
exiter_round_trip exit 7
[[ "$CKPT" == "$MOSIX_STATE_DIR/"* ]] || fail "default checkpoint path '$CKPT'"
[[ $STATUS -eq 7 ]] || fail "exit status after recovery $STATUS, want 7"
pass "default checkpoint location; exit status propagates after recovery"

# Death by signal after recovery reaches the shell too.
exiter_round_trip signal 15
[[ $STATUS -eq 143 ]] || fail "signal death after recovery gave $STATUS, want 143"
pass "death by signal propagates after recovery"

# Blocked in nanosleep: with the shim the sleep continues to its original deadline.
bg_clean "$T/sleep.out" "$MOSRUN" "$PROGS/sleeper" 3
pid=$BG
wait_until "sleeper in clock_nanosleep" in_syscall "$pid" 230
path=$("$MIGRATE" "$pid" checkpoint)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
shown=$("$MOSCTL" image show "$path")
[[ "$shown" == *"restart clock_nanosleep"* ]] || fail "not caught in clock_nanosleep: $shown"
bg_clean "$T/sleep2.out" "$MOSRUN" -R "$path"
wait "$BG" || fail "sleeper exited $?: $(cat "$T/sleep2.out")"
grep -q "slept ok" "$T/sleep2.out" || fail "sleeper: $(cat "$T/sleep2.out")"
pass "blocked in nanosleep: $(cat "$T/sleep2.out")"

# Blocked reading stdin: input written after the checkpoint is read once, by the recovered
# process. The test shell holds each fifo open read-write (fds 5, 6) so that opening it never
# blocks and no reader sees EOF; the programs do not inherit those fds.
mkfifo "$T/in1" "$T/in2"
exec 5<>"$T/in1" 6<>"$T/in2"
"$MOSRUN" "$PROGS/reader" <"$T/in1" >"$T/read.out" 2>&1 5>&- 6>&- &
rpid=$!
track $rpid
wait_until "reader in read" in_syscall "$rpid" 0
path=$("$MIGRATE" "$rpid" checkpoint)
kill -9 "$rpid"; wait "$rpid" 2>/dev/null || true
"$MOSRUN" -R "$path" <"$T/in2" >"$T/read2.out" 2>&1 5>&- 6>&- &
rpid=$!
track $rpid
echo "typed after recovery" >&6
wait "$rpid" || fail "recovered reader exited $?: $(cat "$T/read2.out")"
[[ "$(cat "$T/read2.out")" == "got 21: typed after recovery" ]] || fail "reader: $(cat "$T/read2.out")"
exec 5>&- 6>&-
pass "blocked in read: input read once after recovery"

# Pipes and sockets it holds (a job runner's pipes it inherited, a socket of its own) do not
# block a checkpoint: it says which fds will come back with their other end closed, and the
# recovered process reads EOF from the pipe it read and gets EPIPE on the one it wrote.
cat >"$W/worker.py" <<'PY'
import os, socket, sys, time
s = socket.socket()
print("ready", flush=True)
while not os.path.exists(sys.argv[1]): time.sleep(0.02)
got = os.read(8, 10)
print("fd 8:", "EOF" if got == b"" else got, flush=True)
try:
    os.write(9, b"x"); print("fd 9: written", flush=True)
except BrokenPipeError:
    print("fd 9: EPIPE", flush=True)
PY
cat >"$W/runner.py" <<'PY'
import os, sys
r8, w8 = os.pipe(); r9, w9 = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(r8, 8); os.dup2(w9, 9)
    for fd in (r8, w8, r9, w9): os.close(fd)
    os.execvp(sys.argv[1], sys.argv[1:])
os.close(r8); os.close(w9)
print(pid, flush=True)
os.waitpid(pid, 0)
PY
rm -f "$W/finish"
bg_clean "$T/runner.out" python3 "$W/runner.py" "$MOSRUN" python3 "$W/worker.py" "$W/finish"
runner=$BG
wait_until "the worker to start" test -s "$T/runner.out"
pid=$(head -1 "$T/runner.out")
track "$pid"
wait_for_text "$T/runner.out" ready
img=$("$MIGRATE" "$pid" checkpoint 2>"$T/notes") || fail "checkpoint with inherited pipes: $(cat "$T/notes")"
for fd in 3 8 9; do grep -q "note: fd $fd (" "$T/notes" || fail "no note for fd $fd: $(cat "$T/notes")"; done
kill -9 "$pid"; wait "$runner" 2>/dev/null || true
touch "$W/finish"
bg_clean "$T/worker.out" "$MOSRUN" -R "$img"
wait "$BG" || fail "recovered worker: exit $?: $(cat "$T/worker.out")"
[[ "$(cat "$T/worker.out")" == $'fd 8: EOF\nfd 9: EPIPE' ]] || fail "recovered worker: $(cat "$T/worker.out")"
pass "inherited pipes and a socket: checkpoint notes fds $(grep -o 'note: fd [0-9]*' "$T/notes" | awk '{print $3}' | tr '\n' ' ')- recovered: EOF and EPIPE"

# An eventfd, a signalfd, a periodic timerfd and an epoll (watching the eventfd and a pipe) held
# at checkpoint time are made again by the recovery, in their state: the epoll reports both
# with their data, the eventfd keeps its count (a semaphore: five reads of 1, then empty), the
# signalfd its mask (a SIGUSR2 raised after recovery is read from it), the timer ticks on, and
# a socketpair whose both ends it holds is one socketpair again, of its type (SOCK_SEQPACKET):
# the checkpoint notes neither end as lost.
rm -f "$W/kf.go"
bg_clean "$T/kf.out" "$MOSRUN" "$PROGS/kernel_fds" "$W/kf.go"
pid=$BG
wait_for_text "$T/kf.out" ready
img=$("$MIGRATE" "$pid" checkpoint 2>"$T/kf.notes") || fail "checkpoint with kernel object fds: $(cat "$T/kf.notes")"
shown=$("$MOSCTL" image show "$img")
for kind in EVENTFD SIGNALFD TIMERFD EPOLL "comes back whole"; do grep -qi "$kind" <<<"$shown" || fail "image does not show $kind: $shown"; done
grep -q "socket" "$T/kf.notes" && fail "the checkpoint notes a socketpair end as lost: $(cat "$T/kf.notes")"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
touch "$W/kf.go"
bg_clean "$T/kf2.out" "$MOSRUN" -R "$img"
wait "$BG" || fail "recovered kernel_fds: exit $?: $(cat "$T/kf2.out")"
grep -qx "epoll abc def / eventfd 1 1 1 1 1 empty / signalfd SIGUSR2 / timerfd ticking / socketpair seqpacket" "$T/kf2.out" || fail "recovered kernel_fds: $(cat "$T/kf2.out")"
pass "eventfd, signalfd, timerfd and epoll recovered: $(head -1 "$T/kf2.out")"

# tail -f (GNU coreutils: a regular file and an inotify watching it) checkpointed, killed, and
# recovered: once something is appended after the recovery (its inotify hears of that, not of
# what happened while it was gone), it prints both what was appended while it was gone and that.
printf 'one\ntwo\n' >"$W/followed.log"
bg_clean "$T/tail.out" "$MOSRUN" tail -n 5 -f "$W/followed.log"
pid=$BG
wait_for_text "$T/tail.out" two
wait_until "tail to watch its file" bash -c "ls -l /proc/$pid/fd | grep -q inotify"
img=$("$MIGRATE" "$pid" checkpoint 2>"$T/tail.notes") || fail "checkpoint of tail -f: $(cat "$T/tail.notes")"
shown=$("$MOSCTL" image show "$img")
grep -q "inotify .*watch 1 $W/followed.log" <<<"$shown" || fail "image does not show the watch: $shown"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
echo three >>"$W/followed.log"
bg_clean "$T/tail2.out" "$MOSRUN" -R "$img"
tailpid=$BG
wait_until "the recovered tail's inotify to watch its file again" \
  bash -c "grep -q '^inotify wd:1 ' /proc/$tailpid/fdinfo/* 2>/dev/null"
echo four >>"$W/followed.log"
wait_for_text "$T/tail2.out" four
kill "$tailpid"; wait "$tailpid" 2>/dev/null || true
[[ "$(cat "$T/tail2.out")" == $'three\nfour' ]] || fail "recovered tail -f printed: $(cat "$T/tail2.out")"
pass "tail -f recovered with its inotify: printed 'three' (appended while it was gone) and 'four' (after)"
