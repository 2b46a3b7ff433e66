"""Stage 4 — general RL: GRPO over tasks in both modes, each task with its own rewards
(correctness, mode adherence, instruction following), routed by the rows' ``task`` column.

    python -m stage4_general_rl --config recipes/toy/stage4.yaml --parent runs/toy/stage3_mode_fusion --output runs/toy/stage4_general_rl
    (or scripts/stage4.sh, which wraps it in `accelerate launch`)
"""

from __future__ import annotations

from hybridthink.chat_template import template_variant
from hybridthink.judge import DEFAULT_RUBRIC, load_judge_reward
from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import OPEN, RecipeError
from hybridthink.reward_model import load_preference_reward
from hybridthink.rewards import for_variant
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.tasks import check_tasks, environment_of, task_environments, task_mix, task_reward_functions
from hybridthink.training import GRPO_DEFAULTS, LORA_DEFAULTS, run_grpo

from .focus_phase import check_focus_phase
from .learnable_rows import check_learnability, learnable_rows
from .prompts import rl_rows, task_mode_counts

STAGE = "stage4_general_rl"
DEFAULTS = {
    "data": {"split": "stage4", "max_prompts": 256},
    "modes": {"no_think_share": 0.5, "think_flag_share": 0.3, "multi_turn_share": 0.0, "inherit_share": 0.5,
              "inherit_twins": False, "gate_rewards": False, "seed": 0},
    "tasks": OPEN,  # empty: DEFAULT_TASKS
    # rows of these tasks kept only when the stage-3 model answers them right in some, not all, of k
    # samples; each such task draws ``pool`` times its share as candidates
    "learnability": {"tasks": [], "pool": 4, "k": 8, "temperature": 0.7, "max_new_tokens": 200, "batch_size": 64, "seed": 0},
    # after the mixed phase, this many steps on only these tasks' prompts (drawn as the mix draws
    # them, without query selection); see focus_phase.py
    "focus_phase": {"tasks": [], "steps": 0},
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
    check_focus_phase(r["focus_phase"], tasks, ctx.recipe_path or "recipe")
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
    rows, mix, counts = _prompt_rows(pool, tasks, r, variant, {name: lc["pool"] for name in lc["tasks"]})
    print(f"[{STAGE}] task mix (prompts asked / taken): {mix}")
    selection = None
    if lc["tasks"]:
        rows, selection = learnable_rows(model, tokenizer, rows, tasks, mix, lc)
        print(f"[{STAGE}] query selection by learnability: {selection}")
        counts = {**counts, "after_selection": dict(task_mode_counts(rows))}
        if not rows:
            raise SystemExit(f"[{STAGE}] no learnable prompts left (see counts above): the stage-3 model answers all or none")
    environments = task_environments(tasks)
    print(f"[{STAGE}] prompts by task/mode: {counts}")
    data, rows = ctx.write_data("prompts", _in_environments(rows, environments))
    model, rl, weights = run_grpo(ctx, model, tokenizer, rows, rewards, TRAINER_DEFAULTS, environments)
    print(f"[{STAGE}] reward first third {rl['reward_first_third']} -> last third {rl['reward_last_third']}")
    metrics = {"tasks": mix, "prompts": counts, "query_selection": selection, "train": rl}
    focus = {name: tasks[name] for name in r["focus_phase"]["tasks"]}
    if focus:
        rows, focus_mix, focus_counts = _prompt_rows(pool, focus, r, variant)
        print(f"[{STAGE}] focus phase ({r['focus_phase']['steps']} steps) on {sorted(focus)}: {focus_mix}, by task/mode {focus_counts}")
        focus_data, rows = ctx.write_data("focus_prompts", _in_environments(rows, environments))
        data.update(focus_data)
        model, focus_rl, weights = run_grpo(ctx, model, tokenizer, rows, rewards, TRAINER_DEFAULTS, environments,
                                            phase="focus_phase", max_steps=r["focus_phase"]["steps"])
        print(f"[{STAGE}] focus phase reward first third {focus_rl['reward_first_third']} -> last third {focus_rl['reward_last_third']}")
        metrics["focus_phase"] = {"tasks": focus_mix, "prompts": focus_counts, "train": focus_rl}
    finish_stage(ctx, model, tokenizer, data=data, metrics=metrics, weights=weights)


def _prompt_rows(pool: list[dict], tasks: dict, r: dict, variant: str, oversample: dict | None = None):
    """The RL rows of ``tasks`` drawn from ``pool`` as the recipe ``r`` mixes them: (rows, task mix, counts by task/mode)."""
    m = r["modes"]
    items, mix = task_mix(pool, tasks, r["data"]["max_prompts"], m["seed"], oversample)
    length_tasks = frozenset(name for name, spec in tasks.items() if "length" in spec["rewards"])
    rows, counts = rl_rows(items, m["no_think_share"], m["think_flag_share"], m["seed"], m["multi_turn_share"],
                           m["inherit_share"], length_tasks, m["inherit_twins"], variant,
                           {name: spec["modes"] for name, spec in tasks.items() if spec.get("modes")})
    return rows, mix, counts


def _in_environments(rows: list[dict], environments: dict | None) -> list[dict]:
    """``rows`` each with the environment its task runs in, when some task offers tools."""
    return [{**row, "environment": environment_of(row["task"], environments)} for row in rows] if environments else rows


if __name__ == "__main__":
    run_main(main)
