"""What general RL (stage 4) changed over stage 3, metric by metric, paired over the same held-out
items, turns or episodes: IFEval prompt-level pass rate on the toy instruction items, length-control
accuracy, tool-use success, ThinkFollow, and the general-RL tax, the drop in think-mode accuracy on
one item family (math), set against a stated margin.

    python -m hybridthink.stage_gain runs/toy      (also part of ``python -m hybridthink.report``)
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from .evaluation import ci95
from .jsonl import read_jsonl

BEFORE, AFTER = "stage3_mode_fusion", "stage4_general_rl"
MODES = ("think", "no_think")


def _eval_records(stage_dir: Path) -> dict[tuple[str, str], dict]:
    path = stage_dir / "eval_items.jsonl"
    return {(r["id"], r["mode"]): r for r in read_jsonl(path, ("id", "mode", "score"))} if path.is_file() else {}


def _json_records(path: Path, key: tuple[str, ...]) -> dict[tuple, dict]:
    return {tuple(r[k] for k in key): r for r in json.loads(path.read_text())["records"]} if path.is_file() else {}


def _row(metric: str, mode: str, before: dict, after: dict, value) -> dict | None:
    """Means before and after over the keys both have, and their paired difference with its 95% CI."""
    keys = sorted(set(before) & set(after), key=str)
    if not keys:
        return None
    a, b = [value(before[k]) for k in keys], [value(after[k]) for k in keys]
    diffs = [y - x for x, y in zip(a, b)]
    return {"metric": metric, "mode": mode, "n": len(keys), "before": statistics.fmean(a), "after": statistics.fmean(b),
            "change": statistics.fmean(diffs), "change_ci95": ci95(diffs)}


def stage_gain(run_dir: str | Path, tax_family: str | None = None, margin: float = 0.05) -> dict | None:
    """Rows (metric, mode, n, before, after, change ± CI) and the general-RL tax on ``tax_family``
    (default: the world's math, 'arithmetic' on the toy world, 'math' in a real recipe) in think
    mode; None when the run lacks either stage's evaluation."""
    run_dir = Path(run_dir)
    before, after = run_dir / BEFORE, run_dir / AFTER
    ev = {d: _eval_records(d) for d in (before, after)}
    if not ev[before] or not ev[after]:
        return None
    if tax_family is None:
        seen = {r.get("family") for r in ev[before].values()}
        tax_family = next((f for f in ("arithmetic", "math") if f in seen), "arithmetic")
    tools = {d: _json_records(d / "tool_eval.json", ("id", "mode")) for d in (before, after)}
    follow = {d: _json_records(d / "thinkfollow.json", ("dialogue", "turn")) for d in (before, after)}

    def pick(records: dict, mode: str, family: str | None = None) -> dict:
        return {k: r for k, r in records.items() if k[1] == mode and (family is None or r.get("family") == family)}

    rows = []
    for mode in MODES:
        rows += [
            _row("IFEval prompt-level (toy instruction items)", mode, pick(ev[before], mode, "instruction"),
                 pick(ev[after], mode, "instruction"), lambda r: float(r["score"] >= 1.0)),
            _row("length-control accuracy", mode, pick(ev[before], f"{mode}/length"), pick(ev[after], f"{mode}/length"),
                 lambda r: r["score"]),
            _row("tool-use success", mode, pick(tools[before], mode), pick(tools[after], mode), lambda r: r["score"]),
            _row(f"accuracy, {tax_family}", mode, pick(ev[before], mode, tax_family), pick(ev[after], mode, tax_family),
                 lambda r: r["score"]),
        ]
    rows.append(_row("ThinkFollow", "dialogues", follow[before], follow[after], lambda r: float(r["followed"])))
    rows = [r for r in rows if r is not None]
    tax_row = next((r for r in rows if r["metric"] == f"accuracy, {tax_family}" and r["mode"] == "think"), None)
    tax = None if tax_row is None else {
        "family": tax_family, "mode": "think", "n": tax_row["n"], "tax": -tax_row["change"], "tax_ci95": tax_row["change_ci95"],
        "margin": margin, "within_margin": -tax_row["change"] <= margin,
        "within_margin_at_ci_bound": -tax_row["change"] + tax_row["change_ci95"] <= margin}
    return {"before": BEFORE, "after": AFTER, "rows": rows, "general_rl_tax": tax}


def to_markdown(gain: dict) -> list[str]:
    """The stage-4-over-stage-3 table and the general-RL tax line."""
    lines = ["", f"What general RL changed ({gain['after']} over {gain['before']}; paired over the same items, turns or "
                 "episodes, greedy; ± is a 95% CI of the paired difference):", "",
             "| metric | mode | stage 3 | stage 4 | change (± 95% CI) | n |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['metric']} | {r['mode']} | {r['before']:.3f} | {r['after']:.3f} | {r['change']:+.3f} ± "
              f"{r['change_ci95']:.3f} | {r['n']} |" for r in gain["rows"]]
    t = gain["general_rl_tax"]
    if t:
        verdict = "within" if t["within_margin"] else "beyond"
        bound = "within" if t["within_margin_at_ci_bound"] else "not within"
        lines += ["", f"General-RL tax (think-mode {t['family']} accuracy, stage 3 − stage 4): {t['tax']:+.3f} ± "
                      f"{t['tax_ci95']:.3f} (n = {t['n']}); {verdict} the stated margin of {t['margin']:.2f}, "
                      f"its CI's upper end {bound} it."]
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Stage 4 over stage 3, metric by metric, and the general-RL tax.")
    p.add_argument("run_dir")
    p.add_argument("--tax-family", default=None, help="default: arithmetic (toy world) or math (a real recipe)")
    p.add_argument("--margin", type=float, default=0.05)
    a = p.parse_args(argv)
    gain = stage_gain(a.run_dir, a.tax_family, a.margin)
    if gain is None:
        raise SystemExit(f"error: {a.run_dir} needs eval_items.jsonl in both {BEFORE}/ and {AFTER}/")
    print("\n".join(to_markdown(gain)))


if __name__ == "__main__":
    main()
