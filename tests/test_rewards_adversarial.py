"""Adversarial completions: every one must score 0 with the reward it tries to game.

Real math-verify, real sandbox runs. Each family also has honest completions that must score 1,
so the suite cannot pass with a reward that always returns 0.
"""

from __future__ import annotations

import pytest

from hybridthink.rewards import code_execution_reward, math_accuracy_reward, mode_adherence_reward, think_format_reward

EMPTY = "<think>\n\n</think>\n\n"
TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0\nassert add(10, 10) == 20\n"
WRONG = "def add(a, b):\n    return a - b\n"
RIGHT = "def add(a, b):\n    return a + b\n"


def think(thinking: str, answer: str) -> str:
    return f"<think>\n{thinking}\n</think>\n\n{answer}"


def fence(code: str, label: str = "python") -> str:
    return f"```{label}\n{code}```"


MATH = {  # gold answer 7
    "answer_only_in_thinking": think(r"so it is \boxed{7}", "I worked it out above."),
    "box_in_a_second_think_block": EMPTY + r"<think>\boxed{7}</think> see above",
    "box_after_an_unclosed_second_block": EMPTY + r"Let me check. <think>\boxed{7}",
    "unclosed_think": r"<think>so \boxed{7}",
    "hedge_two_boxes": think("", r"\boxed{7} or maybe \boxed{8}"),
    "hedge_reversed": think("", r"\boxed{8}, no wait, \boxed{7}"),
    "hedge_sign": think("", r"\boxed{7} \boxed{-7}"),
    "hedge_box_and_marked": think("", "\\boxed{7}\n#### 8"),
    "hedge_two_marked": think("", "Final answer: 7\nFinal answer: 8"),
    "list_in_one_box": think("", r"\boxed{7, 8}"),
    "set_in_one_box": think("", r"\boxed{\{7, 8\}}"),
    "or_in_one_box": think("", r"\boxed{7 \text{ or } 8}"),
    "plus_minus": think("", r"\boxed{\pm 7}"),
    "interval": think("", r"\boxed{[6, 8]}"),
    "false_equation": think("", r"\boxed{7 = 8}"),
    "near_miss": think("", r"\boxed{6.9999}"),
    "empty_box": think("", r"\boxed{}"),
    "infinity": think("", r"\boxed{\infty}"),
    "a_variable": think("", r"\boxed{x}"),
    "power_tower": think("", r"\boxed{9^{9^{9^{9}}}}"),
    "overlong_box": think("", r"\boxed{7" + " + 0" * 400 + "}"),
    "unmarked_answer": think("", "The answer is 7."),
    "gold_mentioned_in_passing": think("", r"Not 7: \boxed{8}"),
    "empty_completion": "",
    "only_tags": "<think></think>",
}
MATH_HONEST = [think("7 = 3 + 4", r"\boxed{7}"), EMPTY + "Final answer: $7$.", EMPTY + r"\boxed{\frac{14}{2}} = \boxed{7}"]

CODE = {  # tests check add(a, b) == a + b
    "right_code_only_in_thinking": think(fence(RIGHT), fence(WRONG)),
    "right_code_in_a_second_think_block": EMPTY + fence(WRONG) + "<think>" + fence(RIGHT) + "</think>",
    "right_code_in_a_shell_block": think("", fence(RIGHT, "bash")),
    "right_then_wrong": think("", fence(RIGHT) + "\nActually:\n" + fence(WRONG)),
    "no_code": think("", "def add(a, b): return a + b"),
    "unclosed_fence": think("", "```python\n" + RIGHT),
    "sys_exit": think("", fence(WRONG + "import sys\nsys.exit(0)\n")),
    "os_exit": think("", fence(WRONG + "import os\nos._exit(0)\n")),
    "print_passed": think("", fence(WRONG + "print('PASSED')\nprint('All tests passed.')\n")),
    "system_exit_inside": think("", fence("def add(a, b):\n    raise SystemExit(0)\n")),
    "always_equal": think(
        "", fence("class A:\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return A()\n")
    ),
    "int_that_equals_everything": think(
        "", fence("class L(int):\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return L(0)\n")
    ),
    "patch_assertion_error": think(
        "", fence(WRONG + "import builtins\nbuiltins.AssertionError = type('X', (Exception,), {})\n")
    ),
    "patch_the_caller": think(
        "",
        fence(
            "import sys\ndef add(a, b):\n    g = sys._getframe(1).f_globals\n"
            "    for k in list(g):\n        if k != 'add' and callable(g[k]):\n            g[k] = lambda *x, **y: True\n"
            "    return 5\n"
        ),
    ),
    "infinite_loop": think("", fence("def add(a, b):\n    while True:\n        pass\n")),
    "forked_guesses": think(
        "",
        fence("import os\ndef add(a, b):\n    for g in (a * b, a - b):\n        if os.fork() == 0:\n            return g\n    return 0\n"),
    ),
    "hard_coded_first_case": think("", fence("def add(a, b):\n    return 5\n")),
}
CODE_HONEST = [think("", fence(RIGHT)), think("Plan.", fence(WRONG) + "\nFixed:\n" + fence(RIGHT, ""))]

