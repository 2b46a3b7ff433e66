"""GRPO step time split into generation, scoring and the rest (the update: forward, backward, optimizer).

    python benchmarks/grpo_step_time.py --model runs/toy/stage3_mode_fusion --items runs/toy/base/world/stage4.jsonl
    python benchmarks/grpo_step_time.py --shape qwen3-0.6b     # Qwen3-0.6B's shape, random weights (GPU)

Runs TRL's GRPOTrainer for ``--steps`` steps on toy-world prompts (a fresh toy world's stage-4
items unless ``--items`` is given) with the stage-4 rewards (math,
code in the sandbox, instructions, mode adherence) and reads TRL's own profiling timers, which it
otherwise sends only to experiment trackers: ``transformers.generate`` (rollouts) and
``_calculate_rewards`` (scoring). The rest of the step time TRL logs is the update (the loss's
forward pass, backward, optimizer) and bookkeeping. The first step is a warm-up and not counted.
Printed per step: mean +- sd seconds of each part and its share of the step, and the rollout
throughput: completion tokens generated per second of generation. A model of random weights rarely
stops early, so its rollouts run to ``--max-completion-length``.
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict
from pathlib import Path

import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
from trl import GRPOConfig, GRPOTrainer
from trl.extras import profiling

from hybridthink.jsonl import read_jsonl
from hybridthink.rewards import (code_execution_reward, ifeval_reward, math_accuracy_reward,
                                 mode_adherence_reward)
from hybridthink.stage import device_defaults
from random_models import SHAPES, random_model_factory, toy_tokenizer, toy_world
from stage4_general_rl.prompts import rl_rows

REWARDS = [math_accuracy_reward, code_execution_reward, ifeval_reward, mode_adherence_reward]
PARTS = {"generation": ("GRPOTrainer.transformers.generate", "GRPOTrainer.transformers.generate_batch"),
         "scoring": ("GRPOTrainer._calculate_rewards",)}


class StepTimes:
    """Collects TRL's profiling durations (seconds) per timer name, step by step."""

    def __init__(self):
        self.current, self.steps = defaultdict(float), []

    def record(self, name: str, seconds: float) -> None:
        self.current[name] += seconds

    def close_step(self) -> None:
        self.steps.append(dict(self.current))
        self.current.clear()


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    model = parser.add_mutually_exclusive_group(required=True)
    model.add_argument("--model", help="checkpoint directory (weights and tokenizer)")
    model.add_argument("--shape", choices=sorted(SHAPES), help="random weights of this shape, the toy tokenizer")
    parser.add_argument("--items", help="toy-world items (e.g. world/stage4.jsonl); default: a fresh toy world's")
    parser.add_argument("--steps", type=int, default=6, help="steps timed after one warm-up step")
    parser.add_argument("--prompts-per-step", type=int, default=8)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--max-completion-length", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write the per-step records and the summary as JSON here")
    parser.add_argument("--work-dir", type=Path, default=Path("runs/bench_grpo"))
    args = parser.parse_args(argv)

    times = StepTimes()
    # TRL's ProfilingContext logs only to experiment trackers; keep its durations here instead.
    profiling.ProfilingContext._log_metrics = lambda ctx, seconds: times.record(ctx.name, seconds)
    if args.items:
        items = read_jsonl(Path(args.items), ("id", "family", "prompt"))
    else:
        items = toy_world({"stage4": 4 * args.prompts_per_step * (args.steps + 1)}, args.seed)["stage4"]
    if args.model:
        model, tokenizer = AutoModelForCausalLM.from_pretrained(args.model), AutoTokenizer.from_pretrained(args.model)
    else:
        tokenizer = toy_tokenizer(args.seed)
        model = random_model_factory(args.shape, tokenizer, args.seed)()
    rows, _ = rl_rows(items, no_think_share=0.5, think_flag_share=0.3, seed=args.seed)
    config = GRPOConfig(output_dir=str(args.work_dir), max_steps=args.steps + 1, num_generations=args.generations,
                        per_device_train_batch_size=args.prompts_per_step * args.generations,
                        max_completion_length=args.max_completion_length, temperature=1.0, beta=0.0,
                        learning_rate=1e-6, logging_steps=1, save_strategy="no", **{**device_defaults(), "seed": args.seed})
    trainer = GRPOTrainer(model=model, reward_funcs=REWARDS, args=config, train_dataset=Dataset.from_list(rows),
                          processing_class=tokenizer)

    class CloseStep(TrainerCallback):
        def on_step_end(self, *_, **__):
            times.close_step()

    trainer.add_callback(CloseStep())
    trainer.train()
    logged = [row for row in trainer.state.log_history if "step_time" in row]
    records = []
    for row, timers in list(zip(logged, times.steps, strict=True))[1:]:  # the first step warms up
        parts = {part: sum(timers.get(name, 0.0) for name in names) for part, names in PARTS.items()}
        tokens = row["completions/mean_length"] * args.prompts_per_step * args.generations
        records.append({"step_s": row["step_time"], **parts, "update_and_rest": row["step_time"] - sum(parts.values()),
                        "completion_tokens": tokens, "rollout_tokens_per_s": tokens / parts["generation"]})
    result = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
              "model": args.model or args.shape,
              "steps": len(records), "prompts_per_step": args.prompts_per_step, "generations": args.generations,
              "max_completion_length": args.max_completion_length, "seed": args.seed, "records": records}
    step_mean, step_sd = _mean_sd([r["step_s"] for r in records])
    print(f"step: {step_mean:.2f} +- {step_sd:.2f} s (n={len(records)} steps, seed {args.seed}, {result['device']})")
    for part in (*PARTS, "update_and_rest"):
        mean, sd = _mean_sd([r[part] for r in records])
        result[part] = [mean, sd]
        print(f"{part:>16}: {mean:.2f} +- {sd:.2f} s  ({mean / step_mean:.0%} of the step)")
    mean, sd = _mean_sd([r["rollout_tokens_per_s"] for r in records])
    result["rollout_tokens_per_s"] = [mean, sd]
    print(f"rollouts: {mean:,.0f} +- {sd:,.0f} completion tokens/s of generation (HF generate)")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
