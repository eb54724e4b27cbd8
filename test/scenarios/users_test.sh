#!/bin/bash
# Many users, one cluster (TLS between the agents): two ordinary users made for the test. Each
# runs and moves her own programs without sudo; the other is refused every action and the
# process is untouched; over there it runs with its owner's uid and no capabilities; images
# are hers alone, and one edited to claim root or bigger limits gains nothing. Then attacks on
# the agents' doors: plaintext and certificate-less calls to the TCP port, a node's certificate
# used for another node's business, peer calls through the client socket.
source "$(dirname "$0")/lib.sh"
start_cluster users 3

# Two users of the test's own, gone at the end.
UA="mxa$$"; UB="mxb$$"
useradd -M -s /bin/bash "$UA"; useradd -M -s /bin/bash "$UB"
trap '"$MOSCTL" localcluster down >/dev/null 2>&1 || true; userdel "$UA" 2>/dev/null; userdel "$UB" 2>/dev/null; rm -rf "$BIN"; cleanup' EXIT
uid_a=$(id -u "$UA")
# The tools where every user can run them, seen from every node (their /tmp is private).
BIN=$(mktemp -d /var/tmp/mosix-users.XXXXXX)
cp "$MOSRUN" "$MIGRATE" "$MOSPS" "$MOSCTL" "$PROGS/counter" "$MOSIX_SHIM" "$BIN/"
cp "$ROOT/test/util/image_edit" "$BIN/"
chmod 755 "$BIN" "$BIN"/*
cd "$BIN"  # a place each user may be in
as() {  # as USER NODE CMD...: a command of USER's on NODE, with only stdio open
  local user=$1 node=$2; shift 2
  on "$node" -- setpriv --reuid="$user" --regid="$user" --init-groups env MOSIX_SHIM="$BIN/libmosix.so" "$@"
}
where_is() { on node1 -- "$BIN/mosps" | awk -v p="$1" '$1 == p {print $3}'; }

# 1. Alice (UA) runs and moves her program, without sudo.
bg_clean "$T/a.out" "$MOSCTL" localcluster exec node1 -- setpriv --reuid="$UA" --regid="$UA" --init-groups \
  env MOSIX_SHIM="$BIN/libmosix.so" "$BIN/mosrun" "$BIN/counter" 1000
wait_for_text "$T/a.out" "of 1000"
pid=$(pgrep -u "$UA" -f "$BIN/counter" | head -1)
[[ -n "$pid" ]] || fail "no counter of $UA"
out=$(as "$UA" node1 "$BIN/migrate" "$pid" node2 2>&1) || fail "$UA cannot move her own process: $out"
pass "$UA moves her own process: $out"
line=$(on node1 -- "$BIN/mosps" | awk -v p="$pid" '$1 == p')
[[ "$line" == *" $UA "*" node2 "*" remote "* ]] || fail "mosps: $line"
json=$(as "$UB" node1 "$BIN/mosps" --json)
python3 -c "import json,sys; d=[p for p in json.loads(sys.argv[1]) if p['pid']==$pid][0]; assert d['user']=='$UA' and d['uid']==$uid_a, d" "$json" \
  || fail "mosps --json: $json"
pass "mosps (as $UB too) lists it with USER $UA"

# 2. Over there: its owner's uid and gid everywhere, no capabilities.
node2_agent=$(cat "$LC/node2/pid")
away=$(pgrep -P "$node2_agent" | while read -r c; do [[ "$(cat /proc/$c/comm)" == mosix-keeper ]] || echo "$c"; done | head -1)
[[ -n "$away" ]] || fail "no guest on node2"
st=$(cat "/proc/$away/status")
grep -qE "^Uid:\s+$uid_a\s+$uid_a\s+$uid_a\s+$uid_a$" <<<"$st" || fail "over there: $(grep Uid <<<"$st")"
grep -qE "^CapEff:\s+0+$" <<<"$st" && grep -qE "^CapPrm:\s+0+$" <<<"$st" || fail "capabilities over there: $(grep Cap <<<"$st")"
pass "on node2 it runs as uid $uid_a with no capabilities"

# 3. Bob (UB) is refused every action, and the process is untouched.
for action in node3 home freeze checkpoint; do
  out=$(as "$UB" node1 "$BIN/migrate" "$pid" $action 2>&1) && fail "$UB could '$action' $UA's process: $out"
  [[ "$out" == *"permission denied"* ]] || fail "refusal of $action unclear: $out"
done
[[ "$(where_is "$pid")" == node2 ]] || fail "$UA's process moved: $(where_is "$pid")"
kill -0 "$away" || fail "the process over there is gone"
pass "$UB is refused node3/home/freeze/checkpoint with 'permission denied'; the process stays on node2"

# 4. Checkpoints are hers: mode 0600, her file; Bob cannot recover it, even given a copy.
ck=$(as "$UA" node1 "$BIN/migrate" "$pid" checkpoint) || fail "checkpoint: $ck"
st=$(on node1 -- stat -c '%U %a' "$ck")
[[ "$st" == "$UA 600" ]] || fail "checkpoint $ck is '$st'"
out=$(as "$UB" node1 "$BIN/mosrun" -R "$ck" 2>&1) && fail "$UB recovered $UA's image"
[[ "$out" == *"ermission denied"* ]] || fail "unclear: $out"
on node1 -- cp "$ck" /tmp/copy.img; on node1 -- chmod 644 /tmp/copy.img
out=$(as "$UB" node1 "$BIN/mosrun" -R /tmp/copy.img 2>&1) && fail "$UB recovered a copy of $UA's image"
[[ "$out" == *"permission denied"* && "$out" == *"uid $uid_a"* ]] || fail "unclear: $out"
out=$(as "$UB" node1 "$BIN/mosrun" -C /root/x "$BIN/counter" 2>&1) && fail "-C in /root accepted"
[[ "$out" == *"/root"* ]] || fail "unclear -C refusal: $out"
pass "checkpoint $ck is $UA's (0600); $UB cannot recover it or a copy; -C where she cannot write is refused"

# 5. An image edited to claim root (and all capabilities) is refused; one edited to raise its
#    open-files limit above what she may set runs without that.
on node1 -- chown "$UA" /tmp/copy.img
as "$UA" node1 "$BIN/image_edit" root /tmp/copy.img /tmp/root.img || fail "image_edit root"
as "$UA" node1 "$BIN/image_edit" limits /tmp/copy.img /tmp/limits.img || fail "image_edit limits"
out=$(as "$UA" node1 "$BIN/mosrun" -R /tmp/root.img 2>&1) && fail "an image claiming uid 0 was recovered by $UA"
[[ "$out" == *"permission denied"* ]] || fail "unclear: $out"
kill -9 "$pid" 2>/dev/null || true
bg_clean "$T/r.out" "$MOSCTL" localcluster exec node1 -- setpriv --reuid="$UA" --regid="$UA" --init-groups \
  "$BIN/mosrun" -R /tmp/limits.img
rpid=$BG
wait_until "the edited image to run ($(cat "$T/r.out" 2>/dev/null))" sh -c "tr '\0' ' ' </proc/$rpid/cmdline 2>/dev/null | grep -q counter || ! kill -0 $rpid"
kill -0 "$rpid" 2>/dev/null || fail "the edited image did not run: $(cat "$T/r.out")"
st=$(cat "/proc/$rpid/status")
grep -qE "^Uid:\s+$uid_a\s+$uid_a\s+$uid_a\s+$uid_a$" <<<"$st" || fail "edited image: $(grep Uid <<<"$st")"
grep -qE "^CapEff:\s+0+$" <<<"$st" || fail "edited image has capabilities"
hard=$(awk '/Max open files/ {print $5}' "/proc/$rpid/limits")
[[ "$hard" != 1073741824 ]] || fail "edited image raised its open-files limit to $hard"
kill -9 "$rpid" 2>/dev/null || true
pass "an image edited to claim uid 0 is refused; one claiming 2^30 open files runs as $UA with hard limit $hard"

# 6. Attacks on the doors.
ATTACK="$ROOT/test/util/peer_attack"
addr1=127.0.0.1:$(sed -n 's/.*"127.0.0.1:\([0-9]*\)".*/\1/p' "$LC/node1/config.textproto" | head -1)
"$ATTACK" plain "$addr1" || fail "a plaintext call reached a handler"
"$ATTACK" nocert "$addr1" "$LC/tls/ca.crt" node1 || fail "a call without a certificate reached a handler"
"$ATTACK" arrive "$addr1" "$LC/tls/node2" node1 node3 || fail "node2's certificate prepared an arrival as node3"
"$ATTACK" unix "$LC/node1/mosixd.sock" || fail "a peer call went through the client socket"
# A guest of node1's on node2: node3's certificate may not kill it.
bg_clean "$T/g.out" "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$PROGS/counter" 1000
gpid=$BG  # mosctl execs mosrun, which execs the program: one pid
wait_for_text "$T/g.out" "of 1000"
on node1 -- "$MIGRATE" "$gpid" node2 >/dev/null || fail "moving root's counter"
# (The newest child: the remote part of a process of hers killed above may still be ending.)
guest=$(pgrep -n -P "$node2_agent")
addr2=127.0.0.2:${addr1##*:}
"$ATTACK" signal "$addr2" "$LC/tls/node3" node2 "$guest" || fail "node3 killed node1's guest"
kill -0 "$guest" || fail "the guest died"
pass "plaintext, certificate-less, impersonating and cross-door calls are all refused; the guest lives"
