#!/bin/bash
# Record locks and flock away from home: the locks are the home node's, taken by the deputy for
# the process, so they conflict with processes at home as they would there. sqlite3 (which
# locks its database with F_SETLK/F_GETLK) builds and queries a database in node1's /tmp while
# it runs on node2; a holder at home makes it wait ("database is locked"); python3 on node2
# sees a home process's POSIX, OFD and flock locks and takes them once they are gone.
source "$(dirname "$0")/lib.sh"
start_cluster locks 3
W="$LC/node1/tmp/locks"; mkdir -p "$W"
where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
on_node2() { [[ "$(where_now "$1")" == node2 ]]; }

# 1. sqlite3 on node2, fed through a pipe from home, against an unmoved run.
sql() {
  echo "create table t(k integer primary key, v text);"
  echo "begin;"
  for i in $(seq 1 2000); do echo "insert into t(v) values('row $i $((i * 7919 % 1000))');"; done
  echo "commit;"
  echo "create index iv on t(v);"
  echo "select count(*), sum(length(v)) from t;"
  echo "update t set v = upper(v) where k % 3 = 0;"
  echo "select v from t where k in (1, 2, 3, 1999);"
  echo "delete from t where k > 1500;"
  echo "select count(*) from t;"
}
sql | sqlite3 "$W/want.db" >"$W/want.out" 2>&1
mkfifo "$W/sql.fifo"
exec 5<>"$W/sql.fifo"
( exec <"$W/sql.fifo" 5>&-; exec "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -r node2 sqlite3 /tmp/locks/run.db ) >"$W/run.out" 2>&1 &
pid=$!
track $pid
wait_until "sqlite3 to run on node2" on_node2 "$pid"
sql >&5
echo ".quit" >&5
exec 5>&-
wait "$pid" || fail "sqlite3 on node2 exited $?: $(cat "$W/run.out")"
cmp -s "$W/run.out" "$W/want.out" || fail "sqlite3 on node2 said: $(diff "$W/want.out" "$W/run.out" | head)"
[[ "$(sqlite3 "$W/run.db" 'pragma integrity_check; select count(*) from t;')" == $'ok\n1500' ]] || fail "the database at home is not whole"
pass "sqlite3 on node2 built and queried a database in node1's /tmp: same output as at home, integrity ok"

# 2. A writer at home holds the database; sqlite3 on node2 finds it locked, then not.
mkfifo "$W/hold.fifo"
exec 6<>"$W/hold.fifo"
( exec <"$W/hold.fifo" 6>&-; exec sqlite3 "$W/run.db" ) >"$W/hold.out" 2>&1 &
holder=$!
track $holder
echo "begin exclusive; insert into t(v) values('held'); select 'holding';" >&6
wait_for_text "$W/hold.out" holding
said=$(printf 'insert into t(v) values(%s);\n' "'away'" | on node1 -- "$MOSRUN" -r node2 sqlite3 /tmp/locks/run.db 2>&1) && fail "an insert went through a held lock: $said"
[[ "$said" == *"database is locked"* ]] || fail "sqlite3 on node2 while home holds the lock: $said"
printf 'commit;\n.quit\n' >&6
exec 6>&-
wait "$holder"
printf 'insert into t(v) values(%s);\n' "'away'" | on node1 -- "$MOSRUN" -r node2 sqlite3 /tmp/locks/run.db || fail "insert after the lock was released"
[[ "$(sqlite3 "$W/run.db" "select count(*) from t where v in ('held', 'away');")" == 2 ]] || fail "rows missing"
pass "sqlite3 on node2: 'database is locked' while sqlite3 at home holds it, written once released"

# 3. python3 on node2 against a holder at home: F_GETLK names it; F_SETLK, F_OFD_SETLK and
#    flock fail with EAGAIN/EWOULDBLOCK; once it is gone all three are taken.
echo data >"$W/file"
python3 -c '
import fcntl, os, sys, time
f = open(sys.argv[1], "r+")
fcntl.lockf(f, fcntl.LOCK_EX)
fcntl.flock(os.open(sys.argv[1], os.O_RDWR), fcntl.LOCK_EX)
print("holding", os.getpid(), flush=True)
while not os.path.exists(sys.argv[1] + ".release"): time.sleep(0.05)
' "$W/file" >"$W/holder.out" 2>&1 &
holder=$!
track $holder
wait_for_text "$W/holder.out" holding
PROBE='
import errno, fcntl, os, struct, sys, time
path = sys.argv[1]
f = open(path, "r+")
def name(e): return errno.errorcode[e.errno]
out = []
lk = struct.pack("hhqqixxxx", fcntl.F_WRLCK, 0, 0, 0, 0)
t, w, s, l, pid = struct.unpack("hhqqixxxx", fcntl.fcntl(f, fcntl.F_GETLK, lk))
out.append("getlk " + ("unlocked" if t == fcntl.F_UNLCK else "held by %d" % pid))
for what, take in (("setlk", lambda: fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)),
                   ("ofd", lambda: fcntl.fcntl(f, fcntl.F_OFD_SETLK, struct.pack("hhqqixxxx", fcntl.F_WRLCK, 0, 0, 0, 0))),
                   ("flock", lambda: fcntl.flock(os.open(path, os.O_RDWR), fcntl.LOCK_EX | fcntl.LOCK_NB))):
    try:
        take(); out.append(what + " taken")
    except OSError as e:
        out.append(what + " " + name(e))
print("; ".join(out))
'
# (EWOULDBLOCK is EAGAIN; an OFD lock conflicts with the process's own POSIX lock: as at home.)
said=$(on node1 -- "$MOSRUN" -r node2 python3 -c "$PROBE" /tmp/locks/file 2>&1)
[[ "$said" == "getlk held by $holder; setlk EAGAIN; ofd EAGAIN; flock EAGAIN" ]] || fail "python3 on node2 while held at home: $said"
touch "$W/file.release"
wait "$holder"
said=$(on node1 -- "$MOSRUN" -r node2 python3 -c "$PROBE" /tmp/locks/file 2>&1)
want=$(python3 -c "$PROBE" "$W/file" 2>&1)
[[ "$said" == "$want" && "$want" == "getlk unlocked; setlk taken; "* ]] || fail "python3 on node2 once released: $said (at home: $want)"
pass "python3 on node2: F_GETLK names the holder at home (pid $holder); F_SETLK, F_OFD_SETLK, flock refused, then taken"
