#!/usr/bin/env bash
# The toy world and its pretrained base model (cached by recipe hash).
#   scripts/base.sh RECIPE_DIR OUTPUT_DIR [--set key=value ...]
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
recipes="${1:?usage: scripts/base.sh RECIPE_DIR OUTPUT_DIR}"; output="${2:?usage: scripts/base.sh RECIPE_DIR OUTPUT_DIR}"
shift 2
"$PYTHON" -m hybridthink.toy.base --config "$recipes/base.yaml" --output "$output" "$@"
