"""Join each stage's ``eval.json``, ``thinkfollow.json`` and ``handoff.json`` (and a budget curve in
``RUN_DIR/budget/budget_curve.json``, when one was written) into the run's report card.

    python -m hybridthink.report runs/toy
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from .stage_gain import heldout_gain, stage_gain
from .stage_gain import to_markdown as gain_markdown

STAGES = ("base", "stage1_cold_start", "stage2_reasoning_rl", "stage3_mode_fusion", "stage4_general_rl")
KEYS = ("accuracy", "accuracy_ci95", "mean_tokens", "adherence", "n")
HELDOUT_GAIN = "heldout_gain"  # scripts/run_pipeline.sh runs scripts/gain_heldout.sh into this folder of the run


# Curves every GRPO stage logs besides one per reward function.
_TRAINER_CURVES = {"reward_curve", "entropy_curve", "kl_curve", "frac_reward_zero_std_curve"}


def _thirds(curve: list[float]) -> tuple[float | None, float | None]:
    """Mean of the first and of the last third of a per-step curve, leaving out steps logged as
    NaN or null (a stage-4 task with no prompt in that step's batch)."""
    third = max(1, len(curve) // 3)

    def mean(values):
        values = [v for v in values if v is not None and v == v]
        return statistics.fmean(values) if values else None
    return mean(curve[:third]), mean(curve[-third:])


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _train_summary(manifest: dict) -> dict:
    """The stage's training summary; stage 4's focus phase, when it ran, under ``focus_phase``."""
    metrics = manifest.get("metrics", {})
    out = _rl_summary(metrics.get("train", {}))
    if (metrics.get("focus_phase") or {}).get("train"):
        focus = _rl_summary(metrics["focus_phase"]["train"])
        thirds = {name: pair for name, pair in focus.get("reward_thirds", {}).items() if pair != (None, None)}
        out["focus_phase"] = {**focus, "reward_thirds": thirds}  # without the tasks absent from the phase
    return out


def _rl_summary(train: dict) -> dict:
    out = {k: train[k] for k in ("reward_first_third", "reward_last_third", "loss", "steps") if k in train}
    thirds = {name[: -len("_curve")]: _thirds(curve) for name, curve in train.items()
              if name.endswith("_curve") and name not in _TRAINER_CURVES}
    if thirds:
        out["reward_thirds"] = thirds  # per reward function (stage 4: per task): first / last third
    return out


def _mode_control(modes: dict, stage_dir: Path) -> dict:
    """Adherence in both modes, no-think leakage, and ThinkFollow when ``thinkfollow.json`` is there."""
    out = {"think_adherence": modes["think"]["adherence"], "no_think_adherence": modes["no_think"]["adherence"],
           "no_think_leakage": (modes["no_think"].get("leakage") or {}).get("share_with_hesitation")}
    path = stage_dir / "thinkfollow.json"
    if path.is_file():
        tf = json.loads(path.read_text())
        out |= {"think_follow": tf["think_follow"], "think_follow_ci95": tf["think_follow_ci95"],
                "think_follow_turns": tf["n_turns"], "think_follow_by_turn": tf["by_turn"]}
    return out


def build_report(run_dir: str | Path, tax_margin: float = 0.05) -> dict:
    """Report rows for the base and each stage found in ``run_dir`` (missing ones are listed), and
    what stage 4 changed over stage 3 with the general-RL tax against ``tax_margin``."""
    run_dir = Path(run_dir)
    rows, missing = {}, []
    for stage in STAGES:
        eval_path = run_dir / stage / "eval.json"
        if not eval_path.is_file():
            missing.append(stage)
            continue
        modes = json.loads(eval_path.read_text())["modes"]
        row = {mode: {k: m[k] for k in KEYS} | {k: m.get(k) for k in ("accuracy_by_family", "ifeval", "length_control")}
               for mode, m in modes.items()}
        if "think" in modes and "no_think" in modes:
            row["mode_control"] = _mode_control(modes, run_dir / stage)
        tool_path = run_dir / stage / "tool_eval.json"
        if tool_path.is_file():
            row["tool_use"] = json.loads(tool_path.read_text())["modes"]
        manifest_path = run_dir / stage / "handoff.json"
        if manifest_path.is_file():
            row["train"] = _train_summary(json.loads(manifest_path.read_text()))
        rows[stage] = row
    budget_path = run_dir / "budget" / "budget_curve.json"
    budget = json.loads(budget_path.read_text())["curves"] if budget_path.is_file() else None
    return {"run_dir": str(run_dir), "stages": rows, "missing": missing, "budget_curves": budget,
            "stage4_over_stage3": stage_gain(run_dir, margin=tax_margin),
            "stage4_over_stage3_heldout": heldout_gain(run_dir / HELDOUT_GAIN, margin=tax_margin)}


def _fmt(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _mode_control_lines(report: dict) -> list[str]:
    lines = ["", "| stage | think adherence | no-think adherence | no-think answers with hesitation words | "
                 "ThinkFollow (±95% CI) | by turn | turns |", "|---|---|---|---|---|---|---|"]
    for stage, row in report["stages"].items():
        if "mode_control" not in row:
            continue
        m = row["mode_control"]
        tf = (f"{m['think_follow']:.3f} ± {m['think_follow_ci95']:.3f}", " / ".join(
            f"{v:.2f}" for v in m["think_follow_by_turn"].values()), str(m["think_follow_turns"])) \
            if "think_follow" in m else ("–", "–", "–")
        lines.append(f"| {stage} | {_fmt(m['think_adherence'])} | {_fmt(m['no_think_adherence'])} | "
                     f"{_fmt(m['no_think_leakage'])} | " + " | ".join(tf) + " |")
    return lines


def _following_lines(report: dict) -> list[str]:
    """IFEval pass rates on the toy instruction items and length-control accuracy, per stage and mode."""
    rows = [(stage, mode, m) for stage, row in report["stages"].items() for mode, m in row.items()
            if mode in ("think", "no_think") and (m.get("ifeval") or m.get("length_control"))]
    if not rows:
        return []
    lines = ["", "| stage | mode | IFEval prompt-level (±95% CI) | IFEval instruction-level | prompts | "
                 "length control (±95% CI) | answer accuracy under a length limit | n |", "|---|---|---|---|---|---|---|---|"]
    for stage, mode, m in rows:
        i, lc = m.get("ifeval"), m.get("length_control")
        ifeval = (f"{i['prompt_level']:.3f} ± {i['prompt_level_ci95']:.3f}", f"{i['instruction_level']:.3f}", str(i["n_prompts"])) \
            if i else ("–",) * 3
        length = (f"{lc['accuracy']:.3f} ± {lc['accuracy_ci95']:.3f}", f"{lc['answer_accuracy']:.3f}", str(lc["n"])) \
            if lc else ("–",) * 3
        lines.append(f"| {stage} | {mode} | " + " | ".join(ifeval + length) + " |")
    return lines


def _budget_lines(curves: dict) -> list[str]:
    budgets = sorted({p["budget"] for c in curves.values() for p in c["points"]})
    lines = ["", "Accuracy by thinking budget N (tokens; `budget/budget_curve.json`):", "",
             "| checkpoint | " + " | ".join(f"N = {b}" for b in budgets) + " | area |",
             "|---|" + "---|" * (len(budgets) + 1)]
    for name, c in curves.items():
        acc = {p["budget"]: f"{p['accuracy']:.3f} ± {p['accuracy_ci95']:.3f}" for p in c["points"]}
        lines.append(f"| {name} | " + " | ".join(acc.get(b, "–") for b in budgets) + f" | {c['area']:.3f} |")
    return lines


def to_markdown(report: dict) -> str:
    """One table row per stage and mode: accuracy ± 95% CI, tokens, adherence, n; then mode control
    (adherence, no-think leakage, ThinkFollow), the budget curve when there is one, and RL rewards."""
    families = sorted({f for row in report["stages"].values() for mode in ("raw", "think", "no_think") if mode in row
                       for f in row[mode]["accuracy_by_family"]})  # the world's: toy (arithmetic, code, ...) or a real recipe's
    lines = [
        "| stage | mode | accuracy (±95% CI) | " + " | ".join(families) + " | mean tokens | adherence | n |",
        "|---|---|---|" + "---|" * len(families) + "---|---|---|",
    ]
    for stage, row in report["stages"].items():
        for mode in ("raw", "think", "no_think"):
            if mode not in row:
                continue
            m = row[mode]
            fam = m["accuracy_by_family"]
            lines.append(
                f"| {stage} | {mode} | {m['accuracy']:.3f} ± {m['accuracy_ci95']:.3f} | "
                + " | ".join(f"{fam.get(f, float('nan')):.2f}" for f in families)
                + f" | {m['mean_tokens']:.1f} | {'–' if m['adherence'] is None else format(m['adherence'], '.3f')} | {m['n']} |"
            )
    lines += _mode_control_lines(report)
    lines += _following_lines(report)
    tool_rows = [(stage, mode, m) for stage, row in report["stages"].items() for mode, m in row.get("tool_use", {}).items()]
    if tool_rows:
        lines += ["", "| stage | mode | tool-use success (±95% CI) | called a tool | failed a call | n |", "|---|---|---|---|---|---|"]
        lines += [f"| {s} | {mode} | {m['success']:.3f} ± {m['success_ci95']:.3f} | {m['called_a_tool']:.3f} | "
                  f"{m['failed_a_call']:.3f} | {m['n']} |" for s, mode, m in tool_rows]
    if report.get("budget_curves"):
        lines += _budget_lines(report["budget_curves"])
    if report.get("stage4_over_stage3"):
        lines += gain_markdown(report["stage4_over_stage3"], ", on the eval split")
    if report.get("stage4_over_stage3_heldout"):
        # the held-out set holds only hard arithmetic (think-mode accuracy near 0), so the tax is read on the eval split
        lines += gain_markdown(report["stage4_over_stage3_heldout"],
                               f", on the larger held-out set in `{HELDOUT_GAIN}/`: items no split of the world holds", tax=False)
    rl = []  # (label, training summary) of each RL stage, stage 4's focus phase after its mix
    for s, r in report["stages"].items():
        train = r.get("train", {})
        if "reward_first_third" in train:
            rl.append((s, train))
            if "focus_phase" in train:
                rl.append((f"{s} (focus phase)", train["focus_phase"]))
    if rl:
        lines += ["", "| stage | mean reward, first third of steps | last third | steps |", "|---|---|---|---|"]
        lines += [f"| {s} | {t['reward_first_third']:.3f} | {t['reward_last_third']:.3f} | {t['steps']} |" for s, t in rl]
        per_reward = [(s, name, pair) for s, t in rl for name, pair in t.get("reward_thirds", {}).items()]
        if per_reward:
            lines += ["", "| stage | reward (`<task>/<reward>` in stage 4) | mean, first third of steps | last third |",
                      "|---|---|---|---|"]
            lines += [f"| {s} | {name} | {_num(a)} | {_num(b)} |" for s, name, (a, b) in per_reward]
    if report.get("wall_seconds") is not None:
        lines += ["", f"Wall time of the whole run: {report['wall_seconds']} s."]
    if report["missing"]:
        lines += ["", f"Missing (no eval.json): {', '.join(report['missing'])}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Write report.json and report.md for a pipeline run directory.")
    p.add_argument("run_dir")
    p.add_argument("--wall-seconds", type=int, help="wall time of the run, recorded in the report")
    p.add_argument("--tax-margin", type=float, default=0.05,
                   help="the largest drop in think-mode math accuracy from stage 3 to stage 4 the run accepts")
    a = p.parse_args(argv)
    report = build_report(a.run_dir, a.tax_margin)
    report["wall_seconds"] = a.wall_seconds
    Path(a.run_dir, "report.json").write_text(json.dumps(report, indent=2) + "\n")
    md = to_markdown(report)
    Path(a.run_dir, "report.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
