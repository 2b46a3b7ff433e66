"""Stage-specific data logic: learnability selection, the fusion mix and its flags, stage-4 modes."""

import re
from collections import Counter

import pytest

from hybridthink.jsonl import DataError
from hybridthink.learnability import select_learnable
from hybridthink.length_control import length_reward
from hybridthink.modes import STOP_THINKING_TEXT, last_flag, resolve_mode, set_flag, split_thinking
from hybridthink.rewards import math_accuracy_reward
from hybridthink.toy.world import FAMILIES, generate_world
from stage1_cold_start.dialogues import with_earlier_exchanges
from stage1_cold_start.filters import think_text
from stage3_mode_fusion.fusion_data import (NEUTRAL_SYSTEM_PROMPTS, budget_rows, fill_empty_groups, fill_unsolved, fusion_rows,
                                           inherit_phase_rows)
from stage3_mode_fusion.length_rows import fitted_answer, length_rows
from stage4_general_rl.prompts import length_text, rl_rows

WORLD = generate_world({"stage1": 40, "stage3": 40, "stage4": 20}, list(FAMILIES), [1, 2, 3], seed=0)
MIX = {"size": 120, "thinking_ratio": 0.5, "think_flag_share": 0.3, "system_flag_share": 0.2, "system_prompt_share": 0.0,
       "hard_switch_share": 0.2, "multi_turn_share": 0.3, "multi_turn_max_earlier": 1, "multi_turn_inherit_share": 0.0,
       "multi_turn_inherit_balanced": False, "inherit_twins": False, "balance_by": ["family"], "upsample_scarce": False, "paired": False, "family_shares": None, "variant": "hybrid"}


def test_learnability_keeps_only_partially_solved_queries():
    items = [{"id": str(i), "family": "code"} for i in range(5)]
    kept, stats = select_learnable(items, [0.0, 0.25, 1.0, 0.75, 0.0])
    assert [it["id"] for it in kept] == ["1", "3"]
    assert stats["dropped_too_hard"] == 2 and stats["dropped_too_easy"] == 1 and stats["kept"] == 2


def test_fusion_mix_follows_the_recipe_and_every_flag_decides_the_mode():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    rows, counts = fusion_rows(thinking, WORLD["stage3"], MIX, seed=0)
    assert len(rows) == 120
    n_think = sum(v for k, v in counts.items() if k.startswith("think"))
    assert n_think == 60
    assert any(k.endswith("multi_turn") for k in counts) and counts.get("no_think_hard", 0) > 0
    for row in rows:
        msgs, enable = row["messages"], row["chat_template_kwargs"]["enable_thinking"]
        wanted = "think" if row["kind"].startswith("think") else "no_think"
        assert resolve_mode(msgs[:-1], enable) == wanted, row
        has_reasoning = "</think>" in msgs[-1]["content"]
        assert has_reasoning == (wanted == "think")
        if row["kind"] == "no_think_hard":
            assert not enable and all("/think" not in m["content"] and "/no_think" not in m["content"] for m in msgs)
        if row["kind"].endswith("multi_turn"):
            assert len([m for m in msgs if m["role"] == "user"]) == 2


def test_groups_without_a_thinking_sample_take_the_reference_reasoning():
    """A group rejection sampling left empty is left out of the mix, so the model keeps its stage-2
    habit (think) there; filling it from the items' reference reasoning brings it back in."""
    keys = ["family", "difficulty"]
    sampled = [(it, think_text(it)) for it in WORLD["stage1"] if it["family"] != "code"]
    no_reference = {**next(it for it in WORLD["stage1"] if it["family"] == "code"), "thinking": None}
    filled, added = fill_empty_groups(sampled, WORLD["stage1"] + [no_reference], keys)
    codes = [it for it in WORLD["stage1"] if it["family"] == "code"]
    assert added == len(codes) > 0 and filled[: len(sampled)] == sampled
    for item, text in filled[len(sampled):]:
        assert item["family"] == "code" and split_thinking(text) == (item["thinking"], item["response"])
    mix = {**MIX, "balance_by": keys}
    assert any(g.startswith("code/") for g in fusion_rows(sampled, WORLD["stage3"], mix, seed=0)[1]["groups_left_out"])
    counts = fusion_rows(filled, WORLD["stage3"], mix, seed=0)[1]
    assert not counts["groups_left_out"] and any(g.startswith("code/") and g.endswith("/think") for g in counts["by_group"])
    assert fill_empty_groups(filled, WORLD["stage1"], keys) == (filled, 0), "served groups are never filled"


