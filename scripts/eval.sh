#!/usr/bin/env bash
# Evaluate a checkpoint on toy items in think and no-think mode; writes eval.json beside it.
#   scripts/eval.sh MODEL_DIR ITEMS_JSONL [--max-new-tokens N]
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
model="${1:?usage: scripts/eval.sh MODEL_DIR ITEMS_JSONL}"; items="${2:?usage: scripts/eval.sh MODEL_DIR ITEMS_JSONL}"
shift 2
"$PYTHON" -m hybridthink.evaluation --model "$model" --items "$items" "$@"
