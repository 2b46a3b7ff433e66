"""Instruction-following items in IFEval's own format: a request to describe a subject plus one or
two IFEval instructions, whose text is IFEval's own description of them. Items carry IFEval's
columns (``instruction_id_list`` and ``kwargs``) and are graded by IFEval's checkers
(hybridthink.ifeval), the same ones that score ``../shared/benchmarks/ifeval_input.jsonl``.
"""

from __future__ import annotations

import json
import random

from ..ifeval import description

# Each subject with two facts; the plain answer joins them with a comma, so "no commas" changes it.
SUBJECTS = {
    "the sun": ("The sun is a hot star", "it gives us light"),
    "the moon": ("The moon goes around the earth", "it shines at night"),
    "a cat": ("A cat is a small animal", "it likes to sleep"),
    "a dog": ("A dog is a loyal friend", "it likes to run"),
    "a tree": ("A tree has green leaves", "it grows from a seed"),
    "a river": ("A river is moving water", "it flows to the sea"),
    "the sea": ("The sea is very big", "its water is salty"),
    "rain": ("Rain falls from clouds", "it makes the grass green"),
    "snow": ("Snow is cold and white", "it falls in winter"),
    "fire": ("Fire is hot and bright", "it needs air to burn"),
    "a bird": ("A bird has two wings", "it can fly in the sky"),
    "a fish": ("A fish lives in water", "it swims with its fins"),
    "a horse": ("A horse is a strong animal", "it can run fast"),
    "a bear": ("A bear is big and strong", "it sleeps in winter"),
    "a lion": ("A lion is a big cat", "it lives in a group"),
    "a book": ("A book has many pages", "it tells a story"),
    "a train": ("A train runs on rails", "it carries people far"),
    "a ship": ("A ship sails on the sea", "it carries goods"),
    "a clock": ("A clock shows the time", "it has two hands"),
    "a lamp": ("A lamp gives light", "it helps us read at night"),
    "bread": ("Bread is made from flour", "it is baked in an oven"),
    "milk": ("Milk comes from cows", "it is white"),
    "a lemon": ("A lemon is a yellow fruit", "it tastes sour"),
    "an apple": ("An apple grows on a tree", "it can be red or green"),
    "the wind": ("The wind is moving air", "it can push a ship"),
    "a star": ("A star is a ball of hot gas", "it shines far away"),
    "a frog": ("A frog can jump far", "it lives near water"),
    "a rose": ("A rose is a flower", "it smells sweet"),
    "a house": ("A house is a home", "it keeps us warm"),
    "a road": ("A road joins two places", "cars drive on it"),
    "a baker": ("A baker makes bread", "he starts work early"),
    "a nurse": ("A nurse helps sick people", "she works in a hospital"),
    "a pilot": ("A pilot flies a plane", "he sits in the cockpit"),
    "a phone": ("A phone lets us talk", "it can take photos"),
    "paper": ("Paper is made from wood", "we write on it"),
    "glass": ("Glass is hard and clear", "it breaks easily"),
}
ASKS = ("Tell me about {s}.", "Describe {s}.", "Write about {s}.")
END_PHRASES = ("Is there anything else I can help with?", "Any other questions?", "That is all.")
# The IFEval instructions the items use, with the kwargs each can take and its short name in the teacher's
# reasoning.
KINDS = {
    "punctuation:no_comma": ([{}], "no commas"),
    "change_case:english_lowercase": ([{}], "all lowercase letters"),
    "startend:quotation": ([{}], "wrap it in double quotes"),
    "startend:end_checker": ([{"end_phrase": p} for p in END_PHRASES], "end with the phrase"),
    "detectable_content:postscript": ([{"postscript_marker": "P.S."}], "add a P.S. at the end"),
    "detectable_format:title": ([{}], "a title in double angular brackets"),
    "detectable_format:number_bullet_lists": ([{"num_bullets": 2}], "two bullet points"),
    "detectable_format:json_format": ([{}], "wrap it all in JSON"),
}
# IFEval's all-capitals check also asks langdetect for English, which short capitalised sentences
# fail, so the items leave it out.
# Pairs that cannot both hold, that the order of rewriting below would break, or where one implies the other.
CONFLICTS = [
    {"punctuation:no_comma", "detectable_format:number_bullet_lists"},
    {"startend:quotation", "detectable_format:json_format"},
    {"startend:quotation", "detectable_format:number_bullet_lists"},
    *({"detectable_format:json_format", k} for k in ("startend:end_checker", "detectable_content:postscript",
                                                      "detectable_format:title", "detectable_format:number_bullet_lists")),
]


def respond(subject: str, ids: list[str], kwargs: list[dict]) -> str:
    """The answer about ``subject`` that follows every instruction in ``ids``."""
    first, second = SUBJECTS[subject]
    args = dict(zip(ids, kwargs))
    if "detectable_format:number_bullet_lists" in args:
        text = f"* {first}.\n* {second[0].upper()}{second[1:]}."
    else:
        text = f"{first} and {second}." if "punctuation:no_comma" in args else f"{first}, and {second}."
    if "detectable_format:title" in args:
        text = f"<<{subject.title()}>>\n{text}"
    if "detectable_content:postscript" in args:
        text += f"\nP.S. I like {subject}."
    if "startend:end_checker" in args:
        text += "\n" + args["startend:end_checker"]["end_phrase"]
    if "change_case:english_lowercase" in args:
        text = text.lower()
    if "startend:quotation" in args:
        text = f'"{text}"'
    if "detectable_format:json_format" in args:
        text = json.dumps({"answer": text})
    return text


def _choose(rng: random.Random, n: int) -> list[str]:
    while True:
        ids = rng.sample(sorted(KINDS), n)
        if not any(c <= set(ids) for c in CONFLICTS):
            return ids


def make_item(rng: random.Random, difficulty: int) -> dict:
    """An item with one instruction (two at difficulty 3 and above)."""
    subject = rng.choice(sorted(SUBJECTS))
    ids = _choose(rng, 1 if difficulty < 3 else 2)
    kwargs = [rng.choice(KINDS[i][0]) for i in ids]
    prompt = " ".join([rng.choice(ASKS).format(s=subject)] + [description(i, k) for i, k in zip(ids, kwargs)])
    thinking = "\n".join([f"I describe {subject}: {SUBJECTS[subject][0].lower()}, and {SUBJECTS[subject][1]}.",
                          "The rules: " + "; ".join(KINDS[i][1] for i in ids) + "."])
    return {
        "family": "instruction",
        "difficulty": difficulty,
        "prompt": prompt,
        "thinking": thinking,
        "response": respond(subject, ids, kwargs),
        "answer": None,
        "tests": None,
        "instruction_id_list": ids,
        "kwargs": json.dumps(kwargs),
    }


def subject_of(prompt: str) -> str:
    """The subject an item's prompt asks about."""
    return next(prompt[len(ask.split("{s}")[0]):].split(".")[0] for ask in ASKS if prompt.startswith(ask.split("{s}")[0]))


def corrupt(item: dict, rng: random.Random) -> tuple[str, str]:
    """The answer with its last instruction forgotten (a plain answer when there was one)."""
    ids, kwargs = item["instruction_id_list"], json.loads(item["kwargs"])
    return item["thinking"], respond(subject_of(item["prompt"]), ids[:-1], kwargs[:-1])
