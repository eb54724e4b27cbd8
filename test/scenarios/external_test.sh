#!/bin/bash
# Programs this project did not write (coreutils, gzip, awk, perl, python3), checkpointed while
# they wait for the second half of their input, killed, recovered, and fed the rest: the output
# must be byte for byte what an uninterrupted run gives.
source "$(dirname "$0")/lib.sh"
start_agent
W="$T/work"; mkdir -p "$W"
python3 -c '
import random
r = random.Random(7)
with open("'"$W"'/in.txt", "w") as f:
    for i in range(60000):
        f.write("%d %s\n" % (r.randrange(10**9), "".join(r.choice("abcdefgh") for _ in range(12))))
'
total=$(stat -c %s "$W/in.txt")
half=$((total / 2))
head -c "$half" "$W/in.txt" >"$W/in1.txt"
tail -c +"$((half + 1))" "$W/in.txt" >"$W/in2.txt"

bytes_read() { awk '/^rchar/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
has_read() { in_syscall "$1" 0 && [[ $(bytes_read "$1") -ge $2 ]]; }

check() {  # check NAME CMD...: the two-halves run of CMD must equal the direct run
  local name="$1"; shift
  local fifo1="$W/$name.f1" fifo2="$W/$name.f2" out="$W/$name.out"
  "$@" <"$W/in.txt" >"$W/$name.want"
  mkfifo "$fifo1" "$fifo2"
  exec 5<>"$fifo1" 6<>"$fifo2"
  "$MOSRUN" "$@" <"$fifo1" >"$out" 2>"$W/$name.err" 5>&- 6>&- &
  local pid=$!
  track $pid
  cat "$W/in1.txt" >&5 &
  wait_until "$name to read the first half" has_read "$pid" "$half"
  local img
  img=$("$MIGRATE" "$pid" checkpoint) || fail "$name: checkpoint refused"
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  exec 5>&-
  "$MOSRUN" -R "$img" <"$fifo2" >>"$out" 2>>"$W/$name.err" 5>&- 6>&- &
  pid=$!
  track $pid
  cat "$W/in2.txt" >&6
  exec 6>&-
  wait "$pid" || fail "$name: recovered run exited $?: $(cat "$W/$name.err")"
  cmp -s "$out" "$W/$name.want" || fail "$name: output differs from an uninterrupted run"
  pass "$name: checkpointed after $(numfmt --to=iec "$half") of input, recovered, same output"
}

check md5sum md5sum
check sha256sum sha256sum
check wc wc
check sort sort --parallel=1 -S 64M
check awk awk '{ s += $1; n[substr($2, 1, 2)]++ } END { print s; for (k in n) print k, n[k] | "sort" }'
check tr tr a-h A-H
check gzip gzip -c -6 -n
check perl perl -ne '$s += (split)[0]; $h{substr((split)[1], 0, 3)}++; END { print "$s ", scalar(keys %h), "\n" }'
check python3 python3 -c '
import sys, collections
c = collections.Counter(l.split()[1][:2] for l in sys.stdin)
print(sorted(c.items())[:5], sum(c.values()))'

# dd opens of= on its fd 1. Stdio comes from the recovering mosrun, so -O 1= puts the very same
# file back, at its offset: the output file ends up identical to the input.
mkfifo "$W/dd.f1" "$W/dd.f2"
exec 5<>"$W/dd.f1" 6<>"$W/dd.f2"
"$MOSRUN" dd if="$W/dd.f1" of="$W/dd.out" bs=4k 2>"$W/dd.err" 5>&- 6>&- &
pid=$!
track $pid
cat "$W/in1.txt" >&5 &
wait_until "dd to read the first half" has_read "$pid" "$half"
img=$("$MIGRATE" "$pid" checkpoint)
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
exec 5>&-
"$MOSRUN" -R "$img" -O 0="$W/dd.f2" -O 1="$W/dd.out" 2>>"$W/dd.err" 5>&- 6>&- &
pid=$!
track $pid
cat "$W/in2.txt" >&6
exec 6>&-
wait "$pid" || fail "dd: recovered run exited $?: $(cat "$W/dd.err")"
cmp -s "$W/dd.out" "$W/in.txt" || fail "dd: output file differs from its input"
pass "dd: of= file continued at its offset through -O 1="
