#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages frost builds with, if any is missing.
# The CUDA toolkit is optional and never installed here: with nvcc on PATH (or in
# /usr/local/cuda/bin) the CUDA backend is built, otherwise the build is CPU-only.
set -euo pipefail
packages=(g++ meson ninja-build pkg-config catch2 libstb-dev nlohmann-json3-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
