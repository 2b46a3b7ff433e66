"""Stage 4's focus phase: after the mixed GRPO phase, a second phase on only the prompts of the
tasks ``focus_phase.tasks`` names, for ``focus_phase.steps`` steps (both empty / 0: no such phase).

On the toy world more tool prompts in the mix did not raise greedy tool success, while a phase of
tool prompts alone did (results/stage4_toy/README.md, "A tool phase after the mixed one")."""

from __future__ import annotations

from hybridthink.recipe import RecipeError
from hybridthink.tasks import check_task_names


def check_focus_phase(section: dict, tasks: dict, source: str) -> None:
    """RecipeError naming the key unless ``section`` (the ``focus_phase`` section) names known tasks
    and a step count >= 1, or no tasks and 0 steps."""
    names, steps = section["tasks"], section["steps"]
    check_task_names(names, tasks, source, "focus_phase.tasks")
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 0:
        raise RecipeError(f"{source}: 'focus_phase.steps' must be an integer >= 0, got {steps!r}")
    if bool(names) != bool(steps):
        raise RecipeError(f"{source}: 'focus_phase' needs both tasks and steps >= 1, or neither; "
                          f"got tasks {names} and steps {steps}")

