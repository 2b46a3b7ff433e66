#!/usr/bin/env bash
# Evaluate a checkpoint; the results go beside it.
#   scripts/eval.sh MODEL_DIR ITEMS_JSONL [--max-new-tokens N]     toy items, think and no-think (MODEL_DIR/eval.json)
#   scripts/eval.sh MODEL_DIR [--full] [--families gsm8k,...] [--settings think,no_think,budget:N,effort:L] [--k K]
#       GSM8K, MATH-500, AIME24, AMC23 and HumanEval from ../shared/benchmarks (MODEL_DIR/benchmarks/;
#       a few items per family unless --full; python -m hybridthink.benchmarks -h lists every option)
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
model="${1:?usage: scripts/eval.sh MODEL_DIR [ITEMS_JSONL] [options]}"
shift
if [ $# -gt 0 ] && [ -f "$1" ]; then
  items="$1"; shift
  "$PYTHON" -m hybridthink.evaluation --model "$model" --items "$items" "$@"
else
  "$PYTHON" -m hybridthink.benchmarks --model "$model" --benchmarks "${BENCHMARKS:-$ROOT/../shared/benchmarks}" "$@"
fi
