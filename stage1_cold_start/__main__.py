"""Stage 1 — long-CoT cold start: curated thinking-mode SFT with TRL's SFTTrainer.

    python -m stage1_cold_start --config recipes/toy/stage1.yaml --parent runs/toy/base --output runs/toy/stage1_cold_start
    (or scripts/stage1.sh, which wraps it in `accelerate launch`)
"""

from __future__ import annotations

import random
from collections import Counter

from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import OPEN
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.training import LORA_DEFAULTS, SFT_DEFAULTS, run_sft
from hybridthink.toy.world import teacher_responses

from .dialogues import with_earlier_exchanges
from .filters import filter_responses, solved_without_cot, think_text

STAGE = "stage1_cold_start"
DEFAULTS = {
    "data": {"split": "stage1", "max_samples": 600, "multi_turn_share": 0.3, "multi_turn_max_earlier": 2, "seed": 0},
    "query_filter": {"drop_solved_without_cot": True, "max_new_tokens": 96, "batch_size": 64},
    "teacher": {"responses_per_query": 4, "noise": {"wrong_answer": 0.25, "repetition": 0.15}, "shortcut_share": 0.5,
                "seed": 0},
    "response_filter": {"max_line_repeats": 2},
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


def build_sft_rows(ctx, model, tokenizer) -> tuple[list[dict], dict]:
    """Curate thinking-mode SFT conversations from the world's stage-1 split; return rows and filter counts."""
    r = ctx.recipe
    items = read_jsonl(ctx.world / f"{r['data']['split']}.jsonl", ITEM_KEYS)
    stats = {"queries": len(items)}
    if r["query_filter"]["drop_solved_without_cot"]:
        solved = solved_without_cot(model, tokenizer, items, r["query_filter"]["max_new_tokens"], r["query_filter"]["batch_size"])
        stats["removed_solved_without_cot"] = sum(solved)
        stats["removed_solved_without_cot_by_family"] = dict(Counter(it["family"] for it, s in zip(items, solved) if s))
        items = [it for it, s in zip(items, solved) if not s]
    rng = random.Random(r["teacher"]["seed"])
    t = r["teacher"]
    candidates = [teacher_responses(it, t["responses_per_query"], t["noise"], rng, t["shortcut_share"]) for it in items]
    stats["teacher_responses"] = sum(len(c) for c in candidates)
    stats["teacher_defects_injected"] = dict(Counter(c["defect"] for cs in candidates for c in cs if c["defect"]))
    kept, removed = filter_responses(items, candidates, r["response_filter"]["max_line_repeats"])
    stats["removed_by_response_filter"] = removed
    kept = kept[: r["data"]["max_samples"]]
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
    model, train = run_sft(ctx, model, tokenizer, [{"messages": r["messages"]} for r in rows], TRAINER_DEFAULTS)
    metrics = {"curation": stats, "train": train}
    finish_stage(ctx, model, tokenizer, data=data,
                 metrics=metrics)


if __name__ == "__main__":
    run_main(main)
