#!/usr/bin/env bash
# frost vs PyTorch (Debian's python3-torch + python3-torchvision) on the CPU: forward and
# forward+backward milliseconds per image for the same models, batch and threads, interleaved per
# model so both sides see the same machine load. PyTorch runs with OpenBLAS forced to its SkylakeX
# kernels (it misdetects this virtual CPU) and with the same short OpenMP spin frost uses.
#   bash bench/models_vs_torch.sh            # THREADS=2 BATCH=2 REPEAT=3
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2} BATCH=${BATCH:-2} REPEAT=${REPEAT:-3}
for model in vit_tiny_patch16_224 vit_small_patch16_224 vit_base_patch16_224 swin_tiny_patch4_window7_224 convnext_tiny; do
  build/tools/frost bench model --model "$model" --batch "$BATCH" --repeat "$REPEAT" --threads "$THREADS"
  OPENBLAS_CORETYPE=SkylakeX GOMP_SPINCOUNT=10000 /usr/bin/python3 bench/torch_models.py \
    --threads "$THREADS" --batch "$BATCH" --repeat "$REPEAT" --models "$model" 2>&1 | grep -v -i warn
done
