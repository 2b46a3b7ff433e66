"""The judge reward: robust score parsing, and a real judge model (tiny, random) end to end."""

from __future__ import annotations

import pytest

from hybridthink.judge import load_judge_reward, parse_score


@pytest.mark.parametrize("text,score", [
    ("Score: 7", 0.7),
    ("The response is right.\nScore: 10", 1.0),
    ("**Score:** 8/10", 0.8),
    ("Rating = 3 out of 5", 0.6),
    ("grade: 0", 0.0),
    ("I'd give it 9/10.", 0.9),
    ("Score: 4\n...on reflection, Score: 6", 0.6),  # the last verdict counts
    ("<think>\nScore: 2 seems harsh\n</think>\n\nScore: 9", 0.9),  # not the judge's own thinking
    ("Score: 7.5", 0.75),
])
def test_scores_are_parsed(text, score):
    assert parse_score(text) == pytest.approx(score)


@pytest.mark.parametrize("text", ["", "Looks fine to me.", "Score: eleven", "Score: 12", "Score: -1", "3/0", "Score: 6/4"])
def test_unusable_verdicts_give_none(text):
    assert parse_score(text) is None


def test_judge_model_scores_rows_with_a_reference_and_logs_unparseable(tiny_checkpoint):
    model_dir, _, _ = tiny_checkpoint
    reward = load_judge_reward(model_dir, max_new_tokens=8)
    logged = {}
    prompts = [[{"role": "user", "content": "What is 2 + 3?"}]] * 3
    completions = ["<think>\n\n</think>\n\n5", "<think>\n\n</think>\n\n6", "<think>\n\n</think>\n\n5"]
    scores = reward(prompts, completions, reference=["5", "5", None], log_metric=logged.__setitem__)
    assert len(scores) == 3 and scores[2] is None  # no reference: not judged
    assert all(s is None or 0.0 <= s <= 1.0 for s in scores)
    # the random tiny judge writes no usable verdict: both judged rows are None, and counted
    assert scores[:2] == [None, None] and logged == {"judge_unparseable": 1.0}
    assert reward(prompts[:1], completions[:1], log_metric=logged.__setitem__) == [None]
