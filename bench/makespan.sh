#!/bin/bash
# The cluster's decisions, measured (root: an emulated cluster). A mix of uneven CPU-bound jobs
# (test/programs/cruncher), all started on the slowest node of four (CPU quotas 0.25, 0.25, 0.5,
# 0.75), four ways: no migration (mosrun -h), placement at start only (mosrun -b -L), the
# cluster deciding all the time (plain mosrun), and both (mosrun -b). Prints makespan / lower
# bound, where the lower bound is max(total work / total capacity, longest job / fastest node) with each job's work
# measured natively in the same run; and moves per job, and A->B->A moves within 10 s.
# Then jobs arriving over time at the slowest node (a Poisson stream at 70% of the cluster's
# capacity, 20% of them long): mean slowdown (time in the system / work alone on a whole CPU)
# with placement at start only, and with placement at start followed by the cluster's moves.
#   bazel run //bench:makespan               SCALE=2 bazel run //bench:makespan (longer jobs)
#   STREAM_JOBS=60 bazel run //bench:makespan (a longer stream)
#   STREAM_ROUNDS=3 PARTS=stream bazel run //bench:makespan (the same stream three times, both
#     ways each round; then how far below start only the mean slowdown is, over the rounds)
#   PARTS=stream bazel run //bench:makespan   (only the stream; or PARTS=makespan)
#   KEEP_LOGS=DIR bazel run //bench:makespan  (the agents' logs of each run go to DIR/RUN)
set -euo pipefail
source "${RUNFILES_DIR:-$0.runfiles}/mosix/bench/lib.sh"
use_local_cluster makespan
JOB="$R/test/programs/cruncher"
QUOTAS=(0.25 0.25 0.5 0.75)
SCALE=${SCALE:-1}
WORK=(300 120 500 200 80 400 150 250 350 100 450 180)  # units of about 10 ms of a standard CPU
now() { date +%s.%N; }
keep_logs() {  # keep_logs RUN: the agents' logs, where KEEP_LOGS asks
  [[ -n ${KEEP_LOGS:-} ]] || return 0
  local d="$KEEP_LOGS/${1// /}"
  mkdir -p "$d"
  for n in "$LC"/node*; do cp "$n/mosixd.log" "$d/${n##*/}.log"; done
  if [[ -d $LC/stream ]]; then cp -r "$LC/stream" "$d/slowdowns"; fi
}

# Each job's work, natively: alone in a cgroup of one full CPU (as the nodes' cgroups are made).
NATIVE=/sys/fs/cgroup/cpu/mosix-makespan-native.$$
mkdir -p "$NATIVE"
echo 100000 >"$NATIVE/cpu.cfs_quota_us"
declare -a native
for i in "${!WORK[@]}"; do
  w=$((WORK[i] * SCALE))
  t0=$(now)
  (echo $BASHPID >"$NATIVE/cgroup.procs"; exec "$JOB" "$w") >/dev/null
  native[i]=$(echo "$(now) - $t0" | bc -l)
done
rmdir "$NATIVE"
total=$(printf '%s\n' "${native[@]}" | paste -sd+ | bc -l)
longest=$(printf '%s\n' "${native[@]}" | sort -g | tail -1)
capacity=$(printf '%s\n' "${QUOTAS[@]}" | paste -sd+ | bc -l)
fastest=$(printf '%s\n' "${QUOTAS[@]}" | sort -g | tail -1)
lower=$(echo "a = $total / $capacity; b = $longest / $fastest; if (a > b) a else b" | bc -l)
printf 'jobs: %d, total work %.1f CPU-s, longest %.1f s; capacity %s CPUs; lower bound %.1f s\n\n' "${#WORK[@]}" "$total" "$longest" \
  "$capacity" "$lower"

