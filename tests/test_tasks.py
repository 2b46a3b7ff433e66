"""Task routing: recipe checks, the task mix, and rewards that score their own task's rows only."""

from __future__ import annotations

import pytest

from hybridthink.recipe import RecipeError
from hybridthink.rewards import math_accuracy_reward, mode_adherence_reward
from hybridthink.tasks import check_tasks, environment_of, task_environments, task_mix, task_reward_functions
from stage4_general_rl.focus_phase import check_focus_phase
from stage4_general_rl.learnable_rows import check_learnability

TASKS = {
    "math": {"families": ["arithmetic"], "share": 2.0, "rewards": {"math_accuracy": 1.0, "mode_adherence": 0.5}},
    "code": {"families": ["code"], "share": 1.0, "rewards": {"code_execution": 1.0, "mode_adherence": 1.0}},
}
THOUGHT = "<think>\n2 + 2 = 4\n</think>\n\n\\boxed{4}"
DIRECT = "<think>\n\n</think>\n\n\\boxed{5}"


def test_rewards_score_their_own_task_and_return_none_elsewhere():
    funcs = task_reward_functions(TASKS)
    assert list(funcs) == ["math/math_accuracy", "math/mode_adherence", "code/code_execution", "code/mode_adherence"]
    assert [f.__name__ for f in funcs.values()] == list(funcs)  # TRL logs rewards/<task>/<reward>/mean
    rows = dict(completions=[THOUGHT, DIRECT, THOUGHT], task=["math", "math", "code"], answer=["4", "4", None],
                tests=[None, None, None], mode=["think", "think", "no_think"])
    assert funcs["math/math_accuracy"](None, **rows) == [1.0, 0.0, None]
    assert funcs["math/mode_adherence"](None, **rows) == [0.5, 0.0, None]  # weighted, and only math rows
    assert funcs["code/mode_adherence"](None, **rows) == [None, None, 0.0]
    assert funcs["code/code_execution"](None, **rows) == [None, None, None]  # no tests: nothing to run
    assert mode_adherence_reward(None, **rows) == [1.0, 0.0, 0.0], "unrouted it scores every row"


def test_gated_task_rewards_score_only_the_asked_mode():
    funcs = task_reward_functions(TASKS, gate_by_mode=True)
    rows = dict(completions=[THOUGHT, THOUGHT], task=["math", "math"], answer=["4", "4"], mode=["think", "no_think"])
    assert funcs["math/math_accuracy"](None, **rows) == [1.0, 0.0]
    assert math_accuracy_reward(None, **rows) == [1.0, 1.0]


def test_a_routed_reward_needs_the_task_column():
    with pytest.raises(ValueError, match="needs a 'task' column"):
        task_reward_functions(TASKS)["math/math_accuracy"](None, completions=[THOUGHT], answer=["4"])


def test_task_mix_takes_each_task_share_and_counts_what_it_leaves():
    items = [{"id": f"{fam}{i}", "family": fam} for fam in ("arithmetic", "code", "instruction") for i in range(10)]
    mixed, counts = task_mix(items, TASKS, 12, seed=0)
    assert counts == {"math": {"asked": 8, "taken": 8}, "code": {"asked": 4, "taken": 4}, "items_of_no_task": 10}
    assert sorted(it["task"] for it in mixed) == ["code"] * 4 + ["math"] * 8
    assert all((it["task"] == "math") == (it["family"] == "arithmetic") for it in mixed)
    assert [it["task"] for it in mixed] != sorted(it["task"] for it in mixed), "tasks are shuffled together"
    _, counts = task_mix(items, TASKS, 30, seed=0)
    assert counts["math"] == {"asked": 20, "taken": 10}, "a task whose families run out says so"

    _, counts = task_mix(items, TASKS, 12, seed=0, oversample={"code": 2})
    assert counts["code"] == {"asked": 4, "taken": 8} and counts["math"] == {"asked": 8, "taken": 8}, \
        "an oversampled task takes candidates beyond its share"


def test_tasks_sharing_a_family_never_share_an_item():
    items = [{"id": f"a{i}", "family": "arithmetic"} for i in range(10)]
    tasks = {"math": {**TASKS["math"], "share": 1.0}, "length": {"families": ["arithmetic"], "share": 1.0, "rewards": {"length": 1.0}}}
    mixed, counts = task_mix(items, check_tasks(tasks, "r.yaml"), 8, seed=0)
    assert counts["math"] == counts["length"] == {"asked": 4, "taken": 4}
    assert len({it["id"] for it in mixed}) == 8


