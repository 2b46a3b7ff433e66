#!/usr/bin/env bash
# Qwen3-2507's split: an Instruct and a Thinking variant from the hybrid run's stage-2 checkpoint
# (stage 3 with the mix files in RECIPE_DIR/variants/, then stage 4 and evaluation after each), and the
# hybrid-tax table against the hybrid's own stages 3 and 4: OUT_DIR/hybrid_tax.md and .json.
#   scripts/split_variants.sh RECIPE_DIR RUN_DIR [OUT_DIR] [--set key=value ...]   (OUT_DIR default: RUN_DIR/variants)
#   e.g. scripts/split_variants.sh recipes/toy runs/toy      (after make demo)
# Overrides after OUT_DIR go to stages 3 and 4 of both variants. Stage 4 reads RECIPE_DIR/variants/stage4.yaml
# where there is one (e.g. a recipe whose stage 4 has tool tasks, which the variants do not take), else
# RECIPE_DIR/stage4.yaml. Finished stages are skipped. Stage 3 of each variant reuses the hybrid stage 3's
# rejection-sampled thinking samples (same parent, same sampling settings), so the variants and the hybrid
# differ only in their mix; pass --set rejection_sampling.reuse=null to sample again.
set -euo pipefail
here="$(dirname "$0")"
source "$here/_launch.sh"
recipes="${1:?usage: scripts/split_variants.sh RECIPE_DIR RUN_DIR [OUT_DIR]}"; run="${2:?usage: scripts/split_variants.sh RECIPE_DIR RUN_DIR [OUT_DIR]}"
out="${3:-$run/variants}"
shift $(( $# < 3 ? $# : 3 ))
for stage in stage2_reasoning_rl stage3_mode_fusion stage4_general_rl; do
  if [ ! -f "$run/$stage/handoff.json" ]; then
    echo "$run/$stage is not finished: run the hybrid pipeline first (scripts/run_pipeline.sh $recipes $run)" >&2
    exit 2
  fi
done
samples="$run/stage3_mode_fusion"
[ -f "$samples/data/rejection_sampled.jsonl" ] || samples=""
for variant in instruct thinking; do
  parent="$run/stage2_reasoning_rl"
  for stage in 3:stage3_mode_fusion 4:stage4_general_rl; do
    n="${stage%%:*}"; name="${stage#*:}"
    if [ "$n" = 3 ]; then
      "$here/stage3.sh" "$recipes" "$parent" "$out/$variant/$name" --mix "$recipes/variants/$variant.yaml" \
        ${samples:+--set "rejection_sampling.reuse=$samples"} "$@"
    else
      "$here/stage4.sh" "$([ -f "$recipes/variants/stage4.yaml" ] && echo "$recipes/variants" || echo "$recipes")" \
        "$parent" "$out/$variant/$name" "$@"
    fi
    [ -f "$out/$variant/$name/eval.json" ] || "$PYTHON" -m hybridthink.evaluation --model "$out/$variant/$name" ${EVAL_ARGS:-}
    parent="$out/$variant/$name"
  done
done
"$PYTHON" -m hybridthink.hybrid_tax "$run" "$out"
