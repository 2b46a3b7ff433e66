"""Length control (Qwen3's LengthCtrl): "Answer in at most/at least N words/sentences" instructions,
the rule that counts, and the reward that checks them."""

from __future__ import annotations

import json
import random
import re

from .modes import THINK_CLOSE, completion_text, split_thinking

_SENTENCE_END_RE = re.compile(r"[.!?]+(?:\s|$)")
LENGTH_RELATIONS = ("at most", "at least")
LENGTH_UNITS = ("words", "sentences")


def count_length(text: str, unit: str) -> int:
    """Words (whitespace-separated) or sentences (pieces ending in ., ! or ?; a last piece without
    one counts too) in ``text``."""
    if unit == "words":
        return len(text.split())
    if unit == "sentences":
        pieces = [p for p in _SENTENCE_END_RE.split(text) if p.strip()]
        return len(pieces)
    raise ValueError(f"length unit must be one of {LENGTH_UNITS}, got {unit!r}")


def length_reward(prompts, completions, length, **kwargs) -> list[float | None]:
    """1.0 when the answer part obeys the row's length instruction (Qwen3's LengthCtrl): ``length``
    is a dict (or JSON string) ``{"relation": "at most" | "at least", "n": N, "unit": "words" |
    "sentences"}``. Rows with length None get None; an unclosed think block scores 0."""
    rewards = []
    for completion, spec in zip(completions, length, strict=True):
        if spec is None:
            rewards.append(None)
            continue
        spec = json.loads(spec) if isinstance(spec, str) else spec
        if spec["relation"] not in LENGTH_RELATIONS:
            raise ValueError(f"length relation must be one of {LENGTH_RELATIONS}, got {spec['relation']!r}")
        text = completion_text(completion)
        thinking, answer = split_thinking(text)
        if thinking is not None and THINK_CLOSE not in text:
            rewards.append(0.0)
            continue
        rewards.append(float(obeys_length(answer, spec)))
    return rewards


def obeys_length(answer: str, length: dict) -> bool:
    """Whether ``answer`` keeps the length limit ``{"relation", "n", "unit"}``."""
    n = count_length(answer, length["unit"])
    return n <= length["n"] if length["relation"] == "at most" else n >= length["n"]


def length_instruction(reference: str, rng: random.Random) -> dict:
    """A length limit for an answer like ``reference`` (Qwen3's LengthCtrl): at most or at least N
    words or sentences, N drawn around the reference's own length so that both can be met."""
    relation, unit = rng.choice(LENGTH_RELATIONS), rng.choice(LENGTH_UNITS)
    own = count_length(reference, unit)
    if relation == "at most":
        n = max(1, own - rng.randint(0, own // 2) if unit == "words" else rng.randint(1, 2))
    else:
        n = own + rng.randint(1, 5) if unit == "words" else rng.randint(2, 3)
    return {"relation": relation, "n": n, "unit": unit}


def length_text(length: dict) -> str:
    """The instruction for a length limit: "Answer in at most 1 sentence." """
    unit = length["unit"] if length["n"] != 1 else length["unit"].rstrip("s")
    return f"Answer in {length['relation']} {length['n']} {unit}."
