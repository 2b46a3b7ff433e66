"""Reward functions with TRL's signature ``f(prompts, completions, **kwargs) -> list[float | None]``.

Completions are plain strings or conversational message lists; dataset columns arrive as
keyword lists aligned with them, and unknown keywords are ignored. ``None`` means "this reward
does not apply to this row" (TRL then leaves it out of the weighted sum). Every grader looks only
at the answer part after ``</think>``, so nothing written while thinking can earn a reward.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Callable

from trl.rewards import get_soft_overlong_punishment

from hybridthink.chat_template import TURN_TOKENS
from hybridthink.ifeval import ifeval_reward
from hybridthink.length_control import length_reward
from hybridthink.math_grading import math_equal, parse_math
from hybridthink.modes import EMPTY_THINK, THINK_CLOSE, THINK_OPEN, completion_mode, completion_text, split_thinking
from hybridthink.sandbox import run_many
from hybridthink.tools import TOOLS

MAX_ANSWER_CHARS = 1000  # longer boxed answers score 0 instead of feeding sympy unbounded input
CODE_TIMEOUT_S = 5.0
_FENCE_RE = re.compile(r"```([^\n`]*)\n(.*?)```", re.DOTALL)
_PYTHON_LABELS = {"", "python", "python3", "py"}


_MARKED_RE = re.compile(r"^[ \t]*(?:\*\*)?final answer(?:\*\*)?[ \t]*[:：](?:\*\*)?[ \t]*(.+?)[ \t]*$|^####[ \t]*(.+?)[ \t]*$",
                        re.IGNORECASE | re.MULTILINE)


def _answer(completion) -> str:
    """The answer part: after the last ``</think>``, and before any later ``<think>`` that never
    closes. Whatever sits inside a think block, first or not, is thinking."""
    answer = split_thinking(completion_text(completion))[1]
    return answer.rsplit(THINK_CLOSE, 1)[-1].split(THINK_OPEN, 1)[0]


def boxed_answers(text: str) -> list[str]:
    """Contents of every ``\\boxed{...}`` in ``text`` (nested braces handled), in order."""
    found, start = [], text.find("\\boxed{")
    while start != -1:
        depth, i = 1, start + len("\\boxed{")
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            found.append(text[start + len("\\boxed{") : i - 1].strip())
        start = text.find("\\boxed{", i if depth == 0 else start + 1)
    return found


def final_answers(text: str) -> list[str]:
    """Every ``\\boxed{}`` content and every clearly marked final answer ("Final answer: X" or
    GSM8K's "#### X" on a line of its own) in ``text``, in order."""
    marked = [(m.group(1) or m.group(2)).rstrip(".").strip("$ ") for m in _MARKED_RE.finditer(text)]
    return boxed_answers(text) + marked


def math_accuracy_reward(prompts, completions, answer, **kwargs) -> list[float | None]:
    """1.0 when the final answer after ``</think>`` is mathematically equal to ``answer``.

    Final answers are the ``\\boxed{}`` contents and clearly marked final answers of the answer
    part (see :func:`final_answers`). Every distinct one must verify, so hedging between
    different answers scores 0, while repeating one answer (even in another form) does not. No
    final answer, or one only inside the thinking, scores 0. A row whose ``answer`` is None or
    does not parse to a mathematical object gets None. Each comparison is time-bounded in any
    thread (see ``hybridthink.math_grading``).
    """
    rewards = []
    for completion, gold_text in zip(completions, answer, strict=True):
        gold = parse_math(str(gold_text)) if gold_text is not None else []
        if all(isinstance(g, str) for g in gold):  # nothing mathematical parsed
            rewards.append(None)
            continue
        boxes = list(dict.fromkeys(final_answers(_answer(completion))))
        ok = bool(boxes) and all(
            len(box) <= MAX_ANSWER_CHARS and math_equal(str(gold_text), f"\\boxed{{{box}}}") for box in boxes
        )
        rewards.append(float(ok))
    return rewards


def _label(info: str) -> str:
    return (info.split() or [""])[0].lower()


def last_code_block(text: str) -> str | None:
    """The last fenced block labelled python/py or unlabelled, else None."""
    blocks = [m.group(2) for m in _FENCE_RE.finditer(text) if _label(m.group(1)) in _PYTHON_LABELS]
    return blocks[-1] if blocks else None


def code_execution_reward(prompts, completions, tests, entry_point=None, **kwargs) -> list[float | None]:
    """1.0 when the last Python code block of the answer passes ``tests`` in the sandbox.

    ``tests`` is Python source with asserts; when it defines ``check(candidate)`` and the row has
    an ``entry_point``, ``check(<entry_point>)`` is appended (HumanEval style). Rows whose tests
    are None get None; answers without a code block score 0.
    """
    entry_points = entry_point if entry_point is not None else [None] * len(completions)
    rewards: list[float | None] = []
    jobs, slots = [], []
    for completion, test, entry in zip(completions, tests, entry_points, strict=True):
        code = last_code_block(_answer(completion)) if test is not None else None
        rewards.append(None if test is None else 0.0)
        if code is None:
            continue
        if entry and re.search(r"^def check\(", test, re.MULTILINE):
            if not entry.isidentifier():
                raise ValueError(f"entry_point must be a Python identifier, got {entry!r}")
            test = f"{test}\n\ncheck({entry})\n"
        jobs.append((code, test))
        slots.append(len(rewards) - 1)
    for slot, result in zip(slots, run_many(jobs, timeout_s=CODE_TIMEOUT_S), strict=True):
        rewards[slot] = float(result.passed)
    return rewards


def _well_formed(text: str) -> bool:
    thinking, answer = split_thinking(text)
    return (
        completion_mode(text) is not None
        and THINK_OPEN not in thinking
        and THINK_OPEN not in answer
        and THINK_CLOSE not in answer
        and bool(answer)
    )


# The tool turns TRL's tool loop writes into a completion between the model's own turns (one or
# more responses), and the turn markers around them, which decoding may have dropped as special tokens.
_START, _END = (re.escape(t) for t in TURN_TOKENS)
_TOOL_TURN_RE = re.compile(rf"(?:{_END})?\s*(?:{_START})?user\n(?:\s*<tool_response>.*?</tool_response>)+"
                           rf"(?:{_END})?\s*(?:{_START})?assistant\n", re.DOTALL)


def assistant_turns(text: str) -> list[str]:
    """The model's own turns in a completion: one, or for a tool episode the turns between the
    tool results that TRL's tool loop puts into it (Qwen3 format: each turn has its think block)."""
    return _TOOL_TURN_RE.split(text)


def _turns_in_mode(text: str, want: str | None = None) -> bool:
    """Every assistant turn well formed and, with ``want``, in that mode: 'no_think' in every turn,
    'think' in the first (the reply to the user); a turn after a tool result may answer with an empty
    think block, as Qwen3 may once the reasoning that led to the call is done."""
    turns = assistant_turns(text)
    if not all(_well_formed(turn) for turn in turns):
        return False
    bound = turns if want == "no_think" else turns[:1] if want == "think" else []
    return all(completion_mode(turn) == want for turn in bound)


def think_format_reward(prompts, completions, **kwargs) -> list[float]:
    """1.0 when every assistant turn (one, or those of a tool episode) is one leading
    ``<think>...</think>`` block (possibly empty) then a non-empty answer free of think tags."""
    return [float(_turns_in_mode(completion_text(c))) for c in completions]


def mode_adherence_reward(prompts, completions, mode, **kwargs) -> list[float | None]:
    """1.0 when a well-formed completion uses the requested mode: 'think' needs a non-empty think
    block (in a tool episode, in its first turn), 'no_think' the empty one (in every turn). Rows with
    mode None get None."""
    rewards = []
    for completion, want in zip(completions, mode, strict=True):
        if want is None:
            rewards.append(None)
            continue
        if want not in ("think", "no_think"):
            raise ValueError(f"mode must be 'think', 'no_think' or None, got {want!r}")
        text = completion_text(completion)
        rewards.append(float(_turns_in_mode(text, want)))
    return rewards


_TOOL_CALL_RE = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def _well_formed_call(body: str) -> bool:
    """Qwen3's call JSON ``{"name": ..., "arguments": {...}}`` naming a known tool with arguments it takes."""
    try:
        call = json.loads(body)
    except json.JSONDecodeError:
        return False
    if (not isinstance(call, dict) or not isinstance(call.get("name"), str) or call["name"] not in TOOLS
            or not isinstance(call.get("arguments"), dict)):
        return False
    params = inspect.signature(TOOLS[call["name"]]).parameters
    return set(call["arguments"]) == set(params)


def tool_call_reward(prompts, completions, **kwargs) -> list[float]:
    """Share of the completion's ``<tool_call>`` openings that are closed, well-formed calls (valid
    JSON, a known tool, exactly its arguments); 0 for a completion that calls nothing. Read from
    the generated text, tool responses included (as ``graded_as_text`` gives it when tools are on)."""
    rewards = []
    for completion in completions:
        text = completion_text(completion)
        opened = text.count("<tool_call>")
        good = sum(_well_formed_call(body) for body in _TOOL_CALL_RE.findall(text))
        rewards.append(good / opened if opened else 0.0)
    return rewards


def overlong_reward(max_completion_len: int, soft_punish_cache: int) -> Callable:
    """DAPO's soft overlong punishment (TRL's implementation); it reads ``completion_ids``."""
    return get_soft_overlong_punishment(max_completion_len, soft_punish_cache)


REWARD_FUNCTIONS: dict[str, Callable] = {
    "math_accuracy": math_accuracy_reward,
    "code_execution": code_execution_reward,
    "think_format": think_format_reward,
    "mode_adherence": mode_adherence_reward,
    "length": length_reward,
    "tool_call": tool_call_reward,
    "ifeval": ifeval_reward,
}


# Rewards for the answer itself, which ``mode_gated`` can make depend on following the asked mode.
ANSWER_REWARDS = ("math_accuracy", "code_execution", "ifeval")


def mode_gated(func: Callable) -> Callable:
    """``func`` scoring 0 for a completion in the other mode than its row's ``mode`` column asks for.

    Without the gate a right answer reached by thinking under ``/no_think`` earns as much as a
    wrong answer given without thinking plus the mode reward, so GRPO does not prefer following
    the flag wherever thinking helps (arithmetic). Rows without a mode keep ``func``'s scores.
    """
    def gated(prompts, completions, mode=None, **kwargs):
        scores = func(prompts, completions, **kwargs)
        if mode is None:
            return scores
        return [s if s is None or want is None or completion_mode(completion_text(c)) == want else 0.0
                for s, c, want in zip(scores, completions, mode, strict=True)]
    gated.__name__ = f"{func.__name__}_mode_gated"
    return gated


# What a split variant's completion lacks for the hybrid graders to read it: the thinking variant's
# prompt opened the think block; an instruct answer (no think block at all) reads as the hybrid's
# non-thinking answer with the empty block in front, and one that opens a think block stays malformed.
VARIANT_PREFIXES = {"thinking": f"{THINK_OPEN}\n", "instruct": EMPTY_THINK}


def for_variant(func: Callable, variant: str) -> Callable:
    """``func`` grading the completions of a model with the chat template of ``variant`` ('hybrid':
    ``func`` itself). Text completions only: the variants take no tool tasks."""
    if variant == "hybrid":
        return func
    prefix = VARIANT_PREFIXES[variant]

    def graded(prompts, completions, **kwargs):
        return func(prompts, [prefix + completion_text(c) for c in completions], **kwargs)
    graded.__name__ = func.__name__
    return graded


def get_reward_functions(names: list[str]) -> list[Callable]:
    """Look reward functions up by registry name (unknown names raise ValueError)."""
    unknown = [n for n in names if n not in REWARD_FUNCTIONS]
    if unknown:
        raise ValueError(f"unknown reward function(s) {unknown}; known: {sorted(REWARD_FUNCTIONS)}")
    return [REWARD_FUNCTIONS[n] for n in names]
