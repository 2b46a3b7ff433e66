#!/usr/bin/env bash
# What stage 4 changed over stage 3, measured on a larger held-out set drawn for the run's toy world
# (python -m hybridthink.heldout_set) rather than on the world's 80-items-a-family eval split.
#   scripts/gain_heldout.sh STAGE3_DIR STAGE4_DIR OUT_DIR [STAGE4_DIR ...]
# OUT_DIR gets the set (heldout/), each model's evaluations (stage3/, stage4_1/, ...: eval, length
# control, ThinkFollow, tool episodes; models.txt names them) and gain.md, the paired table of every stage 4 given over the stage 3.
# PER_FAMILY (default 320), TOOL (160), LENGTH (240 length items a mode) and DIALOGUES (400
# ThinkFollow dialogues of 3 turns) size it; an evaluation already in OUT_DIR is kept while its
# checkpoint's handoff.json and the world are unchanged.
set -euo pipefail
source "$(dirname "$0")/_launch.sh"
[ $# -ge 3 ] || { echo "usage: $(basename "$0") STAGE3_DIR STAGE4_DIR OUT_DIR [STAGE4_DIR ...]" >&2; exit 2; }
stage3="$1" out="$3"
stage4s=("$2" "${@:4}")
set_dir="$out/heldout"
world="$("$PYTHON" -c 'import sys; from hybridthink.handoff import world_file; print(world_file(sys.argv[1]).parent)' "$stage3")"
# A set drawn for another world (or with other sizes) is drawn anew, and so is every evaluation on it.
set_stamp="$( (cat "$world"/*.jsonl 2>/dev/null || true) | sha256sum | cut -c1-16) ${PER_FAMILY:-320} ${TOOL:-160} ${LENGTH:-240} ${DIALOGUES:-400}"
if [ "$(cat "$set_dir/stamp.txt" 2>/dev/null)" != "$set_stamp" ]; then
  [ ! -d "$set_dir" ] || echo "gain_heldout: $set_dir was drawn for another world or size; drawing it anew" >&2
  rm -rf "$set_dir" "$out"/stage3 "$out"/stage4_*
  "$PYTHON" -m hybridthink.heldout_set --world "$world" --output "$set_dir" --per-family "${PER_FAMILY:-320}" --tool "${TOOL:-160}"
  echo "$set_stamp" > "$set_dir/stamp.txt"
fi

evaluate() {  # MODEL_DIR NAME; an evaluation of another checkpoint under NAME is redone
  local dir="$out/$2" stamp
  stamp="$1 $("$PYTHON" -c 'import sys; from hybridthink.handoff import manifest_sha256; print(manifest_sha256(sys.argv[1]))' "$1")"
  [ "$(cat "$dir/model.txt" 2>/dev/null)" = "$stamp" ] || rm -rf "$dir"
  mkdir -p "$dir"
  echo "$stamp" > "$dir/model.txt"
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
