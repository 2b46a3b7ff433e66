"""Stage 3 — thinking mode fusion: continual SFT on thinking and non-thinking data with flags.

    python -m stage3_mode_fusion --config recipes/toy/stage3.yaml --parent runs/toy/stage2_reasoning_rl --output runs/toy/stage3_mode_fusion
    (or scripts/stage3.sh, which wraps it in `accelerate launch`)

``--mix NAME`` (a file in ``recipes/toy/mixes/``, or a path) replaces the recipe's data mix;
``scripts/sweep_mixes.sh`` runs several mixes and seeds from one stage-2 checkpoint.
``mix.variant`` instruct / thinking makes Qwen3-2507's split variants instead of the hybrid
(``recipes/toy/variants/``): one mode, no flags, and the variant's chat template saved with the model.
"""

from __future__ import annotations

from hybridthink.chat_template import install_chat_template
from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import OPEN
from hybridthink.stage import finish_stage, open_stage, parse_args, run_main
from hybridthink.training import LORA_DEFAULTS, SFT_DEFAULTS, run_sft

from .fusion_data import (budget_rows, check_variant, fill_empty_groups, fill_unsolved, fusion_rows, inherit_phase_rows,
                          rejection_sample, tool_rows)
from .length_rows import length_rows
from .sample_reuse import SAMPLES, reused_samples, sample_rows

