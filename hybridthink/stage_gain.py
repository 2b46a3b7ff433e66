"""What general RL (stage 4) changed over stage 3, metric by metric, paired over the same held-out
items, turns or episodes: IFEval prompt-level pass rate on the toy instruction items, length-control
accuracy, tool-use success, ThinkFollow, and the general-RL tax, the drop in think-mode accuracy on
one item family (math), set against a stated margin.

    python -m hybridthink.stage_gain runs/toy      (also part of ``python -m hybridthink.report``)
    python -m hybridthink.stage_gain STAGE3_EVAL_DIR STAGE4_EVAL_DIR [STAGE4_EVAL_DIR ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from .evaluation import ci95, signed
from .jsonl import read_jsonl

BEFORE, AFTER = "stage3_mode_fusion", "stage4_general_rl"
MODES = ("think", "no_think")


def _eval_records(stage_dir: Path) -> dict[tuple[str, str], dict]:
    path = stage_dir / "eval_items.jsonl"
    return {(r["id"], r["mode"]): r for r in read_jsonl(path, ("id", "mode", "score"))} if path.is_file() else {}


def _json_records(path: Path, key: tuple[str, ...]) -> dict[tuple, dict]:
    return {tuple(r[k] for k in key): r for r in json.loads(path.read_text())["records"]} if path.is_file() else {}


def _row(metric: str, mode: str, before: dict, afters: list[dict], value) -> dict | None:
    """Means before and after over the keys every run has, and their paired difference with its 95%
    CI; with several after-runs (stage 4 at several seeds from one stage 3) each key's after-score
    is its mean over the runs, and each run's own change is kept beside it."""
    keys = sorted(set(before).intersection(*afters), key=str)
    if not keys:
        return None
    a = [value(before[k]) for k in keys]
    by_run = [[value(after[k]) for k in keys] for after in afters]
    b = [statistics.fmean(scores) for scores in zip(*by_run)]
    diffs = [y - x for x, y in zip(a, b)]
    row = {"metric": metric, "mode": mode, "n": len(keys), "before": statistics.fmean(a), "after": statistics.fmean(b),
           "change": statistics.fmean(diffs), "change_ci95": ci95(diffs)}
    if len(afters) > 1:
        row["change_by_run"] = [statistics.fmean(run) - row["before"] for run in by_run]
    return row


def stage_gain(run_dir: str | Path, tax_family: str | None = None, margin: float = 0.05) -> dict | None:
    """Rows (metric, mode, n, before, after, change ± CI) and the general-RL tax of a run's stage 4
    over its stage 3; None when the run lacks either stage's evaluation."""
    run_dir = Path(run_dir)
    return gain_between(run_dir / BEFORE, [run_dir / AFTER], tax_family, margin)


def heldout_gain(out_dir: str | Path, tax_family: str | None = None, margin: float = 0.05) -> dict | None:
    """The gain table of a ``scripts/gain_heldout.sh`` output folder: its stage 3 against the stage-4
    runs its ``models.txt`` names; None when the folder or its evaluations are missing."""
    out_dir = Path(out_dir)
    models = out_dir / "models.txt"
    if not models.is_file():
        return None
    names = [line.split(" ", 1)[0] for line in models.read_text().splitlines() if line.strip()]
    if names[:1] != ["stage3"] or len(names) < 2:
        raise ValueError(f"{models}: the first line must name stage3 and later lines stage-4 runs, got {names}")
    return gain_between(out_dir / "stage3", [out_dir / name for name in names[1:]], tax_family, margin)


