#!/bin/bash
# Real-world interpreters, checkpointed mid-computation and recovered: the result must be the
# one the uninterrupted computation gives (each program checks its own arithmetic).
source "$(dirname "$0")/lib.sh"
start_agent
W="$T/work"; mkdir -p "$W"

cat >"$W/compute.py" <<'PY'
import os, sys, hashlib
d = {}
i = s = 0
print("ready", flush=True)
while not os.path.exists(sys.argv[1]):
    i += 1
    s += i * i
    d[i % 50000] = str(i)
ok = s == i * (i + 1) * (2 * i + 1) // 6 and len(d) == min(i, 50000)
print("python", i, "OK" if ok else "WRONG", flush=True)
sys.exit(0 if ok else 3)
PY
cat >"$W/compute.pl" <<'PL'
$| = 1;
my ($i, $s, %h) = (0, 0);
print "ready\n";
until (-e $ARGV[0]) { $i++; $s += $i * $i; $h{$i % 40000} = "v$i"; }
my $ok = ($s == $i * ($i + 1) * (2 * $i + 1) / 6) && (scalar(keys %h) == ($i < 40000 ? $i : 40000));
print "perl $i ", ($ok ? "OK" : "WRONG"), "\n";
exit($ok ? 0 : 3);
PL

for lang in python3 perl; do
  ext=$([[ $lang == python3 ]] && echo py || echo pl)
  rm -f "$W/finish"
  bg_clean "$T/$lang.out" "$MOSRUN" "$lang" "$W/compute.$ext" "$W/finish"
  pid=$BG
  wait_for_text "$T/$lang.out" ready
  img=$("$MIGRATE" "$pid" checkpoint)
  kill -9 "$pid"; wait "$pid" 2>/dev/null || true
  bg_clean "$T/$lang.rec" "$MOSRUN" -R "$img"
  rpid=$BG
  touch "$W/finish"
  wait "$rpid" || fail "$lang recovered exited $?: $(cat "$T/$lang.rec")"
  grep -q " OK" "$T/$lang.rec" || fail "$lang: $(cat "$T/$lang.rec")"
  pass "$lang mid-computation: $(cat "$T/$lang.rec")"
done
