"""Evaluate a checkpoint on held-out toy items in thinking and non-thinking mode.

    python -m hybridthink.evaluation --model runs/toy/stage1_cold_start --items runs/toy/base/world/eval.jsonl
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
from collections import defaultdict
from pathlib import Path

from .chat_template import template_variant
from .generation import assistant_turn, chat_prompts, generate
from .handoff import HandoffError, world_file
from .jsonl import read_jsonl
from .length_control import length_instruction, length_reward, length_text
from .modes import NO_THINK_FLAG, VARIANT_MODES, split_thinking, turn_mode
from .scoring import score_items
from .stage import load_checkpoint, run_main
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


def signed(value: float) -> str:
    """A change with its sign, three decimals; a change that rounds to zero reads +0.000, never -0.000."""
    return f"{round(value, 3) + 0.0:+.3f}"


# Words of deliberation that a non-thinking answer should not need (no-think leakage).
HESITATION_RE = re.compile(r"\b(wait|hmm+|actually|let me|let's|double[- ]check|re-?check|on second thought|"
                           r"alternatively|step by step|i think)\b", re.IGNORECASE)


def leakage(texts: list[str]) -> dict:
    """No-think leakage: share of answers with a hesitation word, and hesitation words per answer."""
    counts = [len(HESITATION_RE.findall(split_thinking(t)[1])) for t in texts]
    return {"share_with_hesitation": statistics.fmean(float(c > 0) for c in counts),
            "hesitation_words_per_answer": statistics.fmean(counts)}


def ifeval_pass_rates(items: list[dict], scores: list[float]) -> dict | None:
    """IFEval's prompt-level (every instruction followed) and instruction-level (share of all
    instructions followed) strict pass rates over the items that carry IFEval instructions."""
    graded = [(len(it["instruction_id_list"]), s) for it, s in zip(items, scores) if it.get("instruction_id_list")]
    if not graded:
        return None
    prompt_level = [float(s >= 1.0) for _, s in graded]
    return {"n_prompts": len(graded), "n_instructions": sum(k for k, _ in graded),
            "prompt_level": statistics.fmean(prompt_level), "prompt_level_ci95": ci95(prompt_level),
            "instruction_level": sum(k * s for k, s in graded) / sum(k for k, _ in graded)}


def length_control_items(items: list[dict], n: int, families: tuple[str, ...], seed: int = 0) -> list[dict]:
    """The first ``n`` items of ``families``, each asking for a length ("Answer in at most 5 words.")
    drawn around its reference answer's own length, carried in its ``length`` column."""
    rng = random.Random(f"length-eval-{seed}")
    out = []
    for item in [it for it in items if it["family"] in families][:n]:
        spec = length_instruction(item.get("response") or "", rng)
        out.append({**item, "prompt": f"{item['prompt']} {length_text(spec)}", "length": spec})
    return out


def summarise(items: list[dict], scores: list[float], tokens: list[int], modes_seen: list[str | None], mode: str,
              texts: list[str] | None = None) -> dict:
    """Accuracy (with 95% CI), accuracy per family and difficulty, IFEval pass rates, tokens, mode
    adherence, and for no-think mode the leakage of deliberation into the answers."""
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
        "ifeval": ifeval_pass_rates(items, scores),
        "leakage": leakage(texts) if mode == "no_think" and texts is not None else None,
    }


def evaluate(model, tokenizer, items: list[dict], *, modes=("think", "no_think"), max_new_tokens: int = 200,
             batch_size: int = 64, length_items: int = 0, length_families: tuple[str, ...] = ("arithmetic",)
             ) -> tuple[dict, list[dict]]:
    """Greedy-decode every item in every mode; return (summary per mode, per-item records). With
    ``length_items`` that many items of ``length_families`` are asked again with a length
    instruction in each chat mode (length-control accuracy, records under mode ``<mode>/length``)."""
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
            {"id": it["id"], "family": it["family"], "mode": mode, "score": s, "tokens": o.tokens, "completion_mode": m,
             "text": o.text if mode == "raw" else t}
            for it, s, o, m, t in zip(items, scores, outs, seen, texts)
        ]
        if length_items and mode != "raw":
            summary[mode]["length_control"], length_records = _length_control(
                model, tokenizer, length_control_items(items, length_items, length_families), mode, variant,
                max_new_tokens, batch_size)
            records += length_records
    return summary, records


