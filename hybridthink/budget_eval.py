"""Accuracy against thinking budget, per checkpoint, on toy items (greedy, budget forcing).

    python -m hybridthink.budget_eval --model runs/toy/stage3_mode_fusion --model runs/toy/stage4_general_rl \\
        --items runs/toy/base/world/eval.jsonl --budgets 0,8,16,32,64,128 --out runs/toy/budget

Writes ``budget_curve.json`` (per checkpoint and budget: n, accuracy with 95% CI, mean thinking
tokens, share of rows forced to stop, share with a complete answer, mean |n - N| / N; the same
per effort level, from ``--efforts`` or else the checkpoint's own ``thinking_efforts.json`` if it
has one (``hybridthink.efforts``), and whether accuracy and thinking tokens are monotone across the
levels) and ``budget_curve.png``. The area under the curve puts the budgets on a log2(1 + N) axis
scaled to [0, 1], so it is the mean accuracy over that axis: 1.0 is perfect at every budget.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .budget import generate_with_budget, load_generator  # noqa: E402
from .efforts import check_efforts, read_efforts  # noqa: E402
from .evaluation import ITEM_KEYS, ci95, conversation  # noqa: E402
from .jsonl import read_jsonl  # noqa: E402
from .scoring import score_items  # noqa: E402
from .stage import run_main  # noqa: E402


def _point(model, tokenizer, items: list[dict], budget: int | None, effort: str | None, efforts: dict | None,
           max_answer_tokens: int, batch_size: int) -> dict:
    """Accuracy and budget figures of every item decoded under one budget (or effort level)."""
    outs = generate_with_budget(model, tokenizer, [conversation(it, "think") for it in items], budget, effort,
                                efforts=efforts, max_answer_tokens=max_answer_tokens, batch_size=batch_size)
    budget = outs[0].budget if outs else budget
    scores = score_items(items, [o.text for o in outs])
    used = [o.thinking_tokens for o in outs]
    point = {
        "budget": budget,
        "n": len(items),
        "accuracy": statistics.fmean(scores),
        "accuracy_ci95": ci95(scores),
        "mean_thinking_tokens": statistics.fmean(used),
        "forced_share": statistics.fmean(float(o.forced) for o in outs),
        "answer_complete": statistics.fmean(float(o.answer_complete) for o in outs),
        "within_budget": statistics.fmean(float(t <= budget) for t in used),
        "mean_relative_deviation": statistics.fmean(abs(t - budget) / budget for t in used) if budget else None,
    }
    label = f"effort {effort} (N={budget})" if effort else f"N={budget:5d}"
    print(f"[budget] {label} acc {point['accuracy']:.3f} ±{point['accuracy_ci95']:.3f} (n={len(items)}) "
          f"thinking {point['mean_thinking_tokens']:.1f} forced {point['forced_share']:.2f} "
          f"answer complete {point['answer_complete']:.2f}")
    return point


def budget_curve(model, tokenizer, items: list[dict], budgets: list[int], *, max_answer_tokens: int = 64,
                 batch_size: int = 64) -> dict:
    """One point per budget, and the area under the curve."""
    points = [_point(model, tokenizer, items, b, None, None, max_answer_tokens, batch_size) for b in budgets]
    return {"points": points, "area": curve_area([p["budget"] for p in points], [p["accuracy"] for p in points])}


def effort_levels(model, tokenizer, items: list[dict], efforts: dict[str, int], *, max_answer_tokens: int = 64,
                  batch_size: int = 64) -> dict:
    """One point per effort level (in the order given), and whether accuracy and thinking tokens
    never fall from one level to the next."""
    points = {level: _point(model, tokenizer, items, None, level, efforts, max_answer_tokens, batch_size)
              for level in efforts}
    acc = [p["accuracy"] for p in points.values()]
    tokens = [p["mean_thinking_tokens"] for p in points.values()]
    return {"levels": points, "monotone_accuracy": all(a <= b for a, b in zip(acc, acc[1:])),
            "monotone_thinking_tokens": all(a <= b for a, b in zip(tokens, tokens[1:]))}


def _axis(budgets: list[int]) -> list[float]:
    return [math.log2(1 + b) for b in budgets]


def curve_area(budgets: list[int], accuracies: list[float]) -> float | None:
    """Trapezoid area under accuracy over log2(1 + budget), the axis scaled to [0, 1]."""
    xs = _axis(budgets)
    if len(xs) < 2 or xs[-1] == xs[0]:
        return None
    area = sum((x1 - x0) * (a0 + a1) / 2 for x0, x1, a0, a1 in zip(xs, xs[1:], accuracies, accuracies[1:]))
    return area / (xs[-1] - xs[0])


def plot(curves: dict[str, dict], path: Path) -> None:
    """Accuracy against budget, one line per checkpoint, with 95% CI bars."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in curves.items():
        pts = curve["points"]
        area = "n/a" if curve["area"] is None else f"{curve['area']:.3f}"
        ax.errorbar(_axis([p["budget"] for p in pts]), [p["accuracy"] for p in pts],
                    yerr=[p["accuracy_ci95"] for p in pts], marker="o", capsize=3, label=f"{name} (area {area})")
    budgets = sorted({p["budget"] for c in curves.values() for p in c["points"]})
    ax.set_xticks(_axis(budgets), [str(b) for b in budgets])
    ax.set_xlabel("thinking budget (tokens, log scale)")
    ax.set_ylabel("accuracy (greedy, 95% CI)")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _parse_efforts(text: str) -> dict[str, int]:
    """``low=8,medium=32`` as a dict in that order, or SystemExit naming the bad pair."""
    efforts = {}
    for pair in text.split(","):
        name, sep, budget = pair.partition("=")
        if not sep or not budget.strip().isdigit():
            raise SystemExit(f"error: --efforts {pair!r} is not LEVEL=TOKENS")
        efforts[name.strip()] = int(budget)
    try:
        return check_efforts(efforts, "--efforts")
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Accuracy against thinking budget for one or more checkpoints.")
    p.add_argument("--model", action="append", required=True, help="a checkpoint directory (repeat for several)")
    p.add_argument("--items", required=True, help="JSONL of toy items")
    p.add_argument("--budgets", default="0,8,16,32,64,128", help="comma-separated thinking budgets in tokens")
    p.add_argument("--efforts", help="effort levels to check for monotonicity, in order, e.g. low=8,medium=32,high=64 "
                                     "(default: each checkpoint's own thinking_efforts.json, if any)")
    p.add_argument("--max-answer-tokens", type=int, default=64)
    p.add_argument("--batch-size", type=int, default=64, help="rows per HF generate call")
    p.add_argument("--backend", choices=["hf", "vllm"], default="hf", help="generate with HF or with a vLLM engine")
    p.add_argument("--out", required=True, help="directory for budget_curve.json and budget_curve.png")
    a = p.parse_args(argv)
    budgets = sorted(int(b) for b in a.budgets.split(","))
    efforts = _parse_efforts(a.efforts) if a.efforts else None
    items = read_jsonl(a.items, ITEM_KEYS)
    try:  # every checkpoint's own levels, read before any decoding: a broken file stops the run at once
        levels_of = {model_dir: efforts or read_efforts(model_dir) for model_dir in a.model}
    except ValueError as err:
        raise SystemExit(f"error: {err}") from None
    curves = {}
    for model_dir in a.model:
        model, tokenizer = load_generator(model_dir, a.backend)
        name = Path(model_dir).name
        curves[name] = budget_curve(model, tokenizer, items, budgets, max_answer_tokens=a.max_answer_tokens,
                                    batch_size=a.batch_size)
        levels = levels_of[model_dir]
        if levels:
            curves[name]["efforts"] = effort_levels(model, tokenizer, items, levels, max_answer_tokens=a.max_answer_tokens,
                                                    batch_size=a.batch_size)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "budget_curve.json").write_text(json.dumps({"items": a.items, "decoding": "greedy", "backend": a.backend, "curves": curves}, indent=2) + "\n")
    plot(curves, out / "budget_curve.png")
    print(f"[budget] wrote {out / 'budget_curve.json'} and {out / 'budget_curve.png'}")


if __name__ == "__main__":
    run_main(main)
