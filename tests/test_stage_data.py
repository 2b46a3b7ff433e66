"""Stage-specific data logic: learnability selection, the fusion mix and its flags, stage-4 modes."""

from hybridthink.modes import resolve_mode
from hybridthink.toy.world import FAMILIES, generate_world
from stage1_cold_start.filters import think_text
from stage2_reasoning_rl.learnability import select_learnable
from stage3_mode_fusion.fusion_data import fusion_rows
from stage4_general_rl.prompts import rl_rows

WORLD = generate_world({"stage1": 40, "stage3": 40, "stage4": 20}, list(FAMILIES), [1, 2, 3], seed=0)
MIX = {"size": 120, "thinking_ratio": 0.5, "think_flag_share": 0.3, "system_flag_share": 0.2,
       "hard_switch_share": 0.2, "multi_turn_share": 0.3, "balance_families": True}


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
            assert resolve_mode(msgs[:1]) != wanted, "the two turns must ask for different modes"


def test_fusion_mix_keeps_the_ratio_when_thinking_samples_are_scarce():
    thinking = [(it, think_text(it)) for it in WORLD["stage1"][:10]]
    rows, counts = fusion_rows(thinking, WORLD["stage3"], {**MIX, "thinking_ratio": 0.25}, seed=0)
    n_think = sum(v for k, v in counts.items() if k.startswith("think"))
    assert n_think == 10 and len(rows) == 40


def _mode_share_by_family(counts: dict) -> dict[str, float]:
    fams = {k.split("/")[0] for k in counts["by_family"]}
    return {f: counts["by_family"].get(f"{f}/think", 0) / (counts["by_family"].get(f"{f}/think", 0)
                                                           + counts["by_family"].get(f"{f}/no_think", 0)) for f in fams}


def test_fusion_mix_balances_the_ratio_within_each_family():
    # The stage-2 model solved no instruction item and few arithmetic ones: without balancing, the
    # task family alone would tell the model which mode to use.
    arithmetic = [it for it in WORLD["stage1"] if it["family"] == "arithmetic"][:6]
    code = [it for it in WORLD["stage1"] if it["family"] == "code"]
    thinking = [(it, think_text(it)) for it in arithmetic + code]
    rows, counts = fusion_rows(thinking, WORLD["stage3"], MIX, seed=0)
    assert _mode_share_by_family(counts) == {"arithmetic": 0.5, "code": 0.5}
    assert counts["by_family"] == {"arithmetic/no_think": 6, "arithmetic/think": 6, "code/no_think": 20, "code/think": 20}
    assert len(rows) == 52

    rows, counts = fusion_rows(thinking, WORLD["stage3"], {**MIX, "balance_families": False}, seed=0)
    shares = _mode_share_by_family(counts)
    assert shares["instruction"] == 0.0 and len(rows) == 92


def test_stage4_rows_carry_mode_and_reward_columns():
    rows, counts = rl_rows(WORLD["stage4"], no_think_share=0.5, think_flag_share=0.3, seed=0)
    assert len(rows) == 60 and sum(counts.values()) == 60
    for row in rows:
        assert resolve_mode(row["prompt"]) == row["mode"]
        graded = [row["answer"], row["tests"], row["constraints"]]
        assert sum(v is not None for v in graded) == 1
