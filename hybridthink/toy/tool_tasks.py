"""Toy-world tool tasks: products too large for the tiny model to work out, so it must call the
calculator, read its ``<tool_response>`` and answer with the result.

An item is graded like arithmetic (``answer`` column, ``math_accuracy_reward``); its reference
trajectory is the conversation a good agent has: think (or not), call ``calculator``, read the
result, answer.
"""

from __future__ import annotations

import json
import random

from transformers.utils import get_json_schema

from ..modes import NO_THINK_FLAG
from ..tools import calculator

PHRASINGS = ["What is {a} * {b}?", "Compute {a} * {b}.", "Multiply {a} by {b}."]


def make_item(rng: random.Random, difficulty: int) -> dict:
    """A product of a (difficulty + 1)-digit and a 2- to (difficulty + 1)-digit number."""
    a = rng.randint(10**difficulty, 10 ** (difficulty + 1) - 1)
    b = rng.randint(10, 10 ** (difficulty + 1) - 1)
    return {
        "family": "tool",
        "difficulty": difficulty,
        "prompt": rng.choice(PHRASINGS).format(a=a, b=b),
        "expression": f"{a} * {b}",
        "answer": str(a * b),
    }


def make_items(n: int, seed: int, difficulties: list[int], exclude: set[str] = frozenset()) -> list[dict]:
    """``n`` tool items with distinct products cycling through ``difficulties``, none whose prompt or
    expression is in ``exclude`` (so a product held out in one split is not asked in another phrasing)."""
    rng = random.Random(f"tool-{seed}")
    items, seen = [], set(exclude)
    while len(items) < n:
        item = make_item(rng, difficulties[len(items) % len(difficulties)])
        if item["prompt"] not in seen and item["expression"] not in seen:
            seen.update((item["prompt"], item["expression"]))
            items.append({**item, "id": f"tool-{seed}-{len(items):05d}"})
    return items


def trajectory(item: dict, thinking: bool) -> list[dict]:
    """The reference conversation after the user turn: a calculator call (after short reasoning when
    ``thinking``), its result, and the answer right after it with an empty think block in both modes.

    A toy model copies the result into ``\\boxed{}`` far more reliably straight from the tool's turn:
    with the post-call reasoning "The calculator says N." stage 3's thinking tool success on 160
    held-out products was 0.19, with the empty block 0.84 (results/stage4_toy/README.md)."""
    call = {"type": "function", "function": {"name": "calculator", "arguments": {"expression": item["expression"]}}}
    first = f"I need {item['expression']}. That is too large to do in my head, so I use the calculator." if thinking else ""
    return [
        {"role": "assistant", "reasoning_content": first, "content": "", "tool_calls": [call]},
        {"role": "tool", "name": "calculator", "content": item["answer"]},
        {"role": "assistant", "reasoning_content": "", "content": f"The answer is \\boxed{{{item['answer']}}}."},
    ]


def pretraining_text(item: dict) -> str:
    """Raw text of a tool episode, as a base model could meet it on the web: the question, the call
    in Qwen3's JSON format, the tool's response and the answer (no chat template)."""
    call = json.dumps({"name": "calculator", "arguments": {"expression": item["expression"]}})
    return (f"Question: {item['prompt']}\n<tool_call>\n{call}\n</tool_call>\n"
            f"<tool_response>\n{item['answer']}\n</tool_response>\nAnswer: The answer is \\boxed{{{item['answer']}}}.")


def sft_rows(items: list[dict], no_think_share: float, seed: int) -> list[dict]:
    """Conversational SFT rows for TRL's ``SFTTrainer``: the question (with ``/no_think`` for a
    share of them) and its reference trajectory in that mode, with the calculator's schema in the
    ``tools`` column so the template shows the tool as it will be offered."""
    rng, schema = random.Random(seed), get_json_schema(calculator)
    rows = []
    for item in items:
        thinking = rng.random() >= no_think_share
        user = {"role": "user", "content": item["prompt"] + ("" if thinking else f" {NO_THINK_FLAG}")}
        steps = trajectory(item, thinking)
        for call in steps[0]["tool_calls"]:  # as a JSON string: datasets would give every call every tool's keys
            call["function"]["arguments"] = json.dumps(call["function"]["arguments"])
        rows.append({"messages": [user, *steps], "tools": [schema], "chat_template_kwargs": {"enable_thinking": True}})
    return rows
