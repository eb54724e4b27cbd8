# Shared by the benchmark scripts: the runfiles, and a lone agent of the benchmark's own
# (stopped and its directory removed on exit).
R="${RUNFILES_DIR:-$0.runfiles}/mosix"
start_lone_agent() {
  T=$(mktemp -d /tmp/mosix-bench.XXXXXX)
  export MOSIX_SOCKET="$T/sock" MOSIX_STATE_DIR="$T/state" MOSIX_SHIM="$R/interceptor/libmosix.so"
  "$R/agent/mosixd" 2>"$T/log" &
  agent=$!
  trap 'kill $agent 2>/dev/null; wait $agent 2>/dev/null; rm -rf "$T"' EXIT
  for _ in $(seq 1 100); do "$R/cli/mosctl" status >/dev/null 2>&1 && break; sleep 0.05; done
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# The commands and an emulated cluster directory of the benchmark's own (taken down on exit):
# sets MOSCTL, MOSRUN, MIGRATE and LC.
use_local_cluster() {  # use_local_cluster NAME
  MOSCTL="$R/cli/mosctl" MOSRUN="$R/cli/mosrun" MIGRATE="$R/cli/migrate"
  export MOSIX_SHIM="$R/interceptor/libmosix.so" MOSIX_MOSIXD="$R/agent/mosixd"
  export MOSIX_LOCALCLUSTER_DIR="/run/mosix-$1.$$"
  LC="$MOSIX_LOCALCLUSTER_DIR"
  trap '"$MOSCTL" localcluster down >/dev/null 2>&1 || true' EXIT
}

# Waits until node1 of the emulated cluster sees all its n nodes up (gossip), at most 30 s.
wait_all_up() {  # wait_all_up N
  for _ in $(seq 1 300); do
    local up
    up=$(MOSIX_SOCKET="$LC/node1/mosixd.sock" "$MOSCTL" status 2>/dev/null | awk '$2 == "up"' | wc -l)
    ((up >= $1)) && return 0
    sleep 0.1
  done
  echo "the nodes did not all hear of each other within 30 s" >&2
  return 1
}
