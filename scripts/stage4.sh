#!/usr/bin/env bash
# Stage 4 — general RL (GRPO).
#   scripts/stage4.sh RECIPE_DIR PARENT_DIR OUTPUT_DIR [--set key=value ...]
#   e.g. ACCELERATE_CONFIG=recipes/accelerate/zero2.yaml scripts/stage4.sh recipes/toy runs/toy/PARENT runs/toy/stage4_general_rl
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
launch stage4_general_rl 4 "$@"
