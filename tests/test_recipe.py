"""Recipes: strict keys, overrides, YAML numbers, TRL argument checking."""

from pathlib import Path

import pytest
from trl import SFTConfig

from hybridthink.recipe import OPEN, RecipeError, load_recipe, trainer_config

DEFAULTS = {"data": {"split": "stage1", "max_samples": 10}, "trainer": OPEN}


def test_recipe_merges_over_defaults_and_parses_floats(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("data:\n  max_samples: 3\ntrainer:\n  learning_rate: 3e-4\n")
    recipe = load_recipe(path, DEFAULTS, ["data.split=stage9", "trainer.max_steps=2"])
    assert recipe == {"data": {"split": "stage9", "max_samples": 3}, "trainer": {"learning_rate": 3e-4, "max_steps": 2}}
    assert DEFAULTS["data"]["max_samples"] == 10, "defaults must not be mutated"


def test_unknown_key_names_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("data:\n  max_sample: 3\n")
    with pytest.raises(RecipeError, match=r"bad\.yaml: unknown recipe key 'data\.max_sample'.*max_samples"):
        load_recipe(path, DEFAULTS)


def test_unknown_override_and_missing_file(tmp_path):
    with pytest.raises(RecipeError, match="unknown recipe key 'datum'"):
        load_recipe(None, DEFAULTS, ["datum.x=1"])
    with pytest.raises(RecipeError, match="not of the form"):
        load_recipe(None, DEFAULTS, ["nonsense"])
    with pytest.raises(RecipeError, match="recipe file not found"):
        load_recipe(tmp_path / "nope.yaml", DEFAULTS)


def test_unknown_trainer_key_is_named(tmp_path):
    with pytest.raises(RecipeError, match=r"trainer\.learning_rat\b"):
        trainer_config(SFTConfig, {"learning_rat": 1.0}, {"output_dir": str(tmp_path)}, "stage1.yaml")
    args = trainer_config(SFTConfig, {"max_steps": 7}, {"output_dir": str(tmp_path), "use_cpu": True, "bf16": False})
    assert args.max_steps == 7


@pytest.mark.parametrize("folder", ["toy", "smoke", "qwen3-0.6b-base"])
def test_every_shipped_recipe_loads_against_its_stage_defaults(folder):
    """A key a recipe sets but its stage (or its TRL trainer config) does not know is refused at
    launch: catch it here. A real recipe's dataset sources are checked too."""
    import dataclasses
    import importlib

    from trl import GRPOConfig, SFTConfig

    from hybridthink.dataset_items import check_source
    from hybridthink.pretrained_base import DEFAULTS as PRETRAINED_DEFAULTS
    from hybridthink.toy.base import DEFAULTS as BASE_DEFAULTS

    recipes = Path(__file__).resolve().parents[1] / "recipes" / folder
    real = "pretrained:" in (recipes / "base.yaml").read_text()
    base = load_recipe(recipes / "base.yaml", PRETRAINED_DEFAULTS if real else BASE_DEFAULTS)
    for split, sources in (base["splits"].items() if real else ()):
        for i, source in enumerate(sources):
            check_source(source, f"{folder}/base.yaml: splits.{split}[{i}]")
    trainer = {1: SFTConfig, 2: GRPOConfig, 3: SFTConfig, 4: GRPOConfig}
    for number, stage in enumerate(("stage1_cold_start", "stage2_reasoning_rl", "stage3_mode_fusion",
                                    "stage4_general_rl"), start=1):
        defaults = importlib.import_module(f"{stage}.__main__").DEFAULTS
        recipe = load_recipe(recipes / f"stage{number}.yaml", defaults)
        unknown = set(recipe["trainer"]) - {f.name for f in dataclasses.fields(trainer[number])}
        assert not unknown, f"{folder}/stage{number}.yaml: {unknown}"
        if number == 3:
            for mix in sorted((recipes / "mixes").glob("*.yaml")):
                load_recipe(recipes / "stage3.yaml", defaults, mix=mix)
            for variant in ("instruct", "thinking"):
                load_recipe(recipes / "variants" / f"{variant}.yaml", defaults)
        if number == 4 and (recipes / "variants" / "stage4.yaml").is_file():
            load_recipe(recipes / "variants" / "stage4.yaml", defaults)
