#!/bin/bash
# Checkpoints at arbitrary moments: each round catches selfcheck (dynamic and static) wherever it
# happens to be, kills it, and recovers it; every recovery must finish with VERDICT OK.
source "$(dirname "$0")/lib.sh"
start_agent
rounds=${ROUNDS:-6}
for r in $(seq 1 "$rounds"); do
  prog=$([[ $((r % 2)) -eq 0 ]] && echo selfcheck_static || echo selfcheck)
  W="$T/round$r"; mkdir -p "$W"
  bg_clean "$W/run.out" "$MOSRUN" "$PROGS/$prog" "$W"
  pid=$BG
  wait_for_text "$W/run.out" ready
  # A moment that differs from round to round; the outcome must not depend on it.
  for _ in $(seq 1 $((RANDOM % 40))); do :; done
  img=$("$MIGRATE" "$pid" checkpoint)
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  note=$("$MOSCTL" image show "$img" | sed -n 's/^  caught: //p')
  bg_clean "$W/rec.out" "$MOSRUN" -R "$img"
  rpid=$BG
  touch "$W/finish"
  wait "$rpid" || fail "round $r ($prog, caught: $note): exit $?: $(cat "$W/rec.out")"
  grep -q "VERDICT OK" "$W/rec.out" || fail "round $r: $(cat "$W/rec.out")"
  pass "round $r: $prog caught '$note'"
done
