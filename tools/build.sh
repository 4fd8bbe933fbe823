#!/usr/bin/env bash
# build.sh: configures (once) and builds frost into ./build. Extra arguments go to `meson setup`
# on the first run (e.g. -Dcuda=disabled).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
if [ ! -f build/build.ninja ]; then
  meson setup build --buildtype=release "$@"
fi
ninja -C build
