#!/usr/bin/env bash
# test.sh: installs what is missing, builds, and runs every test suite (cpu; gpu is skipped
# without a CUDA device). Ends with one line "checks: N passed, M failed" counted from the TAP
# results, and exits non-zero if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh || exit 1
bash tools/build.sh "$@" || exit 1
meson test -C build --print-errorlogs --num-processes 1
status=$?
log=build/meson-logs/testlog.txt
passed=$(grep -c '^ok ' "$log" || true)
failed=$(grep -c '^not ok ' "$log" || true)
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crash or a build failure
echo "checks: ${passed} passed, ${failed} failed"
exit "$status"
