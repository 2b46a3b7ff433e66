"""Accuracy-vs-budget evaluation: the CLI end to end on a tiny saved Qwen3 model."""

from __future__ import annotations

import json
import shutil

import pytest

from hybridthink.budget_eval import curve_area, main
from hybridthink.efforts import EFFORTS_FILE, write_efforts


def test_curve_area_is_mean_accuracy_on_the_log_axis():
    assert curve_area([0, 1, 3, 7], [1.0, 1.0, 1.0, 1.0]) == pytest.approx(1.0)
    assert curve_area([0, 3], [0.0, 1.0]) == pytest.approx(0.5)
    assert curve_area([0, 1, 3], [0.0, 1.0, 1.0]) == pytest.approx(0.75)
    assert curve_area([8], [0.5]) is None


def test_cli_writes_the_curve_and_the_plot(tiny_checkpoint, tmp_path):
    model_dir, items, rows = tiny_checkpoint

    main(["--model", str(model_dir), "--items", str(items), "--budgets", "0,4,16", "--max-answer-tokens", "4",
          "--efforts", "low=2,high=16", "--out", str(tmp_path / "out")])

    curve = json.loads((tmp_path / "out" / "budget_curve.json").read_text())["curves"]["tiny"]
    assert [p["budget"] for p in curve["points"]] == [0, 4, 16]
    assert all(p["n"] == len(rows) and p["within_budget"] == 1.0 for p in curve["points"])
    assert curve["points"][0]["mean_thinking_tokens"] == 0 and curve["points"][0]["mean_relative_deviation"] is None
    assert (tmp_path / "out" / "budget_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    efforts = curve["efforts"]
    assert [p["budget"] for p in efforts["levels"].values()] == [2, 16]
    tokens = [p["mean_thinking_tokens"] for p in efforts["levels"].values()]
    assert efforts["monotone_thinking_tokens"] == (tokens[0] <= tokens[1])
    assert curve["points"][2]["accuracy"] == efforts["levels"]["high"]["accuracy"]  # effort high = budget 16


def test_effort_levels_come_from_the_checkpoint_when_it_has_them(tiny_checkpoint, tmp_path):
    model_dir, items, _ = tiny_checkpoint
    args = ["--model", str(model_dir), "--items", str(items), "--budgets", "0,3", "--max-answer-tokens", "4",
            "--out", str(tmp_path / "out")]
    main(args)
    assert "efforts" not in json.loads((tmp_path / "out" / "budget_curve.json").read_text())["curves"]["tiny"]

    write_efforts(model_dir, {"quick": 3, "deep": 12})
    main(args)

    levels = json.loads((tmp_path / "out" / "budget_curve.json").read_text())["curves"]["tiny"]["efforts"]["levels"]
    assert [(k, v["budget"]) for k, v in levels.items()] == [("quick", 3), ("deep", 12)]
    assert all(v["mean_thinking_tokens"] <= v["budget"] for v in levels.values())


@pytest.mark.parametrize("efforts,message", [("low=8,high", "'high' is not LEVEL=TOKENS"), ("8=8", "must be a word")])
def test_bad_effort_flags_are_named(tiny_checkpoint, tmp_path, efforts, message):
    model_dir, items, _ = tiny_checkpoint
    with pytest.raises(SystemExit, match=message):
        main(["--model", str(model_dir), "--items", str(items), "--efforts", efforts, "--out", str(tmp_path / "out")])


def test_a_broken_effort_file_stops_the_run_before_any_decoding(tiny_checkpoint, tmp_path):
    model_dir, items, _ = tiny_checkpoint
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / EFFORTS_FILE).write_text("{low: 8")
    with pytest.raises(SystemExit, match=f"error: {broken / EFFORTS_FILE} is not valid JSON"):
        main(["--model", str(model_dir), "--model", str(broken), "--items", str(items), "--budgets", "0", "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()
