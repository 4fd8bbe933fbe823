#!/usr/bin/env bash
# gpu_check.sh [--prepare]: everything a first GPU run needs, in one command of at most 9 minutes,
# run from the repository root on the GPU machine. Results go to $OUT (default gpu-check-out/):
#   summary.md     each step: passed, failed (its first failure's message), timed out or skipped,
#                  with its seconds (also printed last, so a remote run's output tail holds it)
#   gpu_check.log  every step's full output, one after another
#   kernels.json   frost bench kernels --json       compare.md   frost against PyTorch, bf16
# Steps, each under its own timeout (a hang costs its own slice only), in this order: environment;
# build for sm_90 only on all cores; the gpu suite (f32 and bf16 op tables, models, training) with
# FROST_CUDA_SYNC=1, so a fault is reported at the launch that made it; compute-sanitizer memcheck
# and racecheck on a subset that fits; frost bench kernels; tools/compare_pytorch.py on ViT-B/16
# LoRA and full at batch 128 in bf16; one `frost train --device cuda` epoch stopped half-way and
# resumed, against the same epoch run whole (summary.csv and adapter bytes must match).
# Without a device every GPU step reports "skipped: no device" and the script still runs to the end
# (so it is tested on any machine). GPU_CHECK_BUDGET (seconds, default 540) bounds the whole run:
# each step's slice is cut to what is left. GPU_CHECK_BUILD names the build folder (build-gpu).
#
# The GPU machine has no package manager: the header-only dependencies (Catch2, stb, nlohmann
# JSON) travel in the ignored folder .carry/gpu, which
#   bash tools/gpu_check.sh --prepare
# fills from this machine's /usr/include (about 4 MB). The fixtures are in the tree (tests/fixtures).
set -uo pipefail
cd "$(dirname "$0")/.."
carry=.carry/gpu
if [ "${1:-}" = "--prepare" ]; then
  mkdir -p "$carry/include"
  for h in catch2 nlohmann stb; do
    [ -d "/usr/include/$h" ] || { echo "gpu_check: /usr/include/$h is missing (bash tools/install-deps.sh)" >&2; exit 1; }
    rm -rf "${carry:?}/include/$h" && cp -r "/usr/include/$h" "$carry/include/"
  done
  echo "gpu_check: filled $carry ($(du -sh "$carry" | cut -f1)); carry it with the working tree"
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: bash tools/gpu_check.sh [--prepare]" >&2; exit 2; }

out=${OUT:-gpu-check-out}
mkdir -p "$out"
log=$out/gpu_check.log summary=$out/summary.md
build=${GPU_CHECK_BUILD:-build-gpu}
budget=${GPU_CHECK_BUDGET:-540}
start=$(date +%s)
: >"$log"
rows=()
have_gpu=0
nvidia-smi -L 2>/dev/null | grep -q '^GPU' && have_gpu=1
built=0
sanitizer=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
export PATH="$PATH:/usr/local/cuda/bin"

# step NAME SLICE gpu|any CMD...: runs CMD under min(SLICE, what the budget has left) seconds.
step() {
  local name=$1 slice=$2 needs=$3
  shift 3
  local left=$((budget - ($(date +%s) - start) - 5))
  local t=$((slice < left ? slice : left))
  if [ "$needs" = gpu ] && [ $have_gpu -eq 0 ]; then rows+=("| $name | skipped: no device | 0 |"); return; fi
  if [ "$needs" = gpu ] && [ $built -eq 0 ]; then rows+=("| $name | skipped: no build | 0 |"); return; fi
  if [ $t -lt 10 ]; then rows+=("| $name | skipped: out of time | 0 |"); return; fi
  local part s0 rc s
  part=$(mktemp)
  s0=$(date +%s)
  echo "===== $name (limit ${t}s): $*" >>"$log"
  timeout -k 5 "$t" bash -c '"$@"' "$name" "$@" >"$part" 2>&1  # bash: CMD may be one of the functions below
  rc=$?
  s=$(($(date +%s) - s0))
  cat "$part" >>"$log"
  echo "===== $name: exit $rc after ${s}s" >>"$log"
  if [ $rc -eq 0 ]; then
    rows+=("| $name | passed | $s |")
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
    rows+=("| $name | timed out after ${t}s | $s |")
  else
    local first
    # the first failing line and the three after it (Catch puts the expression below FAILED:)
    first=$(grep -m1 -A3 -E 'FAILED|[Ee]rror|not ok|failed|mismatch|differ' "$part" | tr -s ' \n' ' ' | cut -c1-300 | tr "|\`" "/'")
    [ -n "$first" ] || first=$(tail -n 1 "$part" | cut -c1-300 | tr "|\`" "/'")
    rows+=("| $name | failed (exit $rc): \`$first\` | $s |")
  fi
  rm -f "$part"
  return $rc
}