def _length_control(model, tokenizer, items: list[dict], mode: str, variant: str, max_new_tokens: int,
                    batch_size: int) -> tuple[dict, list[dict]]:
    """Share of answers within their asked length (± 95% CI), by relation, and answer accuracy."""
    prompts = chat_prompts(tokenizer, [conversation(it, mode if variant == "hybrid" else "think") for it in items])
    outs = [g[0] for g in generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size,
                                   desc=f"length control {mode}")]
    texts = [assistant_turn(p, o.text) for p, o in zip(prompts, outs)]
    within = length_reward(prompts, texts, [it["length"] for it in items])
    scores = score_items(items, texts)
    by_relation = defaultdict(list)
    for it, ok in zip(items, within):
        by_relation[f"{it['length']['relation']} {it['length']['unit']}"].append(ok)
    summary = {"n": len(items), "accuracy": statistics.fmean(within), "accuracy_ci95": ci95(within),
               "by_relation": {k: statistics.fmean(v) for k, v in sorted(by_relation.items())},
               "answer_accuracy": statistics.fmean(scores)}
    records = [{"id": it["id"], "family": it["family"], "mode": f"{mode}/length", "length": it["length"], "score": ok, "answer_score": s,
                "tokens": o.tokens, "text": t} for it, ok, s, o, t in zip(items, within, scores, outs, texts)]
    return summary, records


def evaluate_dir(model_dir: str | Path, items_path: str | Path, output: str | Path | None = None, **kw) -> dict:
    """Evaluate the checkpoint in ``model_dir``; write ``eval.json`` and per-item ``eval_items.jsonl`` beside it."""
    model_dir = Path(model_dir)
    items = read_jsonl(items_path, ITEM_KEYS)
    model, tokenizer = load_checkpoint(model_dir)
    summary, records = evaluate(model, tokenizer, items, **kw)
    result = {"model": str(model_dir), "items": str(items_path), "settings": {"decoding": "greedy", **kw}, "modes": summary}
    output = Path(output) if output else model_dir / "eval.json"
    output.write_text(json.dumps(result, indent=2) + "\n")
    with (output.parent / "eval_items.jsonl").open("w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    for mode, s in summary.items():
        adherence = "n/a" if s["adherence"] is None else f"{s['adherence']:.3f}"
        extra = "".join([f" | IFEval prompt-level {s['ifeval']['prompt_level']:.3f}" if s["ifeval"] else "",
                         f" | length control {s['length_control']['accuracy']:.3f}" if s.get("length_control") else ""])
        print(f"[eval] {model_dir.name} {mode:8s} acc {s['accuracy']:.3f} ±{s['accuracy_ci95']:.3f} (n={s['n']}) "
              f"tokens {s['mean_tokens']:.1f} adherence {adherence}{extra}")
    return result


def load_eval(directory: str | Path) -> tuple[dict, dict[tuple[str, str], float]]:
    """A checkpoint's ``eval.json`` modes and its per-(item id, mode) scores from ``eval_items.jsonl``."""
    directory = Path(directory)
    if not (directory / "eval.json").is_file():
        raise HandoffError(f"{directory}: no eval.json (evaluate it first: python -m hybridthink.evaluation --model {directory})")
    modes = json.loads((directory / "eval.json").read_text())["modes"]
    records = read_jsonl(directory / "eval_items.jsonl", ("id", "mode", "score"))
    return modes, {(r["id"], r["mode"]): r["score"] for r in records}


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
    p.add_argument("--length-items", type=int, default=60,
                   help="items asked again with a length instruction in each chat mode (0: no length-control eval)")
    p.add_argument("--length-families", default="arithmetic", help="comma-separated item families for length control")
    a = p.parse_args(argv)
    evaluate_dir(a.model, a.items or world_file(a.model), a.output, modes=tuple(a.modes.split(",")), max_new_tokens=a.max_new_tokens,
                 batch_size=a.batch_size, length_items=a.length_items, length_families=tuple(a.length_families.split(",")))


if __name__ == "__main__":
    run_main(main)
