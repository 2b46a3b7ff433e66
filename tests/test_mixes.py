"""Data mixes as files: found by name beside the recipe, checked key by key, layered between the
recipe and --set."""

from pathlib import Path

import pytest

from hybridthink.recipe import RecipeError, load_recipe, mix_path
from stage3_mode_fusion.__main__ import DEFAULTS

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "recipes" / "toy" / "stage3.yaml"


def test_a_mix_name_is_a_file_beside_the_recipe_and_sits_between_recipe_and_overrides():
    assert mix_path("think_heavy", RECIPE) == RECIPE.parent / "mixes" / "think_heavy.yaml"
    assert mix_path("elsewhere/mine.yaml", RECIPE) == Path("elsewhere/mine.yaml")
    r = load_recipe(RECIPE, DEFAULTS, [], mix_path("think_heavy", RECIPE))
    assert r["mix"]["thinking_ratio"] == 0.75 and r["mix"]["paired"] is True and r["trainer"]["max_steps"] == 480
    r = load_recipe(RECIPE, DEFAULTS, ["mix.thinking_ratio=0.6"], mix_path("think_heavy", RECIPE))
    assert r["mix"]["thinking_ratio"] == 0.6
    r = load_recipe(RECIPE, DEFAULTS, [], mix_path("unpaired", RECIPE))
    assert r["data"] == {**load_recipe(RECIPE, DEFAULTS)["data"], "non_thinking_split": "stage3"} and r["mix"]["paired"] is False


@pytest.mark.parametrize("path", sorted((RECIPE.parent / "mixes").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_toy_mix_loads_and_changes_something(path):
    assert load_recipe(RECIPE, DEFAULTS, [], path) != load_recipe(RECIPE, DEFAULTS) or path.stem == "hybrid"


def test_a_bad_mix_file_is_named_with_its_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("mix: {thinking_ration: 0.3}\n")
    with pytest.raises(RecipeError, match=r"bad.yaml: unknown recipe key 'mix.thinking_ration'"):
        load_recipe(RECIPE, DEFAULTS, [], bad)
    bad.write_text("mix: {thinking_ratio: 0.3}\ntrainer: {max_steps: 5}\n")
    with pytest.raises(RecipeError, match=r"bad.yaml: a mix file sets only the sections data, mix .* not trainer"):
        load_recipe(RECIPE, DEFAULTS, [], bad)
    with pytest.raises(RecipeError, match="mix file not found"):
        load_recipe(RECIPE, DEFAULTS, [], mix_path("no_such_mix", RECIPE))
