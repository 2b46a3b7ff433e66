"""Stage 4 — general RL: GRPO over tasks in both modes, rewarding correctness, mode adherence
and instruction following.

    python -m stage4_general_rl --config recipes/toy/stage4.yaml --parent runs/toy/stage3_mode_fusion --output runs/toy/stage4_general_rl
    (or scripts/stage4.sh, which wraps it in `accelerate launch`)
"""

from __future__ import annotations

from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import OPEN
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.training import GRPO_DEFAULTS, LORA_DEFAULTS, run_grpo

from .prompts import rl_rows

STAGE = "stage4_general_rl"
DEFAULTS = {
    "data": {"split": "stage4", "max_prompts": 256},
    "modes": {"no_think_share": 0.5, "think_flag_share": 0.3, "multi_turn_share": 0.0, "inherit_share": 0.5,
              "gate_rewards": False, "seed": 0},
    "rewards": ["math_accuracy", "code_execution", "instruction", "mode_adherence"],
    "lora": LORA_DEFAULTS,
    "trainer": OPEN,
}
TRAINER_DEFAULTS = GRPO_DEFAULTS
ITEM_KEYS = ("id", "family", "prompt")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    ctx = open_stage(STAGE, args, DEFAULTS, ("stage3_mode_fusion",))
    if ctx is None:
        return
    r = ctx.recipe
    model, tokenizer = ctx.load_parent_model()
    items = read_jsonl(ctx.world / f"{r['data']['split']}.jsonl", ITEM_KEYS)[: r["data"]["max_prompts"]]
    m = r["modes"]
    rows, counts = rl_rows(items, m["no_think_share"], m["think_flag_share"], m["seed"], m["multi_turn_share"],
                          m["inherit_share"])
    print(f"[{STAGE}] prompts by task/mode: {counts}")
    data, rows = ctx.write_data("prompts", rows)
    model, rl = run_grpo(ctx, model, tokenizer, rows, r["rewards"], TRAINER_DEFAULTS, m["gate_rewards"])
    print(f"[{STAGE}] reward first third {rl['reward_first_third']} -> last third {rl['reward_last_third']}")
    finish_stage(ctx, model, tokenizer, data=data,
                 metrics={"prompts": counts, "train": rl})


if __name__ == "__main__":
    run_main(main)