def test_unsolved_queries_take_their_reference_reasoning():
    solved = WORLD["stage1"][:10]
    sampled = [(it, think_text(it)) for it in solved]
    no_reference = {**WORLD["stage1"][10], "thinking": None}
    queries = solved + [no_reference] + WORLD["stage1"][11:]
    filled, added = fill_unsolved(sampled, queries)
    assert filled[:10] == sampled and added == len(WORLD["stage1"]) - 11 > 0
    assert {it["id"] for it, _ in filled} == {it["id"] for it in queries} - {no_reference["id"]}
    for item, text in filled[10:]:
        assert split_thinking(text) == (item["thinking"], item["response"])


def test_paired_mix_asks_every_non_thinking_query_in_thinking_mode_too():
    """Unpaired, the queries without a thinking sample reach the mix in non-thinking mode only (the
    question then tells the mode); paired, every non-thinking query also has a thinking row."""
    solved = [it for it in WORLD["stage1"] if it["family"] != "instruction" or "bullet points" not in it["prompt"]]
    thinking = [(it, think_text(it)) for it in solved]
    mix = {**MIX, "multi_turn_share": 0.0, "hard_switch_share": 0.0}

    def queries(rows, mode):
        return {set_flag(r["messages"][-2]["content"], None) for r in rows if r["kind"].startswith(mode)}

    unpaired_rows, counts = fusion_rows(thinking, WORLD["stage1"], mix, seed=0)
    assert counts["unpaired_non_thinking_dropped"] == 0
    assert any("bullet points" in q for q in queries(unpaired_rows, "no_think")), "the world must have bullet items for this test"
    rows, counts = fusion_rows(thinking, WORLD["stage1"], {**mix, "paired": True}, seed=0)
    assert counts["unpaired_non_thinking_dropped"] == len(WORLD["stage1"]) - len(solved) > 0
    assert queries(rows, "no_think") <= {it["prompt"] for it in solved}
    with pytest.raises(DataError, match="mix.paired"):
        fusion_rows(thinking, WORLD["stage3"], {**mix, "paired": True}, seed=0)


def test_fusion_dialogues_draw_earlier_flags_at_random_and_the_last_flag_wins():
    """The history must not give the mode away: after a /think turn the next may ask for either mode
    (a mix where the turn before always asks for the other mode teaches 'alternate')."""
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    mix = {**MIX, "size": 400, "multi_turn_share": 0.8, "multi_turn_max_earlier": 2, "multi_turn_inherit_share": 0.5}
    rows, counts = fusion_rows(thinking, WORLD["stage3"], mix, seed=0)
    multi = [r for r in rows if "_multi_turn" in r["kind"]]
    assert {len(r["messages"]) for r in multi} == {4, 6}
    inherited = [r for r in multi if r["kind"].endswith("_inherited")]
    assert 0.1 < len(inherited) / len(multi) < 0.5
    pairs = Counter()
    for row in multi:
        msgs, wanted = row["messages"], _mode_of(row["kind"])
        assert resolve_mode(msgs[:-1]) == wanted
        before = resolve_mode(msgs[:-3])
        pairs[before, wanted] += 1
        flagged = "/think" in msgs[-2]["content"] or "/no_think" in msgs[-2]["content"]
        assert flagged == (row not in inherited)
        if row in inherited:
            assert before == wanted, "an unflagged final turn keeps the mode in force"
        for k in range(0, len(msgs) - 2, 2):  # each earlier answer is in the mode in force at its turn
            assert ("</think>" in msgs[k + 1]["content"]) == (resolve_mode(msgs[:k + 1]) == "think")
    assert min(pairs[m, n] for m in ("think", "no_think") for n in ("think", "no_think")) >= 0.1 * len(multi), pairs
    rows, _ = fusion_rows(thinking, WORLD["stage3"], {**mix, "multi_turn_inherit_share": 0.0}, seed=0)
    flagged_pairs = Counter((resolve_mode(r["messages"][:-3]), _mode_of(r["kind"])) for r in rows if "_multi_turn" in r["kind"])
    assert len(flagged_pairs) == 4 and min(flagged_pairs.values()) >= 0.1 * sum(flagged_pairs.values()), flagged_pairs


