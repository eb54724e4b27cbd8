#!/bin/bash
# mosrun: the program replaces mosrun and behaves exactly as without it.
source "$(dirname "$0")/lib.sh"
start_agent

# Exit status and death by signal reach the shell unchanged.
touch "$T/finish"
set +e
"$MOSRUN" "$PROGS/exiter" "$T" exit 7; st=$?
set -e
[[ $st -eq 7 ]] || fail "exit status $st, want 7"
set +e
"$MOSRUN" "$PROGS/exiter" "$T" signal 15; st=$?
set -e
[[ $st -eq 143 ]] || fail "death by SIGTERM gave $st, want 143"
pass "exit status and signal death propagate"

# stdin and stdout pass through; the environment and arguments too.
out=$(printf 'one\ntwo\n' | "$MOSRUN" /bin/cat)
[[ "$out" == $'one\ntwo' ]] || fail "stdin/stdout: got '$out'"
out=$(FOO=bar "$MOSRUN" /bin/sh -c 'echo "$FOO" "$1"' sh 'a b')
[[ "$out" == "bar a b" ]] || fail "env/args: got '$out'"
err=$("$MOSRUN" /bin/sh -c 'echo oops >&2' 2>&1 >/dev/null)
[[ "$err" == "oops" ]] || fail "stderr: got '$err'"
pass "stdio, environment and arguments"

# Same pid as mosrun; the shell is the parent.
"$MOSRUN" /bin/sh -c 'echo "$$ $PPID" > "$1"; exec sleep 60' sh "$T/ids" &
pid=$!
track $pid
wait_until "pid file" test -s "$T/ids"
read -r inner parent <"$T/ids"
[[ $inner -eq $pid ]] || fail "program pid $inner, mosrun pid $pid"
[[ $parent -eq $$ ]] || fail "parent $parent, shell $$"
kill $pid; wait $pid 2>/dev/null || true
pass "same pid, shell is the parent"

# A program that cannot run: 127 like the shell, one line.
set +e
out=$("$MOSRUN" /nonexistent/prog 2>&1); st=$?
set -e
[[ $st -eq 127 && "$out" == *"/nonexistent/prog"* ]] || fail "missing program: $st '$out'"
out=$("$MOSRUN" -A 2>&1) && fail "-A without value accepted"
out=$("$MOSRUN" -A -1 /bin/true 2>&1) && fail "negative -A accepted"
# Numbers are whole and in range, or refused with a line that names them (exit 2).
for bad in "-A nan" "-A inf" "-A 1e400" "-A 2x" "-m 0" "-m -5" "-m 12MB" "-m 99999999999" "-m ''"; do
  set +e
  out=$(eval "\"\$MOSRUN\" $bad /bin/true" 2>&1); st=$?
  set -e
  [[ $st -eq 2 && "$out" == mosrun:* && $(wc -l <<<"$out") -eq 1 ]] || fail "mosrun $bad: exit $st, '$out'"
done
for bad in "-O x=/dev/null" "-O -1=/dev/null" "-O 3=" "-O 3"; do
  set +e
  out=$(eval "\"\$MOSRUN\" -R $T/none $bad" 2>&1); st=$?
  set -e
  [[ $st -eq 2 && "$out" == *"bad -O"* ]] || fail "mosrun -R FILE $bad: exit $st, '$out'"
done
"$MOSRUN" -m 64 -A 0.5 /bin/true || fail "-m 64 -A 0.5 refused"
# No agent: the reason, in one line.
set +e
out=$(MOSIX_SOCKET=$T/no-agent.sock "$MOSRUN" /bin/true 2>&1); st=$?
set -e
[[ $st -eq 1 && "$out" == "mosrun: no mosix agent at $T/no-agent.sock"* ]] || fail "no agent: exit $st, '$out'"
pass "bad invocations"

# The terminal: under a pty the program sees the same terminal with and without mosrun.
if command -v script >/dev/null; then
  a=$(script -qec "tty; test -t 0 && echo in-tty" /dev/null | tr -d '\r')
  b=$(script -qec "$MOSRUN /bin/sh -c 'tty; test -t 0 && echo in-tty'" /dev/null | tr -d '\r')
  [[ "$(echo "$b" | tail -1)" == "in-tty" && "$b" == /dev/pts/* ]] || fail "terminal under mosrun: '$b' (without: '$a')"
  pass "terminal"
fi

# The shim is loaded and holds its channel on the reserved fd.
out=$("$MOSRUN" /bin/sh -c 'ls -l /proc/$$/fd/1021 >/dev/null && echo has-channel')
[[ "$out" == has-channel ]] || fail "no channel fd in the program: $out"
pass "shim channel on fd 1021"

# The shim's contracts: channel fd protected, sleeps keep their errno/remaining-time semantics.
out=$("$MOSRUN" "$PROGS/shimcheck") || fail "shimcheck: $out"
[[ "$out" == "SHIM OK" ]] || fail "shimcheck: $out"
pass "shim: $out"
