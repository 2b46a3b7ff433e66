"""The toy world: seeded, disjoint splits, gold answers that pass their own graders, and teacher
defects that the stage-1 filters catch."""

import json
import random

import pytest

from hybridthink.jsonl import DataError, read_jsonl, write_jsonl
from hybridthink.modes import join_thinking
from hybridthink.scoring import score_items
from hybridthink.toy import instructions
from hybridthink.toy.world import FAMILIES, SPLITS, generate_items, generate_world, teacher_responses
from stage1_cold_start.filters import filter_responses, max_line_repeats, think_text

SIZES = {"pretrain": 20, "stage1": 12, "stage2": 8, "stage3": 8, "stage4": 8, "eval": 8}


@pytest.fixture(scope="module")
def world():
    return generate_world(SIZES, list(FAMILIES), [1, 2, 3, 4], seed=0)


def test_world_is_seeded_and_splits_are_disjoint(world):
    again = generate_world(SIZES, list(FAMILIES), [1, 2, 3, 4], seed=0)
    assert again == world
    assert generate_world(SIZES, list(FAMILIES), [1, 2, 3, 4], seed=1) != world
    prompts = {split: {it["prompt"] for it in world[split]} for split in (*SPLITS, "pretrain")}
    for a in prompts:
        for b in prompts:
            if a != b:
                assert not prompts[a] & prompts[b], f"{a} and {b} share prompts"
    for split in SPLITS:
        assert len(world[split]) == SIZES[split] * len(FAMILIES)
        assert {it["family"] for it in world[split]} == set(FAMILIES)


def test_difficulty_knob_changes_items():
    easy = generate_world({"eval": 30}, ["arithmetic"], [1], seed=0)["eval"]
    hard = generate_world({"eval": 30}, ["arithmetic"], [4], seed=0)["eval"]
    assert max(int(it["answer"]) for it in easy) < 20
    assert min(int(it["answer"]) for it in hard) >= 1000


def test_gold_answers_pass_their_graders_in_both_modes(world):
    items = world["eval"] + world["stage1"]
    thinking = [think_text(it) for it in items]
    non_thinking = ["<think>\n\n</think>\n\n" + it["response"] for it in items]
    assert score_items(items, thinking) == [1.0] * len(items)
    assert score_items(items, non_thinking) == [1.0] * len(items)
    # The answer must be after </think>: the gold placed only inside the thinking earns nothing.
    hidden = [f"<think>\n{it['response']}\n</think>\n\nI am not sure, sorry." for it in items]
    assert score_items(items, hidden) == [0.0] * len(items)


def test_teacher_defects_are_caught_by_the_response_filters(world):
    items = world["stage1"]
    rng = random.Random(0)
    cands = [teacher_responses(it, 6, {"wrong_answer": 0.3, "repetition": 0.3}, rng, shortcut_share=0.5) for it in items]
    assert any(c["style"] == "shortcut" and c["defect"] == "wrong_answer" for cs in cands for c in cs)
    defects = [c["defect"] for cs in cands for c in cs]
    assert defects.count("wrong_answer") > 0 and defects.count("repetition") > 0
    kept, removed = filter_responses(items, cands, max_repeats=2)
    assert all(cand["defect"] is None for _, cand in kept)
    assert removed["wrong_answer"] == defects.count("wrong_answer")
    assert removed["repetition"] == defects.count("repetition")
    assert len(kept) == len(items) - removed["queries_with_no_passing_response"]
    assert max_line_repeats("a\nb\na\na") == 3


def test_teacher_shortcuts_state_the_result_at_a_glance(world):
    items = [it for it in world["stage1"] if it["family"] in ("arithmetic", "code")]
    cands = [teacher_responses(it, 40, {}, random.Random(0), shortcut_share=0.5) for it in items]
    for item, cs in zip(items, cands):
        styles = [c["style"] for c in cs]
        if item["family"] == "code":  # no shortcut defined: always worked step by step
            assert set(styles) == {"step_by_step"}
            continue
        assert 10 <= styles.count("shortcut") <= 30, styles
        short = next(c for c in cs if c["style"] == "shortcut")
        a, b = item["thinking"].split("\n")[0].removeprefix("I need ").removesuffix(".").split(" + ")
        assert short["thinking"].endswith(f"At a glance: {a} + {b} = {item['answer']}.")
        assert "Ones:" not in short["thinking"] and short["response"] == item["response"]
    assert score_items(items, [think_text(cs[0]) for cs in cands]) == [1.0] * len(items)


def test_clean_teacher_traces_never_look_repetitive():
    items = generate_items("instruction", 600, seed=1, difficulties=[1, 2, 3], exclude=set(), distinct=False)
    items += generate_items("arithmetic", 300, seed=1, difficulties=[1, 2, 3], exclude=set())
    items += generate_items("code", 300, seed=1, difficulties=[1, 2, 3], exclude=set())
    assert max(max_line_repeats(it["thinking"]) for it in items) <= 2


def test_malformed_jsonl_names_file_and_line(tmp_path):
    path = tmp_path / "items.jsonl"
    write_jsonl(path, [{"id": "a", "prompt": "x"}])
    with path.open("a") as f:
        f.write('{"id": "b"}\n[1, 2]\n')
    with pytest.raises(DataError, match=r"items\.jsonl:2: missing key\(s\) \['prompt'\]"):
        read_jsonl(path, ["id", "prompt"])
    path.write_text('{"id": "a", "prompt": "x"}\n{not json\n')
    with pytest.raises(DataError, match=r"items\.jsonl:2: not valid JSON"):
        read_jsonl(path, ["id"])


def test_instruction_items_are_graded_by_ifeval_and_their_slips_fail_it():
    """Every reference answer follows all of its IFEval instructions; the teacher's slip (the last
    instruction forgotten) breaks one; the prompt holds IFEval's own text of each instruction."""
    items = generate_items("instruction", 400, seed=2, difficulties=[1, 2, 3], exclude=set())
    assert {n for it in items for n in it["instruction_id_list"]} == set(instructions.KINDS)
    assert {len(it["instruction_id_list"]) for it in items} == {1, 2}
    rng = random.Random(0)
    wrong = [join_thinking(*instructions.corrupt(it, rng)) for it in items]
    assert score_items(items, [join_thinking(it["thinking"], it["response"]) for it in items]) == [1.0] * len(items)
    assert all(s < 1.0 for s in score_items(items, wrong))
    for it in items:
        for instruction_id, kwargs in zip(it["instruction_id_list"], json.loads(it["kwargs"])):
            assert instructions.description(instruction_id, kwargs) in it["prompt"]
        assert instructions.subject_of(it["prompt"]) in instructions.SUBJECTS
