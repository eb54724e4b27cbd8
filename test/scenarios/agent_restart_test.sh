#!/bin/bash
# Agents stopped, killed and restarted under running programs (mosctl localcluster stop/start/
# restart), on an emulated 3-node cluster:
#  - a node agent that stops sends its guests home first: xz, moved there, finishes with the
#    output of an unmoved run;
#  - a node agent killed and started again under its guests: they go on (xz, reading and writing
#    through its deputy, ends with the output of an unmoved run; a program waiting in pause()
#    gets the signal sent at home while the agent was down; one that only computes gets a new
#    link too; one that exits while the agent is down ends at home with its own status);
#  - a node agent killed for good under a guest with no checkpoint: the deputy at home ends with
#    status 112 and says why, and the copy over there ends too (no orphan), within the grace;
#  - ... under a guest with a checkpoint: it comes back home from it and finishes;
#  - a restarted node takes a move again at once (peers reconnect): the time is printed;
#  - the home agent killed and restarted under xz away and a program at home: it takes both
#    back from its table on disk, with new channels and links (link_invariants.h, I5);
#  - guests that end while their home agent is down (an exit, a signal over there): the home,
#    back, learns their status.
#   With --insecure (agent_restart_trusted_test): 1. to 3. only, on a network the map marks
#   trusted, where a guest's link goes straight to its deputy and outlives the agents.
#   Every program runs locked (mosrun -L): the test moves them by hand, and a move the
#   cluster decided meanwhile would make its migrate find the process busy.
source "$(dirname "$0")/lib.sh"
TRUSTED=${1:-}
start_cluster restart 3 $TRUSTED
W="$LC/node1/tmp/w"; mkdir -p "$W"; chmod 777 "$W"
where_now() { on node1 -- "$MOSPS" | awk -v p="$1" '$1 == p {print $3}'; }
is_at() { [[ "$(where_now "$1")" == "$2" ]]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
# Processes left in a node's cgroup (its agent's and its guests'), but the agent itself and its
# lifeline keepers (which hold guests' lifelines for the next agent, a while).
node_procs() {
  local p
  for p in $(cat "/sys/fs/cgroup/cpu/mosix-${LC##*/}/$1/cgroup.procs"); do
    [[ $p == "$(cat "$LC/$1/pid")" || "$(cat /proc/$p/comm 2>/dev/null)" == mosix-keeper ]] || echo "$p"
  done
}
node_empty() { [[ -z "$(node_procs "$1")" ]]; }
# The pid in NODE's cgroup of the program whose command line ends with MARK.
pid_on() {  # pid_on NODE MARK
  local p
  for p in $(pgrep -f -- " $2\$"); do grep -q "/$1\$" "/proc/$p/cgroup" 2>/dev/null && echo "$p"; done | head -1
}
# A python3 under mosrun -L on node1 (its last argument MARK) that computes, with no call home,
# and exits with 7 when it gets SIGUSR2 (sent where it runs).
py_end() {  # py_end OUT MARK
  bg_clean "$1" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L python3 -c 'import os, signal
got = []
signal.signal(signal.SIGUSR2, lambda s, f: got.append(s))
print("computing", flush=True)
while not got:
    pass
os._exit(7)' "$2"
}
# A program that computed stopped (it ended, or waits in a call).
done_computing() { [[ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != R ]]; }

# 1. A graceful restart of the node xz runs on: it comes home and finishes, byte for byte.
python3 -c '
import random
r = random.Random(5)
with open("'"$W"'/in.txt", "w") as f:
    for i in range(300000): f.write("%d %s\n" % (r.randrange(10**9), r.choice(["alpha", "beta", "gamma"])))
'
xz -9 -T1 -c "$W/in.txt" | sha256sum >"$W/xz.want"
bg_clean "$W/xz.out" "$MOSCTL" localcluster exec node1 -- bash -c "exec \"$MOSRUN\" -L xz -9 -T1 -c /tmp/w/in.txt >/tmp/w/xz.xz"
xzpid=$BG
wait_until "xz under mosrun" is_at "$xzpid" node1
on node1 -- "$MIGRATE" "$xzpid" node2 >/dev/null || fail "xz did not move to node2"
"$MOSCTL" localcluster restart node2 >/dev/null || fail "node2 did not restart"
wait_until "xz to end" gone "$xzpid"
wait "$xzpid" || fail "xz failed after its node restarted: $(cat "$W/xz.out")"
sha256sum <"$W/xz.xz" | cmp -s - "$W/xz.want" || fail "xz's output differs after its node restarted"
grep -q "pid $xzpid is back home: node2 sent it back" "$LC/node1/mosixd.log" || fail "node1 did not say xz came home"
pass "a node that restarts sends its guest home first: xz's output is identical"

# 2. A restarted node takes a move at once.
bg_clean "$W/py.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L python3 -c 'print("ready", flush=True)
while True: pass'
py=$BG
# (python3 may be a wrapper script that execs the interpreter: moved before, it comes home for
# the exec. The test moves the interpreter itself.)
wait_for_text "$W/py.out" ready
t0=$(date +%s%N)
wait_until "a move to the restarted node2" on node1 -- "$MIGRATE" "$py" node2
echo "first move to node2 after its restart: $(( ($(date +%s%N) - t0) / 1000000 )) ms after it listened"

# 3. Its agent killed and started again: its guests go on. xz reads and writes through its
#    deputy: byte for byte an unmoved run's output. signal_waiter waits in pause(): SIGUSR1,
#    sent at home while the agent is down, reaches it once the next agent has taken it back.
#    A python3 that exits over there while the agent is down: its status reaches home.
bg_clean "$W/xz3.out" "$MOSCTL" localcluster exec node1 -- bash -c "exec \"$MOSRUN\" -L xz -9 -T1 -c /tmp/w/in.txt >/tmp/w/xz3.xz"
xz3=$BG
bg_clean "$W/wait.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L "$PROGS/signal_waiter" pause
waiter=$BG
# A python3 that computes, and exits (7) when SIGUSR2 is sent to it over there: with no call in
# between, its exit is its first word home after the agent died (link_invariants.h, I6).
py_end "$W/ender.out" ender3
ender=$BG
wait_until "xz under mosrun" is_at "$xz3" node1
wait_until "signal_waiter under mosrun" is_at "$waiter" node1
wait_for_text "$W/wait.out" "waiting pause"
wait_for_text "$W/ender.out" "computing"
on node1 -- "$MIGRATE" "$xz3" node2 >/dev/null || fail "xz did not move to node2"
on node1 -- "$MIGRATE" "$waiter" node2 >/dev/null || fail "signal_waiter did not move to node2"
guests=$(node_procs node2)
on node1 -- "$MIGRATE" "$ender" node2 >/dev/null || fail "the python3 that ends did not move to node2"
ender_there=$(pid_on node2 ender3)
[[ -n $ender_there ]] || fail "the python3 that ends is not seen on node2"
"$MOSCTL" localcluster stop node2 --kill >/dev/null
kill -USR1 "$waiter"
kill -USR2 "$ender_there"
# It exits now: it waits for a new link to say so (or, as before I6, ended unheard).
wait_until "the python3 on node2 to stop computing" done_computing "$ender_there"
sleep 2
for p in $guests; do kill -0 "$p" 2>/dev/null || fail "a guest (pid $p) died with node2's agent"; done
"$MOSCTL" localcluster start node2 >/dev/null
wait_until "node2 to take its guests back" grep -q "pid $xz3 of node1 (here [0-9]*) is this agent's again" "$LC/node2/mosixd.log"
wait_until "xz to end" gone "$xz3"
wait "$xz3" || fail "xz failed after its node's agent was killed and restarted: $(cat "$W/xz3.out")"
sha256sum <"$W/xz3.xz" | cmp -s - "$W/xz.want" || fail "xz's output differs after its node's agent was killed and restarted"
wait_until "signal_waiter to end" gone "$waiter"
set +e; wait "$waiter"; st=$?; set -e
[[ $st == 0 ]] || fail "signal_waiter ended with $st: $(cat "$W/wait.out")"
grep -q "woke pause handled=1" "$W/wait.out" || fail "signal_waiter did not get SIGUSR1: $(cat "$W/wait.out")"
set +e; wait "$ender"; ender_st=$?; set -e
[[ $ender_st == 7 ]] || fail "a python3 that exited on node2 while its agent was down ended with $ender_st at home, not 7: $(cat "$W/ender.out")"
# python3 (from 2.) computes without a call: it got a new link all the same, and a signal.
kill -0 "$py" || fail "python3 did not outlive node2's agent"
if [[ -z $TRUSTED ]]; then
  wait_until "python3's new link" grep -q "pid $py on node2 has a new link after that node's agent restarted" "$LC/node1/mosixd.log"
else
  wait_until "node2 to take python3 back" grep -q "pid $py of node1 (here [0-9]*) is this agent's again" "$LC/node2/mosixd.log"
fi
kill -TERM "$py"
set +e; wait "$py"; st=$?; set -e
[[ $st == 143 ]] || fail "python3 did not die by SIGTERM sent at home after node2's agent restarted ($st)"
pass "a node agent killed and restarted under xz, a program in pause(), one that computes and one that exited meanwhile: all went on, xz's output identical, the signals arrived, the exit status (7) reached home"
[[ -z $TRUSTED ]] || exit 0

# 4. Its agent killed for good: the deputy ends with 112 and says why; the copy over there ends too.
bg_clean "$W/py.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L python3 -c 'print("ready", flush=True)
while True: pass'
py=$BG
wait_for_text "$W/py.out" ready
wait_until "python3 to move to node2" on node1 -- "$MIGRATE" "$py" node2
guest=$(node_procs node2)
t0=$(date +%s%N)
"$MOSCTL" localcluster stop node2 --kill >/dev/null
wait_until "python3's deputy to end" gone "$py"
echo "deputy ended $(( ($(date +%s%N) - t0) / 1000000 )) ms after node2's agent was killed"
set +e; wait "$py"; st=$?; set -e
[[ $st == 112 ]] || fail "the deputy ended with $st, not 112"
grep -q "the remote part of this process is gone" "$W/py.out" || fail "the deputy did not say why: $(cat "$W/py.out")"
wait_until "python3's copy on node2 to end" node_empty node2
echo "its copy on node2 ended $(( ($(date +%s%N) - t0) / 1000000 )) ms after node2's agent was killed"
pass "a node agent killed for good: the deputy ended with 112 and said why, and no copy runs on over there"
"$MOSCTL" localcluster start node2 >/dev/null

# 5. ... with a checkpoint: back home from it, and it finishes.
bg_clean "$W/count.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L -C /tmp/w/count.ckpt "$PROGS/counter" 30
cnt=$BG
wait_for_text "$W/count.out" "step  3 of"
wait_until "counter to move to node3" on node1 -- "$MIGRATE" "$cnt" node3
wait_for_text "$W/count.out" "step  6 of"
on node1 -- "$MIGRATE" "$cnt" checkpoint >/dev/null || fail "no checkpoint of counter on node3"
wait_for_text "$W/count.out" "step  8 of"
"$MOSCTL" localcluster stop node3 --kill >/dev/null
wait_until "counter to be back home" is_at "$cnt" node1
wait_until "counter to end" gone "$cnt"
wait "$cnt" || fail "counter failed after it came back from its checkpoint: $(tail -3 "$W/count.out")"
grep -q "done: checksum" "$W/count.out" || fail "counter did not finish"
grep -q "pid $cnt: node3 does not answer; it is back home from its checkpoint" "$LC/node1/mosixd.log" ||
  fail "node1 did not say counter came back from its checkpoint"
wait_until "counter's copy on node3 to end" node_empty node3
pass "a node agent killed for good under a checkpointed guest: it came home from its checkpoint and finished"
"$MOSCTL" localcluster start node3 >/dev/null

# 6. The home agent killed and started again while xz runs on node2, reading and writing through
#    its deputy: it takes xz back (new channel, new link at both ends), and xz's output is
#    byte for byte an unmoved run's. A program at home is taken back too: listed, movable.
bg_clean "$W/xz2.out" "$MOSCTL" localcluster exec node1 -- bash -c "exec \"$MOSRUN\" -L xz -9 -T1 -c /tmp/w/in.txt >/tmp/w/xz2.xz"
xz2=$BG
bg_clean "$W/home.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" -L "$PROGS/counter" 200
homep=$BG
wait_until "xz and counter under mosrun" is_at "$xz2" node1
wait_until "counter under mosrun" is_at "$homep" node1
on node1 -- "$MIGRATE" "$xz2" node2 >/dev/null || fail "xz did not move to node2"
# (A program at home is written to the table on disk once it has run for a second.)
wait_for_text "$W/home.out" "step  5 of"
"$MOSCTL" localcluster restart node1 --kill >/dev/null || fail "node1 did not restart"
wait_until "node1 to take xz back" grep -q "pid $xz2 is this agent's again (remote on node2)" "$LC/node1/mosixd.log"
wait_until "node1 to take counter back" grep -q "pid $homep is this agent's again (home)" "$LC/node1/mosixd.log"
[[ "$(where_now "$xz2")" == node2 || "$(where_now "$xz2")" == node1 ]] || fail "mosps does not list xz after the restart"
on node1 -- "$MIGRATE" "$homep" node3 >/dev/null || fail "counter, at home, could not move after the restart"
wait_until "xz to end" gone "$xz2"
wait "$xz2" || fail "xz failed after its home agent restarted: $(cat "$W/xz2.out")"
sha256sum <"$W/xz2.xz" | cmp -s - "$W/xz.want" || fail "xz's output differs after its home agent restarted"
kill -TERM "$homep"
set +e; wait "$homep"; st=$?; set -e
[[ $st == 143 ]] || fail "counter, on node3, did not die by SIGTERM sent at home after the restart ($st)"
pass "the home agent restarted under xz away and a program at home: both taken back, xz's output identical"

# 7. Guests that end while their home agent is down (killed, not yet started again). One exits:
#    it waits to tell its deputy how (link_invariants.h, I6), and does once the home is back and
#    has relinked it (7, not 112 for a process lost). One is killed over there by a signal: its
#    node reaps it and keeps how it ended; the home, back, asks the node (SIGTERM: 143).
py_end "$W/end7.out" end7
p7=$BG
py_end "$W/term7.out" term7
t7=$BG
wait_for_text "$W/end7.out" "computing"
wait_for_text "$W/term7.out" "computing"
wait_until "python under mosrun" is_at "$p7" node1
wait_until "python under mosrun" is_at "$t7" node1
on node1 -- "$MIGRATE" "$p7" node2 >/dev/null || fail "python did not move to node2"
on node1 -- "$MIGRATE" "$t7" node2 >/dev/null || fail "python did not move to node2"
p7_there=$(pid_on node2 end7)
t7_there=$(pid_on node2 term7)
[[ -n $p7_there && -n $t7_there ]] || fail "the two pythons are not seen on node2 ($p7_there, $t7_there)"
"$MOSCTL" localcluster stop node1 --kill >/dev/null || fail "node1's agent did not stop"
kill -USR2 "$p7_there"
kill -TERM "$t7_there"
wait_until "the python on node2 that exits to stop computing" done_computing "$p7_there"
wait_until "the python on node2 killed over there to end" gone "$t7_there"
"$MOSCTL" localcluster start node1 >/dev/null || fail "node1's agent did not start again"
# (Not $st: lib.sh's ERR trap sets st after every failing command, the first wait's included.)
set +e; wait "$p7"; end_st=$?; wait "$t7"; term_st=$?; set -e
[[ $end_st == 7 ]] || fail "a guest that exited while its home agent was down: status $end_st, not its own 7: $(cat "$W/end7.out")"
[[ $term_st == 143 ]] || fail "a guest killed by SIGTERM over there while its home agent was down: status $term_st, not 143: $(cat "$W/term7.out")"
pass "guests that ended while their home agent was down: the home, back, learnt their status (7 told on the new link; SIGTERM, 143, from the node)"
