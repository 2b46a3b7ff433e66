"""The report's stage-4-over-stage-3 table: paired differences over the same items and the
general-RL tax against its margin."""

import json

import pytest

from hybridthink.report import build_report, to_markdown
from hybridthink.stage_gain import gain_between, stage_gain
from hybridthink.stage_gain import to_markdown as gain_markdown


def _write(stage_dir, eval_records, tool_records, follow_records):
    stage_dir.mkdir(parents=True)
    (stage_dir / "eval_items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in eval_records))
    (stage_dir / "tool_eval.json").write_text(json.dumps({"records": tool_records}))
    (stage_dir / "thinkfollow.json").write_text(json.dumps({"records": follow_records}))


def _run(tmp_path, math_after, math_family="arithmetic"):
    def records(math, ifeval, length, tools, followed):
        ev = [{"id": f"m{i}", "family": math_family, "mode": "think", "score": s} for i, s in enumerate(math)]
        ev += [{"id": f"i{i}", "family": "instruction", "mode": m, "score": s} for i, s in enumerate(ifeval) for m in ("think", "no_think")]
        ev += [{"id": f"m{i}", "family": math_family, "mode": "no_think/length", "score": s} for i, s in enumerate(length)]
        tool = [{"id": f"t{i}", "mode": "think", "score": s} for i, s in enumerate(tools)]
        follow = [{"dialogue": i // 3, "turn": i % 3 + 1, "followed": f} for i, f in enumerate(followed)]
        return ev, tool, follow
    _write(tmp_path / "stage3_mode_fusion", *records([1, 1, 0, 0], [0.5, 1.0, 0.0], [0, 1, 0], [0, 0], [True, False, True]))
    _write(tmp_path / "stage4_general_rl", *records(math_after, [1.0, 1.0, 0.5], [1, 1, 1], [1, 0], [True, True, True]))
    return tmp_path


def test_stage_gain_pairs_each_metric_over_shared_items(tmp_path):
    gain = stage_gain(_run(tmp_path, [1, 0, 0, 0]), margin=0.2)
    rows = {(r["metric"], r["mode"]): r for r in gain["rows"]}
    ifeval = rows[("IFEval prompt-level (toy instruction items)", "think")]
    assert (ifeval["before"], ifeval["after"], ifeval["n"]) == (pytest.approx(1 / 3), pytest.approx(2 / 3), 3)
    assert rows[("length-control accuracy", "no_think")]["change"] == pytest.approx(2 / 3)
    assert rows[("tool-use success", "think")]["change"] == 0.5
    assert rows[("ThinkFollow", "dialogues")]["change"] == pytest.approx(1 / 3)
    assert ("length-control accuracy", "think") not in rows, "no records, no row"
    tax = gain["general_rl_tax"]
    assert tax["tax"] == 0.25 and tax["n"] == 4 and not tax["within_margin"]
    assert stage_gain(_run(tmp_path / "b", [1, 1, 0, 1]), margin=0.2)["general_rl_tax"]["within_margin"]


def test_report_card_shows_the_gain_table_and_the_tax(tmp_path):
    run = _run(tmp_path, [1, 0, 0, 0])
    md = to_markdown(build_report(run, tax_margin=0.2))
    assert "| tool-use success | think | 0.000 | 0.500 | +0.500 ±" in md
    assert "General-RL tax (think-mode arithmetic accuracy, stage 3 − stage 4): +0.250 ±" in md
    assert "beyond the stated margin of 0.20" in md
    assert stage_gain(tmp_path / "missing") is None


def test_a_real_recipe_run_is_taxed_on_its_math_family(tmp_path):
    """A real recipe's math items are family 'math' (the toy world's 'arithmetic'): the tax and the
    report's per-family columns follow the run's own families."""
    gain = stage_gain(_run(tmp_path, [1, 0, 0, 0], math_family="math"), margin=0.2)
    assert gain["general_rl_tax"]["family"] == "math" and gain["general_rl_tax"]["tax"] == 0.25


def test_several_stage4_runs_are_averaged_item_by_item(tmp_path):
    """Stage 4 at two seeds from one stage 3: each item's after-score is the mean of the runs, and
    each run's own change is kept."""
    run = _run(tmp_path / "a", [1, 0, 0, 0])
    _run(tmp_path / "b", [1, 1, 1, 1])
    gain = gain_between(run / "stage3_mode_fusion", [run / "stage4_general_rl", tmp_path / "b" / "stage4_general_rl"])
    math = next(r for r in gain["rows"] if r["metric"] == "accuracy, arithmetic" and r["mode"] == "think")
    assert math["after"] == pytest.approx(0.625) and math["change"] == pytest.approx(0.125)
    assert math["change_by_run"] == pytest.approx([-0.25, 0.5])
    assert gain["general_rl_tax"]["tax"] == pytest.approx(-0.125)
    lines = gain_markdown(gain)
    assert any(line.startswith("| accuracy, arithmetic | think | 0.500 | 0.625 | +0.125 ±") and line.endswith("| 4 | -0.250 / +0.500 |")
               for line in lines)
    assert gain_between(run / "stage3_mode_fusion", [tmp_path / "missing"]) is None
    gain["rows"][0] |= {"change": -1e-9, "change_by_run": [-1e-9, 4e-4]}
    assert "| +0.000 ± " in gain_markdown(gain)[5] and gain_markdown(gain)[5].endswith("| +0.000 / +0.000 |")


def test_report_card_adds_the_held_out_gain_of_the_run(tmp_path):
    """A run's ``heldout_gain/`` (scripts/gain_heldout.sh's folder) becomes a second gain table, read
    from the runs its models.txt names, without a second tax line; each table says what rose or fell
    beyond its CI."""
    run = _run(tmp_path / "run", [1, 0, 0, 0])
    held = _run(tmp_path / "held", [1, 1, 1, 1])
    out = run / "heldout_gain"
    out.mkdir()
    (held / "stage3_mode_fusion").rename(out / "stage3")
    (held / "stage4_general_rl").rename(out / "stage4_1")
    (out / "models.txt").write_text("stage3 some/stage3\nstage4_1 some/stage4\n")
    report = build_report(run, tax_margin=0.2)
    rows = {(r["metric"], r["mode"]): r for r in report["stage4_over_stage3_heldout"]["rows"]}
    assert rows[("accuracy, arithmetic", "think")]["change"] == 0.5
    md = to_markdown(report)
    split, held_md = md.split("on the larger held-out set in `heldout_gain/`:")
    assert md.count("General-RL tax") == 1 and "General-RL tax" in split
    assert "Up beyond its CI: length-control accuracy (no_think)." in held_md.split("\n\n")[2]
    (out / "models.txt").write_text("stage4_1 some/stage4\n")
    with pytest.raises(ValueError, match="models.txt: the first line must name stage3"):
        build_report(run)
