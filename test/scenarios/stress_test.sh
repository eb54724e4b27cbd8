#!/bin/bash
# Hundreds of moves at random instants: three programs this project did not write (xz, python3,
# sort) and signal_waiter-like waits run at once on an emulated 3-node cluster, reading pipes fed
# slowly from home, writing files at home and waiting; a mover picks a random process and a
# random target (another node, or home) over and over, without waiting for any state. Each
# output must be byte for byte what an unmoved run gives, and each process must end by itself.
# SEED=N repeats a run; MOVES=N sets how many moves (default 300). RESTART_EVERY=N (or the
# arguments `--moves N --restart-every N`) also restarts an agent every N moves, in turn: the
# home agent killed (SIGKILL) and started again, then node2's and node3's stopped and started
# (their guests go home first); the outputs must still be identical.
source "$(dirname "$0")/lib.sh"
restart_every=${RESTART_EVERY:-0}
moves_wanted=${MOVES:-300}
while (( $# )); do
  case $1 in
    --moves) moves_wanted=$2; shift 2 ;;
    --restart-every) restart_every=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
start_cluster stress 3
seed=${SEED:-$RANDOM}
RANDOM=$seed
echo "seed $seed"
W="$LC/node1/tmp/stress"; mkdir -p "$W"  # node1's /tmp: what its processes see as /tmp/stress
python3 -c '
import random
r = random.Random(7)
with open("'"$W"'/in.txt", "w") as f:
    for i in range(60000):
        f.write("%d %s\n" % (r.randrange(10**9), "".join(r.choice("abcdefgh") for _ in range(24))))
'
pieces=60
split -n l/$pieces -a 3 -d "$W/in.txt" "$W/piece."
PY='
import sys, hashlib, time
h = hashlib.sha256()
n = 0
with open(sys.argv[1], "w") as out:
    for line in sys.stdin:
        h.update(line.encode())
        n += 1
        if n % 500 == 0:
            out.write("%d %s\n" % (n, h.hexdigest()[:16]))
            out.flush()
            time.sleep(0.002)
print(n, h.hexdigest())
'
names=(xz python3 sort)
cmd_of() {  # cmd_of NAME LOG: the command line; python3 also writes LOG
  case $1 in
    xz) echo "xz -6 -T1 -c" ;;
    python3) echo "python3 -c \"\$PY\" $2" ;;
    sort) echo "sort --parallel=1 -S 32M -k2" ;;
  esac
}
# Unmoved runs, at home, for the reference outputs.
for n in "${names[@]}"; do
  PY="$PY" bash -c "$(cmd_of "$n" "$W/py-want.log")" <"$W/in.txt" >"$W/$n.want"
done

where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
listed() { [[ -n "$(where_now "$1")" ]]; }
declare -A pid fifo
fd=5
for n in "${names[@]}"; do
  fifo[$n]="$W/$n.fifo"
  mkfifo "${fifo[$n]}"
  eval "exec $fd<>\"\${fifo[$n]}\""
  ( exec <"${fifo[$n]}"; for f in /proc/self/fd/*; do k=${f##*/}; [[ $k -gt 2 ]] && eval "exec $k>&-" 2>/dev/null; done
    PY="$PY" exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" bash -c "exec $(cmd_of "$n" /tmp/stress/py-run.log)" ) >"$W/$n.out" 2>"$W/$n.err" &
  pid[$n]=$!
  track "${pid[$n]}"
  fd=$((fd + 1))
done
for n in "${names[@]}"; do wait_until "$n to start under mosrun" listed "${pid[$n]}"; done

