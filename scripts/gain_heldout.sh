#!/usr/bin/env bash
# What stage 4 changed over stage 3, measured on a larger held-out set drawn for the run's toy world
# (python -m hybridthink.heldout_set) rather than on the world's 80-items-a-family eval split.
#   scripts/gain_heldout.sh STAGE3_DIR STAGE4_DIR OUT_DIR [STAGE4_DIR ...]
# OUT_DIR gets the set (heldout/), each model's evaluations (stage3/, stage4_1/, ...: eval, length
# control, ThinkFollow, tool episodes; models.txt names them) and gain.md, the paired table of every stage 4 given over the stage 3.
# PER_FAMILY (default 320), TOOL (160), LENGTH (240 length items a mode) and DIALOGUES (400
# ThinkFollow dialogues of 3 turns) size it; an evaluation already in OUT_DIR is kept.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
[ $# -ge 3 ] || { echo "usage: $(basename "$0") STAGE3_DIR STAGE4_DIR OUT_DIR [STAGE4_DIR ...]" >&2; exit 2; }
stage3="$1" out="$3"
stage4s=("$2" "${@:4}")
set_dir="$out/heldout"
[ -f "$set_dir/heldout.jsonl" ] || "$PYTHON" -m hybridthink.heldout_set --world "$("$PYTHON" -c \
  'import sys; from hybridthink.handoff import world_file; print(world_file(sys.argv[1]).parent)' "$stage3")" \
  --output "$set_dir" --per-family "${PER_FAMILY:-320}" --tool "${TOOL:-160}"

evaluate() {  # MODEL_DIR NAME
  local dir="$out/$2"
  mkdir -p "$dir"
  [ -f "$dir/eval.json" ] || "$PYTHON" -m hybridthink.evaluation --model "$1" --items "$set_dir/heldout.jsonl" \
    --output "$dir/eval.json" --length-items "${LENGTH:-240}"
  [ -f "$dir/thinkfollow.json" ] || "$PYTHON" -m hybridthink.thinkfollow --model "$1" --items "$set_dir/heldout.jsonl" \
    --dialogues "${DIALOGUES:-400}" --output "$dir/thinkfollow.json"
  [ -f "$dir/tool_eval.json" ] || [ ! -f "$set_dir/tool_heldout.jsonl" ] || "$PYTHON" -m hybridthink.tool_episodes \
    --model "$1" --items "$set_dir/tool_heldout.jsonl" --output "$dir/tool_eval.json"
}

evaluate "$stage3" stage3
names=()
echo "stage3 $stage3" > "$out/models.txt"
for i in "${!stage4s[@]}"; do
  name="stage4_$((i + 1))"
  echo "$name ${stage4s[$i]}" >> "$out/models.txt"
  evaluate "${stage4s[$i]}" "$name"
  names+=("$out/$name")
done
"$PYTHON" -m hybridthink.stage_gain "$out/stage3" "${names[@]}" | tee "$out/gain.md"
