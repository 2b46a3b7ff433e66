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


def test_ifeval_pass_rates_count_prompts_and_instructions():
    from hybridthink.evaluation import ifeval_pass_rates

    items = [{"instruction_id_list": ["a"]}, {"instruction_id_list": ["a", "b"]}, {"instruction_id_list": None}]
    rates = ifeval_pass_rates(items, [1.0, 0.5, 1.0])
    assert rates["n_prompts"] == 2 and rates["n_instructions"] == 3
    assert rates["prompt_level"] == 0.5 and rates["instruction_level"] == 2 / 3
    assert ifeval_pass_rates(items[2:], [1.0]) is None


def test_length_control_items_ask_for_a_length_their_reference_can_meet():
    from hybridthink.evaluation import length_control_items
    from hybridthink.length_control import length_reward, length_text

    items = generate_world({"eval": 40}, list(FAMILIES), [1, 2, 3], seed=1)["eval"]
    asked = length_control_items(items, 20, ("arithmetic",))
    assert len(asked) == 20 and {it["family"] for it in asked} == {"arithmetic"}
    assert all(it["prompt"].endswith(length_text(it["length"])) for it in asked)
    assert {it["length"]["relation"] for it in asked} == {"at most", "at least"}
    one_word = ["<think>\n\n</think>\n\n\\boxed{" + it["answer"] + "}" for it in asked]
    references = ["<think>\n\n</think>\n\n" + it["response"] for it in asked]
    for it, short, ref in zip(asked, length_reward(None, one_word, [it["length"] for it in asked]),
                              length_reward(None, references, [it["length"] for it in asked])):
        if it["length"]["relation"] == "at most":
            assert short == 1.0, "a one-word answer meets every 'at most' limit"
        elif it["length"]["unit"] == "words":
            assert ref == 0.0, "an 'at least' word limit asks for more than the reference says"


def test_evaluate_scores_length_control_in_each_chat_mode(tokenizer, tiny_model):
    items = generate_world({"eval": 6}, list(FAMILIES), [1], seed=2)["eval"]
    summary, records = evaluate(tiny_model, tokenizer, items, max_new_tokens=8, length_items=4,
                                length_families=("arithmetic", "instruction"))
    for mode in ("think", "no_think"):
        lc = summary[mode]["length_control"]
        length_records = [r for r in records if r["mode"] == f"{mode}/length"]
        assert lc["n"] == len(length_records) == 4
        assert lc["accuracy"] == sum(r["score"] for r in length_records) / 4
        assert summary[mode]["ifeval"]["n_prompts"] == sum(it["family"] == "instruction" for it in items)
    assert {r["family"] for r in records} <= set(FAMILIES)
