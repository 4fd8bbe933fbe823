#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET...]: builds build-fuzz (clang, libFuzzer, ASan + UBSan, CPU only) and
# fuzzes each target (all by default) for SECONDS (default 120), starting from its committed
# corpus tests/fuzz/corpus/<target> and dictionary. Prints, per target, executions, edge coverage
# and corpus size. New interesting inputs collect in build-fuzz/corpus/<target>; a crash, hang or
# leak stops the target and its input lands in build-fuzz/crashes/<target>/: fix it, then copy the
# input into tests/fuzz/corpus/<target>/ so the normal build's fuzz-replay test keeps it fixed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
shift || true
bash tools/install-deps.sh --fuzz || exit 1
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ meson setup build-fuzz --buildtype=debugoptimized -Dcuda=disabled -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fno-sanitize-recover=all || exit 1
fi
ninja -C build-fuzz tests/fuzz/frost_fuzz || exit 1
bin=build-fuzz/tests/fuzz/frost_fuzz
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <("$bin" --list | cut -d' ' -f1)
status=0
printf '%-12s %10s %8s %8s %8s %8s  %s\n' target execs exec/s cov corpus rss_mb result
for t in "${targets[@]}"; do
  dict=$("$bin" --list | awk -v t="$t" '$1 == t { print $2 }')
  [ -n "$dict" ] || { echo "fuzz.sh: unknown target '$t'"; exit 2; }
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  log="build-fuzz/fuzz-$t.log"
  ASAN_OPTIONS=allocator_may_return_null=0:detect_leaks=1 "$bin" --target="$t" -max_total_time="$seconds" \
    -rss_limit_mb=1024 -malloc_limit_mb=512 -timeout=10 -print_final_stats=1 -dict="tests/fuzz/dict/$dict.dict" \
    -artifact_prefix="build-fuzz/crashes/$t/" "build-fuzz/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1
  rc=$?
  execs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log")
  rate=$(awk '/stat::average_exec_per_sec:/ {print $2}' "$log")
  rss=$(awk '/stat::peak_rss_mb:/ {print $2}' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  corp=$(grep -o 'corp: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  result=clean
  if [ $rc -ne 0 ]; then result="FOUND (rc $rc): see $log and build-fuzz/crashes/$t/"; status=1; fi
  printf '%-12s %10s %8s %8s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${corp:-?}" "${rss:-?}" "$result"
done
exit $status
