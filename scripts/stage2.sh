#!/usr/bin/env bash
# Stage 2 — reasoning RL (GRPO).
#   scripts/stage2.sh RECIPE_DIR PARENT_DIR OUTPUT_DIR [--set key=value ...]
#   e.g. ACCELERATE_CONFIG=recipes/accelerate/zero2.yaml scripts/stage2.sh recipes/toy runs/toy/PARENT runs/toy/stage2_reasoning_rl
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
launch stage2_reasoning_rl 2 "$@"
