"""Stage 1's curation filters (Qwen3 §4.1): each one removes what it must and keeps what it must,
on hand-made cases and on the toy teacher's own defects."""

import json
import random
from pathlib import Path

import pytest

from hybridthink.decontamination import benchmark_questions, ngrams, overlapping
from hybridthink.scoring import verifiable
from hybridthink.toy.world import FOREIGN_LINES, GUESS, generate_world, teacher_responses
from stage1_cold_start.filters import (RESPONSE_FILTERS, balanced, filter_responses, guesswork, inconsistent,
                                       mixed_language, response_defect)

BENCHMARKS = Path(__file__).resolve().parents[2] / "shared" / "benchmarks"
WORLD = generate_world({"stage1": 120, "eval": 40}, ["arithmetic", "code", "instruction"], [1, 2, 3], seed=5)
NOISE = {"wrong_answer": 0.2, "repetition": 0.1, "guesswork": 0.1, "inconsistent": 0.1, "language_mixing": 0.1}


def test_guesswork_is_caught_and_plain_reasoning_kept():
    assert guesswork("I need 3 + 4." + GUESS)
    assert guesswork("Hmm, I'm not sure. I'll guess 12.")
    assert not guesswork("I need 3 + 4.\nOnes: 3 + 4 = 7. Write 7, carry 0.")
    assert not guesswork("The guest list has 4 names.")


def test_inconsistency_compares_the_reasoning_s_own_conclusion_only():
    assert inconsistent("Reading the digits: 75.\nDraft answer: The answer is \\boxed{76}.", "The answer is \\boxed{75}.")
    assert not inconsistent("So the answer is \\boxed{1/2}.", "The answer is \\boxed{0.5}.")
    assert not inconsistent("Reading the digits: 75.", "The answer is \\boxed{75}."), "no stated conclusion, not judged"
    code = "```python\ndef f(x):\n    return x + 1\n```"
    assert inconsistent("Draft answer: ```python\ndef f(x):\n    return x + 2\n```", code)
    assert not inconsistent("Like this: ```python\ndef f(x):\n  return x + 1\n```", code)


def test_language_mixing_is_another_script_not_an_accent():
    assert all(mixed_language(line) for line in FOREIGN_LINES)
    assert not mixed_language("A café sells crème brûlée; 3 × 4 = 12 ≤ 20.")


def test_the_filters_remove_exactly_the_teacher_s_defects():
    items = WORLD["stage1"]
    cands = [teacher_responses(it, 4, NOISE, random.Random(i), shortcut_share=0.5) for i, it in enumerate(items)]
    injected = {}
    for cs in cands:
        for c in cs:
            injected[c["defect"]] = injected.get(c["defect"], 0) + 1
    assert all(injected.get(k, 0) > 5 for k in NOISE), injected
    kept, removed = filter_responses(items, cands, max_repeats=2)
    assert {k: removed[k] for k in NOISE} == {k: injected[k] for k in NOISE}
    assert all(c["defect"] is None for _, c in kept)
    # A switched-off filter lets its defect through (and only its own).
    kept, removed = filter_responses(items, cands, 2, tuple(f for f in RESPONSE_FILTERS if f != "guesswork"))
    assert "guesswork" not in removed and {c["defect"] for _, c in kept} == {None, "guesswork"}
    with pytest.raises(ValueError, match="unknown response filter"):
        filter_responses(items, cands, 2, ("guesswork", "vibes"))


def test_response_defect_tries_filters_in_order():
    cand = {"thinking": "line\n" * 4 + "让我再检查一下。", "response": "ok"}
    assert response_defect(cand, max_repeats=2) == "repetition"
    assert response_defect(cand, 2, ("language_mixing",)) == "language_mixing"
    assert response_defect(cand, 2, ()) is None


def test_eval_overlap_drops_near_copies_and_keeps_shared_templates():
    pool = [it["prompt"] for it in WORLD["stage1"]]
    held_out = [it["prompt"] for it in WORLD["eval"]]
    leaks = held_out[:5] + [held_out[5].upper() + "  "]
    flags = overlapping(pool + leaks, held_out)
    assert flags[len(pool):] == [True] * 6, "copies (case and spacing aside) are caught"
    assert sum(flags[: len(pool)]) < 0.2 * len(pool), "templated prompts that only share phrases are kept"
    assert overlapping(["What is 3 + 4?", "What is 3 + 5?"], ["What is 3 + 4?"]) == [True, False]
    assert ngrams("a b c", 13) == {("a", "b", "c")}


def test_eval_overlap_catches_a_benchmark_question():
    questions = benchmark_questions(BENCHMARKS)
    gsm8k = json.loads((BENCHMARKS / "gsm8k_test.jsonl").open().readline())["question"]
    assert gsm8k in questions and len(questions) > 1000
    assert overlapping([gsm8k, WORLD["stage1"][0]["prompt"]], questions) == [True, False]
    assert benchmark_questions(BENCHMARKS / "missing") == []


def test_unverifiable_items_are_dropped():
    item = WORLD["stage1"][0]
    assert all(verifiable(it) for it in WORLD["stage1"])
    assert not verifiable({**item, "family": "poetry"})
    grading_column = {"arithmetic": "answer", "code": "tests", "instruction": "instruction_id_list"}[item["family"]]
    assert not verifiable({**item, grading_column: None})


def test_domain_balance_takes_families_in_turn():
    kept = [({"family": "arithmetic"}, i) for i in range(10)] + [({"family": "code"}, i) for i in range(2)]
    out = balanced(kept, 6)
    assert [it["family"] for it, _ in out] == ["arithmetic", "code", "arithmetic", "code", "arithmetic", "arithmetic"]
    assert len(balanced(kept, 100)) == 12
