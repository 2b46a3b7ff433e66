"""Reward functions: real math-verify, real sandbox runs, TRL's calling convention."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hybridthink import math_grading
from hybridthink.length_control import count_length, length_reward
from hybridthink.rewards import (
    REWARD_FUNCTIONS,
    boxed_answers,
    code_execution_reward,
    get_reward_functions,
    math_accuracy_reward,
    mode_adherence_reward,
    mode_gated,
    overlong_reward,
    think_format_reward,
    tool_call_reward,
)

TRL_EXTRAS = {"trainer_state": None, "log_extra": None, "log_metric": None, "completion_ids": None, "other": []}


def think(thinking: str, answer: str) -> str:
    return f"<think>\n{thinking}\n</think>\n\n{answer}"


def math(completions, answers):
    return math_accuracy_reward(["q"] * len(completions), completions, answer=answers, **TRL_EXTRAS)


# --- math_accuracy ---------------------------------------------------------------------------


def test_boxed_answers_handles_nested_braces():
    assert boxed_answers(r"a \boxed{\frac{1}{2}} b \boxed{x^{2}}") == [r"\frac{1}{2}", "x^{2}"]
    assert boxed_answers(r"\boxed{unclosed") == []


def test_math_correct_and_wrong():
    completions = [think("1/3", r"So \boxed{\frac{1}{3}}."), think("1/2", r"\boxed{\frac{1}{2}}"), "\\boxed{42}"]
    assert math(completions, [r"\frac{1}{3}", r"\frac{1}{3}", "42"]) == [1.0, 0.0, 1.0]


def test_math_gold_formats():
    assert math([r"\boxed{0.5}", r"\boxed{(1, 2)}", r"\boxed{x^2 + 1}"], ["$\\frac{1}{2}$", "(1,2)", "1 + x^2"]) == [
        1.0,
        1.0,
        1.0,
    ]


def test_math_gold_with_an_escaped_dollar_sign():  # MATH-500 writes money as \$36
    assert math([r"\boxed{\$36}", r"\boxed{36}", r"\boxed{\$37}"], [r"\$36"] * 3) == [1.0, 1.0, 0.0]


def test_math_answer_only_in_thinking_scores_zero():
    assert math([think(r"it is \boxed{7}", "It is seven.")], ["7"]) == [0.0]


def test_math_unclosed_think_scores_zero():
    assert math([r"<think>so \boxed{7}"], ["7"]) == [0.0]


def test_math_hedging_scores_zero_but_restating_does_not():
    assert math([think("", r"\boxed{7} or maybe \boxed{8}"), think("", r"\boxed{8}, no, \boxed{7}")], ["7", "7"]) == [
        0.0,
        0.0,
    ]
    assert math([think("", r"\boxed{\frac{1}{2}}, i.e. \boxed{0.5}")], ["1/2"]) == [1.0]


def test_math_no_box_scores_zero():
    assert math([think("", "The answer is 7.")], ["7"]) == [0.0]


def test_math_unparseable_or_missing_gold_is_none():
    assert math([r"\boxed{7}", r"\boxed{???}", r"\boxed{7}"], ["}{", "???", None]) == [None, None, None]


def test_math_conversational_completions():
    completions = [[{"role": "assistant", "content": think("", r"\boxed{12}")}]]
    assert math(completions, ["12"]) == [1.0]


def test_math_works_outside_the_main_thread_and_stays_time_bounded():
    tower = r"\boxed{9^{9^{9^{9}}}}"
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(math, [r"\boxed{3}", r"\boxed{4}"], ["3", "3"]).result() == [1.0, 0.0]
        start = time.monotonic()
        assert pool.submit(math, [tower], ["7"]).result() == [0.0]
    assert time.monotonic() - start < 2 * math_grading.TIMEOUT_S + 2


# --- code_execution --------------------------------------------------------------------------

TESTS = "assert add(2, 3) == 5\n"
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
WRONG = "```python\ndef add(a, b):\n    return a - b\n```"


def code(completions, tests, **kwargs):
    return code_execution_reward(["q"] * len(completions), completions, tests=tests, **kwargs, **TRL_EXTRAS)


def test_code_pass_fail_and_missing_block():
    completions = [think("", GOOD), think("", WRONG), think("", "def add(a, b): return a + b")]
    assert code(completions, [TESTS] * 3) == [1.0, 0.0, 0.0]


def test_code_uses_the_last_python_block_of_the_answer():
    unlabelled = "```\ndef add(a, b):\n    return a + b\n```"
    shell = "```bash\npython add.py\n```"
    completions = [
        think(GOOD, WRONG),  # right code only in the thinking
        think("", f"{WRONG}\nFixed:\n{GOOD}"),
        think("", f"{GOOD}\nOops:\n{WRONG}"),
        think("", f"{unlabelled}\nRun it:\n{shell}"),
    ]
    assert code(completions, [TESTS] * 4) == [0.0, 1.0, 0.0, 1.0]


def test_code_rows_without_tests_are_none():
    assert code([think("", GOOD), think("", GOOD)], [None, TESTS]) == [None, 1.0]


def test_code_humaneval_check_with_entry_point():
    tests = "def check(candidate):\n    assert candidate(2, 3) == 5\n"
    assert code([think("", GOOD)], [tests], entry_point=["add"]) == [1.0]
    with pytest.raises(ValueError, match="identifier"):
        code([think("", GOOD)], [tests], entry_point=["add; import os"])


def test_code_always_equal_hack_scores_zero():
    hack = "```python\nclass A:\n    def __eq__(self, o):\n        return True\ndef add(a, b):\n    return A()\n```"
    assert code([[{"role": "assistant", "content": think("", hack)}]], [TESTS]) == [0.0]


# --- think_format / mode_adherence -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (think("reasoning", "answer"), 1.0),
        ("<think>\n\n</think>\n\nanswer", 1.0),
        ("  \n" + think("reasoning", "answer"), 1.0),
        ("answer without thinking", 0.0),
        ("<think>never closed", 0.0),
        (think("reasoning", ""), 0.0),
        ("preamble " + think("reasoning", "answer"), 0.0),
        (think("a <think> b", "answer"), 0.0),
        (think("reasoning", "answer </think>"), 0.0),
        (think("reasoning", think("again", "answer")), 0.0),
    ],
)
def test_think_format(text, expected):
    assert think_format_reward(["q"], [text], **TRL_EXTRAS) == [expected]
    assert think_format_reward(["q"], [[{"role": "assistant", "content": text}]]) == [expected]


def test_mode_adherence():
    full, empty, malformed = think("reasoning", "answer"), "<think>\n\n</think>\n\nanswer", "<think>open"
    modes = ["think", "no_think", "no_think", "think", "think", None]
    completions = [full, full, empty, empty, malformed, full]
    assert mode_adherence_reward(["q"] * 6, completions, mode=modes, **TRL_EXTRAS) == [1.0, 0.0, 1.0, 0.0, 0.0, None]
    with pytest.raises(ValueError, match="mode"):
        mode_adherence_reward(["q"], [full], mode=["fast"])


# --- tool calls ------------------------------------------------------------------------------


def test_tool_call_reward_counts_closed_well_formed_calls_of_known_tools():
    call = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "58 * 86"}}\n</tool_call>'
    texts = [
        f"<think>\nI need the calculator.\n</think>\n\n{call}<tool_response>\n4988\n</tool_response>The answer is 4988.",
        call + '\n<tool_call>\n{"name": "calculator", "arguments": "calcul',  # the second never closes
        '<tool_call>\n{"name": "abacus", "arguments": {"expression": "1"}}\n</tool_call>',
        '<tool_call>\n{"name": "python", "arguments": {"expression": "1"}}\n</tool_call>',  # python takes code
        '<tool_call>\n{"name": "calculator", "arguments": {"expression": "1"}\n</tool_call>',  # bad JSON
        "The answer is \\boxed{4988}.",
        # names a model wrote that are not strings (one crashed stage 4 of a demo run)
        '<tool_call>\n{"name": {"name": "calculator"}, "arguments": {"expression": "1"}}\n</tool_call>',
        '<tool_call>\n{"name": ["calculator"], "arguments": {"expression": "1"}}\n</tool_call>',
        '<tool_call>\n["calculator", {"expression": "1"}]\n</tool_call>',
    ]
    assert tool_call_reward(None, texts) == [1.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]


# --- overlong and registry -------------------------------------------------------------------


def test_overlong_reward_is_dapo_soft_punishment():
    reward = overlong_reward(max_completion_len=100, soft_punish_cache=20)
    assert reward.__name__
    assert reward(completion_ids=[[1] * 50, [1] * 90, [1] * 120], **{"prompts": None}) == [0.0, -0.5, -1.0]


def test_registry_names_and_lookup():
    assert set(REWARD_FUNCTIONS) == {"math_accuracy", "code_execution", "think_format", "mode_adherence", "length",
                                     "ifeval", "tool_call"}
    assert all(f.__name__.endswith("_reward") for f in REWARD_FUNCTIONS.values())
    assert get_reward_functions(["think_format", "math_accuracy"]) == [think_format_reward, math_accuracy_reward]
    with pytest.raises(ValueError, match=r"'nope'.*known: \['code_execution'"):
        get_reward_functions(["think_format", "nope"])


def test_mode_gated_answer_rewards_score_only_the_asked_mode():
    thought = "<think>\n2 + 2 = 4\n</think>\n\n\\boxed{4}"
    direct = "<think>\n\n</think>\n\n\\boxed{4}"
    math = mode_gated(math_accuracy_reward)
    rows = dict(completions=[thought, direct, thought, direct, thought], answer=["4"] * 4 + [None],
                mode=["no_think", "no_think", "think", "think", "no_think"])
    assert math(None, **rows) == [0.0, 1.0, 1.0, 0.0, None]
    assert math(None, completions=[thought], answer=["4"]) == [1.0], "rows without a mode are not gated"
    assert math_accuracy_reward(None, **rows) == [1.0, 1.0, 1.0, 1.0, None], "ungated: the mode does not count"
    assert math.__name__.startswith("math_accuracy")


def test_length_reward_counts_words_and_sentences_of_the_answer_only():
    most_4_words = {"relation": "at most", "n": 4, "unit": "words"}
    least_2_sentences = json.dumps({"relation": "at least", "n": 2, "unit": "sentences"})
    completions = ["<think>\nmany many many words here\n</think>\n\nThe answer is 5.",
                   "<think>\n\n</think>\n\nThe answer is five, clearly.",
                   "<think>\n\n</think>\n\nIt is 3.5 in all. Yes!",
                   "<think>\n\n</think>\n\nOnly one sentence here.",
                   "<think>\nnever closed",
                   "anything"]
    specs = [most_4_words, most_4_words, least_2_sentences, least_2_sentences, most_4_words, None]
    assert length_reward(None, completions, specs, **TRL_EXTRAS) == [1.0, 0.0, 1.0, 0.0, 0.0, None]
    assert count_length("One. Two! Three? four", "sentences") == 4
    with pytest.raises(ValueError, match="relation"):
        length_reward(None, ["x"], [{"relation": "about", "n": 3, "unit": "words"}])
