#!/bin/bash
# The whole test suite: unit tests and scenario tests, through Bazel. Installs what it needs.
# Ends with the line "N passed, N failed" (one per Bazel test target) and exits non-zero when
# anything failed or did not build.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/deps.sh || { echo "0 passed, 1 failed"; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
bazel test //... "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE)' "$log")
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # the build itself failed
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $status -eq 0 ]]