environment() {
  nvidia-smi || true
  nvcc --version || true
  c++ --version | head -n 1
  python3 -c 'import torch, timm, peft; print("torch", torch.__version__, "timm", timm.__version__, "peft", peft.__version__)' || true
}

configure_and_build() {
  if [ ! -f "$build/build.ninja" ]; then
    local args=(--buildtype=release -Dgpu_arch=90)
    if command -v nvcc >/dev/null; then args+=(-Dcuda=enabled); else args+=(-Dcuda=disabled); fi
    [ -d "$carry/include" ] && args+=("-Ddeps_include=$carry/include")  # relative: meson refuses absolute paths into the tree
    meson setup "$build" "${args[@]}" || return 1
  fi
  ninja -C "$build" -j "$(nproc)"
}

make_dataset='
import os, random, sys
os.makedirs(sys.argv[1], exist_ok=True)
rng = random.Random(7)
def batch(name, n):
    with open(os.path.join(sys.argv[1], name), "wb") as f:
        for i in range(n):
            c0 = i % 3
            f.write(bytes([c0]) + bytes((170 if c == c0 else 60) + rng.randrange(64) for c in range(3) for _ in range(1024)))
for b in range(1, 6):
    batch(f"data_batch_{b}.bin", 16)
batch("test_batch.bin", 24)
'

# One epoch of a tiny ViT on a generated 3-class CIFAR-format set, whole, and stopped after 4
# steps then resumed: both must end with the same summary.csv and adapter bytes.
train_resume() {
  local dir
  dir=$(mktemp -d)
  python3 -c "$make_dataset" "$dir/data" || return 1
  local common=(train --model vit_tiny_patch16_224 --model-args '{"img_size":32,"patch_size":8,"embed_dim":48,"depth":2,"num_heads":3}'
                --dataset cifar10 --data-dir "$dir/data" --num-classes 3 --val-split test --peft lora:r=4+bitfit
                --epochs 1 --batch-size 8 --lr 3e-3 --warmup-epochs 0.5 --drop-path 0.1 --device "${train_device:-cuda}")
  "$build/tools/frost" "${common[@]}" --output "$dir/whole" || return 1
  "$build/tools/frost" "${common[@]}" --output "$dir/stopped" --checkpoint-every 2 --stop-after-steps 4 || return 1
  "$build/tools/frost" "${common[@]}" --output "$dir/stopped" --resume "$dir/stopped" || return 1
  cat "$dir/whole/summary.csv"
  cmp "$dir/whole/summary.csv" "$dir/stopped/summary.csv" || { echo "resume mismatch: summary.csv differs"; return 1; }
  for f in "$dir"/whole/adapter/*; do
    cmp "$f" "$dir/stopped/adapter/$(basename "$f")" || { echo "resume mismatch: adapter/$(basename "$f") differs"; return 1; }
  done
  rm -rf "$dir"
}

export build carry out make_dataset
export -f environment configure_and_build train_resume
step "environment" 30 any environment
step "build (sm_90, $(nproc) cores)" 240 any configure_and_build && built=1
[ -x "$build/tests/frost_gpu_tests" ] || built=0
step "gpu suite, FROST_CUDA_SYNC=1 (f32, bf16)" 120 gpu env FROST_CUDA_SYNC=1 "$build/tests/frost_gpu_tests" "[gpu]"
step "memcheck: norms, softmax, cross-entropy; clip-norm, index table" 60 gpu "$sanitizer" --tool memcheck \
  --error-exitcode 1 "$build/tests/frost_gpu_tests" "cuda norms, softmax and cross-entropy match the CPU" \
  "cuda clip_grad_norm and a constant index table match the CPU, with one host read"
step "racecheck: reductions, shape ops, random masks" 45 gpu "$sanitizer" --tool racecheck --error-exitcode 1 \
  "$build/tests/frost_gpu_tests" "cuda reductions, shape ops and random masks match the CPU"
step "frost bench kernels --json" 40 gpu bash -c "'$build/tools/frost' bench kernels --json > '$out/kernels.json'"
step "compare_pytorch ViT-B/16 LoRA, full, batch 128, bf16" 100 gpu bash -c "PYTHONUNBUFFERED=1 python3 tools/compare_pytorch.py \
  --device cuda --precision bf16 --frost '$build/tools/frost' --rounds 2 --steps 5 --warmup 2 \
  --runs vit_base_patch16_224:lora:128 vit_base_patch16_224:full:128 | tee '$out/compare.md'"
step "frost train --device cuda, one epoch, stopped and resumed" 60 gpu train_resume

{
  echo "# gpu_check $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); device: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -n 1 || true)$([ $have_gpu -eq 1 ] || echo none); $(($(date +%s) - start)) s of ${budget}"
  echo
  echo "| step | result | s |"
  echo "|---|---|---:|"
  printf '%s\n' "${rows[@]}"
} >"$summary"
cat "$summary"
! grep -q '| failed\|| timed out' "$summary"
