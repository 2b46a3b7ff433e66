"""Evaluate any HF checkpoint on the real benchmarks (evaluation only: nothing here trains).

    python -m hybridthink.benchmarks --model DIR [--benchmarks ../shared/benchmarks] [--full]
        [--families gsm8k,math500,aime24,amc23,humaneval,ifeval] [--settings think,no_think,budget:64,effort:low]
        [--k 4] [--out DIR]

Math (GSM8K, MATH-500, AIME24, AMC23) is graded with ``math_accuracy_reward`` (math-verify),
HumanEval with ``code_execution_reward`` in the sandbox, IFEval with Google's checkers
(``hybridthink.ifeval``; the score is prompt-level strict, and instruction-level and loose
figures come with it). Each setting is a thinking budget for
``hybridthink.budget.generate_with_budget``: ``think`` (no budget), ``no_think`` (budget 0),
``budget:N``, ``effort:LEVEL`` (a level of the checkpoint's ``thinking_efforts.json``,
``hybridthink.efforts``). With ``--k`` above 1 every item is sampled k times (Qwen3's
sampling settings per mode) and scored avg@k. Writes ``benchmarks.json`` (per family and setting:
avg@k with a 95% CI over items, tokens per correct answer, thinking and answer tokens),
``benchmarks.md`` and ``benchmark_items.jsonl`` (every completion with its score).

Before generating, every item is checked against the model's training data: the data files
that the handoff manifests of the model and of its parents list. An item whose question equals
(after collapsing whitespace and case) a string in those rows stops the run with the item and the
file named, unless ``--allow-overlap``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
from collections.abc import Iterator
from pathlib import Path

import torch
from tqdm import tqdm

from .budget import generate_with_budget, load_generator, resolve_budget
from .efforts import checkpoint_efforts
from .evaluation import ci95
from .handoff import MANIFEST, read_manifest, resolve_from
from .ifeval import Verdict, check
from .jsonl import DataError, read_jsonl
from .modes import THINK_CLOSE, split_thinking
from .rewards import code_execution_reward, math_accuracy_reward

MATH_SUFFIX = "\nPut the final answer in \\boxed{}."
CODE_PREFIX = "Complete the following Python function. Reply with the whole function in one Python code block.\n\n"
FAMILIES = ("gsm8k", "math500", "aime24", "amc23", "humaneval", "ifeval")
SAMPLING = {  # Qwen3's recommended sampling per mode (used when k > 1)
    "think": dict(temperature=0.6, top_p=0.95, top_k=20),
    "no_think": dict(temperature=0.7, top_p=0.8, top_k=20),
}


def _number(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def load_family(directory: Path, family: str) -> list[dict]:
    """The items of one benchmark family: id, family, question, prompt, and the grading columns."""
    if family == "gsm8k":
        return [{"id": f"gsm8k/{i}", "family": family, "question": r["question"], "prompt": r["question"] + MATH_SUFFIX,
                 "answer": r["answer"].rsplit("####", 1)[1].strip()} for i, r in enumerate(read_jsonl(directory / "gsm8k_test.jsonl"))]
    if family in ("math500", "aime24", "amc23"):
        rows = read_jsonl(directory / f"{family}.jsonl")
        return [{"id": f"{family}/{r.get('unique_id', i)}", "family": family, "question": r.get("problem") or r["question"],
                 "prompt": (r.get("problem") or r["question"]) + MATH_SUFFIX, "answer": _number(r["answer"])}
                for i, r in enumerate(rows)]
    if family == "humaneval":
        return [{"id": r["task_id"], "family": family, "question": r["prompt"],
                 "prompt": f"{CODE_PREFIX}```python\n{r['prompt']}```", "tests": r["test"], "entry_point": r["entry_point"]}
                for r in read_jsonl(directory / "humaneval.jsonl.gz")]
    if family == "ifeval":
        return [{"id": f"ifeval/{r['key']}", "family": family, "question": r["prompt"], "prompt": r["prompt"],
                 "instruction_id_list": r["instruction_id_list"], "kwargs": r["kwargs"]}
                for r in read_jsonl(directory / "ifeval_input.jsonl")]
    raise ValueError(f"unknown benchmark family {family!r}; known: {', '.join(FAMILIES)}")


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def training_files(model_dir: Path) -> list[Path]:
    """The data files listed by the handoff manifests of ``model_dir`` and its parents (none
    for a checkpoint without a manifest)."""
    files, directory = [], model_dir
    while directory is not None and (directory / MANIFEST).is_file():
        manifest = read_manifest(directory)
        files += [resolve_from(directory, entry["path"]) for entry in manifest.get("data", {}).values()]
        parent = manifest.get("parent")
        directory = resolve_from(directory, parent["path"]) if parent else None
    return files


def overlaps(items: list[dict], files: list[Path]) -> list[tuple[dict, Path]]:
    """Items whose question equals a string of a training row (whitespace and case collapsed)."""
    wanted = {_normal(it["question"]): it for it in items}
    found = []
    for path in files:
        for text in _strings(read_jsonl(path)):
            item = wanted.pop(_normal(text), None)
            if item is not None:
                found.append((item, path))
    return found


def setting_budget(setting: str, efforts: dict) -> int | None:
    """The thinking budget of a setting: think, no_think, budget:N or effort:LEVEL."""
    if setting in ("think", "no_think"):
        return None if setting == "think" else 0
    kind, _, value = setting.partition(":")
    if kind == "budget" and value.isdigit():
        return int(value)
    if kind == "effort" and value:
        return resolve_budget([], effort=value, efforts=efforts)
    raise ValueError(f"unknown setting {setting!r}: use think, no_think, budget:N or effort:LEVEL")


def _ifeval_grades(item: dict, text: str) -> dict:
    """Prompt-level strict score plus instruction counts (strict and loose) for one IFEval answer."""
    thinking, answer = split_thinking(text)
    verdicts = check(answer, item["instruction_id_list"], item["kwargs"], item["prompt"])
    if thinking is not None and THINK_CLOSE not in text:  # no answer part: nothing is followed
        verdicts = [Verdict(v.instruction_id, False, False) for v in verdicts]
    return {"score": float(all(v.strict for v in verdicts)), "loose": float(all(v.loose for v in verdicts)),
            "instructions": len(verdicts), "followed_strict": sum(v.strict for v in verdicts),
            "followed_loose": sum(v.loose for v in verdicts)}


def score(items: list[dict], texts: list[str]) -> list[dict]:
    """Per completion ``{"score": 1.0 | 0.0, ...}`` with the family's verifier (a gold answer that
    cannot be parsed: 0); IFEval adds its loose score and instruction counts."""
    prompts = [it["prompt"] for it in items]
    if all("instruction_id_list" in it for it in items):
        return [_ifeval_grades(it, text) for it, text in zip(items, texts, strict=True)]
    if all("tests" in it for it in items):
        scores = code_execution_reward(prompts, texts, tests=[it["tests"] for it in items],
                                       entry_point=[it["entry_point"] for it in items])
    else:
        scores = math_accuracy_reward(prompts, texts, answer=[it["answer"] for it in items])
    return [{"score": float(s or 0.0)} for s in scores]


def run_setting(model, tokenizer, items: list[dict], setting: str, budget: int | None, k: int, *,
                max_thinking_tokens: int, max_answer_tokens: int, seed: int, batch_size: int) -> list[dict]:
    """k completions per item under one setting, scored: one record per completion."""
    conversations = [[{"role": "user", "content": it["prompt"]}] for it in items]
    sampling = dict(do_sample=True, **SAMPLING["no_think" if budget == 0 else "think"]) if k > 1 else {}
    records = []
    for j in range(k):
        torch.manual_seed(seed + j)
        outs = generate_with_budget(model, tokenizer, conversations, budget, max_answer_tokens=max_answer_tokens,
                                    max_thinking_tokens=max_thinking_tokens, batch_size=batch_size, **sampling)
        scores = score(items, [o.text for o in outs])
        records += [{"id": it["id"], "family": it["family"], "setting": setting, "sample": j, **s,
                     "thinking_tokens": o.thinking_tokens, "answer_tokens": o.answer_tokens, "forced": o.forced,
                     "text": o.text} for it, o, s in zip(items, outs, scores, strict=True)]
    return records


def summarise(records: list[dict]) -> dict:
    """avg@k with a 95% CI over items, tokens per correct answer, mean thinking / answer tokens."""
    by_item: dict[str, list[float]] = {}
    for r in records:
        by_item.setdefault(r["id"], []).append(r["score"])
    per_item = [statistics.fmean(v) for v in by_item.values()]
    tokens = [r["thinking_tokens"] + r["answer_tokens"] for r in records]
    correct = sum(r["score"] for r in records)
    return {"n_items": len(per_item), "k": len(records) // max(1, len(per_item)),
            "avg_at_k": statistics.fmean(per_item), "ci95": ci95(per_item),
            "tokens_per_correct": sum(tokens) / correct if correct else None,
            "mean_thinking_tokens": statistics.fmean(r["thinking_tokens"] for r in records),
            "mean_answer_tokens": statistics.fmean(r["answer_tokens"] for r in records),
            **_instruction_levels(records)}


def _instruction_levels(records: list[dict]) -> dict:
    """IFEval's other three figures (prompt-level loose, instruction-level strict and loose), if graded."""
    if not records or "instructions" not in records[0]:
        return {}
    total = sum(r["instructions"] for r in records)
    return {"prompt_level_loose": statistics.fmean(r["loose"] for r in records),
            "instruction_level_strict": sum(r["followed_strict"] for r in records) / total,
            "instruction_level_loose": sum(r["followed_loose"] for r in records) / total}


