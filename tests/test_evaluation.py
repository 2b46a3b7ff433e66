"""Evaluation modes: the chat modes and the base model's raw pretraining format share the graders."""

import pytest

from hybridthink.evaluation import evaluate
from hybridthink.toy.world import FAMILIES, generate_world, pretraining_text, worked_as_chat, worked_prompt
from hybridthink.scoring import score_items

ITEMS = generate_world({"eval": 4}, list(FAMILIES), [1, 2], seed=3)["eval"]


def test_a_worked_pretraining_document_grades_as_correct():
    completions = [pretraining_text(it, worked=True)[len(worked_prompt(it)):] for it in ITEMS]
    assert score_items(ITEMS, [worked_as_chat(c) for c in completions]) == [1.0] * len(ITEMS)
    # the same text with the answer cut off is not
    assert score_items(ITEMS, [worked_as_chat(c.split("\nAnswer: ")[0]) for c in completions]) == [0.0] * len(ITEMS)


def test_unknown_mode_is_refused(tokenizer):
    with pytest.raises(ValueError, match="unknown evaluation mode.*'chat'"):
        evaluate(None, tokenizer, ITEMS, modes=("think", "chat"))


def test_no_think_leakage_counts_hesitation_in_the_answer_only():
    from hybridthink.evaluation import leakage

    texts = [
        "<think>\n\n</think>\n\n42",
        "<think>\n\n</think>\n\nWait, let me double-check: 42. Hmm, actually 43.",
        "<think>\nwait, let me think\n</think>\n\n42",
    ]
    assert leakage(texts) == {"share_with_hesitation": 1 / 3, "hesitation_words_per_answer": 5 / 3}
