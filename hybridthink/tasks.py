"""Task routing for general RL (Qwen3 stage 4): every prompt row carries a ``task`` name, and the
recipe's ``tasks`` section maps each task to the item families it draws prompts from, its share of
the prompts and its rewards with their weights:

    tasks:
      math: {families: [arithmetic], share: 1.0, rewards: {math_accuracy: 1.0, mode_adherence: 1.0}}

A task's reward scores only that task's rows (``None`` elsewhere, which TRL leaves out of the sum
and of the logged means), so TRL logs ``rewards/<task>/<reward>/mean`` at every step. A task may
also name ``tools`` its prompts offer (``tools: [calculator]``; rollouts may call them) and a world
``split`` to draw its items from.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from numbers import Real

from .recipe import RecipeError
from .rewards import ANSWER_REWARDS, REWARD_FUNCTIONS, mode_gated
from .tools import environment, get_tools

TASK_KEYS = ("families", "share", "rewards")
# Optional: ``tools`` the task's prompts offer (TRL runs them during rollouts), ``split`` a world
# split to draw the task's items from instead of the stage's own (e.g. tool_stage4), ``modes`` the
# task's own values of the stage's ``modes`` shares (``{multi_turn_share: 0.0}`` keeps its prompts
# single-turn; ``{multi_turn_share: 1.0, inherit_share: 1.0}`` makes them dialogues that often leave
# the mode to an earlier turn's flag).
OPTIONAL_KEYS = ("tools", "split", "modes")
TASK_MODE_KEYS = ("no_think_share", "think_flag_share", "multi_turn_share", "inherit_share")
NO_TOOLS = "none"  # the environment of rows whose task offers no tools
# Rewards that need a model the recipe names (``reward_model.path`` for ``preference``, ``judge.path``
# for ``judge``).
MODEL_REWARDS = ("preference", "judge")


def check_task_names(names, tasks: dict, source: str, key: str) -> None:
    """RecipeError naming ``key`` unless ``names`` is a list of names of ``tasks``."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise RecipeError(f"{source}: '{key}' must be a list of task names, got {names!r}")
    for name in names:
        if name not in tasks:
            raise RecipeError(f"{source}: '{key}': unknown task {name!r}; tasks: {sorted(tasks)}")


def check_tasks(tasks: dict, source: str) -> dict:
    """``tasks`` if it is a valid ``tasks`` section, else RecipeError naming the task and key."""
    if not isinstance(tasks, dict) or not tasks:
        raise RecipeError(f"{source}: 'tasks' must map task names to {{families, share, rewards}}, got {tasks!r}")
    for name, spec in tasks.items():
        where = f"{source}: 'tasks.{name}"
        if not isinstance(spec, dict):
            raise RecipeError(f"{where}' must be a mapping with keys {', '.join(TASK_KEYS)}, got {spec!r}")
        unknown, missing = sorted(set(spec) - set(TASK_KEYS) - set(OPTIONAL_KEYS)), [k for k in TASK_KEYS if k not in spec]
        if unknown or missing:
            raise RecipeError(f"{where}': unknown key(s) {unknown} / missing key(s) {missing}; "
                              f"known: {', '.join(TASK_KEYS + OPTIONAL_KEYS)}")
        try:
            get_tools(spec.get("tools") or [])
        except ValueError as err:
            raise RecipeError(f"{where}.tools': {err}") from None
        if name == NO_TOOLS and spec.get("tools"):
            raise RecipeError(f"{where}': a task named {NO_TOOLS!r} cannot offer tools")
        _check_task_modes(spec.get("modes", {}), where)
        families, share, rewards = spec["families"], spec["share"], spec["rewards"]
        if not isinstance(families, list) or not families or not all(isinstance(f, str) for f in families):
            raise RecipeError(f"{where}.families' must be a non-empty list of item families, got {families!r}")
        if not isinstance(share, Real) or isinstance(share, bool) or share < 0:
            raise RecipeError(f"{where}.share' must be a number >= 0, got {share!r}")
        if not isinstance(rewards, dict) or not rewards:
            raise RecipeError(f"{where}.rewards' must map reward names to weights, got {rewards!r}")
        for reward, weight in rewards.items():
            if reward not in REWARD_FUNCTIONS and reward not in MODEL_REWARDS:
                known = sorted([*REWARD_FUNCTIONS, *MODEL_REWARDS])
                raise RecipeError(f"{where}.rewards': unknown reward {reward!r}; known: {known}")
            if not isinstance(weight, Real) or isinstance(weight, bool):
                raise RecipeError(f"{where}.rewards.{reward}' must be a number, got {weight!r}")
    if sum(spec["share"] for spec in tasks.values()) <= 0:
        raise RecipeError(f"{source}: 'tasks': every share is 0")
    return tasks


