#!/usr/bin/env bash
# Stage 3 — thinking mode fusion (SFT).
#   scripts/stage3.sh RECIPE_DIR PARENT_DIR OUTPUT_DIR [--set key=value ...]
#   e.g. ACCELERATE_CONFIG=recipes/accelerate/zero2.yaml scripts/stage3.sh recipes/toy runs/toy/PARENT runs/toy/stage3_mode_fusion
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
launch stage3_mode_fusion 3 "$@"