def gain_between(before: Path, afters: list[Path], tax_family: str | None = None, margin: float = 0.05) -> dict | None:
    """Rows (metric, mode, n, before, after, change ± CI) of the evaluations in ``afters`` (one
    or more stage-4 folders, averaged item by item) over those in ``before``, and the general-RL tax on
    ``tax_family`` (default: the world's math, 'arithmetic' on the toy world, 'math' in a real recipe)
    in think mode; None when a folder lacks its ``eval_items.jsonl``."""
    before, afters = Path(before), [Path(d) for d in afters]
    dirs = [before, *afters]
    ev = {d: _eval_records(d) for d in dirs}
    if not all(ev.values()):
        return None
    if tax_family is None:
        seen = {r.get("family") for r in ev[before].values()}
        tax_family = next((f for f in ("arithmetic", "math") if f in seen), "arithmetic")
    tools = {d: _json_records(d / "tool_eval.json", ("id", "mode")) for d in dirs}
    follow = {d: _json_records(d / "thinkfollow.json", ("dialogue", "turn")) for d in dirs}

    def pick(records: dict, mode: str, family: str | None = None) -> dict:
        return {k: r for k, r in records.items() if k[1] == mode and (family is None or r.get("family") == family)}

    def row(metric: str, mode: str, records: dict, value, select=lambda rs: rs) -> dict | None:
        return _row(metric, mode, select(records[before]), [select(records[d]) for d in afters], value)

    rows = []
    for mode in MODES:
        rows += [
            row("IFEval prompt-level (toy instruction items)", mode, ev, lambda r: float(r["score"] >= 1.0),
                lambda rs: pick(rs, mode, "instruction")),
            row("length-control accuracy", mode, ev, lambda r: r["score"], lambda rs: pick(rs, f"{mode}/length")),
            row("tool-use success", mode, tools, lambda r: r["score"], lambda rs: pick(rs, mode)),
            row(f"accuracy, {tax_family}", mode, ev, lambda r: r["score"], lambda rs: pick(rs, mode, tax_family)),
        ]
    rows.append(row("ThinkFollow", "dialogues", follow, lambda r: float(r["followed"])))
    rows = [r for r in rows if r is not None]
    tax_row = next((r for r in rows if r["metric"] == f"accuracy, {tax_family}" and r["mode"] == "think"), None)
    tax = None if tax_row is None else {
        "family": tax_family, "mode": "think", "n": tax_row["n"], "tax": -tax_row["change"], "tax_ci95": tax_row["change_ci95"],
        "margin": margin, "within_margin": -tax_row["change"] <= margin,
        "within_margin_at_ci_bound": -tax_row["change"] + tax_row["change_ci95"] <= margin}
    return {"before": before.name, "after": afters[0].name if len(afters) == 1 else [d.name for d in afters],
            "rows": rows, "general_rl_tax": tax}


def _beyond_ci(rows: list[dict]) -> str:
    """Which changes lie beyond their CI, up and down, and how many do not."""
    def names(sign: int) -> str:
        picked = [f"{r['metric']} ({r['mode']})" for r in rows if sign * r["change"] > r["change_ci95"]]
        return "; ".join(picked) or "none"
    within = sum(abs(r["change"]) <= r["change_ci95"] for r in rows)
    return f"Up beyond its CI: {names(1)}. Down beyond its CI: {names(-1)}. Within their CI: {within} of {len(rows)} rows."


def to_markdown(gain: dict, where: str = "", tax: bool = True) -> list[str]:
    """The stage-4-over-stage-3 table (``where``, e.g. ", on the eval split", says on what), which changes lie
    beyond their CI, and (with ``tax``) the general-RL tax line."""
    runs = gain["after"] if isinstance(gain["after"], list) else None
    after = f"the mean of {', '.join(runs)}" if runs else gain["after"]
    extra = (" | change by run", "|---") if runs else ("", "")
    lines = ["", f"What general RL changed ({after} over {gain['before']}{where}; paired over the same items, turns or "
                 "episodes, greedy; ± is a 95% CI of the paired difference):", "",
             f"| metric | mode | stage 3 | stage 4 | change (± 95% CI) | n{extra[0]} |", f"|---|---|---|---|---|---{extra[1]}|"]
    lines += [f"| {r['metric']} | {r['mode']} | {r['before']:.3f} | {r['after']:.3f} | {signed(r['change'])} ± "
              f"{r['change_ci95']:.3f} | {r['n']}"
              + (" | " + " / ".join(map(signed, r["change_by_run"])) if runs else "") + " |" for r in gain["rows"]]
    lines += ["", _beyond_ci(gain["rows"])]
    t = gain["general_rl_tax"]
    if t and tax:
        verdict = "within" if t["within_margin"] else "beyond"
        bound = "within" if t["within_margin_at_ci_bound"] else "not within"
        lines += ["", f"General-RL tax (think-mode {t['family']} accuracy, stage 3 − stage 4): {signed(t['tax'])} ± "
                      f"{t['tax_ci95']:.3f} (n = {t['n']}); {verdict} the stated margin of {t['margin']:.2f}, "
                      f"its CI's upper end {bound} it."]
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Stage 4 over stage 3, metric by metric, and the general-RL tax.")
    p.add_argument("dirs", nargs="+", metavar="DIR",
                   help=f"a run folder holding {BEFORE}/ and {AFTER}/, or a stage-3 evaluation folder then one or "
                        "more stage-4 ones (several: stage 4 at several seeds, averaged item by item)")
    p.add_argument("--tax-family", default=None, help="default: arithmetic (toy world) or math (a real recipe)")
    p.add_argument("--margin", type=float, default=0.05)
    a = p.parse_args(argv)
    if len(a.dirs) == 1:
        gain, needs = stage_gain(a.dirs[0], a.tax_family, a.margin), f"{a.dirs[0]} needs eval_items.jsonl in both {BEFORE}/ and {AFTER}/"
    else:
        gain, needs = gain_between(a.dirs[0], a.dirs[1:], a.tax_family, a.margin), f"each of {' '.join(a.dirs)} needs eval_items.jsonl"
    if gain is None:
        raise SystemExit(f"error: {needs}")
    print("\n".join(to_markdown(gain)))


if __name__ == "__main__":
    main()
