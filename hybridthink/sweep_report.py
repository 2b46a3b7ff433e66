"""The table and Pareto plots of a data-mix sweep (``scripts/sweep_mixes.sh``).

    python -m hybridthink.sweep_report runs/toy_sweep

Reads every run directory under the sweep (a stage-3 handoff with its ``eval.json`` and
``thinkfollow.json``) and writes ``sweep.json``, ``sweep.md`` and ``pareto.png`` there: per mix, the
mean over seeds with the lowest and highest seed, and per run the 95% confidence interval over items.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .handoff import MANIFEST, HandoffError, read_manifest  # noqa: E402

# (key, label, higher is better): what the table shows for each run and mix.
METRICS = (
    ("think_accuracy", "think accuracy", True),
    ("no_think_accuracy", "no-think accuracy", True),
    ("think_tokens", "think tokens", False),
    ("no_think_tokens", "no-think tokens", False),
    ("think_adherence", "think adherence", True),
    ("no_think_adherence", "no-think adherence", True),
    ("think_follow", "ThinkFollow", True),
)
# Pareto panels: think accuracy against each of these.
PANELS = ("no_think_accuracy", "no_think_tokens", "no_think_adherence", "think_follow")


def run_record(directory: Path) -> dict:
    """One sweep run: its mix, seed and metrics (value and 95% CI half-width)."""
    manifest = read_manifest(directory)
    missing = [name for name in ("eval.json", "thinkfollow.json") if not (directory / name).is_file()]
    if missing:
        raise HandoffError(f"{directory}: no {' or '.join(missing)} (the sweep did not finish this run)")
    modes = json.loads((directory / "eval.json").read_text())["modes"]
    follow = json.loads((directory / "thinkfollow.json").read_text())
    mix = manifest["config"].get("mix")
    record = {"run": directory.name, "mix": Path(mix).stem if mix else "recipe",
              "seed": manifest["config"]["resolved"]["mix"]["seed"], "rows": manifest["data"]["fusion"]["rows"],
              "n_items": modes["think"]["n"], "n_turns": follow["n_turns"],
              "think_follow": follow["think_follow"], "think_follow_ci95": follow["think_follow_ci95"]}
    for mode in ("think", "no_think"):
        s = modes[mode]
        record |= {f"{mode}_accuracy": s["accuracy"], f"{mode}_accuracy_ci95": s["accuracy_ci95"],
                   f"{mode}_tokens": s["mean_tokens"], f"{mode}_tokens_ci95": s.get("mean_tokens_ci95"),
                   f"{mode}_adherence": s["adherence"]}
    return record


def by_mix(runs: list[dict]) -> dict[str, dict]:
    """Per mix (in the order first seen): seeds, and for each metric the mean, lowest and highest over seeds."""
    mixes: dict[str, dict] = {}
    for mix in dict.fromkeys(r["mix"] for r in runs):
        rows = [r for r in runs if r["mix"] == mix]
        mixes[mix] = {"seeds": [r["seed"] for r in rows], **{
            key: {"mean": statistics.fmean(r[key] for r in rows), "min": min(r[key] for r in rows),
                  "max": max(r[key] for r in rows)} for key, _, _ in METRICS}}
    return mixes


def pareto_front(points: list[tuple[float, float]], x_higher_better: bool) -> list[int]:
    """Indices of the points no other point beats on both axes (y higher is better)."""
    sign = 1 if x_higher_better else -1
    return [i for i, (x, y) in enumerate(points)
            if not any(sign * x2 >= sign * x and y2 >= y and (x2, y2) != (x, y) for x2, y2 in points)]


def plot(runs: list[dict], mixes: dict[str, dict], path: Path) -> None:
    """Think accuracy against each of PANELS: every run with its 95% CI, each mix's seed mean as a
    large marker, and the Pareto front of the mix means dashed."""
    fig, axes = plt.subplots(2, 2, figsize=(11, 9))
    labels = {key: (label, better) for key, label, better in METRICS}
    colors = dict(zip(mixes, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 4))
    for ax, key in zip(axes.flat, PANELS):
        label, better = labels[key]
        for r in runs:
            ax.errorbar(r[key], r["think_accuracy"], xerr=r.get(f"{key}_ci95"), yerr=r["think_accuracy_ci95"],
                        fmt="o", ms=4, alpha=0.45, color=colors[r["mix"]], capsize=2)
        means = [(m[key]["mean"], m["think_accuracy"]["mean"]) for m in mixes.values()]
        for (x, y), mix in zip(means, mixes):
            ax.plot(x, y, "D", ms=9, color=colors[mix], label=mix, markeredgecolor="black")
        front = sorted(means[i] for i in pareto_front(means, better))
        if len(front) > 1:
            ax.plot(*zip(*front), "--", color="gray", lw=1)
        ax.set_xlabel(f"{label} ({'higher' if better else 'lower'} is better)")
        ax.set_ylabel("think accuracy")
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    n = runs[0]
    fig.suptitle(f"Data-mix sweep: {len(mixes)} mixes x seeds {sorted({r['seed'] for r in runs})}; "
                 f"n = {n['n_items']} items per mode, {n['n_turns']} ThinkFollow turns; bars: 95% CI")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def to_markdown(runs: list[dict], mixes: dict[str, dict]) -> str:
    """The per-mix table (mean over seeds, lowest-highest seed) and the per-run table (± 95% CI)."""
    head = "| mix | seeds | " + " | ".join(label for _, label, _ in METRICS) + " |"
    lines = [head, "|" + "---|" * (len(METRICS) + 2)]
    for mix, m in mixes.items():
        cells = [f"{m[k]['mean']:.3f} ({m[k]['min']:.3f}–{m[k]['max']:.3f})" if not k.endswith("tokens")
                 else f"{m[k]['mean']:.1f} ({m[k]['min']:.1f}–{m[k]['max']:.1f})" for k, _, _ in METRICS]
        lines.append(f"| {mix} | {', '.join(map(str, m['seeds']))} | " + " | ".join(cells) + " |")
    lines += ["", "| run | rows | think accuracy | no-think accuracy | think tokens | no-think tokens | ThinkFollow |",
              "|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['run']} | {r['rows']} | {r['think_accuracy']:.3f} ± {r['think_accuracy_ci95']:.3f} | "
                     f"{r['no_think_accuracy']:.3f} ± {r['no_think_accuracy_ci95']:.3f} | {r['think_tokens']:.1f} | "
                     f"{r['no_think_tokens']:.1f} | {r['think_follow']:.3f} ± {r['think_follow_ci95']:.3f} |")
    n = runs[0]
    lines += ["", f"n = {n['n_items']} held-out items per mode (greedy) and {n['n_turns']} ThinkFollow turns per run; "
                  "per mix: mean over seeds (lowest–highest seed); per run: ± 95% CI over items."]
    return "\n".join(lines) + "\n"


def sweep_report(directory: str | Path) -> dict:
    """Collect the runs under ``directory``; write sweep.json, sweep.md and pareto.png there."""
    directory = Path(directory)
    runs = [run_record(d) for d in sorted(directory.iterdir()) if (d / MANIFEST).is_file()]
    if not runs:
        raise HandoffError(f"{directory}: no sweep runs (directories with a {MANIFEST})")
    mixes = by_mix(runs)
    (directory / "sweep.json").write_text(json.dumps({"runs": runs, "mixes": mixes}, indent=2) + "\n")
    (directory / "sweep.md").write_text(to_markdown(runs, mixes))
    plot(runs, mixes, directory / "pareto.png")
    print(to_markdown(runs, mixes))
    return {"runs": runs, "mixes": mixes}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Table and Pareto plots of a data-mix sweep.")
    p.add_argument("directory", help="the sweep's output directory (scripts/sweep_mixes.sh OUT_DIR)")
    sweep_report(p.parse_args(argv).directory)


if __name__ == "__main__":
    from .stage import run_main

    run_main(main)
