"""Stage 4 — general RL: GRPO over tasks in both modes, each task with its own rewards
(correctness, mode adherence, instruction following), routed by the rows' ``task`` column.

    python -m stage4_general_rl --config recipes/toy/stage4.yaml --parent runs/toy/stage3_mode_fusion --output runs/toy/stage4_general_rl
    (or scripts/stage4.sh, which wraps it in `accelerate launch`)
"""

from __future__ import annotations

from collections import Counter

from hybridthink.chat_template import template_variant
from hybridthink.judge import DEFAULT_RUBRIC, load_judge_reward
from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import OPEN, RecipeError
from hybridthink.reward_model import load_preference_reward
from hybridthink.rewards import for_variant
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.tasks import check_tasks, environment_of, task_environments, task_mix, task_reward_functions
from hybridthink.training import GRPO_DEFAULTS, LORA_DEFAULTS, run_grpo

from .learnable_rows import check_learnability, learnable_rows
from .prompts import rl_rows

STAGE = "stage4_general_rl"
DEFAULTS = {
    "data": {"split": "stage4", "max_prompts": 256},
    "modes": {"no_think_share": 0.5, "think_flag_share": 0.3, "multi_turn_share": 0.0, "inherit_share": 0.5,
              "inherit_twins": False, "gate_rewards": False, "seed": 0},
    "tasks": OPEN,  # empty: DEFAULT_TASKS
    # rows of these tasks kept only when the stage-3 model answers them right in some, not all, of k
    # samples; each such task draws ``pool`` times its share as candidates
    "learnability": {"tasks": [], "pool": 4, "k": 8, "temperature": 0.7, "max_new_tokens": 200, "batch_size": 64, "seed": 0},
    "reward_model": {"path": None},  # a reward model for the 'preference' reward (python -m hybridthink.reward_model)
    "judge": {"path": None, "rubric": DEFAULT_RUBRIC, "max_new_tokens": 32},  # a causal LM for the 'judge' reward
    "lora": LORA_DEFAULTS,
    "trainer": OPEN,
}
DEFAULT_TASKS = {
    "math": {"families": ["arithmetic"], "share": 1.0, "rewards": {"math_accuracy": 1.0, "mode_adherence": 1.0}},
    "code": {"families": ["code"], "share": 1.0, "rewards": {"code_execution": 1.0, "mode_adherence": 1.0}},
    "instruction": {"families": ["instruction"], "share": 1.0, "rewards": {"ifeval": 1.0, "mode_adherence": 1.0}},
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
    tasks = check_tasks(r["tasks"] or DEFAULT_TASKS, ctx.recipe_path or "recipe")
    m, lc = r["modes"], r["learnability"]
    check_learnability(lc, tasks, ctx.recipe_path or "recipe")
    model_rewards = {}
    if r["reward_model"]["path"]:
        model_rewards["preference"] = load_preference_reward(r["reward_model"]["path"])
    if r["judge"]["path"]:
        j = r["judge"]
        model_rewards["judge"] = load_judge_reward(j["path"], j["rubric"], max_new_tokens=j["max_new_tokens"])
    try:
        rewards = task_reward_functions(tasks, m["gate_rewards"], model_rewards)
    except ValueError as err:
        raise RecipeError(f"{ctx.recipe_path or 'recipe'}: 'tasks': {err}") from None
    variant = template_variant(tokenizer)  # a split variant made by stage 3 (mix.variant) keeps its one mode
    if variant != "hybrid":
        if task_environments(tasks):
            raise RecipeError(f"{ctx.recipe_path or 'recipe'}: the {variant} variant takes no tool tasks")
        rewards = {name: for_variant(f, variant) for name, f in rewards.items()}
        print(f"[{STAGE}] {variant} variant: prompts without flags, rewards read its completions in its format")
    splits = [r["data"]["split"], *sorted({spec["split"] for spec in tasks.values() if spec.get("split")})]
    pool = [item for split in dict.fromkeys(splits) for item in read_jsonl(ctx.world / f"{split}.jsonl", ITEM_KEYS)]
    items, mix = task_mix(pool, tasks, r["data"]["max_prompts"], m["seed"], {name: lc["pool"] for name in lc["tasks"]})
    print(f"[{STAGE}] task mix (prompts asked / taken): {mix}")
    length_tasks = frozenset(name for name, spec in tasks.items() if "length" in spec["rewards"])
    rows, counts = rl_rows(items, m["no_think_share"], m["think_flag_share"], m["seed"], m["multi_turn_share"],
                          m["inherit_share"], length_tasks, m["inherit_twins"], variant,
                          frozenset(name for name, spec in tasks.items() if not spec.get("multi_turn", True)))
    selection = None
    if lc["tasks"]:
        rows, selection = learnable_rows(model, tokenizer, rows, tasks, mix, lc)
        print(f"[{STAGE}] query selection by learnability: {selection}")
        counts = {**counts, "after_selection": dict(Counter(f"{row['task']}/{row['mode']}" for row in rows))}
        if not rows:
            raise SystemExit(f"[{STAGE}] no learnable prompts left (see counts above): the stage-3 model answers all or none")
    environments = task_environments(tasks)
    if environments:
        rows = [{**row, "environment": environment_of(row["task"], environments)} for row in rows]
    print(f"[{STAGE}] prompts by task/mode: {counts}")
    data, rows = ctx.write_data("prompts", rows)
    model, rl, weights = run_grpo(ctx, model, tokenizer, rows, rewards, TRAINER_DEFAULTS, environments)
    print(f"[{STAGE}] reward first third {rl['reward_first_third']} -> last third {rl['reward_last_third']}")
    finish_stage(ctx, model, tokenizer, data=data,
                 metrics={"tasks": mix, "prompts": counts, "query_selection": selection, "train": rl}, weights=weights)


if __name__ == "__main__":
    run_main(main)