def to_markdown(result: dict) -> str:
    scope = "full sets" if result["full"] else f"first {result['limit']} items per family"
    lines = [f"Model `{result['model']}`, k = {result['k']}, seed {result['seed']} ({scope}).", "",
             "| family | setting | avg@k (±95% CI) | items | tokens per correct | thinking / answer tokens |",
             "|---|---|---|---|---|---|"]
    for family, settings in result["families"].items():
        for setting, m in settings.items():
            tpc = "–" if m["tokens_per_correct"] is None else f"{m['tokens_per_correct']:.0f}"
            lines.append(f"| {family} | {setting} | {m['avg_at_k']:.3f} ± {m['ci95']:.3f} | {m['n_items']} | {tpc} | "
                         f"{m['mean_thinking_tokens']:.0f} / {m['mean_answer_tokens']:.0f} |")
    for family, settings in result["families"].items():
        for setting, m in settings.items():
            if "instruction_level_strict" in m:
                lines.append(f"\n{family} {setting}: prompt-level strict {m['avg_at_k']:.3f} / loose "
                             f"{m['prompt_level_loose']:.3f}, instruction-level strict "
                             f"{m['instruction_level_strict']:.3f} / loose {m['instruction_level_loose']:.3f}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Evaluate a checkpoint on GSM8K, MATH-500, AIME24, AMC23, HumanEval and IFEval.")
    p.add_argument("--model", required=True, type=Path)
    p.add_argument("--benchmarks", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "benchmarks")
    p.add_argument("--families", default=",".join(FAMILIES))
    p.add_argument("--settings", default="think,no_think")
    p.add_argument("--limit", type=int, default=8, help="items per family unless --full")
    p.add_argument("--full", action="store_true")
    p.add_argument("--k", type=int, default=1, help="completions per item (greedy when 1, sampled otherwise)")
    p.add_argument("--max-thinking-tokens", type=int, default=1024)
    p.add_argument("--max-answer-tokens", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=16, help="rows per HF generate call")
    p.add_argument("--backend", choices=["hf", "vllm"], default="hf", help="generate with HF or with a vLLM engine")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--allow-overlap", action="store_true", help="evaluate items found in the training data too")
    p.add_argument("--out", type=Path, help="default: <model>/benchmarks")
    a = p.parse_args(argv)
    families = [f for f in a.families.split(",") if f]
    settings = [s for s in a.settings.split(",") if s]
    try:
        budgets = {s: setting_budget(s, checkpoint_efforts(a.model)) for s in settings}
        items = {f: load_family(a.benchmarks, f)[: None if a.full else a.limit] for f in families}
    except (ValueError, DataError) as err:
        raise SystemExit(f"error: {err}") from None
    found = overlaps([it for group in items.values() for it in group], training_files(a.model))
    if found and not a.allow_overlap:
        named = "; ".join(f"{it['id']} in {path}" for it, path in found[:5])
        raise SystemExit(f"error: {len(found)} benchmark item(s) appear in the model's training data ({named}); "
                         "evaluate elsewhere or pass --allow-overlap")
    model, tokenizer = load_generator(a.model, a.backend)
    records, result = [], {"model": str(a.model), "k": a.k, "seed": a.seed, "backend": a.backend, "full": a.full, "limit": a.limit,
                           "overlapping_items": [it["id"] for it, _ in found], "families": {}}
    for family, group in tqdm([(f, items[f]) for f in families], desc="benchmarks"):
        for setting in settings:
            recs = run_setting(model, tokenizer, group, setting, budgets[setting], a.k,
                               max_thinking_tokens=a.max_thinking_tokens, max_answer_tokens=a.max_answer_tokens,
                               seed=a.seed, batch_size=a.batch_size)
            records += recs
            result["families"].setdefault(family, {})[setting] = summarise(recs)
    out = a.out or a.model / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmarks.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "benchmarks.md").write_text(to_markdown(result))
    with open(out / "benchmark_items.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    print(to_markdown(result))
    print(f"wrote {out}/benchmarks.json, benchmarks.md, benchmark_items.jsonl")


if __name__ == "__main__":
    main()
