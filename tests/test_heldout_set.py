"""A larger held-out set drawn for an existing toy world: new prompts and products only, the eval
split's families, and a clear error for a folder that is no world."""

import subprocess
import sys

import pytest

from hybridthink.heldout_set import heldout_items, world_prompts
from hybridthink.jsonl import DataError
from hybridthink.toy.base import write_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("world")
    write_world({"world": {"seed": 0, "families": ["arithmetic", "instruction"], "difficulties": [1, 2, 3],
                           "sizes": {"pretrain": 300, "stage1": 20, "stage2": 20, "stage3": 20, "stage4": 20, "eval": 12},
                           "tool_sizes": {"pretrain": 300, "stage4": 50, "eval": 10}, "tool_difficulties": [1]}}, path)
    return path


def test_items_are_new_to_every_split_and_match_the_eval_families(world):
    taken = world_prompts(world)
    rows, tool_rows = heldout_items(world, per_family=60, n_tool=40, seed=0)
    assert len(rows) == 120 and {r["family"] for r in rows} == {"arithmetic", "instruction"}
    assert sum(r["family"] == "instruction" for r in rows) == 60
    assert not {r["prompt"] for r in rows} & taken and len({r["prompt"] for r in rows}) == 120
    assert len(tool_rows) == 40 and {r["difficulty"] for r in tool_rows} == {1}
    assert not ({r["expression"] for r in tool_rows} | {r["prompt"] for r in tool_rows}) & taken
    ids = [r["id"] for r in rows + tool_rows]
    assert len(set(ids)) == 160 and all(i.startswith("heldout-") for i in ids)
    assert heldout_items(world, 60, 40, seed=0) == (rows, tool_rows), "the same seed draws the same set"
    assert heldout_items(world, 60, 40, seed=1)[0] != rows


def test_a_folder_without_splits_is_named(tmp_path):
    with pytest.raises(DataError, match=str(tmp_path)):
        heldout_items(tmp_path, 10, 0, seed=0)
    done = subprocess.run([sys.executable, "-m", "hybridthink.heldout_set", "--world", str(tmp_path),
                           "--output", str(tmp_path / "out")], capture_output=True, text=True)
    assert done.returncode == 2 and f"error: {tmp_path}: no split files" in done.stderr