def test_inherit_phase_rows_all_end_unflagged_after_a_history_asking_for_their_mode():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    mix = {**MIX, "size": 200, "hard_switch_share": 0.3, "inherit_twins": True}
    rows, counts = inherit_phase_rows(thinking, WORLD["stage3"], mix, seed=0)
    assert len(rows) > 180 and set(counts) >= {"think_multi_turn_inherited", "no_think_multi_turn_inherited"}
    for row in rows:
        msgs, wanted = row["messages"], _mode_of(row["kind"])
        assert row["kind"].endswith("_multi_turn_inherited") and row["chat_template_kwargs"] == {"enable_thinking": True}
        assert len(msgs) >= 4 and msgs[-2]["role"] == "user" and last_flag(msgs[-2]["content"]) is None
        assert resolve_mode(msgs[:-3]) == resolve_mode(msgs[:-1]) == wanted
    assert abs(counts["think_multi_turn_inherited"] - counts["no_think_multi_turn_inherited"]) <= 0.2 * len(rows)


def test_balanced_inheritance_ends_as_many_dialogues_unflagged_in_either_mode():
    """By chance a random history asks for thinking more often (the default), so more thinking
    than non-thinking dialogues inherit their mode; balanced, a share of all dialogues of either
    mode inherits it, from a history drawn to ask for it."""
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    mix = {**MIX, "size": 600, "multi_turn_share": 0.8, "multi_turn_max_earlier": 2, "multi_turn_inherit_share": 1.0,
           "hard_switch_share": 0.0}

    def inherited(mix):
        rows, counts = fusion_rows(thinking, WORLD["stage1"], mix, seed=0)
        for row in rows:
            if row["kind"].endswith("_inherited"):
                msgs = row["messages"]
                assert not last_flag(msgs[-2]["content"]) and resolve_mode(msgs[:-1]) == _mode_of(row["kind"])
        return {m: counts[f"{m}_multi_turn_inherited"] / (counts[f"{m}_multi_turn_inherited"] + counts.get(f"{m}_multi_turn", 0))
                for m in ("think", "no_think")}

    by_chance = inherited(mix)
    assert by_chance["think"] > by_chance["no_think"] + 0.15, by_chance
    balanced = inherited({**mix, "multi_turn_inherit_balanced": True, "multi_turn_inherit_share": 0.5})
    assert abs(balanced["think"] - 0.5) < 0.1 and abs(balanced["no_think"] - 0.5) < 0.1, balanced