STAGE = "stage3_mode_fusion"
DEFAULTS = {
    "data": {"thinking_split": "stage1", "non_thinking_split": "stage3", "max_queries": 450, "tool_split": None},
    "rejection_sampling": {"k": 4, "temperature": 0.6, "max_new_tokens": 200, "batch_size": 64, "seed": 0,
                           "max_line_repeats": 2, "reuse": None},
    "mix": {"size": 600, "thinking_ratio": 0.5, "think_flag_share": 0.3, "system_flag_share": 0.2,
            "system_prompt_share": 0.3, "hard_switch_share": 0.2, "multi_turn_share": 0.2, "multi_turn_max_earlier": 1,
            "multi_turn_inherit_share": 0.0, "multi_turn_inherit_balanced": False, "inherit_twins": False, "balance_by": ["family"],
            "upsample_scarce": False, "fill_empty_groups": False, "fill_unsolved": False, "paired": False, "family_shares": None, "variant": "hybrid", "budget_share": 0.0, "budget_range": [4, 48],
            "tool_rows": 0, "tool_no_think_share": 0.5, "length_rows": 0, "length_families": ["arithmetic"], "seed": 0},
    # A first training phase on dialogues that all end on an unflagged turn, so that the mode must be
    # read from an earlier turn's flag; then the mix (results/thinkfollow_toy/README.md, "Reading an
    # earlier flag"). 0 steps: off.
    "inherit_phase": {"steps": 0},
    # Effort levels -> thinking budgets in tokens, saved with the checkpoint (hybridthink.efforts);
    # empty: hybridthink.efforts.DEFAULT_EFFORTS.
    "efforts": OPEN,
    "lora": LORA_DEFAULTS,
    "trainer": OPEN,
}
TRAINER_DEFAULTS = {
    **SFT_DEFAULTS,
    "max_steps": 120,
    "per_device_train_batch_size": 16,
    "learning_rate": 5e-4,
    "max_length": 512,
}
ITEM_KEYS = ("id", "family", "prompt", "response")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__.splitlines()[0], argv, takes_mix=True)
    ctx = open_stage(STAGE, args, DEFAULTS, ("stage2_reasoning_rl",))
    if ctx is None:
        return
    r = ctx.recipe
    check_variant(r["mix"], ctx.mix_path or ctx.recipe_path or "recipe")
    model, tokenizer = ctx.load_parent_model()
    keys = ITEM_KEYS + tuple(r["mix"]["balance_by"])
    queries = read_jsonl(ctx.world / f"{r['data']['thinking_split']}.jsonl", keys)[: r["data"]["max_queries"]]
    direct = read_jsonl(ctx.world / f"{r['data']['non_thinking_split']}.jsonl", keys)
    no_response = sum(d["response"] is None for d in direct)  # e.g. prompts a real recipe gave instructions only
    direct = [d for d in direct if d["response"] is not None]
    rs = r["rejection_sampling"]
    if rs["reuse"]:
        thinking, rs_stats = reused_samples(rs["reuse"], ctx.parent, r, STAGE)
    else:
        thinking, rs_stats = rejection_sample(model, tokenizer, queries, rs["k"], rs["max_new_tokens"], rs["temperature"],
                                              rs["batch_size"], rs["seed"], rs["max_line_repeats"])
    sampled, _ = ctx.write_data(SAMPLES, sample_rows(thinking))
    if r["mix"]["fill_unsolved"]:
        thinking, rs_stats["reference_filled"] = fill_unsolved(thinking, queries)
    elif r["mix"]["fill_empty_groups"]:
        thinking, rs_stats["reference_filled"] = fill_empty_groups(thinking, queries, r["mix"]["balance_by"])
    print(f"[{STAGE}] rejection sampling: {rs_stats}")
    rows, mix_counts = fusion_rows(thinking, direct, r["mix"], r["mix"]["seed"])
    mix_counts["non_thinking_without_response"] = no_response
    mix_counts.update(budget_rows(rows, tokenizer, r["mix"]["budget_share"], r["mix"]["budget_range"], r["mix"]["seed"]))
    if r["mix"]["length_rows"]:
        lengths, length_counts = length_rows(thinking, r["mix"]["length_rows"], r["mix"]["length_families"], r["mix"],
                                             r["mix"]["seed"])
        rows += lengths
        mix_counts.update(length_counts)
    if r["mix"]["tool_rows"]:
        if not r["data"]["tool_split"]:
            raise SystemExit(f"[{STAGE}] mix.tool_rows needs data.tool_split (a world split of tool items)")
        tool_items = read_jsonl(ctx.world / f"{r['data']['tool_split']}.jsonl", ("id", "prompt", "expression", "answer"))
        tools = tool_rows(tool_items, r["mix"]["tool_rows"], r["mix"]["tool_no_think_share"], r["mix"]["seed"])
        rows += tools
        mix_counts["tool"] = len(tools)
    print(f"[{STAGE}] fusion mix: {mix_counts}")
    if not rows:
        raise SystemExit(f"[{STAGE}] the fusion mix is empty (see counts above)")
    data, rows = ctx.write_data("fusion", rows)
    data.update(sampled)
    if r["mix"]["variant"] != "hybrid":  # after rejection sampling, which prompts with the parent's template
        install_chat_template(tokenizer, r["mix"]["variant"])
    metrics = {"rejection_sampling": rs_stats, "mix": mix_counts}
    if r["inherit_phase"]["steps"]:
        phase_rows, metrics["inherit_phase_mix"] = inherit_phase_rows(thinking, direct, r["mix"], r["mix"]["seed"])
        print(f"[{STAGE}] inherit phase ({r['inherit_phase']['steps']} steps): {metrics['inherit_phase_mix']}")
        phase_data, phase_rows = ctx.write_data("inherit_phase", phase_rows)
        data.update(phase_data)
        model, metrics["inherit_phase_train"], _ = run_sft(ctx, model, tokenizer, _sft_rows(phase_rows), TRAINER_DEFAULTS,
                                                           phase="inherit_phase", max_steps=r["inherit_phase"]["steps"])
    model, metrics["train"], weights = run_sft(ctx, model, tokenizer, _sft_rows(rows), TRAINER_DEFAULTS)
    finish_stage(ctx, model, tokenizer, data=data, metrics=metrics, weights=weights)


def _sft_rows(rows: list[dict]) -> list[dict]:
    return [{"messages": row["messages"], "chat_template_kwargs": row["chat_template_kwargs"], "tools": row.get("tools")}
            for row in rows]


if __name__ == "__main__":
    run_main(main)
