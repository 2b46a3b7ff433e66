#!/usr/bin/env bash
# Base + the four stages + evaluation after each (and ThinkFollow, the flag probe, and tool use when the world has
# tool items, after stages 3 and 4), stage 4's gain on a larger held-out set (scripts/gain_heldout.sh; PER_FAMILY, TOOL,
# LENGTH and DIALOGUES size it), then the report card.
#   scripts/run_pipeline.sh [RECIPE_DIR] [RUN_DIR] [--set key=value ...]   (defaults: recipes/toy runs/toy)
# Overrides given after the directories go to every stage (e.g. --set trainer.max_steps=2); BASE_ARGS go to
# the base alone (e.g. BASE_ARGS="--set trainer.seed=1": another pretrained toy base, to measure the spread across bases).
# A finished stage is skipped when run again; a killed one resumes from its last trainer checkpoint.
set -euo pipefail
here="$(dirname "$0")"
source "$here/_launch.sh"
recipes="${1:-$ROOT/recipes/toy}"; run="${2:-$ROOT/runs/toy}"
shift $(( $# < 2 ? $# : 2 ))
start=$(date +%s)
"$here/base.sh" "$recipes" "$run/base" ${BASE_ARGS:-}
"$here/eval.sh" "$run/base" "$run/base/world/eval.jsonl" --modes raw,think --length-items 0 ${EVAL_ARGS:-}
parent="$run/base"
for stage in 1:stage1_cold_start 2:stage2_reasoning_rl 3:stage3_mode_fusion 4:stage4_general_rl; do
  n="${stage%%:*}"; name="${stage#*:}"
  "$here/stage$n.sh" "$recipes" "$parent" "$run/$name" "$@"
  # length control (a stage-4 task) is measured from stage 3 on
  "$here/eval.sh" "$run/$name" "$run/base/world/eval.jsonl" $([ "$n" -ge 3 ] || echo --length-items 0) ${EVAL_ARGS:-}
  if [ "$n" -ge 3 ]; then
    "$PYTHON" -m hybridthink.thinkfollow --model "$run/$name" --items "$run/base/world/eval.jsonl" ${THINKFOLLOW_ARGS:-}
    "$PYTHON" -m hybridthink.flag_probe --model "$run/$name" --items "$run/base/world/eval.jsonl" ${FLAG_PROBE_ARGS:-}
    if [ -f "$run/base/world/tool_eval.jsonl" ]; then
      "$PYTHON" -m hybridthink.tool_episodes --model "$run/$name" --items "$run/base/world/tool_eval.jsonl"
    fi
  fi
  parent="$run/$name"
done
# stage 4 over stage 3 again on a held-out set four times the eval split's size (toy worlds: drawn from the world's rules)
"$here/gain_heldout.sh" "$run/stage3_mode_fusion" "$run/stage4_general_rl" "$run/heldout_gain"
"$here/report.sh" "$run" --wall-seconds $(( $(date +%s) - start ))
