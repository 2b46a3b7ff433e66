#!/usr/bin/env bash
# Stage 3 for several data mixes and seeds from one stage-2 checkpoint, each evaluated (think and
# no-think accuracy, tokens, adherence, ThinkFollow), then the table and Pareto plots:
# OUT_DIR/sweep.md, OUT_DIR/sweep.json, OUT_DIR/pareto.png.
#   scripts/sweep_mixes.sh RECIPE_DIR PARENT_DIR OUT_DIR [--set key=value ...]
#   e.g. MIXES="hybrid think_heavy no_think_heavy unpaired" SEEDS="0 1" \
#        scripts/sweep_mixes.sh recipes/toy runs/toy/stage2_reasoning_rl runs/toy_sweep
# MIXES: names in RECIPE_DIR/mixes/ or paths of mix files (default: every mix in RECIPE_DIR/mixes/).
# SEEDS: values of mix.seed and trainer.seed (default "0 1"). Rejection sampling does not depend on
# either: every run after the first reuses the first run's samples (rejection_sampling.reuse).
# A finished run is skipped when the sweep is run again.
set -euo pipefail
here="$(dirname "$0")"
source "$here/_launch.sh"
if [ $# -lt 3 ]; then
  echo "usage: $(basename "$0") RECIPE_DIR PARENT_DIR OUT_DIR [--set key=value ...]" >&2
  exit 2
fi
recipes="$1"; parent="$2"; out="$3"
shift 3
mixes="${MIXES:-$(cd "$recipes/mixes" && ls -- *.yaml | sed 's/\.yaml$//')}"
seeds="${SEEDS:-0 1}"
first=""
for mix in $mixes; do
  for seed in $seeds; do
    dir="$out/$(basename "$mix" .yaml)_seed$seed"
    echo "[sweep] mix $mix, seed $seed -> $dir"
    "$here/stage3.sh" "$recipes" "$parent" "$dir" --mix "$mix" --set "mix.seed=$seed" --set "trainer.seed=$seed" \
      ${first:+--set "rejection_sampling.reuse=$first"} "$@"
    [ -f "$dir/eval.json" ] || "$PYTHON" -m hybridthink.evaluation --model "$dir" ${EVAL_ARGS:-}
    [ -f "$dir/thinkfollow.json" ] || "$PYTHON" -m hybridthink.thinkfollow --model "$dir" ${THINKFOLLOW_ARGS:-}
    first="${first:-$dir}"
  done
done
"$PYTHON" -m hybridthink.sweep_report "$out"
