#!/usr/bin/env bash
# bench/peft_memory.sh: `frost bench step` for every PEFT method on one model (default
# vit_base_patch16_224, batch 8, 224 px, f32, CPU): ms per step, images/s and the allocator's peak
# bytes, as a Markdown table with each peak relative to full fine-tuning's.
# Usage: bash bench/peft_memory.sh [MODEL] [BATCH] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:-vit_base_patch16_224}
batch=${2:-8}
steps=${3:-1}
frost=build/tools/frost
mapfile -t specs < <($frost methods --specs)  # every method at its published sizes (peft/method_table.cpp)
echo "| --peft | peft params | ms/step | images/s | peak MiB | peak / full |"
echo "|---|---:|---:|---:|---:|---:|"
full_peak=""
for s in "${specs[@]}"; do
  if ! out=$($frost bench step --model "$model" --peft "$s" --batch "$batch" --steps "$steps" --json 2>&1); then
    echo "| \`$s\` | n/a: ${out//$'\n'/ } | | | | |"
    continue
  fi
  params=$($frost params --model "$model" --peft "$s" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["peft"])')
  python3 - "$s" "$params" "$out" "${full_peak:-0}" <<'PY'
import json, sys
spec, params, out, full = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), int(sys.argv[4])
peak = out["peak_bytes"]
ratio = f"{peak / full:.2f}" if full else "1.00"
print(f"| `{spec}` | {params:,} | {out['ms_per_step']:.0f} | {out['images_per_s']:.2f} | {peak / 2**20:.0f} | {ratio} |")
PY
  [ -z "$full_peak" ] && full_peak=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["peak_bytes"])' "$out")
done
