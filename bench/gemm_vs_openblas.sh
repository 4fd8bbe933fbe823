#!/usr/bin/env bash
# gemm_vs_openblas.sh: frost's f32 GEMM against OpenBLAS (Debian's python3-numpy + libopenblas0)
# at 1024^3 and 2048^3 on 2 threads, interleaved ROUNDS times so that both see the same machine
# load; prints the best of each and the ratio. OpenBLAS runs twice: with the kernel it detects
# itself, and forced to the best set this CPU supports (virtual CPUs often hide their model, and
# OpenBLAS then falls back to a slow generic kernel; the forced figure is the fair one).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
if ! $PY -c "import numpy" 2>/dev/null || ! dpkg-query -W libopenblas0 >/dev/null 2>&1; then
  sudo_cmd=(); [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq python3-numpy libopenblas0
fi
core=Haswell
grep -qw avx512f /proc/cpuinfo && core=SkylakeX
echo "# $(date -u +%F) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $THREADS threads, best of $ROUNDS rounds"
for n in 1024 2048; do
  frost_best=0; ob_auto=0; ob_forced=0
  for _ in $(seq "$ROUNDS"); do
    f=$(./build/tools/frost bench gemm --m $n --n $n --k $n --threads "$THREADS" | sed -E 's/.* ([0-9.]+) GFLOP\/s.*/\1/')
    a=$(OPENBLAS_NUM_THREADS=$THREADS $PY bench/openblas_gemm.py $n)
    o=$(OPENBLAS_CORETYPE=$core OPENBLAS_NUM_THREADS=$THREADS $PY bench/openblas_gemm.py $n)
    frost_best=$(echo "$f $frost_best" | awk '{print ($1>$2)?$1:$2}')
    ob_auto=$(echo "$a $ob_auto" | awk '{print ($1>$2)?$1:$2}')
    ob_forced=$(echo "$o $ob_forced" | awk '{print ($1>$2)?$1:$2}')
  done
  echo "n=$n frost $frost_best GFLOP/s | OpenBLAS (auto-detected) $ob_auto GFLOP/s | OpenBLAS ($core) $ob_forced GFLOP/s | frost/OpenBLAS($core) = $(awk -v a="$frost_best" -v b="$ob_forced" 'BEGIN{printf "%.0f%%", 100*a/b}')"
done