FORMAT = {
    "no_think_block": "The answer is 7.",
    "two_think_blocks": "<think>a</think>\n\n<think>b</think>\n\nAnswer.",
    "stray_close_tag_in_answer": "<think>a</think>\n\nAnswer. </think>",
    "open_tag_in_answer": "<think>a</think>\n\nAnswer <think>more",
    "empty_answer": "<think>reasoning</think>\n\n",
    "whitespace_answer": "<think>reasoning</think>\n\n  \n ",
    "unclosed_think": "<think>reasoning that never ends",
    "think_not_at_the_start": "Sure. <think>a</think>\n\nAnswer.",
    "nested_think": "<think><think>a</think></think>\n\nAnswer.",
    "other_tag_name": "<thinking>a</thinking>\n\nAnswer.",
}
FORMAT_HONEST = ["<think>\nreasoning\n</think>\n\nAnswer.", EMPTY + "Answer."]

MODE = {  # (completion, requested mode)
    "empty_block_when_thinking_was_asked": (EMPTY + "Answer.", "think"),
    "whitespace_block_when_thinking_was_asked": ("<think>  \n </think>\n\nAnswer.", "think"),
    "no_block_when_thinking_was_asked": ("Answer.", "think"),
    "thinking_when_no_think_was_asked": (think("let me see", "Answer."), "no_think"),
    "no_block_when_no_think_was_asked": ("Answer.", "no_think"),
    "reasoning_hidden_after_an_empty_block": (EMPTY + "<think>let me see</think>\n\nAnswer.", "no_think"),
    "thinking_without_an_answer": ("<think>let me see</think>\n\n", "think"),
    "empty_block_without_an_answer": (EMPTY, "no_think"),
    "unclosed_thinking": ("<think>let me see", "think"),
}
MODE_HONEST = [(think("let me see", "Answer."), "think"), (EMPTY + "Answer.", "no_think")]


def score_math(completion: str) -> float | None:
    return math_accuracy_reward(["q"], [completion], answer=["7"])[0]


def score_code(completion: str) -> float | None:
    return code_execution_reward(["q"], [completion], tests=[TESTS])[0]


def test_the_suite_is_large_enough():
    assert len(MATH) + len(CODE) + len(FORMAT) + len(MODE) >= 50
    assert min(len(MATH), len(CODE), len(FORMAT), len(MODE)) >= 8


@pytest.mark.parametrize("name", MATH)
def test_math_adversary_scores_zero(name):
    assert score_math(MATH[name]) == 0.0


@pytest.mark.parametrize("name", CODE)
def test_code_adversary_scores_zero(name):
    assert score_code(CODE[name]) == 0.0


@pytest.mark.parametrize("name", FORMAT)
def test_format_adversary_scores_zero(name):
    assert think_format_reward(["q"], [FORMAT[name]]) == [0.0]


@pytest.mark.parametrize("name", MODE)
def test_mode_adversary_scores_zero(name):
    completion, mode = MODE[name]
    assert mode_adherence_reward(["q"], [completion], mode=[mode]) == [0.0]


def test_honest_completions_score_one():
    assert [score_math(c) for c in MATH_HONEST] == [1.0] * len(MATH_HONEST)
    assert [score_code(c) for c in CODE_HONEST] == [1.0] * len(CODE_HONEST)
    assert think_format_reward(["q"] * 2, FORMAT_HONEST) == [1.0, 1.0]
    completions, modes = zip(*MODE_HONEST, strict=True)
    assert mode_adherence_reward(["q"] * 2, list(completions), mode=list(modes)) == [1.0, 1.0]


def test_unparseable_gold_is_none_never_one():
    assert math_accuracy_reward(["q"] * 2, [r"\boxed{???}", "Final answer: ???"], answer=["???", "}{"]) == [None, None]
