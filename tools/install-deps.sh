#!/usr/bin/env bash
# install-deps.sh [--fuzz]: installs the Debian 12 packages frost builds with, if any is missing;
# --fuzz adds what tools/fuzz.sh needs (clang with libFuzzer and its sanitizer runtimes, LLVM's OpenMP).
# The CUDA toolkit is optional and never installed here: with nvcc on PATH (or in
# /usr/local/cuda/bin) the CUDA backend is built, otherwise the build is CPU-only.
set -euo pipefail
# dataset-fashion-mnist is data (the demo's transfer benchmark); the build and the tests do not
# need it, so failing to install it is a warning, not an error.
packages=(g++ meson ninja-build pkg-config catch2 libstb-dev nlohmann-json3-dev)
# PLplot draws frost plot's figures (and the demo's); its cairo driver writes PNG, SVG and PDF.
# Installed without recommends: those are the Qt and wxWidgets drivers, which frost does not use.
plot_packages=(libplplot-dev plplot-driver-cairo)
[ "${1:-}" = "--fuzz" ] && packages+=(clang libclang-rt-dev libomp-dev)
data_packages=(dataset-fashion-mnist)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
missing_plot=()
for p in "${plot_packages[@]}"; do installed "$p" || missing_plot+=("$p"); done
missing_data=()
for p in "${data_packages[@]}"; do installed "$p" || missing_data+=("$p"); done
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
if [ ${#missing_data[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing_data[*]}"
  { "${sudo_cmd[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing_data[@]}"; } ||
    echo "install-deps: warning: could not install ${missing_data[*]} (only the demo needs it)"
fi
if [ ${#missing_plot[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing_plot[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing_plot[@]}"
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}"