PARTS=${PARTS:-makespan stream}
if [[ " $PARTS " == *" makespan "* ]]; then
echo "| run | makespan | / lower bound | moves per job | A->B->A within 10 s |"
echo "|---|---|---|---|---|"
run() {
  local name=$1; shift
  "$MOSCTL" localcluster up --nodes 4 --cpu-quota "$(IFS=,; echo "${QUOTAS[*]}")" --port $((30000 + RANDOM % 20000)) >/dev/null
  wait_all_up 4
  local t0 pids=() out="$LC/out"
  mkdir -p "$out"
  t0=$(now)
  for i in "${!WORK[@]}"; do
    "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$@" "$JOB" $((WORK[i] * SCALE)) >"$out/$i" 2>&1 </dev/null &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || { echo "a job failed in run '$name'" >&2; exit 1; }; done
  local span
  span=$(echo "$(now) - $t0" | bc -l)
  for i in "${!WORK[@]}"; do
    grep -q "^cruncher $((WORK[i] * SCALE)): " "$out/$i" || { echo "job $i printed no result in run '$name'" >&2; exit 1; }
  done
  # Moves decided and made (a move that failed says so), and A->B->A within 10 s.
  local stats
  stats=$(awk -v jobs="${#WORK[@]}" '
    / goes from / { t=$2; pid=$4; from=$7; to=$9
      if (pid in last_to && last_from[pid] == to && t - last_t[pid] < 10) aba++
      last_from[pid]=from; last_to[pid]=to; last_t[pid]=t; moves++ }
    / did not go to / { moves-- }
    END { printf "%.2f %d", moves / jobs, aba + 0 }' "$LC/node1/mosixd.log")
  keep_logs "makespan$*"
  "$MOSCTL" localcluster down >/dev/null
  printf '| %s | %.1f s | %.2fx | %s | %s |\n' "$name" "$span" "$(echo "$span / $lower" | bc -l)" "${stats% *}" "${stats#* }"
}
run "no migration (mosrun -h)" -h
run "placement at start (mosrun -b -L)" -b -L
run "the cluster decides (mosrun)"
run "placement at start, then the cluster decides (mosrun -b)" -b
fi
[[ " $PARTS " == *" stream "* ]] || exit 0

# ---- A Poisson stream of jobs at 70% load, all arriving at node1.
unit=$(echo "$total / ($(printf '%s\n' "${WORK[@]}" | paste -sd+) * $SCALE)" | bc -l)  # seconds a unit, natively
STREAM_JOBS=${STREAM_JOBS:-30}
RANDOM=4242  # (the same stream for both runs)
declare -a gaps units
mean_units=0
for i in $(seq 0 $((STREAM_JOBS - 1))); do
  if ((RANDOM % 5 == 0)); then units[i]=$((400 + RANDOM % 400)); else units[i]=$((50 + RANDOM % 100)); fi
  mean_units=$((mean_units + units[i]))
done
# Mean gap between arrivals so that work arrives at 70% of the capacity; exponential gaps.
mean_gap=$(echo "$mean_units / $STREAM_JOBS * $unit / (0.7 * $capacity)" | bc -l)
for i in $(seq 0 $((STREAM_JOBS - 1))); do
  gaps[i]=$(echo "-l((1 + $RANDOM) / 32769) * $mean_gap" | bc -l)
done
printf '\n%d jobs arriving at node1 about every %.2f s (70%% load); mean work %.2f s\n\n' "$STREAM_JOBS" "$mean_gap" \
  "$(echo "$mean_units / $STREAM_JOBS * $unit" | bc -l)"
echo "| run | mean slowdown | worst slowdown | moves per job |"
echo "|---|---|---|---|"
stream() {
  local name=$1; shift
  "$MOSCTL" localcluster up --nodes 4 --cpu-quota "$(IFS=,; echo "${QUOTAS[*]}")" --port $((30000 + RANDOM % 20000)) >/dev/null
  wait_all_up 4
  local out="$LC/stream" pids=()
  mkdir -p "$out"
  for i in $(seq 0 $((STREAM_JOBS - 1))); do
    ( t0=$(now)
      "$MOSCTL" localcluster exec node1 -- "$MOSRUN" "$@" "$JOB" "${units[i]}" >/dev/null 2>&1 </dev/null
      echo "$(echo "($(now) - $t0) / (${units[i]} * $unit)" | bc -l)" >"$out/$i" ) &
    pids+=($!)
    sleep "${gaps[i]}"
  done
  for p in "${pids[@]}"; do wait "$p"; done
  local moves
  moves=$(awk '/ goes from / { m++ } / did not go to / { m-- } END { print m + 0 }' "$LC/node1/mosixd.log")
  cat "$out"/* | awk -v name="$name" -v moves="$moves" -v jobs="$STREAM_JOBS" \
    '{ s += $1; if ($1 > w) w = $1 } END { printf "| %s | %.2f | %.2f | %.2f |\n", name, s / NR, w, moves / jobs }' | tee -a "$MEANS"
  keep_logs "stream$*"
  "$MOSCTL" localcluster down >/dev/null
}
MEANS=$(mktemp)  # (outside the cluster's directory: down removes it)
for _ in $(seq 1 "${STREAM_ROUNDS:-1}"); do
  stream "placement at start only (mosrun -b -L)" -b -L
  stream "placement at start, then the cluster decides (mosrun -b)" -b
done
awk -F'|' '/-b -L/ { a += $3; n++ } /cluster decides/ { b += $3 } END {
  printf "\nover %d rounds: mean slowdown %.2f with placement at start only, %.2f when the cluster decides: %.0f%% below\n", n, a / n, b / n, 100 * (1 - b / a) }' "$MEANS"
rm -f "$MEANS"
