"""Instruction-following items whose constraints are checked by rules (hybridthink.constraints)."""

from __future__ import annotations

import json
import random

WORDS = ("cat dog sun tree blue house river apple stone light green cloud happy road fish bird moon "
         "table water train book chair lamp door milk bread rain snow wind fire star ship frog lion bear "
         "horse sheep goat duck rose leaf grass sand salt plum pear lemon mango olive tiger zebra panda "
         "queen king pilot baker nurse clock phone paper glass metal").split()


def _repeat(rng, d):
    word, n = rng.choice(WORDS), rng.randint(2, 2 + d)
    return (f"Write the word {word} {n} times, separated by spaces.",
            "\n".join([f"The word is {word} and I need it {n} times."] + [f"{i}: {word}" for i in range(1, n + 1)]),
            " ".join([word] * n), {"type": "repeat_word", "word": word, "n": n})


def _upper(rng, d):
    word = " ".join(rng.choice(WORDS) for _ in range(1 + d // 2))
    return (f"Write {word} in capital letters.",
            # One line per word: a letter that recurs must not look like a repetition loop to the filters.
            "\n".join(f"{w}: " + ", ".join(f"{c} becomes {c.upper()}" for c in w) + "." for w in word.split()),
            word.upper(), {"type": "uppercase", "word": word})


def _count(rng, d):
    start = rng.randint(1, 99)
    end = start + rng.randint(2, 2 + 2 * d)
    return (f"Count from {start} to {end}, separated by commas.",
            f"Start at {start} and stop at {end}, that is {end - start + 1} numbers.",
            ", ".join(str(i) for i in range(start, end + 1)),
            {"type": "count_range", "start": start, "end": end})


def _spell(rng, d):
    word = rng.choice(WORDS)
    return (f"Spell the word {word} with dashes between the letters.",
            f"The letters of {word} are " + ", ".join(word) + ".",
            "-".join(word), {"type": "spell", "word": word})


KINDS = [_repeat, _upper, _count, _spell]


def make_item(rng: random.Random, difficulty: int) -> dict:
    """An instruction item; ``difficulty`` widens counts and ranges."""
    prompt, thinking, response, constraint = rng.choice(KINDS)(rng, difficulty)
    return {
        "family": "instruction",
        "difficulty": difficulty,
        "prompt": prompt,
        "thinking": thinking,
        "response": response,
        "answer": None,
        "tests": None,
        "constraints": json.dumps([constraint]),
    }


def corrupt(item: dict, rng: random.Random) -> tuple[str, str]:
    """Drop the last unit of the answer (one word, number or letter too few)."""
    response = item["response"]
    for sep in (", ", "-", " "):
        if sep in response:
            return item["thinking"], response.rsplit(sep, 1)[0]
    return item["thinking"], response.lower()
