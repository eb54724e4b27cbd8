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
# The unit tests again under AddressSanitizer and ThreadSanitizer (the e2e ones that trace real
# processes stay out).
if [[ $status -eq 0 ]]; then
  units=$(bazel query 'kind(cc_test, //...) except attr(tags, e2e, //...)' 2>/dev/null)
  for sanitizer in asan tsan; do
    # shellcheck disable=SC2086
    bazel test --config=$sanitizer $units "$@" 2>&1 | sed -E "s#^(//[^ ]+)( +)#\\1[$sanitizer]\\2#" | tee -a "$log"
    [[ ${PIPESTATUS[0]} -eq 0 ]] || status=1
  done
fi
passed=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
failed=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FLAKY|INCOMPLETE)' "$log")
if [[ $status -ne 0 && $failed -eq 0 ]]; then failed=1; fi  # the build itself failed
echo "$passed passed, $failed failed"
[[ $failed -eq 0 && $status -eq 0 ]]