@pytest.mark.parametrize("tasks,message", [
    ({}, "'tasks' must map"),
    ({"math": {"families": ["arithmetic"], "share": 1.0}}, r"tasks.math'.*missing key\(s\) \['rewards'\]"),
    ({"math": {**TASKS["math"], "weight": 2}}, r"unknown key\(s\) \['weight'\]"),
    ({"math": {**TASKS["math"], "rewards": {"nope": 1.0}}}, r"tasks.math.rewards': unknown reward 'nope'"),
    ({"math": {**TASKS["math"], "rewards": {"math_accuracy": "high"}}}, r"tasks.math.rewards.math_accuracy' must be a number"),
    ({"math": {**TASKS["math"], "share": -1}}, r"tasks.math.share' must be a number >= 0"),
    ({"math": {**TASKS["math"], "share": 0}}, "every share is 0"),
    ({"math": {**TASKS["math"], "modes": 0.5}}, r"tasks.math.modes' must map some of no_think_share"),
    ({"math": {**TASKS["math"], "modes": {"multi_turn": 0.5}}}, r"tasks.math.modes': unknown key 'multi_turn'"),
    ({"math": {**TASKS["math"], "modes": {"inherit_share": 2}}}, r"tasks.math.modes.inherit_share' must be a share in \[0, 1\], got 2"),
])
def test_bad_tasks_sections_are_named(tasks, message):
    with pytest.raises(RecipeError, match=message):
        check_tasks(tasks, "r.yaml")


LEARNABILITY = {"tasks": ["math"], "pool": 4, "k": 8}


@pytest.mark.parametrize("section,message", [
    ({"tasks": "math"}, "'learnability.tasks' must be a list of task names"),
    ({"tasks": ["chat"]}, r"'learnability.tasks': unknown task 'chat'; tasks: \['code', 'math', 'poems'\]"),
    ({"tasks": ["poems"]}, r"task 'poems' draws from families without a grader \['poetry'\]"),
    ({"pool": 0}, r"'learnability.pool' must be an integer >= 1, got 0"),
    ({"k": 1}, r"'learnability.k' must be an integer >= 2, got 1"),
])
def test_bad_learnability_sections_are_named(section, message):
    tasks = {**TASKS, "poems": {"families": ["poetry"], "share": 1.0, "rewards": {"mode_adherence": 1.0}}}
    check_learnability(LEARNABILITY, tasks, "r.yaml")
    with pytest.raises(RecipeError, match=message):
        check_learnability({**LEARNABILITY, **section}, tasks, "r.yaml")


@pytest.mark.parametrize("section,message", [
    ({"tasks": "math", "steps": 4}, "'focus_phase.tasks' must be a list of task names"),
    ({"tasks": ["chat"], "steps": 4}, r"'focus_phase.tasks': unknown task 'chat'; tasks: \['code', 'math'\]"),
    ({"tasks": ["math"], "steps": -1}, r"'focus_phase.steps' must be an integer >= 0, got -1"),
    ({"tasks": ["math"], "steps": True}, r"'focus_phase.steps' must be an integer >= 0, got True"),
    ({"tasks": ["math"], "steps": 0}, r"'focus_phase' needs both tasks and steps >= 1, or neither; got tasks \['math'\] and steps 0"),
    ({"tasks": [], "steps": 5}, r"'focus_phase' needs both tasks and steps >= 1, or neither"),
])
def test_bad_focus_phase_sections_are_named(section, message):
    check_focus_phase({"tasks": [], "steps": 0}, TASKS, "r.yaml")
    check_focus_phase({"tasks": ["code"], "steps": 3}, TASKS, "r.yaml")
    with pytest.raises(RecipeError, match=message):
        check_focus_phase(section, TASKS, "r.yaml")


def test_report_thirds_leave_out_steps_without_the_task():
    from hybridthink.report import _thirds
    nan = float("nan")
    assert _thirds([1.0, nan, 0.0, 0.5, nan, 1.0]) == (1.0, 1.0)
    assert _thirds([nan, None, 1.0]) == (None, 1.0)


def test_tasks_with_tools_get_their_own_environment_and_the_others_none():
    tasks = check_tasks({**TASKS, "tool": {"families": ["tool"], "split": "tool_stage4", "share": 1.0,
                                           "tools": ["calculator"], "rewards": {"math_accuracy": 1.0}}}, "r.yaml")
    environments = task_environments(tasks)
    assert set(environments) == {"tool", "none"}
    assert environments["tool"]().calculator("6 * 7") == "42" and not hasattr(environments["none"](), "calculator")
    assert [environment_of(t, environments) for t in ("tool", "math")] == ["tool", "none"]
    assert task_environments(TASKS) is None and environment_of("math", None) is None
    with pytest.raises(RecipeError, match=r"tasks.tool.tools': unknown tool\(s\) \['search'\]"):
        check_tasks({"tool": {**tasks["tool"], "tools": ["search"]}}, "r.yaml")
