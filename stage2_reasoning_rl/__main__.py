"""Stage 2 — reasoning RL: GRPO on verifiable math and code, queries chosen by learnability.

    python -m stage2_reasoning_rl --config recipes/toy/stage2.yaml --parent runs/toy/stage1_cold_start --output runs/toy/stage2_reasoning_rl
    (or scripts/stage2.sh, which wraps it in `accelerate launch`)
"""

from __future__ import annotations

from hybridthink.jsonl import read_jsonl
from hybridthink.learnability import pass_rates, select_learnable
from hybridthink.recipe import OPEN
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.training import GRPO_DEFAULTS, LORA_DEFAULTS, recipe_rewards, run_grpo

STAGE = "stage2_reasoning_rl"
DEFAULTS = {
    "data": {"split": "stage2", "families": ["arithmetic", "code"], "max_queries": 400},
    "learnability": {"enabled": True, "k": 4, "temperature": 1.0, "max_new_tokens": 200, "batch_size": 64, "seed": 0},
    "rewards": ["math_accuracy", "code_execution", "think_format"],
    "lora": LORA_DEFAULTS,
    "trainer": OPEN,
}
TRAINER_DEFAULTS = {**GRPO_DEFAULTS, "max_steps": 40, "per_device_train_batch_size": 64, "beta": 0.04,
                    "max_completion_length": 160, "learning_rate": 1e-4}
ITEM_KEYS = ("id", "family", "prompt")


def grpo_row(item: dict) -> dict:
    """A conversational GRPO prompt with the columns the reward functions read."""
    return {
        "prompt": [{"role": "user", "content": item["prompt"]}],
        "family": item["family"],
        "answer": item.get("answer"),
        "tests": item.get("tests"),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    ctx = open_stage(STAGE, args, DEFAULTS, ("stage1_cold_start",))
    if ctx is None:
        return
    r = ctx.recipe
    model, tokenizer = ctx.load_parent_model()
    items = [it for it in read_jsonl(ctx.world / f"{r['data']['split']}.jsonl", ITEM_KEYS) if it["family"] in r["data"]["families"]]
    items = items[: r["data"]["max_queries"]]
    selection = {"candidates": len(items), "kept": len(items)}
    if r["learnability"]["enabled"]:
        lc = r["learnability"]
        rates = pass_rates(model, tokenizer, items, lc["k"], lc["max_new_tokens"], lc["temperature"], lc["batch_size"], lc["seed"])
        items, selection = select_learnable(items, rates)
    print(f"[{STAGE}] query selection: {selection}")
    if not items:
        raise SystemExit(f"[{STAGE}] no learnable queries left (see counts above): the stage-1 model solves all or none")
    data, items = ctx.write_data("queries", items)
    model, rl, weights = run_grpo(ctx, model, tokenizer, [grpo_row(it) for it in items], recipe_rewards(ctx, r["rewards"]),
                         TRAINER_DEFAULTS)
    print(f"[{STAGE}] reward first third {rl['reward_first_third']} -> last third {rl['reward_last_third']}")
    finish_stage(ctx, model, tokenizer, data=data,
                 metrics={"query_selection": selection, "train": rl}, weights=weights)


if __name__ == "__main__":
    run_main(main)
