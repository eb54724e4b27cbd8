#!/bin/bash
# A checkpoint of a process away from home is as good as one taken at home: taken on node2
# while the process waits there for a line of its stdin (a read forwarded home, in flight), it
# carries the fds its deputy holds (an output file in node1's /tmp, at its offset) and its cwd;
# the process is killed, and `mosrun -R` at home continues it: the output is byte for byte
# that of an uninterrupted run, nothing lost or doubled.
source "$(dirname "$0")/lib.sh"
start_cluster awayck 2
W="$LC/node1/tmp/w"  # node1's /tmp/w: the files exist only at home
mkdir -p "$W"
seq 1 40000 | awk '{ printf "%d %s\n", $1, substr("abcdefghijklmnop", 1 + $1 % 16) }' >"$T/in.txt"
head -n 20000 "$T/in.txt" >"$T/in1.txt"
tail -n +20001 "$T/in.txt" >"$T/in2.txt"
# Relative path: the output goes to the cwd, /tmp/w at home.
PROG='
import sys, hashlib
out = open("out.txt", "w")
h = hashlib.sha1()
for line in sys.stdin:
    h.update(line.encode())
    out.write("%s %s\n" % (line.split()[0], h.hexdigest()[:12]))
    out.flush()
out.write("end\n")
'
(cd "$T" && python3 -c "$PROG" <"$T/in.txt" && mv out.txt want.txt)
[[ -s "$T/want.txt" ]] || fail "no reference output"

mkfifo "$T/f1" "$T/f2"
exec 5<>"$T/f1" 6<>"$T/f2"
( exec <"$T/f1" 5>&- 6>&-; exec "$MOSCTL" localcluster exec node1 -- sh -c 'cd /tmp/w && exec "$0" "$@"' "$MOSRUN" python3 -c "$PROG" ) >"$T/run.out" 2>&1 &
pid=$!
track $pid
cat "$T/in1.txt" >&5
lines() { [[ $(wc -l <"$W/out.txt" 2>/dev/null || echo 0) -ge $1 ]]; }
wait_until "the first half to be processed at home" lines 20000
said=$(on node1 -- "$MIGRATE" "$pid" node2) || fail "migrate: $said"
# Its read of stdin is now a call forwarded home, in flight: the deputy waits on the pipe.
wait_until "the deputy to wait on stdin for node2" in_syscall "$pid" 0
img=$(on node1 -- "$MIGRATE" "$pid" checkpoint) || fail "checkpoint away: $img"
info=$(on node1 -- "$MOSCTL" image show "$img") || fail "image show: $info"
grep -q "out.txt" <<<"$info" || fail "the image taken away lacks the deputy's output file: $info"
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
exec 5>&-
( exec <"$T/f2" 5>&- 6>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -R "$img" ) >>"$T/run.out" 2>&1 &
pid=$!
track $pid
cat "$T/in2.txt" >&6
exec 6>&-
wait "$pid" || fail "recovered run exited $?: $(cat "$T/run.out")"
cmp -s "$W/out.txt" "$T/want.txt" || fail "output differs from an uninterrupted run: $(diff "$W/out.txt" "$T/want.txt" | head -5)"
pass "checkpointed on node2 with its stdin read in flight, killed, recovered at home with mosrun -R: $(wc -l <"$W/out.txt") lines, same as an uninterrupted run"

# A pipe the process made (both ends its own) comes back as one pipe, whichever node the
# checkpoint was taken on.
rm -f "$LC/node1/tmp/pipe-finish"
( exec </dev/null 5>&- 6>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" python3 -c '
import os, sys, time
r, w = os.pipe()
print("ready", flush=True)
while not os.path.exists("/tmp/pipe-finish"): time.sleep(0.01)
os.write(w, b"through the pipe")
print(os.read(r, 100).decode(), flush=True)' ) >"$T/pipe.out" 2>&1 &
pid=$!
track $pid
wait_for_text "$T/pipe.out" ready
on node1 -- "$MIGRATE" "$pid" node2 >/dev/null || fail "a process holding a pipe could not move"
img=$(on node1 -- "$MIGRATE" "$pid" checkpoint) || fail "checkpoint away with a pipe: $img"
kill "$pid"; wait "$pid" 2>/dev/null || true
touch "$LC/node1/tmp/pipe-finish"
said=$(on node1 -- "$MOSRUN" -R "$img" 2>&1 </dev/null) || fail "recovery of an image with a pipe: $said"
[[ "$said" == "through the pipe" ]] || fail "recovered from node2's checkpoint, its pipe gave: $said"
pass "a pipe the process made, checkpointed on node2, is one pipe again after mosrun -R at home"
