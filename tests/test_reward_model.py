"""The preference reward: toy preference pairs, a reward model trained by TRL's RewardTrainer on a
tiny model, and its use as a reward function."""

from __future__ import annotations

import re

import pytest

from hybridthink.modes import split_thinking
from hybridthink.recipe import RecipeError
from hybridthink.reward_model import load_preference_reward, pair_accuracy, train_reward_model
from hybridthink.tasks import check_tasks, task_reward_functions
from hybridthink.toy.world import generate_world, preference_pairs

ITEMS = generate_world({"stage4": 4}, ["arithmetic", "code", "instruction"], [1, 2], seed=0)["stage4"]


def test_pairs_rank_concise_over_rambling_over_wrong():
    pairs = preference_pairs(ITEMS, seed=0)
    assert len(pairs) == 3 * len(ITEMS)
    for pair in pairs:
        chosen, rejected = pair["chosen"][0]["content"], pair["rejected"][0]["content"]
        assert chosen != rejected and pair["prompt"][0]["role"] == "user"
        if pair["kind"] == "concise>rambling":
            assert split_thinking(chosen)[1] == split_thinking(rejected)[1], "same answer, longer reasoning"
            assert len(rejected) > len(chosen)
        if pair["kind"].endswith(">wrong"):
            assert split_thinking(chosen)[1] != split_thinking(rejected)[1]


def test_reward_trainer_trains_a_tiny_reward_model_that_scores_completions(tiny_checkpoint, tmp_path):
    model_dir, _, _ = tiny_checkpoint
    pairs = [p for p in preference_pairs(ITEMS, seed=0) if p["kind"] == "concise>wrong"]
    stats = train_reward_model(model_dir, pairs, tmp_path / "rm", max_steps=40, learning_rate=3e-3,
                               per_device_train_batch_size=4, max_length=512)
    assert stats["steps"] == 40 and stats["pairs"] == len(pairs)
    score = load_preference_reward(tmp_path / "rm")
    assert score.__name__ == "preference_reward"
    prompts = [p["prompt"] for p in pairs]
    values = score(prompts, [p["chosen"] for p in pairs])
    assert len(values) == len(pairs) and all(isinstance(v, float) for v in values)
    assert values == score(prompts, [p["chosen"] for p in pairs]), "deterministic"
    accuracy = pair_accuracy(score, pairs)
    assert accuracy["all"]["n"] == len(pairs) and accuracy["all"]["accuracy"] >= 0.75, accuracy  # learnt its pairs


def test_preference_needs_its_model():
    tasks = check_tasks({"chat": {"families": ["instruction"], "share": 1, "rewards": {"preference": 1.0}}}, "r.yaml")
    with pytest.raises(ValueError, match=re.escape("reward 'preference' needs its model")):
        task_reward_functions(tasks)
    with pytest.raises(RecipeError, match="unknown reward 'preferences'"):
        check_tasks({"chat": {"families": ["instruction"], "share": 1, "rewards": {"preferences": 1.0}}}, "r.yaml")
