#!/usr/bin/env bash
# The report card of a run directory: report.json and report.md from every stage's eval.json.
#   scripts/report.sh RUN_DIR
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
"$PYTHON" -m hybridthink.report "${@:?usage: scripts/report.sh RUN_DIR [--wall-seconds N]}"