def _check_task_modes(modes, where: str) -> None:
    """RecipeError unless ``modes`` maps some of TASK_MODE_KEYS to shares in [0, 1]."""
    if not isinstance(modes, dict):
        raise RecipeError(f"{where}.modes' must map some of {', '.join(TASK_MODE_KEYS)} to shares, got {modes!r}")
    for key, share in modes.items():
        if key not in TASK_MODE_KEYS:
            raise RecipeError(f"{where}.modes': unknown key {key!r}; known: {', '.join(TASK_MODE_KEYS)}")
        if not isinstance(share, Real) or isinstance(share, bool) or not 0 <= share <= 1:
            raise RecipeError(f"{where}.modes.{key}' must be a share in [0, 1], got {share!r}")


def task_mix(items: list[dict], tasks: dict, n: int, seed: int,
             oversample: dict[str, int] | None = None) -> tuple[list[dict], dict]:
    """Up to ``n`` items, each tagged with its ``task``: a task takes its share of ``n`` (shares
    are relative) from its families' items in order, skipping items an earlier task took (tasks
    may share a family, e.g. math and length control), and the tasks are shuffled together. A task
    in ``oversample`` takes that many times its share, as candidates to select from.

    Returns the items and counts: per task the prompts asked for and taken (fewer when its
    families run out), and the items of families no task draws from.
    """
    total = sum(spec["share"] for spec in tasks.values())
    routed = {family for spec in tasks.values() for family in spec["families"]}
    chosen, counts, used = [], {}, set()
    for name, spec in tasks.items():
        want = round(n * spec["share"] / total)
        take = want * (oversample or {}).get(name, 1)
        free = [i for i, item in enumerate(items) if item["family"] in spec["families"] and i not in used][:take]
        used.update(free)
        taken = [{**items[i], "task": name} for i in free]
        chosen += taken
        counts[name] = {"asked": want, "taken": len(taken)}
    counts["items_of_no_task"] = sum(item["family"] not in routed for item in items)
    random.Random(seed).shuffle(chosen)
    return chosen, counts


def routed(func: Callable, own: str, name: str, weight: float) -> Callable:
    """``func`` scoring the rows of task ``own`` only (``None`` for the others), times ``weight``;
    named ``<own>/<name>`` for TRL's logs."""
    def route(prompts, completions, task=None, **kwargs):  # ``task``: the rows' task column
        if task is None:
            raise ValueError(f"reward {name!r} of task {own!r} needs a 'task' column in the prompt rows")
        scores = func(prompts, completions, **kwargs)
        return [None if t != own or s is None else weight * s for s, t in zip(scores, task, strict=True)]
    route.__name__ = f"{own}/{name}"
    return route


def task_reward_functions(tasks: dict, gate_by_mode: bool = False,
                          model_rewards: dict[str, Callable] | None = None) -> dict[str, Callable]:
    """One routed reward function per (task, reward) pair, by its ``<task>/<reward>`` name; with
    ``gate_by_mode`` the answer rewards score only completions in the asked mode. Model-based
    rewards (``preference``, ``judge``) come loaded in ``model_rewards``."""
    funcs, loaded = {}, {**REWARD_FUNCTIONS, **(model_rewards or {})}
    for task, spec in tasks.items():
        for name, weight in spec["rewards"].items():
            if name not in loaded:
                raise ValueError(f"task {task!r}: reward {name!r} needs its model (reward_model.path or judge.path in the recipe)")
            func = loaded[name]
            func = mode_gated(func) if gate_by_mode and name in ANSWER_REWARDS else func
            funcs[f"{task}/{name}"] = routed(func, task, name, float(weight))
    return funcs


def task_environments(tasks: dict) -> dict[str, type] | None:
    """TRL environments by name when a task offers tools (one per such task, named after it, and
    ``none`` for the others), else None."""
    with_tools = {name: spec["tools"] for name, spec in tasks.items() if spec.get("tools")}
    if not with_tools:
        return None
    return {NO_TOOLS: environment([]), **{name: environment(tools) for name, tools in with_tools.items()}}


def environment_of(task: str | None, environments: dict | None) -> str | None:
    """The environment a row of ``task`` runs in (None when no task offers tools)."""
    if environments is None:
        return None
    return task if task in environments else NO_TOOLS
