"""Stage 1 — long-CoT cold start: curated thinking-mode SFT with TRL's SFTTrainer.

    python -m stage1_cold_start --config recipes/toy/stage1.yaml --parent runs/toy/base --output runs/toy/stage1_cold_start
    (or scripts/stage1.sh, which wraps it in `accelerate launch`)
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

from hybridthink.decontamination import benchmark_questions, overlapping
from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import OPEN, RecipeError
from hybridthink.scoring import verifiable
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.training import LORA_DEFAULTS, SFT_DEFAULTS, run_sft
from hybridthink.toy.world import teacher_responses

from .dialogues import with_earlier_exchanges
from .filters import RESPONSE_FILTERS, balanced, filter_responses, solved_without_cot, think_text

STAGE = "stage1_cold_start"
DEFAULTS = {
    "data": {"split": "stage1", "max_samples": 600, "multi_turn_share": 0.3, "multi_turn_max_earlier": 2, "seed": 0,
             "leaked_eval_items": 0},
    "query_filter": {"drop_unverifiable": True, "drop_eval_overlap": True, "overlap_n": 13, "overlap_min_share": 0.8,
                     "boilerplate_share": 0.05,
                     "benchmarks": "../shared/benchmarks", "drop_solved_without_cot": True, "max_new_tokens": 96,
                     "batch_size": 64, "balance_families": True},
    "teacher": {"source": "world", "responses_per_query": 4, "noise": {"wrong_answer": 0.25, "repetition": 0.15, "guesswork": 0.0,
                                                   "inconsistent": 0.0, "language_mixing": 0.0}, "shortcut_share": 0.5,
                "seed": 0},
    "response_filter": {"max_line_repeats": 2, **{name: True for name in RESPONSE_FILTERS}},
    "lora": LORA_DEFAULTS,
    "trainer": OPEN,
}
TRAINER_DEFAULTS = {
    **SFT_DEFAULTS,
    "max_steps": 200,
    "per_device_train_batch_size": 16,
    "learning_rate": 1e-3,
    "max_length": 384,
}
ITEM_KEYS = ("id", "family", "prompt", "thinking", "response")
TEACHER_SOURCES = ("world", "dataset")


def teacher_candidates(items: list[dict], teacher: dict, where: str) -> list[list[dict]]:
    """Each query's long-CoT candidates: written by the toy world's teacher with its injected
    defects (source 'world'), or the item's own reasoning and answer from its dataset (source
    'dataset', one candidate; none for an item without reasoning)."""
    if teacher["source"] not in TEACHER_SOURCES:
        raise RecipeError(f"{where}: teacher.source must be one of {', '.join(TEACHER_SOURCES)}, got {teacher['source']!r}")
    if teacher["source"] == "dataset":
        return [[{"thinking": it["thinking"], "response": it["response"], "defect": None, "style": "dataset"}]
                if it["thinking"] is not None and it["response"] is not None else [] for it in items]
    rng = random.Random(teacher["seed"])
    return [teacher_responses(it, teacher["responses_per_query"], teacher["noise"], rng, teacher["shortcut_share"])
            for it in items]


def eval_texts(ctx, benchmarks: str, stats: dict) -> list[str]:
    """The prompts a query must not overlap: the world's held-out items and the benchmark questions
    in ``benchmarks`` (a folder, relative to the working directory; skipped, and said so, when absent)."""
    texts = [it["prompt"] for it in read_jsonl(ctx.world / "eval.jsonl", ("prompt",))]
    if Path(benchmarks).is_dir():
        questions = benchmark_questions(benchmarks)
        stats["eval_overlap_index"] = {"heldout_items": len(texts), "benchmark_questions": len(questions)}
        return texts + questions
    stats["eval_overlap_index"] = {"heldout_items": len(texts), "benchmark_questions": f"no folder {benchmarks}"}
    return texts


def query_filters(ctx, model, tokenizer, items: list[dict], stats: dict) -> list[dict]:
    """The queries left after the recipe's query filters (verifiability, evaluation overlap, solved
    without CoT), each counting in ``stats`` what it removed."""
    q = ctx.recipe["query_filter"]
    if q["drop_unverifiable"]:
        ok = [verifiable(it) for it in items]
        stats["removed_unverifiable"] = ok.count(False)
        items = [it for it, keep in zip(items, ok) if keep]
    if q["drop_eval_overlap"]:
        leaked = overlapping([it["prompt"] for it in items], eval_texts(ctx, q["benchmarks"], stats), q["overlap_n"],
                             q["boilerplate_share"], q["overlap_min_share"])
        stats["removed_eval_overlap"] = sum(leaked)
        stats["removed_eval_overlap_by_family"] = dict(Counter(it["family"] for it, x in zip(items, leaked) if x))
        items = [it for it, x in zip(items, leaked) if not x]
    if q["drop_solved_without_cot"]:
        solved = solved_without_cot(model, tokenizer, items, q["max_new_tokens"], q["batch_size"])
        stats["removed_solved_without_cot"] = sum(solved)
        stats["removed_solved_without_cot_by_family"] = dict(Counter(it["family"] for it, s in zip(items, solved) if s))
        items = [it for it, s in zip(items, solved) if not s]
    return items


def build_sft_rows(ctx, model, tokenizer) -> tuple[list[dict], dict]:
    """Curate thinking-mode SFT conversations from the world's stage-1 split; return rows and filter counts."""
    r = ctx.recipe
    items = read_jsonl(ctx.world / f"{r['data']['split']}.jsonl", ITEM_KEYS)
    if r["data"]["leaked_eval_items"]:  # a contaminated source: held-out items in this stage's pool only
        held_out = read_jsonl(ctx.world / "eval.jsonl", ITEM_KEYS)[: r["data"]["leaked_eval_items"]]
        items += [{**it, "id": f"leaked-{it['id']}"} for it in held_out]
    stats = {"queries": len(items), "leaked_eval_items": r["data"]["leaked_eval_items"]}
    items = query_filters(ctx, model, tokenizer, items, stats)
    candidates = teacher_candidates(items, r["teacher"], ctx.recipe_path or "recipe")
    stats["teacher_responses"] = sum(len(c) for c in candidates)
    stats["teacher_defects_injected"] = dict(Counter(c["defect"] for cs in candidates for c in cs if c["defect"]))
    f = r["response_filter"]
    kept, removed = filter_responses(items, candidates, f["max_line_repeats"], tuple(n for n in RESPONSE_FILTERS if f[n]))
    stats["removed_by_response_filter"] = removed
    n = r["data"]["max_samples"]
    kept = balanced(kept, n) if r["query_filter"]["balance_families"] else kept[:n]
    stats["sft_samples"] = len(kept)
    stats["sft_samples_by_family"] = dict(Counter(it["family"] for it, _ in kept))
    stats["sft_samples_by_style"] = dict(Counter(c["style"] for _, c in kept))
    rows = [
        {"id": it["id"], "messages": [{"role": "user", "content": it["prompt"]}, {"role": "assistant", "content": think_text(c)}]}
        for it, c in kept
    ]
    d = r["data"]
    stats["sft_dialogues"] = with_earlier_exchanges(rows, d["multi_turn_share"], d["multi_turn_max_earlier"], d["seed"])
    return rows, stats


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv)
    ctx = open_stage(STAGE, args, DEFAULTS, ("base",))
    if ctx is None:
        return
    model, tokenizer = ctx.load_parent_model()
    rows, stats = build_sft_rows(ctx, model, tokenizer)
    for key, value in stats.items():
        print(f"[{STAGE}] {key}: {value}")
    data, rows = ctx.write_data("sft", rows)
    model, train, weights = run_sft(ctx, model, tokenizer, [{"messages": r["messages"]} for r in rows], TRAINER_DEFAULTS)
    metrics = {"curation": stats, "train": train}
    finish_stage(ctx, model, tokenizer, data=data, metrics=metrics, weights=weights)


if __name__ == "__main__":
    run_main(main)
