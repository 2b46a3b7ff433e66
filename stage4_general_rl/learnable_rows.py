"""Stage 4 query selection: the tasks a recipe names in ``learnability.tasks`` keep only the rows
the stage-3 model sometimes, but not always, answers right when asked as the row asks (its mode,
its flags, its tools), up to the task's share of the prompts."""

from __future__ import annotations

from hybridthink.learnability import pass_rates, select_learnable
from hybridthink.recipe import RecipeError
from hybridthink.scoring import GRADERS
from hybridthink.tasks import check_task_names
from hybridthink.tools import get_tools


def check_learnability(lc: dict, tasks: dict, source: str) -> None:
    """RecipeError naming the key unless ``lc`` (the ``learnability`` section) names known tasks
    whose families all have a grader, with ``pool`` >= 1 and ``k`` >= 2."""
    check_task_names(lc["tasks"], tasks, source, "learnability.tasks")
    for name in lc["tasks"]:
        ungraded = sorted(set(tasks[name]["families"]) - set(GRADERS))
        if ungraded:
            raise RecipeError(f"{source}: 'learnability.tasks': task {name!r} draws from families without a grader "
                              f"{ungraded}; graded: {sorted(GRADERS)}")
    for key, least in (("pool", 1), ("k", 2)):
        if not isinstance(lc[key], int) or isinstance(lc[key], bool) or lc[key] < least:
            raise RecipeError(f"{source}: 'learnability.{key}' must be an integer >= {least}, got {lc[key]!r}")


def learnable_rows(model, tokenizer, rows: list[dict], tasks: dict, mix: dict, lc: dict) -> tuple[list[dict], dict]:
    """``rows`` with those of each task in ``lc['tasks']`` cut to the learnable ones (``lc['k']``
    samples each, graded by the row's family: the answer, not the task's other rewards), at most
    the prompts the task asked for (``mix``); and per task the counts of what was dropped."""
    keep, stats = set(), {}
    for name in lc["tasks"]:
        candidates = [row for row in rows if row["task"] == name]
        rates = pass_rates(model, tokenizer, candidates, lc["k"], lc["max_new_tokens"], lc["temperature"],
                           lc["batch_size"], lc["seed"], conversations=[row["prompt"] for row in candidates],
                           tools=get_tools(tasks[name].get("tools") or []))
        kept, stats[name] = select_learnable(candidates, rates)
        kept = kept[: mix[name]["asked"]]
        stats[name]["used"] = len(kept)
        keep.update(id(row) for row in kept)
    return [row for row in rows if row["task"] not in lc["tasks"] or id(row) in keep], stats
