"""The hybrid tax: the hybrid model against Qwen3-2507-style split variants from the same stage-2
checkpoint (``scripts/split_variants.sh``), mode by mode, on the same held-out items.

    python -m hybridthink.hybrid_tax runs/toy runs/toy/variants

Thinking mode is compared with the Thinking variant, non-thinking mode with the Instruct variant,
after stage 3 and after stage 4. The difference is paired over items (the same items in both), with
its 95% CI. Writes ``hybrid_tax.json`` and ``hybrid_tax.md`` in the variants' directory.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from .evaluation import ci95, load_eval, signed
from .handoff import HandoffError
from .modes import VARIANT_MODES

STAGES = ("stage3_mode_fusion", "stage4_general_rl")


def compare(hybrid_run: str | Path, variants_dir: str | Path) -> list[dict]:
    """One row per stage and mode: hybrid and variant accuracy (± 95% CI), their paired difference,
    tokens and adherence."""
    rows = []
    for stage in STAGES:
        hybrid_modes, hybrid_scores = load_eval(Path(hybrid_run) / stage)
        for variant, mode in VARIANT_MODES.items():
            modes, scores = load_eval(Path(variants_dir) / variant / stage)
            h, v = hybrid_modes[mode], modes[mode]
            ids = sorted(i for i, m in scores if m == mode and (i, mode) in hybrid_scores)
            if not ids:
                raise HandoffError(f"{variants_dir}/{variant}/{stage} and {hybrid_run}/{stage} share no evaluated {mode} item")
            diffs = [hybrid_scores[(i, mode)] - scores[(i, mode)] for i in ids]
            rows.append({"stage": stage, "mode": mode, "variant": variant, "n": len(ids),
                         "hybrid_accuracy": h["accuracy"], "hybrid_accuracy_ci95": h["accuracy_ci95"],
                         "variant_accuracy": v["accuracy"], "variant_accuracy_ci95": v["accuracy_ci95"],
                         "tax": -statistics.fmean(diffs), "tax_ci95": ci95(diffs),
                         "hybrid_tokens": h["mean_tokens"], "variant_tokens": v["mean_tokens"],
                         "hybrid_adherence": h["adherence"], "variant_adherence": v["adherence"]})
    return rows


def to_markdown(rows: list[dict]) -> str:
    lines = ["| stage | mode | hybrid accuracy | split variant | its accuracy | hybrid tax (variant − hybrid, paired) | "
             "tokens hybrid / variant | adherence hybrid / variant | n |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['stage']} | {r['mode']} | {r['hybrid_accuracy']:.3f} ± {r['hybrid_accuracy_ci95']:.3f} | "
                     f"{r['variant']} | {r['variant_accuracy']:.3f} ± {r['variant_accuracy_ci95']:.3f} | "
                     f"{signed(r['tax'])} ± {r['tax_ci95']:.3f} | {r['hybrid_tokens']:.1f} / {r['variant_tokens']:.1f} | "
                     f"{r['hybrid_adherence']:.3f} / {r['variant_adherence']:.3f} | {r['n']} |")
    lines += ["", "Greedy decoding, held-out items; ± is a 95% CI over items (for the tax: over the per-item "
                  "differences). A positive tax: the split variant is more accurate in that mode than the hybrid."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Hybrid vs split variants (Instruct, Thinking), mode by mode.")
    p.add_argument("hybrid_run", help="the hybrid run directory (with stage3_mode_fusion/ and stage4_general_rl/)")
    p.add_argument("variants", help="the split variants' directory (instruct/ and thinking/)")
    a = p.parse_args(argv)
    rows = compare(a.hybrid_run, a.variants)
    out = Path(a.variants)
    (out / "hybrid_tax.json").write_text(json.dumps(rows, indent=2) + "\n")
    (out / "hybrid_tax.md").write_text(to_markdown(rows))
    print(to_markdown(rows))


if __name__ == "__main__":
    from .stage import run_main

    run_main(main)
