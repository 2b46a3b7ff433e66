#!/usr/bin/env bash
# The base stage: the toy world and its pretrained model (cached by recipe hash), or a real recipe's
# pretrained model and its datasets mapped into world splits.
#   scripts/base.sh RECIPE_DIR OUTPUT_DIR [--set key=value ...]
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
recipes="${1:?usage: scripts/base.sh RECIPE_DIR OUTPUT_DIR}"; output="${2:?usage: scripts/base.sh RECIPE_DIR OUTPUT_DIR}"
shift 2
# A base.yaml with a 'pretrained' section (a real recipe) loads that model and maps its datasets;
# otherwise the toy world is generated and its model pretrained.
module=hybridthink.toy.base
grep -q '^pretrained:' "$recipes/base.yaml" && module=hybridthink.pretrained_base
"$PYTHON" -m "$module" --config "$recipes/base.yaml" --output "$output" "$@"
