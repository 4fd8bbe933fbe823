#!/usr/bin/env bash
# setup.sh: the one command for a fresh Debian 12 machine: installs what is missing, builds, and
# runs the main job: `frost demo`, the Fashion-MNIST transfer benchmark (upstream pretraining, then
# full fine-tuning, linear probing and the main PEFT methods downstream), then the GEMM benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
bash tools/build.sh "$@"
./build/tools/frost demo --output runs/demo
./build/tools/frost bench gemm --m 1024 --n 1024 --k 1024