def test_inherited_dialogues_come_with_twins_that_differ_only_in_the_flag_to_inherit():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    mix = {**MIX, "size": 400, "multi_turn_share": 0.8, "multi_turn_max_earlier": 2, "multi_turn_inherit_share": 1.0,
           "hard_switch_share": 0.0, "inherit_twins": True}
    rows, counts = fusion_rows(thinking, WORLD["stage1"], mix, seed=0)  # the same questions in both modes
    twins = [r for r in rows if r["kind"].endswith("_twin")]
    inherited = [r for r in rows if r["kind"].endswith("_inherited")]
    assert 0.5 * len(inherited) <= len(twins) <= len(inherited) and counts["no_think_multi_turn_inherited_twin"] >= 10
    by_questions = {_questions(r["messages"]): r["messages"] for r in inherited}
    for twin in twins:
        msgs, wanted = twin["messages"], _mode_of(twin["kind"])
        assert not last_flag(msgs[-2]["content"]) and resolve_mode(msgs[:-1]) == wanted
        assert ("</think>" in msgs[-1]["content"]) == ("</think>" in msgs[-3]["content"]) == (wanted == "think")
        original = by_questions[_questions(msgs)]  # the same questions in the same order
        assert resolve_mode(original[:-1]) != wanted
        assert msgs[:-4] == original[:-4] and last_flag(msgs[-4]["content"]) == wanted
    plain, _ = fusion_rows(thinking, WORLD["stage1"], {**mix, "inherit_twins": False}, seed=0)
    assert not any(r["kind"].endswith("_twin") for r in plain)


def _question(message: dict) -> str:
    return message["content"].replace(" /no_think", "").replace(" /think", "")


def _questions(messages: list[dict]) -> tuple[str, ...]:
    return tuple(_question(m) for m in messages if m["role"] == "user")


def test_a_system_message_does_not_give_the_mode_away():
    """Flags in system messages are mostly /no_think (thinking rows mostly carry no flag); neutral
    system prompts on rows of both modes keep 'has a system message' from predicting the mode."""
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]

    def with_system_by_mode(mix):
        rows, _ = fusion_rows(thinking, WORLD["stage3"], {**MIX, "size": 400, **mix}, seed=0)
        for row in rows:
            assert resolve_mode(row["messages"][:-1], row["chat_template_kwargs"]["enable_thinking"]) == _mode_of(row["kind"])
        return {m: sum(r["messages"][0]["role"] == "system" for r in rows if _mode_of(r["kind"]) == m)
                / sum(_mode_of(r["kind"]) == m for r in rows) for m in ("think", "no_think")}

    flags_only = with_system_by_mode({"system_flag_share": 0.3})
    assert flags_only["no_think"] > 2 * flags_only["think"], flags_only  # the shortcut, without neutral prompts
    balanced = with_system_by_mode({"system_flag_share": 0.3, "system_prompt_share": 0.5})
    assert abs(balanced["think"] - balanced["no_think"]) < 0.2 and balanced["think"] > 0.4, balanced
    rows, _ = fusion_rows(thinking, WORLD["stage3"], {**MIX, "system_prompt_share": 1.0}, seed=0)
    assert all(r["messages"][0]["role"] == "system" and r["messages"][0]["content"].startswith(NEUTRAL_SYSTEM_PROMPTS)
               for r in rows)


def _mode_of(kind: str) -> str:
    return "think" if kind.startswith("think") else "no_think"


def test_fusion_mix_keeps_the_ratio_when_thinking_samples_are_scarce():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"][:10]]
    rows, counts = fusion_rows(thinking, WORLD["stage3"], {**MIX, "thinking_ratio": 0.25}, seed=0)
    n_think = sum(v for k, v in counts.items() if k.startswith("think"))
    assert n_think == 10 and len(rows) == 40


def _mode_share(counts: dict) -> dict[str, float]:
    groups = {k.rsplit("/", 1)[0] for k in counts["by_group"]}
    n = counts["by_group"]
    return {g: n.get(f"{g}/think", 0) / (n.get(f"{g}/think", 0) + n.get(f"{g}/no_think", 0)) for g in groups}


