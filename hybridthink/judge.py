"""A model-based reward with a reference: a judge model grades each response against the row's
reference answer under a rubric, and its verdict is parsed into a score in [0, 1].

The judge is any HF causal LM (a checkpoint directory), asked greedily with :data:`JUDGE_PROMPT`.
Verdicts are parsed by :func:`parse_score`; one that gives no usable score yields ``None`` (TRL
leaves it out of the sum) and is counted: the share of unparseable verdicts in each call goes to
TRL's logs as ``judge_unparseable`` through the ``log_metric`` hook reward functions get.
Hand-written: TRL 1.16 ships no judge that grades a response against a reference with a local
model.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from .generation import chat_prompts, generate
from .modes import completion_text, prompt_question, split_thinking
from .stage import load_checkpoint

DEFAULT_RUBRIC = "10: correct and complete; 5: partly correct; 0: wrong, missing or off-topic."
JUDGE_PROMPT = (
    "Grade the response against the reference answer.\nRubric: {rubric}\n\nQuestion: {question}\n\n"
    "Reference answer: {reference}\n\nResponse: {response}\n\n"
    "Reply with one line 'Score: N' where N is an integer from 0 to {scale}. /no_think"
)
_LABELLED = re.compile(r"(?:score|rating|grade)\s*(?:\*\*)?\s*[:=]?\s*(?:\*\*)?\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+)|out of\s+(\d+))?",
                       re.IGNORECASE)
_FRACTION = re.compile(r"(-?\d+(?:\.\d+)?)\s*(?:/|out of)\s*(\d+)", re.IGNORECASE)


def parse_score(text: str, scale: int = 10) -> float | None:
    """The judge's score as a share of ``scale``: the last labelled score ("Score: 7", "**Rating:**
    8/10", "grade = 3 out of 5"), else the last bare fraction ("7/10"); an explicit denominator
    replaces ``scale``. None when there is none or it falls outside [0, scale]."""
    verdict = split_thinking(text)[1] if "</think>" in text else text
    labelled = _LABELLED.findall(verdict)
    if labelled:
        value, over, out_of = labelled[-1]
        denominator = float(over or out_of or scale)
    else:
        fractions = _FRACTION.findall(verdict)
        if not fractions:
            return None
        value, over = fractions[-1]
        denominator = float(over)
    score = float(value)
    if denominator <= 0 or not 0 <= score <= denominator:
        return None
    return score / denominator


def load_judge_reward(model_dir: str | Path, rubric: str = DEFAULT_RUBRIC, scale: int = 10, max_new_tokens: int = 32,
                 batch_size: int = 32) -> Callable:
    """A GRPO reward function grading each completion against the row's ``reference`` column with
    the judge model in ``model_dir``. Rows without a reference get None."""
    model, tokenizer = load_checkpoint(model_dir)  # in eval mode, as from_pretrained leaves it

    def judge_reward(prompts, completions, reference=None, log_metric=None, **kwargs) -> list[float | None]:
        references = reference if reference is not None else [None] * len(completions)
        asked = [i for i, ref in enumerate(references) if ref is not None]
        questions = [prompt_question(prompts[i]) for i in asked]
        conversations = [[{"role": "user", "content": JUDGE_PROMPT.format(
            rubric=rubric, question=q, reference=references[i], response=split_thinking(completion_text(completions[i]))[1],
            scale=scale)}] for q, i in zip(questions, asked)]
        verdicts = generate(model, tokenizer, chat_prompts(tokenizer, conversations), max_new_tokens=max_new_tokens,
                            batch_size=batch_size, desc="judge") if asked else []
        scores: list[float | None] = [None] * len(completions)
        for i, group in zip(asked, verdicts):
            scores[i] = parse_score(group[0].text, scale)
        if asked and log_metric is not None:
            log_metric("judge_unparseable", sum(scores[i] is None for i in asked) / len(asked))
        return scores
    return judge_reward
