#!/bin/bash
# A signal sent to the home pid reaches the process wherever it runs and whatever it waits in:
# signal_waiter waits for SIGUSR1 in one call (local ones: pause, sigsuspend, futex,
# sigtimedwait, nanosleep; forwarded ones: poll, epoll_wait, read on a pipe at home; pselect and
# ppoll, which let SIGUSR1 through only in their own mask, as make's jobserver does SIGCHLD), is moved
# while it waits (node1 -> node2; node2 -> node3; node3 -> home), and must wake as it would at
# home: its handler runs and the call returns EINTR. SIGTERM, left at its default, kills it
# wherever it is, and the shell at home sees it die by it.
source "$(dirname "$0")/lib.sh"
start_cluster sig 3
where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
listed() { [[ -n "$(where_now "$1")" ]]; }
modes=${MODES:-"pause sigsuspend futex sigtimedwait nanosleep poll epoll read pselect ppoll"}

# start MODE: signal_waiter MODE under mosrun at home (node1), waiting; sets pid and out.
start() {
  out="$T/$1.$2.out"
  ( exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/signal_waiter" "$1" ) >"$out" 2>&1 </dev/null &
  pid=$!
  track $pid
  wait_for_text "$out" "waiting $1"
  wait_until "pid $pid to be listed" listed "$pid"
}

move() {  # move TARGET: migrate the waiting process, then check where mosps says it is
  local said
  said=$(on node1 -- "$MIGRATE" "$pid" "$1" 2>&1) || fail "migrate $pid $1: $said"
  local want=$1
  [[ $want == home ]] && want=node1
  [[ "$(where_now "$pid")" == "$want" ]] || fail "pid $pid is on $(where_now "$pid"), not $want"
}

# Sends SIGUSR1 until the process says it woke (a signal that came before the wait began is
# handled before it; the wait itself then needs another), and checks how it ended.
wake() {  # wake MODE WHERE
  local end=$((SECONDS + DEADLINE))
  until has_text "$out" "woke $1"; do
    [[ $SECONDS -lt $end ]] || fail "$1 on $2: never woke: $(cat "$out")"
    kill -USR1 "$pid" 2>/dev/null || true
    sleep 0.2
  done
  set +e; wait "$pid"; local st=$?; set -e
  [[ $st -eq 0 ]] || fail "$1 on $2: exit $st: $(cat "$out")"
}

for mode in $modes; do
  start "$mode" a; move node2
  wake "$mode" node2
  start "$mode" b; move node2; move node3
  wake "$mode" "node3 (from node2)"
  start "$mode" c; move node2; move node3; move home
  wake "$mode" "home (from node3)"
  pass "$mode: woken by SIGUSR1 on node2, on node3 after node2, and home after node3"
done

# Default actions: SIGTERM kills it wherever it waits; the shell at home sees the signal.
for mode in futex read; do
  start "$mode" term; move node2
  [[ $mode == read ]] && move node3
  kill -TERM "$pid"
  set +e; wait "$pid"; st=$?; set -e
  [[ $st -eq 143 ]] || fail "$mode: SIGTERM away gave exit $st, want 143: $(cat "$out")"
done
pass "SIGTERM kills a process waiting away (futex on node2, read on node3): exit 143 at home"
