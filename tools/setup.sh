#!/usr/bin/env bash
# setup.sh: the one command for a fresh Debian 12 machine: installs what is missing, builds, and
# runs the main job (until the trainer lands: a forward and backward pass of a small ViT, full and
# frozen, then the model and GEMM benchmarks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh "$@"
./build/tools/frost demo
./build/tools/frost bench model --model vit_tiny_patch16_224 --batch 2
./build/tools/frost bench gemm --m 1024 --n 1024 --k 1024