def _scarce_thinking() -> list[tuple[dict, str]]:
    """Thinking samples as a stage-2 model that solved few arithmetic and no instruction items leaves them."""
    arithmetic = [it for it in WORLD["stage1"] if it["family"] == "arithmetic"][:6]
    code = [it for it in WORLD["stage1"] if it["family"] == "code"]
    return [(it, think_text(it)) for it in arithmetic + code]


def test_fusion_mix_balances_the_ratio_within_each_family():
    # Without balancing, the task family alone would tell the model which mode to use.
    rows, counts = fusion_rows(_scarce_thinking(), WORLD["stage3"], MIX, seed=0)
    assert _mode_share(counts) == {"arithmetic": 0.5, "code": 0.5}
    assert counts["by_group"] == {"arithmetic/no_think": 6, "arithmetic/think": 6, "code/no_think": 30, "code/think": 30}
    assert counts["groups_left_out"] == ["instruction"] and len(rows) == 72

    rows, counts = fusion_rows(_scarce_thinking(), WORLD["stage3"], {**MIX, "balance_by": []}, seed=0)
    assert counts["by_group"] == {"all/no_think": 46, "all/think": 46} and len(rows) == 92


def test_fusion_mix_balances_within_family_and_difficulty():
    # The stage-2 model solved only one-step functions: balancing by family alone would pair them
    # with harder non-thinking ones, and difficulty would give the mode away.
    easy = [(it, think_text(it)) for it in WORLD["stage1"] if it["family"] == "code" and it["difficulty"] == 1]
    difficulty = {it["response"]: it["difficulty"] for it in WORLD["stage1"]}

    def direct_difficulties(rows):
        return {difficulty[r["messages"][-1]["content"]] for r in rows if r["kind"].startswith("no_think")}

    rows, _ = fusion_rows(easy, WORLD["stage1"], MIX, seed=0)
    assert direct_difficulties(rows) == {1, 2, 3}
    rows, counts = fusion_rows(easy, WORLD["stage1"], {**MIX, "balance_by": ["family", "difficulty"]}, seed=0)
    assert direct_difficulties(rows) == {1}
    assert counts["by_group"] == {"code/1/no_think": len(easy), "code/1/think": len(easy)}
    assert counts["groups_left_out"] == ["arithmetic/1", "arithmetic/2", "arithmetic/3", "code/2", "code/3",
                                         "instruction/1", "instruction/2", "instruction/3"]


def test_fusion_mix_can_repeat_the_samples_of_a_scarce_group_instead_of_shrinking_it():
    thinking = _scarce_thinking()
    rows, counts = fusion_rows(thinking, WORLD["stage3"], {**MIX, "upsample_scarce": True}, seed=0)
    assert counts["by_group"] == {"arithmetic/no_think": 30, "arithmetic/think": 30, "code/no_think": 30, "code/think": 30}
    assert counts["repeated"] == 24
    answers = Counter(r["messages"][-1]["content"] for r in rows if r["kind"].startswith("think"))
    assert [answers[text] for item, text in thinking[:6]] == [5] * 6


def test_budget_rows_cut_thinking_like_budget_forcing_and_keep_the_answer(tokenizer):
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    rows, _ = fusion_rows(thinking, WORLD["stage3"], MIX, seed=0)
    before = {id(r): r["messages"][-1]["content"] for r in rows}
    counts = budget_rows(rows, tokenizer, share=0.5, budget_range=[2, 6], seed=0)
    cut = [r for r in rows if r["kind"].endswith("_budget_cut")]
    assert len(cut) == counts["budget_cut"] > 0
    assert 0.3 < (counts["budget_cut"] + counts.get("budget_within", 0)) / sum(r["kind"].startswith("think") for r in rows) < 0.7
    for row in rows:
        old, new = before[id(row)], row["messages"][-1]["content"]
        if row not in cut:
            assert new == old
            continue
        thought, answer = split_thinking(new)
        assert answer == split_thinking(old)[1] and new.startswith("<think>\n")
        assert thought.endswith(STOP_THINKING_TEXT.split("\n")[0])
        kept = thought[: -len(STOP_THINKING_TEXT.split("\n")[0])]
        assert 2 <= len(tokenizer.encode(kept, add_special_tokens=False)) <= 6 + 1  # re-encoding may split one token
        assert split_thinking(old)[0].startswith(kept.strip())


