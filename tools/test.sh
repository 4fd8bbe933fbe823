#!/usr/bin/env bash
# test.sh [--sanitize] [meson setup args]: installs what is missing, builds, and runs every test
# suite (cpu; gpu is skipped without a CUDA device). Ends with one line "checks: N passed, M
# failed" counted from the TAP results, and exits non-zero if anything failed.
# --sanitize: the same cpu suite and the fuzz corpus replay built with ASan + UBSan (any report
# fails) in build-sanitize, CPU only.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh || exit 1
dir=build
if [ "${1:-}" = "--sanitize" ]; then
  shift
  dir=build-sanitize
  if [ ! -f $dir/build.ninja ]; then
    meson setup $dir --buildtype=debugoptimized -Dcuda=disabled -Db_sanitize=address,undefined -Db_lundef=false \
      -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all "$@" || exit 1
  fi
  ninja -C $dir || exit 1
  # OpenMP's runtime keeps its thread pool to exit; leak checking is for frost's own allocations.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  meson test -C $dir --print-errorlogs --num-processes 1 --suite cpu --timeout-multiplier 4
else
  bash tools/build.sh "$@" || exit 1
  meson test -C $dir --print-errorlogs --num-processes 1
fi
status=$?
# A TAP suite counts its test cases (its "ok" / "not ok" lines), every other test counts once.
read -r passed failed < <(python3 - "$dir/meson-logs/testlog.json" <<'EOF'
import json, sys
passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    cases = [l for l in t.get("stdout", "").splitlines() if l.startswith(("ok ", "not ok "))]
    if cases:
        passed += sum(l.startswith("ok ") for l in cases)
        failed += sum(l.startswith("not ok ") for l in cases)
        failed += t["result"] not in ("OK", "EXPECTEDFAIL") and all(l.startswith("ok ") for l in cases)
    elif t["result"] in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif t["result"] != "SKIP":
        failed += 1
print(passed, failed)
EOF
) || { passed=0; failed=0; }
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crash or a build failure
echo "checks: ${passed} passed, ${failed} failed"
exit "$status"