# The feeder writes a piece to every pipe as the moves go on (piece i once i/pieces of them are
# done), so that the programs work through all the moves; the mover moves whatever it picks.
echo 0 >"$W/moves"
feed() {
  local p n k i=0
  for p in "$W"/piece.*; do
    until m=$(cat "$W/moves"); (( ${m:-0} * pieces >= i * moves_wanted )); do sleep 0.01; done
    k=5
    for n in "${names[@]}"; do cat "$p" >&$k; k=$((k + 1)); done
    i=$((i + 1))
  done
  touch "$W/fed"
}
feed &
FEEDER=$!
track $FEEDER
done_moves=0 refused=0 restarts=0
declare -A count
restart_one() {
  local how
  case $((restarts % 3)) in
    0) how="node1 --kill" ;;
    1) how="node2" ;;
    2) how="node3" ;;
  esac
  echo "restart $how after $done_moves moves" >>"$W/moves.log"
  # shellcheck disable=SC2086
  "$MOSCTL" localcluster restart $how >>"$W/moves.log" 2>&1 || fail "restart $how failed"
  restarts=$((restarts + 1))
}
while (( done_moves < moves_wanted )); do
  n=${names[$((RANDOM % ${#names[@]}))]}
  p=${pid[$n]}
  here=$(where_now "$p")
  if [[ -z "$here" ]]; then  # ended: only once its input is all there
    if [[ ! -e "$W/fed" ]]; then
      set +e; wait "$p"; st=$?; set -e
      fail "$n ended with status $st before its input did, after ${count[$n]:-0} moves (seed $seed): $(head -c 600 "$W/$n.err")"
    fi
    alive=0
    for m in "${names[@]}"; do [[ -n "$(where_now "${pid[$m]}")" ]] && alive=1; done
    (( alive )) && continue || break
  fi
  case $here in
    node1) target=$( (( RANDOM % 2 )) && echo node2 || echo node3 ) ;;
    node2) target=$(case $((RANDOM % 3)) in 0) echo node3 ;; *) echo home ;; esac) ;;
    node3) target=$(case $((RANDOM % 3)) in 0) echo node2 ;; *) echo home ;; esac) ;;
    *) continue ;;
  esac
  said=$(on node1 -- "$MIGRATE" "$p" "$target" 2>&1) && ok=1 || ok=0
  echo "$n $here -> $target: $said" >>"$W/moves.log"
  if (( ok )); then
    done_moves=$((done_moves + 1))
    if (( restart_every > 0 && done_moves % restart_every == 0 )); then restart_one; fi
    count[$n]=$(( ${count[$n]:-0} + 1 ))
    echo "$done_moves" >"$W/moves.new" && mv "$W/moves.new" "$W/moves"
  else
    if ! kill -0 "$p" 2>/dev/null && [[ ! -e "$W/fed" ]]; then
      set +e; wait "$p"; st=$?; set -e
      fail "$n ended with status $st before its input did, after ${count[$n]:-0} moves (seed $seed): $(head -c 600 "$W/$n.err")"
    fi
    # Only a move already under way (the process came home by itself) may be refused; after
    # an agent restarts, also one to a node its peers are reconnecting to, or one of a process
    # being taken back.
    refusable=0
    [[ "$said" == *busy* || "$said" == *already* ]] && refusable=1
    if (( restarts > 0 )) && [[ "$said" == *connect* || "$said" == *"does not answer"* ]]; then refusable=1; fi
    if (( ! refusable )); then
      for _ in $(seq 1 50); do [[ -e /proc/$p ]] && sleep 0.1; done
      st=running
      if [[ ! -e /proc/$p ]]; then set +e; wait "$p"; st=$?; set -e; fi
      fail "$n: migrate $target after $done_moves moves: $said (the process: $st; $(head -c 300 "$W/$n.err"))"
    fi
    refused=$((refused + 1))
  fi
  # Sometimes at once, sometimes a moment later: instants that differ from run to run.
  (( RANDOM % 4 == 0 )) && sleep 0.0$((RANDOM % 10))
done
wait $FEEDER || fail "the feeder failed"
for k in 5 6 7; do eval "exec $k>&-"; done
for n in "${names[@]}"; do
  wait "${pid[$n]}" || fail "$n exited $? after ${count[$n]:-0} moves (seed $seed): $(head -5 "$W/$n.err")"
  cmp -s "$W/$n.out" "$W/$n.want" ||
    fail "$n: output differs from an unmoved run after ${count[$n]:-0} moves (seed $seed): $(cmp "$W/$n.out" "$W/$n.want" 2>&1 | head -2)"
done
cmp -s "$W/py-run.log" "$W/py-want.log" || fail "python3's log file differs from an unmoved run's (seed $seed)"
(( done_moves * 10 >= moves_wanted * 9 )) || fail "only $done_moves moves before the programs ended (seed $seed)"
pass "$done_moves moves (xz ${count[xz]:-0}, python3 ${count[python3]:-0}, sort ${count[sort]:-0}; $refused refused as busy), $restarts agent restarts, seed $seed: outputs and python3's log identical to unmoved runs"