def _asked_length(user: str) -> dict:
    m = re.search(r"Answer in (at most|at least) (\d+) (word|sentence)s?\.", user)
    return {"relation": m[1], "n": int(m[2]), "unit": f"{m[3]}s"}


@pytest.mark.parametrize("variant", ["hybrid", "instruct"])
def test_stage3_length_rows_answer_right_and_within_the_limit_they_ask_for(variant):
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    answers = {it["prompt"]: it["answer"] for it in WORLD["stage1"]}
    mix = {**MIX, "system_flag_share": 0.0, **({"thinking_ratio": 0.0, "variant": "instruct"} if variant == "instruct" else {})}
    rows, counts = length_rows(thinking, 80, ["arithmetic"], mix, seed=0)
    assert counts["length"] == len(rows) == 80 and "length_no_fit" not in counts
    assert counts["length_answer_own"] and counts["length_answer_boxed_only"] and counts["length_answer_reasoning_written_out"]
    for row in rows:
        user, reply = row["messages"][-2]["content"], row["messages"][-1]["content"]
        prompt = user.split(" Answer in ")[0]
        assert length_reward(None, [reply], [_asked_length(user)]) == [1.0]
        assert math_accuracy_reward(None, [reply], [answers[prompt]]) == [1.0]
        think, asked = row["kind"] == "think_length", user[user.index("Answer in "):].split(" /")[0]
        assert (split_thinking(reply)[0] is not None) == think
        rules = f"The rules: a{asked[1:]}"
        assert not think or (split_thinking(reply)[0].startswith(rules) and split_thinking(reply)[0].endswith(rules))
        assert last_flag(user) is None if variant == "instruct" else resolve_mode(row["messages"][:-1]) == ("think" if think else "no_think")
    if variant == "hybrid":
        assert 25 < sum(r["kind"] == "think_length" for r in rows) < 55


def test_length_rows_refuse_families_without_samples_and_limits_no_answer_keeps():
    with pytest.raises(DataError, match="mix.length_families"):
        length_rows([(it, think_text(it)) for it in WORLD["stage1"]], 4, ["poetry"], MIX, seed=0)
    assert fitted_answer("Paris is the capital.", "", {"relation": "at most", "n": 2, "unit": "words"}) is None
    assert fitted_answer("The answer is \\boxed{7}.", "", {"relation": "at most", "n": 2, "unit": "words"}) == ("boxed_only", "\\boxed{7}.")


def test_stage4_rows_carry_mode_and_reward_columns():
    rows, counts = rl_rows(WORLD["stage4"], no_think_share=0.5, think_flag_share=0.3, seed=0)
    assert len(rows) == 60 and sum(counts.values()) == 60
    for row in rows:
        assert resolve_mode(row["prompt"]) == row["mode"]
        graded = [row["answer"], row["tests"], row["instruction_id_list"]]
        assert sum(v is not None for v in graded) == 1


def test_stage4_single_turn_tasks_stay_single_turn_among_dialogues():
    items = [{**it, "task": "tool" if it["family"] == "arithmetic" else "other"} for it in WORLD["stage4"]]
    rows, _ = rl_rows(items, no_think_share=0.5, think_flag_share=0.3, seed=0, multi_turn_share=1.0,
                      task_modes={"tool": {"multi_turn_share": 0.0}})
    assert all((len(r["prompt"]) == 1) == (r["task"] == "tool") for r in rows)


