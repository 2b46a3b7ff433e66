"""Join each stage's ``eval.json`` and ``handoff.json`` into the run's report card.

    python -m hybridthink.report runs/toy
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

STAGES = ("base", "stage1_cold_start", "stage2_reasoning_rl", "stage3_mode_fusion", "stage4_general_rl")
KEYS = ("accuracy", "accuracy_ci95", "mean_tokens", "adherence", "n")


def _train_summary(manifest: dict) -> dict:
    train = manifest.get("metrics", {}).get("train", {})
    out = {k: train[k] for k in ("reward_first_third", "reward_last_third", "loss", "steps") if k in train}
    return out


def build_report(run_dir: str | Path) -> dict:
    """Report rows for the base and each stage found in ``run_dir`` (missing ones are listed)."""
    run_dir = Path(run_dir)
    rows, missing = {}, []
    for stage in STAGES:
        eval_path = run_dir / stage / "eval.json"
        if not eval_path.is_file():
            missing.append(stage)
            continue
        modes = json.loads(eval_path.read_text())["modes"]
        row = {mode: {k: m[k] for k in KEYS} | {"accuracy_by_family": m["accuracy_by_family"]} for mode, m in modes.items()}
        manifest_path = run_dir / stage / "handoff.json"
        if manifest_path.is_file():
            row["train"] = _train_summary(json.loads(manifest_path.read_text()))
        rows[stage] = row
    return {"run_dir": str(run_dir), "stages": rows, "missing": missing}


def to_markdown(report: dict) -> str:
    """One table row per stage and mode: accuracy ± 95% CI, tokens, adherence, n."""
    lines = [
        "| stage | mode | accuracy (±95% CI) | arithmetic | code | instruction | mean tokens | adherence | n |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for stage, row in report["stages"].items():
        for mode in ("raw", "think", "no_think"):
            if mode not in row:
                continue
            m = row[mode]
            fam = m["accuracy_by_family"]
            lines.append(
                f"| {stage} | {mode} | {m['accuracy']:.3f} ± {m['accuracy_ci95']:.3f} | "
                + " | ".join(f"{fam.get(f, float('nan')):.2f}" for f in ("arithmetic", "code", "instruction"))
                + f" | {m['mean_tokens']:.1f} | {'–' if m['adherence'] is None else format(m['adherence'], '.3f')} | {m['n']} |"
            )
    rl = [(s, r["train"]) for s, r in report["stages"].items() if "reward_first_third" in r.get("train", {})]
    if rl:
        lines += ["", "| stage | mean reward, first third of steps | last third | steps |", "|---|---|---|---|"]
        lines += [f"| {s} | {t['reward_first_third']:.3f} | {t['reward_last_third']:.3f} | {t['steps']} |" for s, t in rl]
    if report.get("wall_seconds") is not None:
        lines += ["", f"Wall time of the whole run: {report['wall_seconds']} s."]
    if report["missing"]:
        lines += ["", f"Missing (no eval.json): {', '.join(report['missing'])}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Write report.json and report.md for a pipeline run directory.")
    p.add_argument("run_dir")
    p.add_argument("--wall-seconds", type=int, help="wall time of the run, recorded in the report")
    a = p.parse_args(argv)
    report = build_report(a.run_dir)
    report["wall_seconds"] = a.wall_seconds
    Path(a.run_dir, "report.json").write_text(json.dumps(report, indent=2) + "\n")
    md = to_markdown(report)
    Path(a.run_dir, "report.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
