#!/usr/bin/env bash
# Stage 1 — long-CoT cold start (SFT).
#   scripts/stage1.sh RECIPE_DIR PARENT_DIR OUTPUT_DIR [--set key=value ...]
#   e.g. ACCELERATE_CONFIG=recipes/accelerate/zero2.yaml scripts/stage1.sh recipes/toy runs/toy/PARENT runs/toy/stage1_cold_start
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
launch stage1_cold_start 1 "$@"
