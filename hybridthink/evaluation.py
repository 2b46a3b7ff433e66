"""Evaluate a checkpoint on held-out toy items in thinking and non-thinking mode.

    python -m hybridthink.evaluation --model runs/toy/stage1_cold_start --items runs/toy/base/world/eval.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import re
import statistics
from collections import defaultdict
from pathlib import Path

from transformers import AutoModelForCausalLM, AutoTokenizer

from .chat_template import template_variant
from .generation import assistant_turn, chat_prompts, generate
from .handoff import world_file
from .jsonl import read_jsonl
from .modes import NO_THINK_FLAG, VARIANT_MODES, split_thinking, turn_mode
from .scoring import score_items
from .toy.world import worked_as_chat, worked_prompt

ITEM_KEYS = ("id", "family", "prompt")
# think / no_think: chat prompts with the hybrid template; raw: the base model's pretraining format
# ("Question: … Let me think step by step."), graded as a thinking answer; adherence does not apply.
MODES = ("think", "no_think", "raw")


def conversation(item: dict, mode: str) -> list[dict]:
    """The user turn for an item; non-thinking mode is asked for with Qwen3's soft flag."""
    content = item["prompt"] + (f" {NO_THINK_FLAG}" if mode == "no_think" else "")
    return [{"role": "user", "content": content}]


def ci95(values: list[float]) -> float:
    """Half-width of a normal-approximation 95% confidence interval of the mean."""
    if len(values) < 2:
        return float("nan")
    return 1.96 * statistics.stdev(values) / math.sqrt(len(values))


# Words of deliberation that a non-thinking answer should not need (no-think leakage).
HESITATION_RE = re.compile(r"\b(wait|hmm+|actually|let me|let's|double[- ]check|re-?check|on second thought|"
                           r"alternatively|step by step|i think)\b", re.IGNORECASE)


def leakage(texts: list[str]) -> dict:
    """No-think leakage: share of answers with a hesitation word, and hesitation words per answer."""
    counts = [len(HESITATION_RE.findall(split_thinking(t)[1])) for t in texts]
    return {"share_with_hesitation": statistics.fmean(float(c > 0) for c in counts),
            "hesitation_words_per_answer": statistics.fmean(counts)}


def summarise(items: list[dict], scores: list[float], tokens: list[int], modes_seen: list[str | None], mode: str,
              texts: list[str] | None = None) -> dict:
    """Accuracy (with 95% CI), accuracy per family and difficulty, tokens, mode adherence, and for
    no-think mode the leakage of deliberation into the answers."""
    fam, diff = defaultdict(list), defaultdict(list)
    for item, s in zip(items, scores):
        fam[item["family"]].append(s)
        diff[str(item.get("difficulty"))].append(s)
    return {
        "n": len(items),
        "accuracy": statistics.fmean(scores),
        "accuracy_ci95": ci95(scores),
        "mean_tokens": statistics.fmean(tokens),
        "mean_tokens_ci95": ci95(tokens),
        "adherence": None if mode == "raw" else statistics.fmean(float(m == mode) for m in modes_seen),
        "accuracy_by_family": {k: statistics.fmean(v) for k, v in sorted(fam.items())},
        "accuracy_by_difficulty": {k: statistics.fmean(v) for k, v in sorted(diff.items())},
        "leakage": leakage(texts) if mode == "no_think" and texts is not None else None,
    }


def evaluate(model, tokenizer, items: list[dict], *, modes=("think", "no_think"), max_new_tokens: int = 200,
             batch_size: int = 64) -> tuple[dict, list[dict]]:
    """Greedy-decode every item in every mode; return (summary per mode, per-item records)."""
    summary, records = {}, []
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown evaluation mode(s) {unknown}; known: {list(MODES)}")
    variant = template_variant(tokenizer)
    if variant != "hybrid":  # a split variant has one mode, asked for without a flag
        own = VARIANT_MODES[variant]
        if own not in modes:
            raise ValueError(f"the {variant} variant answers in mode {own} only; asked for {list(modes)}")
        print(f"[eval] {variant} variant: mode {own} only, plain prompts (skipped: {[m for m in modes if m != own]})")
        modes = (own,)
    for mode in modes:
        if mode == "raw":
            prompts = [worked_prompt(it) for it in items]
        else:
            asked = mode if variant == "hybrid" else "think"  # "think": the plain prompt, no flag
            prompts = chat_prompts(tokenizer, [conversation(it, asked) for it in items])
        outs = [g[0] for g in generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                       desc=f"eval {mode}")]
        texts = [worked_as_chat(o.text) if mode == "raw" else assistant_turn(p, o.text) for p, o in zip(prompts, outs)]
        scores = score_items(items, texts)
        seen = [turn_mode(t, variant) for t in texts]
        summary[mode] = summarise(items, scores, [o.tokens for o in outs], seen, mode, texts)
        records += [
            {"id": it["id"], "mode": mode, "score": s, "tokens": o.tokens, "completion_mode": m,
             "text": o.text if mode == "raw" else t}
            for it, s, o, m, t in zip(items, scores, outs, seen, texts)
        ]
    return summary, records


def evaluate_dir(model_dir: str | Path, items_path: str | Path, output: str | Path | None = None, **kw) -> dict:
    """Evaluate the checkpoint in ``model_dir``; write ``eval.json`` and per-item ``eval_items.jsonl`` beside it."""
    model_dir = Path(model_dir)
    items = read_jsonl(items_path, ITEM_KEYS)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    summary, records = evaluate(model, tokenizer, items, **kw)
    result = {"model": str(model_dir), "items": str(items_path), "settings": {"decoding": "greedy", **kw}, "modes": summary}
    output = Path(output) if output else model_dir / "eval.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    with (output.parent / "eval_items.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    for mode, s in summary.items():
        adherence = "n/a" if s["adherence"] is None else f"{s['adherence']:.3f}"
        print(f"[eval] {model_dir.name} {mode:8s} acc {s['accuracy']:.3f} ±{s['accuracy_ci95']:.3f} (n={s['n']}) "
              f"tokens {s['mean_tokens']:.1f} adherence {adherence}")
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Evaluate a checkpoint on toy items in think and no-think mode.")
    p.add_argument("--model", required=True)
    p.add_argument("--items", help="JSONL of items (id, family, prompt and grader columns); "
                                   "default: the held-out items of the world the checkpoint's handoff names")
    p.add_argument("--output", help="where to write eval.json (default: inside the model directory)")
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--modes", default="think,no_think",
                   help=f"comma-separated, of {', '.join(MODES)} (raw: the base model's pretraining format)")
    a = p.parse_args(argv)
    evaluate_dir(a.model, a.items or world_file(a.model), a.output, modes=tuple(a.modes.split(",")), max_new_tokens=a.max_new_tokens,
                 batch_size=a.batch_size)


if __name__ == "__main__":
    from .stage import run_main

    run_main(main)
