# Shared by the stage launchers: `launch MODULE STAGE_NUMBER RECIPE_DIR PARENT_DIR OUTPUT_DIR [--set k=v ...]`.
# ACCELERATE_CONFIG picks the launch (default recipes/accelerate/cpu.yaml); NUM_PROCESSES overrides its
# process count (e.g. the number of GPUs); PYTHON picks the interpreter.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-$( [ -x "$ROOT/.venv/bin/python" ] && echo "$ROOT/.venv/bin/python" || echo python3 )}"
ACCELERATE_CONFIG="${ACCELERATE_CONFIG:-$ROOT/recipes/accelerate/cpu.yaml}"

launch() {
  local module="$1" number="$2" recipes="$3" parent="$4" output="$5"
  shift 5
  if [ -z "$recipes" ] || [ -z "$parent" ] || [ -z "$output" ]; then
    echo "usage: $(basename "$0") RECIPE_DIR PARENT_DIR OUTPUT_DIR [--set key=value ...]" >&2
    exit 2
  fi
  "$PYTHON" -m accelerate.commands.launch --config_file "$ACCELERATE_CONFIG" ${NUM_PROCESSES:+--num_processes "$NUM_PROCESSES"} \
    -m "$module" --config "$recipes/stage$number.yaml" --parent "$parent" --output "$output" "$@"
}