def test_stage4_a_task_may_leave_the_mode_to_an_earlier_flag_more_often_than_the_others():
    items = [{**it, "task": "follow" if it["family"] == "arithmetic" else "other"} for it in WORLD["stage4"]]
    kwargs = dict(no_think_share=0.5, think_flag_share=0.3, seed=0, multi_turn_share=0.3, inherit_share=0.2)
    rows, _ = rl_rows(items, **kwargs, task_modes={"follow": {"multi_turn_share": 1.0, "inherit_share": 1.0}})
    follow, other = [r for r in rows if r["task"] == "follow"], [r for r in rows if r["task"] == "other"]
    assert follow and all(len(r["prompt"]) > 1 for r in follow)
    # inherit_share 1: unflagged exactly when the history already asks for the row's mode
    assert all(bool(last_flag(r["prompt"][-1]["content"])) == (resolve_mode(r["prompt"][:-1]) != r["mode"]) for r in follow)
    def inherited_share(rs):
        return sum(len(r["prompt"]) > 1 and not last_flag(r["prompt"][-1]["content"]) for r in rs) / len(rs)
    assert inherited_share(follow) > 0.3 > 0.1 > inherited_share(other)


def test_stage4_multi_turn_rows_take_their_mode_from_the_last_flag():
    rows, counts = rl_rows(WORLD["stage4"], no_think_share=0.5, think_flag_share=0.3, seed=0, multi_turn_share=0.5,
                           inherit_share=1.0)
    multi = [r for r in rows if len(r["prompt"]) > 1]
    assert 15 < len(multi) < 45 and sum(v for k, v in counts.items() if k.startswith("multi_turn/")) == len(multi)
    for row in multi:
        assert [m["role"] for m in row["prompt"]][-1] == "user" and len(row["prompt"]) in (3, 5)
        assert row["mode"] == resolve_mode(row["prompt"])
    inherited = [r for r in multi if not last_flag(r["prompt"][-1]["content"])]
    assert sum(counts.get(f"inherited/{m}", 0) for m in ("think", "no_think")) == len(inherited)
    assert counts.get("inherited/no_think", 0) >= 3, "final turns must also inherit an earlier /no_think"
    # with inherit_share 1, a final turn is unflagged exactly when its history already asks for its mode
    assert all(bool(last_flag(r["prompt"][-1]["content"])) == (resolve_mode(r["prompt"][:-1]) != r["mode"]) for r in multi)


def test_stage4_inherited_rows_come_with_twins_asking_for_the_other_mode():
    kwargs = dict(no_think_share=0.5, think_flag_share=0.3, seed=0, multi_turn_share=0.5, inherit_share=1.0)
    plain, _ = rl_rows(WORLD["stage4"], **kwargs)
    rows, counts = rl_rows(WORLD["stage4"], **kwargs, inherit_twins=True)
    inherited = [r for r in plain if len(r["prompt"]) > 1 and not last_flag(r["prompt"][-1]["content"])]
    assert len(rows) == len(plain) + len(inherited) and counts["inherited/no_think"] >= len(inherited) // 2
    for row in inherited:
        i = next(i for i, r in enumerate(rows) if r["prompt"] == row["prompt"])
        twin = rows[i + 1]
        assert twin["mode"] != row["mode"] == resolve_mode(row["prompt"]) and twin["mode"] == resolve_mode(twin["prompt"])
        assert twin["prompt"][:-3] == row["prompt"][:-3] and twin["prompt"][-2:] == row["prompt"][-2:]
        assert _question(twin["prompt"][-3]) == _question(row["prompt"][-3])
        assert {k: v for k, v in twin.items() if k not in ("prompt", "mode")} == {
            k: v for k, v in row.items() if k not in ("prompt", "mode")}


def test_stage4_multi_turn_rows_without_inheritance_always_flag_the_final_turn():
    rows, counts = rl_rows(WORLD["stage4"], no_think_share=0.5, think_flag_share=0.3, seed=0, multi_turn_share=0.5)
    multi = [r for r in rows if len(r["prompt"]) > 1]
    assert multi and all(last_flag(r["prompt"][-1]["content"]) for r in multi)
    assert not any(k.startswith("inherited/") for k in counts)


