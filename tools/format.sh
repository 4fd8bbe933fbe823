#!/usr/bin/env bash
# format.sh [--check]: clang-format (style in .clang-format) over every tracked C++ and CUDA file;
# --check changes nothing and fails listing the files that are not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cpp' '*.h' '*.cu' '*.cuh' '*.inc')
if [ "${1:-}" = "--check" ]; then
  clang-format --dry-run --Werror "${files[@]}"
else
  clang-format -i "${files[@]}"
fi
