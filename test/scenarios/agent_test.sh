#!/bin/bash
# The agent: clear errors without it, side-by-side agents, robustness against bad input.
source "$(dirname "$0")/lib.sh"

# No agent: every command fails with one line naming the socket and how to start mosixd.
for cmd in "$MOSRUN /bin/true" "$MIGRATE 1 checkpoint" "$MOSCTL status"; do
  if out=$($cmd 2>&1); then fail "'$cmd' succeeded without an agent"; fi
  [[ $(echo "$out" | wc -l) -eq 1 ]] || fail "'$cmd' printed more than one line: $out"
  [[ "$out" == *"$MOSIX_SOCKET"* && "$out" == *mosixd* ]] || fail "'$cmd' message lacks socket/mosixd: $out"
done
pass "no agent: one-line errors naming $MOSIX_SOCKET"

start_agent
# A second agent on the same socket refuses to start; one on another socket runs side by side.
if "$MOSIXD" 2>"$T/second.err"; then fail "second agent on the same socket started"; fi
grep -q "already running" "$T/second.err" || fail "unclear error: $(cat "$T/second.err")"
(
  export MOSIX_SOCKET="$T/b.sock" MOSIX_STATE_DIR="$T/state-b"
  bg_clean "$T/agent-b.log" "$MOSIXD"
  echo "$BG" >"$T/agent-b.pid"
  wait_until "agent b" "$MOSCTL" status
  "$MOSCTL" status | grep -q "$T/state-b" || fail "agent b reports the wrong state dir"
  "$MOSRUN" /bin/true || fail "mosrun against agent b"
)
track "$(cat "$T/agent-b.pid")"
"$MOSCTL" status | grep -q "$T/state" || fail "agent a reports the wrong state dir"
test -d "$T/state-b" || fail "agent b made no state dir"
pass "two agents side by side"

# Bad requests get clear errors and the agent keeps running.
out=$("$MIGRATE" 999999 checkpoint 2>&1) && fail "checkpoint of an unknown pid succeeded"
[[ "$out" == *"999999"* && "$out" == *"not a process running under mosrun"* ]] || fail "unclear: $out"
out=$("$MIGRATE" $$ checkpoint 2>&1) && fail "checkpoint of a process not under mosrun succeeded"
out=$("$MIGRATE" abc checkpoint 2>&1) && fail "bad pid accepted"
python3 - "$MOSIX_SOCKET.channel" <<'PY'
import socket, struct, sys
for payload in [b"", b"x", struct.pack("II", 99, 0), struct.pack("II", 1, 100) + b"ab",
                struct.pack("II", 2, 5) + b"\0\0\0\0\0", struct.pack("II", 2, 9) + b"/nope\0x=y",
                struct.pack("II", 2, 6) + b"/etc/\0"]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    s.send(payload)
    s.settimeout(10)
    try:
        reply = s.recv(65536)
    except socket.timeout:
        reply = b""
    s.close()
PY
kill -0 "$AGENT" || fail "the agent died on malformed channel messages"
"$MOSCTL" status >/dev/null || fail "the agent stopped answering"
pass "bad requests: clear errors, agent still up"

# SIGTERM stops it cleanly and removes its sockets.
kill -TERM "$AGENT"
wait "$AGENT" || fail "agent exit status $?"
[[ ! -e "$MOSIX_SOCKET" ]] || fail "socket left behind"
pass "clean stop"