def test_stage1_dialogues_keep_the_final_thinking_turn_and_drop_earlier_reasoning():
    def rows():
        return [{"messages": [{"role": "user", "content": it["prompt"]}, {"role": "assistant", "content": think_text(it)}]}
                for it in WORLD["stage1"]]

    untouched = rows()
    assert with_earlier_exchanges(untouched, 0.0, 2, seed=0) == 0 and untouched == rows()
    changed = rows()
    n = with_earlier_exchanges(changed, 0.5, 2, seed=0)
    assert 0.3 * len(changed) < n < 0.7 * len(changed)
    assert {len(r["messages"]) for r in changed} == {2, 4, 6}
    assert sum(len(r["messages"]) > 2 for r in changed) == n
    for before, after in zip(rows(), changed):
        assert after["messages"][-2:] == before["messages"]
        earlier = after["messages"][:-2]
        assert [m["role"] for m in earlier] == ["user", "assistant"] * (len(earlier) // 2)
        for m in earlier[1::2]:
            assert "<think>" not in m["content"] and "</think>" not in m["content"] and m["content"].strip()


def test_stage4_length_tasks_ask_for_a_length_and_carry_it():
    items = [{**it, "task": "length" if it["family"] == "instruction" else "other"} for it in WORLD["stage4"]]
    rows, counts = rl_rows(items, no_think_share=0.5, think_flag_share=0.3, seed=0, length_tasks=frozenset({"length"}))
    plain, _ = rl_rows(items, no_think_share=0.5, think_flag_share=0.3, seed=0)
    assert [r["mode"] for r in rows] == [r["mode"] for r in plain], "length limits leave the mode draws alone"
    for row, before in zip(rows, plain):
        if row["task"] != "length":
            assert row["length"] is None and row["prompt"] == before["prompt"]
            continue
        spec = row["length"]
        assert spec["relation"] in ("at most", "at least") and spec["unit"] in ("words", "sentences") and spec["n"] >= 1
        assert length_text(spec) in row["prompt"][-1]["content"]
    assert sum(v for k, v in counts.items() if k.startswith("length_limit/")) == sum(r["task"] == "length" for r in rows) > 0
    assert length_text({"relation": "at most", "n": 1, "unit": "sentences"}) == "Answer in at most 1 sentence."


def test_family_shares_split_the_mix_between_families_by_share():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    shares = {"arithmetic": 0.5, "code": 0.25, "instruction": 0.25}
    mix = {**MIX, "size": 160, "upsample_scarce": True, "multi_turn_share": 0.0, "family_shares": shares}
    _, counts = fusion_rows(thinking, WORLD["stage3"], mix, seed=0)
    assert counts["by_group"] == {"arithmetic/no_think": 40, "arithmetic/think": 40, "code/no_think": 20,
                                  "code/think": 20, "instruction/no_think": 20, "instruction/think": 20}
    _, counts = fusion_rows(thinking, WORLD["stage3"], {**mix, "family_shares": {"code": 1.0}}, seed=0)
    assert counts["by_group"] == {"code/no_think": 80, "code/think": 80}
    assert counts["groups_left_out"] == ["arithmetic", "instruction"], "a family without a share is left out and counted"


def test_family_shares_refuse_families_the_data_lacks_and_need_family_balance():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"]]
    with pytest.raises(DataError, match="no data of family chemistry"):
        fusion_rows(thinking, WORLD["stage3"], {**MIX, "family_shares": {"chemistry": 1.0}}, seed=0)
    with pytest.raises(DataError, match="needs 'family' in mix.balance_by"):
        fusion_rows(thinking, WORLD["stage3"], {**MIX, "balance_by": [], "family_shares": {"code": 1.0}}, seed=0)
