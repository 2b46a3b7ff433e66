"""Multi-digit addition with a digit-by-digit chain of thought and a self-check."""

from __future__ import annotations

import random

PLACES = ["Ones", "Tens", "Hundreds", "Thousands", "Ten-thousands", "Hundred-thousands"]
PHRASINGS = ["What is {a} + {b}?", "Compute {a} + {b}.", "Add {a} and {b}."]


def _number(rng: random.Random, digits: int) -> int:
    return rng.randint(10 ** (digits - 1) if digits > 1 else 0, 10**digits - 1)


def make_item(rng: random.Random, difficulty: int) -> dict:
    """An addition item whose operands have up to ``difficulty`` digits."""
    a = _number(rng, difficulty)
    b = _number(rng, rng.randint(1, difficulty))
    a, b = (a, b) if rng.random() < 0.5 else (b, a)
    total = a + b
    lines = [f"I need {a} + {b}."]
    da, db = str(a)[::-1], str(b)[::-1]
    carry = 0
    for i in range(max(len(da), len(db))):
        x = int(da[i]) if i < len(da) else 0
        y = int(db[i]) if i < len(db) else 0
        s = x + y + carry
        terms = f"{x} + {y}" + (f" + {carry}" if carry else "")
        carry, digit = divmod(s, 10)
        lines.append(f"{PLACES[i]}: {terms} = {s}. Write {digit}, carry {carry}.")
    if carry:
        lines.append(f"{PLACES[len(lines) - 1]}: write the carry {carry}.")
    lines.append(f"Reading the digits: {total}.")
    lines.append(f"Check: {total} - {b} = {a}. Correct.")
    return {
        "family": "arithmetic",
        "difficulty": difficulty,
        "prompt": rng.choice(PHRASINGS).format(a=a, b=b),
        "thinking": "\n".join(lines),
        "response": f"The answer is \\boxed{{{total}}}.",
        "answer": str(total),
        "tests": None,
        "instruction_id_list": None,
        "kwargs": None,
    }


def shortcut(thinking: str) -> str:
    """The same reasoning's result stated at a glance: the question line, then the sum at once."""
    lines = thinking.split("\n")
    question = lines[0].removeprefix("I need ").removesuffix(".")
    total = next(line for line in lines if line.startswith("Reading the digits: ")).removeprefix("Reading the digits: ")
    return f"{lines[0]}\nAt a glance: {question} = {total}"


def corrupt(item: dict, rng: random.Random) -> tuple[str, str]:
    """A wrong final answer, written consistently in thinking and response (a plausible slip)."""
    right = int(item["answer"])
    wrong = right + rng.choice([-10, -1, 1, 10, 100])
    thinking = item["thinking"].replace(f"Reading the digits: {right}.", f"Reading the digits: {wrong}.")
    return thinking, f"The answer is \\boxed{{{wrong}}}."
