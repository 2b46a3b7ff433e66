"""Effort levels: checked, saved in their order beside a checkpoint, read back or defaulted."""

import json

import pytest

from hybridthink.budget import resolve_budget
from hybridthink.efforts import DEFAULT_EFFORTS, EFFORTS_FILE, check_efforts, checkpoint_efforts, read_efforts, write_efforts


def test_levels_are_saved_in_their_order_and_read_back(tmp_path):
    write_efforts(tmp_path, {"quick": 16, "deep": 4, "max": 64})
    assert list(json.loads((tmp_path / EFFORTS_FILE).read_text())) == ["quick", "deep", "max"]
    assert list(read_efforts(tmp_path).items()) == [("quick", 16), ("deep", 4), ("max", 64)]
    assert resolve_budget([{"role": "system", "content": "Thinking effort: deep"}], efforts=checkpoint_efforts(tmp_path)) == 4


def test_a_checkpoint_without_levels_gets_the_defaults(tmp_path):
    assert read_efforts(tmp_path) is None
    assert checkpoint_efforts(tmp_path) == DEFAULT_EFFORTS


@pytest.mark.parametrize("efforts,message", [
    ({"low": -1}, "effort level 'low' needs a budget in tokens >= 0, got -1"),
    ({"low": "8"}, "effort level 'low' needs a budget in tokens >= 0, got '8'"),
    ({"low": True}, "effort level 'low' needs a budget in tokens >= 0, got True"),
    ({"64": 64}, "effort level '64' must be a word"),
    ({"very low": 2}, "effort level 'very low' must be a word"),
    ([8, 32], "efforts must map level names to budgets"),
])
def test_bad_levels_are_named_with_their_source(efforts, message):
    with pytest.raises(ValueError, match=f"^recipes/x.yaml: {message}"):
        check_efforts(efforts, "recipes/x.yaml")


def test_a_broken_file_is_named(tmp_path):
    (tmp_path / EFFORTS_FILE).write_text('{"low": 8,')
    with pytest.raises(ValueError, match=f"{EFFORTS_FILE} is not valid JSON"):
        read_efforts(tmp_path)
    (tmp_path / EFFORTS_FILE).write_text('{"low": -8}')
    with pytest.raises(ValueError, match="effort level 'low'"):
        checkpoint_efforts(tmp_path)
