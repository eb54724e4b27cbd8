# Shared by the scenario tests: an agent of the test's own, helpers that poll for a state with a
# generous deadline (never a fixed sleep), and cleanup of exactly the processes the test started.
set -euo pipefail
# A command that fails outside any check ends the test (set -e): say which, not only that it did.
# (Not where the test has turned set -e off to look at a status itself.)
trap 'st=$?; [[ $- != *e* ]] || echo "FAIL: ${BASH_SOURCE[0]##*/} line $LINENO: \"$BASH_COMMAND\" exited $st" >&2' ERR

if [[ -n "${TEST_SRCDIR:-}" ]]; then
  ROOT="$TEST_SRCDIR/mosix"
else
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/bazel-bin"
fi
MOSIXD="$ROOT/agent/mosixd"
MOSRUN="$ROOT/cli/mosrun"
MIGRATE="$ROOT/cli/migrate"
MOSCTL="$ROOT/cli/mosctl"
MOSPS="$ROOT/cli/mosps"
PROGS="$ROOT/test/programs"
export MOSIX_SHIM="$ROOT/interceptor/libmosix.so"

# Unix socket paths are limited to 108 bytes: keep the test's directory short.
T="$(mktemp -d /tmp/mosix-test.XXXXXX)"
export MOSIX_SOCKET="$T/agent.sock" MOSIX_STATE_DIR="$T/state"
STARTED=()
DEADLINE=60

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${STARTED[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [[ -f "$T/agent.log" ]]; then echo "--- agent log:" >&2; cat "$T/agent.log" >&2; fi
  local log
  # FAIL_LOGS=DIR keeps the emulated cluster's logs and files for a look afterwards.
  if [[ -n "${FAIL_LOGS:-}" && -n "${LC:-}" ]]; then mkdir -p "$FAIL_LOGS" && cp -r "$LC"/node* "$FAIL_LOGS"/ 2>/dev/null || true; fi
  for log in "${LC:-/nonexistent}"/node*/mosixd.log; do
    [[ -f "$log" ]] || continue
    echo "--- ${log#"$LC"/}, last lines:" >&2
    grep -v ' streamed, checkpoint and restore overlapped' "$log" | tail -n 15 >&2
  done
  exit 1
}

pass() { echo "ok: $*"; }

# Remembers a pid so cleanup ends it if the test fails half-way.
track() { STARTED+=("$1"); }

# Runs "$@" in the background with only stdio open (the test runner's fds stay out).
bg_clean() {
  local out="$1"; shift
  ( for fd in /proc/self/fd/*; do n=${fd##*/}; [[ $n -gt 2 ]] && eval "exec $n>&-" 2>/dev/null; done; exec "$@" ) \
    >"$out" 2>&1 </dev/null &
  BG=$!
  track "$BG"
}

wait_until() {  # wait_until DESCRIPTION COMMAND...: polls the command until it succeeds
  local what="$1"; shift
  local end=$((SECONDS + DEADLINE))
  until "$@" >/dev/null 2>&1; do
    [[ $SECONDS -lt $end ]] || fail "timed out waiting for $what"
    sleep 0.05
  done
}

has_text() { grep -q -- "$2" "$1" 2>/dev/null; }
wait_for_text() { wait_until "'$2' in $1" has_text "$1" "$2"; }

in_syscall() { [[ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" == "$2" ]]; }

# An emulated cluster of the test's own (its own directory, random ports), taken down when the
# test ends: sets LC to its directory; `on NODE -- CMD...` runs a command on a node.
start_cluster() {  # start_cluster TAG NODES [localcluster up options...]
  export MOSIX_LOCALCLUSTER_DIR="/run/mosix-lc-$1.${T##*.}"
  LC="$MOSIX_LOCALCLUSTER_DIR"
  trap '"$MOSCTL" localcluster down >/dev/null 2>&1 || true; cleanup' EXIT
  "$MOSCTL" localcluster up --nodes "$2" --port $((20000 + RANDOM % 20000)) "${@:3}" >/dev/null
}
on() { "$MOSCTL" localcluster exec "$@"; }

start_agent() {
  local log="${1:-$T/agent.log}"
  bg_clean "$log" "$MOSIXD"
  AGENT=$BG
  wait_until "the agent's socket" test -S "$MOSIX_SOCKET"
  wait_until "the agent to answer" "$MOSCTL" status
}

# The pid of the program started in the background by bg_clean "$MOSRUN" ...: same pid.
