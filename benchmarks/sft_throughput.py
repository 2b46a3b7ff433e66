"""SFT throughput: TRL's padded default against packing + padding-free, on the same data.

    python benchmarks/sft_throughput.py                        # toy-shaped model on the toy world, CPU or GPU
    python benchmarks/sft_throughput.py --shape qwen3-0.6b     # Qwen3-0.6B's shape, random weights (GPU)
    python benchmarks/sft_throughput.py --model DIR --data rows.jsonl   # any checkpoint, any `messages` rows

Each run trains one epoch over the same conversational rows with TRL's SFTTrainer from the same
initial weights, the kinds alternating, ``--repeats`` times each: "padded" is SFTConfig's default
(random batches padded to their longest row); "packed" is ``packing=True`` with the BFD strategy,
which TRL runs padding-free (the whole batch one long row, position ids mark the conversations
apart); "packed_rows" is the same packing with each packed row kept a row of the batch
(``hybridthink.packing``), for attention without a varlen kernel. Throughput counts the real tokens
each trainer fed, over ``train_runtime``, after one untimed warm-up run of each. On a GPU with a known peak (``--peak-tflops``) it also
prints the model FLOPs utilisation: 6 x parameters (no input embedding) per token plus causal
attention, 6 x layers x heads x head_dim x length per token (fwd + bwd).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer

from hybridthink.jsonl import read_jsonl
from hybridthink.modes import join_thinking
from hybridthink.packing import keep_packed_rows_apart
from hybridthink.stage import device_defaults
from random_models import SHAPES, random_model_factory, toy_tokenizer, toy_world

PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}  # dense, SXM
KINDS = ("padded", "packed", "packed_rows")


def toy_dialogues(n: int, seed: int) -> list[dict]:
    """``n`` toy-world conversations of 1 to 3 exchanges, every answer with its reference reasoning."""
    world = toy_world({"stage1": n, "stage3": n}, seed)
    items = world["stage1"] + world["stage3"]
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        messages = []
        for item in rng.sample(items, rng.randint(1, 3)):
            messages += [{"role": "user", "content": item["prompt"]},
                         {"role": "assistant", "content": join_thinking(item["thinking"], item["response"])}]
        rows.append({"messages": messages})
    return rows


def model_factory(args, tokenizer):
    """A function that returns the same initial model each call."""
    if args.model:
        return lambda: AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    return random_model_factory(args.shape, tokenizer, args.seed, args.max_length)


def flops_per_run(model, lengths: list[int]) -> float:
    """Training FLOPs of one pass over rows of these token lengths (see the module docstring)."""
    c = model.config
    params = sum(p.numel() for p in model.parameters()) - model.get_input_embeddings().weight.numel()
    if c.tie_word_embeddings:
        params += model.get_input_embeddings().weight.numel()  # the tied head still does its matmul
    attention = 6 * c.num_hidden_layers * c.num_attention_heads * c.head_dim
    return sum(6 * params * n + attention * n * n for n in lengths)


def run_once(kind: str, make_model, tokenizer, rows: list[dict], args, out_dir: Path) -> dict:
    packed = kind != "padded"
    config = SFTConfig(
        **device_defaults(), output_dir=str(out_dir / kind), num_train_epochs=1, save_strategy="no",
        per_device_train_batch_size=args.batch_size, max_length=args.max_length, learning_rate=1e-4,
        assistant_only_loss=True, packing=packed, packing_strategy="bfd", logging_steps=10_000,
        disable_tqdm=True, dataloader_num_workers=0,
    )
    model = make_model()
    trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows), processing_class=tokenizer)
    if kind == "packed_rows":
        keep_packed_rows_apart(trainer)
    data = trainer.train_dataset
    lengths = [n for seq in data["seq_lengths"] for n in seq] if packed else [len(ids) for ids in data["input_ids"]]
    result = trainer.train()
    seconds = result.metrics["train_runtime"]
    record = {"kind": kind, "seconds": seconds, "tokens": sum(lengths), "steps": result.global_step,
              "tokens_per_s": sum(lengths) / seconds, "loss": result.training_loss}
    if args.peak_tflops:
        record["mfu"] = flops_per_run(model, lengths) / seconds / (args.peak_tflops * 1e12)
    return record


def summary(records: list[dict], key: str) -> tuple[float, float]:
    values = [r[key] for r in records]
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint directory (weights and tokenizer); default: random weights of --shape")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="toy")
    parser.add_argument("--kinds", nargs="+", choices=KINDS[1:], default=list(KINDS[1:]),
                        help="packed runs to compare with the padded one (default: both)")
    parser.add_argument("--data", help="JSONL of conversational rows (`messages`); default: toy-world dialogues")
    parser.add_argument("--rows", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--peak-tflops", type=float, help="device peak for MFU (default: known GPUs' dense bf16)")
    parser.add_argument("--out", type=Path, help="write the records and the summary as JSON here")
    parser.add_argument("--work-dir", type=Path, default=Path("runs/bench_sft"))
    args = parser.parse_args(argv)
    args.kinds = ["padded", *dict.fromkeys(args.kinds)]
    if args.peak_tflops is None and torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        args.peak_tflops = next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)

    tokenizer = AutoTokenizer.from_pretrained(args.model) if args.model else toy_tokenizer(args.seed)
    rows = read_jsonl(Path(args.data), ("messages",))[: args.rows] if args.data else toy_dialogues(args.rows, args.seed)
    make_model = model_factory(args, tokenizer)
    for kind in args.kinds:  # warm-up (kernels, allocator), not recorded
        run_once(kind, make_model, tokenizer, rows[: 4 * args.batch_size], args, args.work_dir)
    records = []
    for repeat in range(args.repeats):
        for kind in args.kinds:
            record = {**run_once(kind, make_model, tokenizer, rows, args, args.work_dir), "repeat": repeat}
            records.append(record)
            print(json.dumps(record), flush=True)
    by_kind = {k: [r for r in records if r["kind"] == k] for k in args.kinds}
    result = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "shape": args.model or args.shape, "rows": len(rows), "batch_size": args.batch_size,
              "max_length": args.max_length, "repeats": args.repeats, "seed": args.seed, "records": records}
    for kind, recs in by_kind.items():
        mean, sd = summary(recs, "tokens_per_s")
        result[f"{kind}_tokens_per_s"] = [mean, sd]
        line = f"{kind:>11}: {mean:,.0f} +- {sd:,.0f} tokens/s (n={len(recs)}, seed {args.seed})"
        if args.peak_tflops:
            mfu, mfu_sd = summary(recs, "mfu")
            result[f"{kind}_mfu"] = [mfu, mfu_sd]
            line += f", MFU {mfu:.1%} +- {mfu_sd:.1%} of {args.peak_tflops:g} TFLOP/s"
        print(line)
    result["speedup"] = {}
    for kind in args.kinds[1:]:
        ratios = [p["tokens_per_s"] / q["tokens_per_s"] for p, q in zip(by_kind[kind], by_kind["padded"])]
        result["speedup"][kind] = [statistics.fmean(ratios), statistics.stdev(ratios) if len(ratios) > 1 else 0.0]
        mean, sd = result["speedup"][kind]
        print(f"{kind} / padded: {mean:.2f}x +- {sd:.2f} (n={len(ratios)} paired runs)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
