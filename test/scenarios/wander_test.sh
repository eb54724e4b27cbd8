#!/bin/bash
# Programs this project did not write wander over an emulated 3-node cluster while they work:
# each reads its input from a pipe at home, in pieces, and between pieces it is moved to another
# node, on to a third, or home, at a moment that differs from run to run (blocked reading the
# pipe, a forwarded call in flight, or computing). Its output must be byte for byte what an
# unmoved run gives: nothing lost, nothing doubled, wherever its calls were caught.
source "$(dirname "$0")/lib.sh"
start_cluster wander 3
W="$T/work"; mkdir -p "$W"
pieces=${PIECES:-6}
python3 -c '
import random
r = random.Random(11)
with open("'"$W"'/in.txt", "w") as f:
    for i in range(120000):
        f.write("%d %s\n" % (r.randrange(10**9), "".join(r.choice("abcdefgh") for _ in range(16))))
'
split -n "$pieces" -d "$W/in.txt" "$W/piece."
# bash reads a pipe a byte at a time (a forwarded read each, away from home): a smaller input.
head -n 12000 "$W/in.txt" >"$W/small.txt"
split -n "l/$pieces" -d "$W/small.txt" "$W/small_piece."


where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
listed() { [[ -n "$(where_now "$1")" ]]; }
# Blocked in read, or poll (xz polls its input and its own signal pipe); the home pid is the
# program at home, and its deputy (serving the call) when it is away.
waits_for_input() { in_syscall "$1" 0 || in_syscall "$1" 7; }

check() {  # check NAME CMD...
  local name="$1"; shift
  local in=${INPUT:-in}
  "$@" <"$W/$in.txt" >"$W/$name.want" 2>&1
  local fifo="$W/$name.fifo" out="$W/$name.out"
  mkfifo "$fifo"
  exec 5<>"$fifo"
  ( exec <"$fifo" 5>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$@" ) >"$out" 2>"$W/$name.err" &
  local pid=$! here=node1 moves="" p target
  track $pid
  wait_until "$name to start under mosrun" listed "$pid"
  for p in "$W/$([[ $in == in ]] && echo piece || echo small_piece)".*; do
    cat "$p" >&5
    # A moment of its own: at once, or when it waits on the pipe (at home, or through its deputy).
    if (( RANDOM % 2 )); then wait_until "$name to wait for input" waits_for_input "$pid"; fi
    here=$(where_now "$pid")  # (a fork or exec brings it home by itself)
    case $here in
      node1) target=$( (( RANDOM % 2 )) && echo node2 || echo node3 ) ;;
      node2) target=$( (( RANDOM % 2 )) && echo node3 || echo home ) ;;
      node3) target=$( (( RANDOM % 2 )) && echo node2 || echo home ) ;;
    esac
    local said
    # A program that forks may come home by itself at any moment, even during the move.
    if ! said=$(on node1 -- "$MIGRATE" "$pid" "$target" 2>&1); then
      [[ ${FORKS:-0} == 1 && ( "$said" == *already* || "$said" == *busy* ) ]] || fail "$name: migrate $target after $moves: $said"
    fi
    [[ $target == home ]] && here=node1 || here=$target
    now=$(where_now "$pid")
    [[ "$now" == "$here" || ( ${FORKS:-0} == 1 && "$now" == node1 ) ]] || fail "$name: mosps says $now, not $here"
    here=$now
    moves+="$here "
  done
  exec 5>&-
  wait "$pid" || fail "$name: exited $? after $moves: $(cat "$W/$name.err")"
  cmp -s "$out" "$W/$name.want" ||
    fail "$name: output differs from an unmoved run (moves: $moves): $(diff "$W/$name.want" "$out" | head -6; cat "$W/$name.err")"
  pass "$name: $(numfmt --to=iec "$(stat -c %s "$W/$in.txt")") in $pieces pieces, moved $moves- same output"
}

check md5sum md5sum
check sha1sum sha1sum
check wc wc -lwc
check sort sort --parallel=1 -S 64M
check tr tr a-h A-H
check gzip gzip -c -1 -n
check xz xz -T1 -0 -c
check awk awk '{ s += $1 % 1000; k = substr($2, 1, 2); if (!(k in n)) c++; n[k]++ } END { print s, c, n["ab"] }'
check perl perl -ne '$s += (split)[0] % 1000; $h{substr((split)[1], 0, 3)}++; END { print "$s ", scalar(keys %h), "\n" }'
# bash forks for every command substitution: away from home, that brings it home first.
FORKS=1 INPUT=small check bash bash -c 'c=0; while read -r a b; do c=$((c + 1)); if (( c % 1500 == 0 )); then echo "$c $(echo "$b" | tr a-h A-H)"; fi; done; echo "end $c"'
check python3 python3 -c '
import sys, hashlib
h = hashlib.sha256()
for line in sys.stdin:
    h.update(line.encode())
print(h.hexdigest())'
