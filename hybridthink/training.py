"""Run TRL's SFTTrainer and GRPOTrainer for a stage, with recipe-checked arguments and resume."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from pathlib import Path

from datasets import Dataset
from peft import LoraConfig
from transformers.integrations import is_deepspeed_zero3_enabled
from trl import GRPOConfig, GRPOTrainer, SFTConfig, SFTTrainer

from .chat_template import with_response_parser
from .packing import keep_packed_rows_apart, uses_varlen_attention
from .recipe import RecipeError, trainer_config
from .rewards import get_reward_functions
from .stage import StageContext, device_defaults, last_complete_checkpoint


# GRPO settings that suit a small model on few cores; stages override what is theirs.
GRPO_DEFAULTS = {
    "max_steps": 15,
    "per_device_train_batch_size": 32,
    "num_generations": 8,
    "max_completion_length": 200,
    "learning_rate": 5e-5,
    "lr_scheduler_type": "constant",
    "beta": 0.0,
    "temperature": 1.0,
    "logging_steps": 1,
    "save_steps": 10,
}


# Settings shared by the conversational SFT stages (1 and 3); stages add their own.
SFT_DEFAULTS = {
    "lr_scheduler_type": "cosine",
    "warmup_steps": 5,
    "assistant_only_loss": True,
    # Batches of similar length: with dialogues and single turns mixed, random batches pad about
    # twice as many tokens (stage-3 training 114 s -> 59 s on the toy mix).
    "train_sampling_strategy": "group_by_length",
    "logging_steps": 10,
    "save_steps": 30,
}


# A stage's optional ``lora`` recipe section: train a LoRA adapter instead of every weight, then
# merge it, so the handoff stays a plain checkpoint. Off by default.
LORA_DEFAULTS = {"enabled": False, "r": 16, "alpha": 32, "dropout": 0.0, "target_modules": "all-linear"}


def lora_config(ctx: StageContext) -> LoraConfig | None:
    """The PEFT LoRA config of the stage's ``lora`` recipe section, or None when it is off."""
    section = ctx.recipe["lora"]
    if not section["enabled"]:
        return None
    return LoraConfig(r=section["r"], lora_alpha=section["alpha"], lora_dropout=section["dropout"],
                      target_modules=section["target_modules"], task_type="CAUSAL_LM")


def _trained(trainer, model) -> tuple:
    """The trained model with any LoRA adapter merged into its weights, and the full weights to save
    when DeepSpeed ZeRO-3 holds them partitioned (else None): each process holds only its shard, so
    the model's own ``state_dict`` would save empty tensors. Every process must call this."""
    if is_deepspeed_zero3_enabled():
        return model, trainer.accelerator.get_state_dict(trainer.model_wrapped)
    return (trainer.model.merge_and_unload() if hasattr(trainer.model, "merge_and_unload") else model), None


def _trainer_dir(ctx: StageContext, phase: str | None) -> Path:
    return ctx.trainer_dir / phase if phase else ctx.trainer_dir


def _resume(ctx: StageContext, phase: str | None = None) -> str | None:
    checkpoint = last_complete_checkpoint(_trainer_dir(ctx, phase))
    if checkpoint:
        print(f"[{ctx.name}] resuming from {checkpoint}")
    return checkpoint


def _args(cls, ctx: StageContext, defaults: dict, phase: str | None = None, max_steps: int | None = None):
    base = {**device_defaults(), **defaults, "output_dir": str(_trainer_dir(ctx, phase))}
    given = ctx.recipe["trainer"] if max_steps is None else {**ctx.recipe["trainer"], "max_steps": max_steps}
    args = trainer_config(cls, given, base, ctx.recipe_path or "recipe")
    if ctx.recipe.get("lora", {}).get("enabled") and is_deepspeed_zero3_enabled():
        raise RecipeError(f"{ctx.recipe_path or 'recipe'}: 'lora' cannot be merged under DeepSpeed ZeRO-3, whose "
                          "processes each hold a shard of the weights; launch with recipes/accelerate/zero2.yaml or ddp.yaml")
    return args


def rows_over_length(tokenizer, rows: list[dict], max_length: int | None) -> int:
    """How many conversational rows render (chat template, tools included) to more than
    ``max_length`` tokens: the SFT trainer cuts their end, where the answer is."""
    if not max_length:
        return 0
    texts = [tokenizer.apply_chat_template(r["messages"], tools=r.get("tools"), tokenize=False,
                                           **(r.get("chat_template_kwargs") or {})) for r in rows]
    return sum(len(ids) > max_length for ids in tokenizer(texts, add_special_tokens=False)["input_ids"])


def run_sft(ctx: StageContext, model, tokenizer, rows: list[dict], defaults: dict, phase: str | None = None,
            max_steps: int | None = None):
    """Supervised fine-tuning on conversational rows (``messages`` and optional ``chat_template_kwargs``);
    return (trained model, loss, steps, how many rows were cut at ``max_length`` and the packing,
    the weights to save: see :func:`_trained`).
    A ``phase`` (a first training phase of the stage) trains for ``max_steps`` in its own trainer
    directory, so a killed run resumes each phase from its own checkpoints.
    With BFD packing and an attention without a varlen kernel, packed rows stay batch rows
    (``hybridthink.packing``)."""
    args = _args(SFTConfig, ctx, defaults, phase, max_steps)
    over = rows_over_length(tokenizer, rows, args.max_length)
    if over:
        print(f"[{ctx.name}] warning: {over} of {len(rows)} rows are longer than trainer.max_length={args.max_length} "
              f"tokens; their ends (the answers) are cut")
    trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows),
                         processing_class=tokenizer, peft_config=lora_config(ctx))
    packing = ("padding_free" if trainer.padding_free else args.packing_strategy) if args.packing else None
    if packing == "padding_free" and not uses_varlen_attention(model):
        keep_packed_rows_apart(trainer)
        packing = "rows"
        print(f"[{ctx.name}] packing: each packed row stays a batch row "
              f"(attention '{model.config._attn_implementation}' has no varlen kernel)")
    result = trainer.train(resume_from_checkpoint=_resume(ctx, phase))
    model, weights = _trained(trainer, model)
    return model, {"loss": result.training_loss, "steps": result.global_step, "processes": trainer.args.world_size,
                   "rows_over_max_length": over, "packing": packing}, weights


def _curve(history: list[dict], key: str) -> list[float]:
    return [row[key] for row in history if key in row]


def recipe_rewards(ctx: StageContext, names: list[str]) -> dict[str, Callable]:
    """The reward functions a recipe's ``rewards`` list names, by name (unknown names: RecipeError)."""
    try:
        return dict(zip(names, get_reward_functions(names), strict=True))
    except ValueError as err:
        raise RecipeError(f"{ctx.recipe_path or 'recipe'}: 'rewards': {err}") from None


def graded_as_text(func: Callable, tokenizer) -> Callable:
    """``func`` given each completion as its generated text (tool results included) instead of the
    messages TRL parses it into when tools are on: parsing drops an empty think block, so a
    non-thinking answer would look like one with no think block at all."""
    def as_text(prompts, completions, completion_ids, **kwargs):
        texts = tokenizer.batch_decode(completion_ids, skip_special_tokens=True)
        return func(prompts, texts, completion_ids=completion_ids, **kwargs)
    as_text.__name__ = func.__name__
    return as_text


def run_grpo(ctx: StageContext, model, tokenizer, rows: list[dict], rewards: dict[str, Callable], defaults: dict,
             environments: dict[str, type] | None = None, phase: str | None = None, max_steps: int | None = None):
    """GRPO on prompt rows whose extra columns feed the reward functions (by name, as logged);
    return (trained model, reward curves, one per reward, the weights to save: see :func:`_trained`).
    With ``environments`` (TRL environment classes by name, which each row's ``environment`` column
    picks) rollouts may call their tools. A ``phase`` (a further training phase of the stage)
    trains for ``max_steps`` in its own trainer directory, as in :func:`run_sft`."""
    funcs = list(rewards.values())
    if environments:
        with_response_parser(tokenizer)
        funcs = [graded_as_text(f, tokenizer) for f in funcs]
    trainer = GRPOTrainer(model=model, reward_funcs=funcs, args=_args(GRPOConfig, ctx, defaults, phase, max_steps),
                          train_dataset=Dataset.from_list(rows), processing_class=tokenizer, peft_config=lora_config(ctx),
                          environment_factory=environments or None)
    result = trainer.train(resume_from_checkpoint=_resume(ctx, phase))
    history = trainer.state.log_history
    reward = _curve(history, "reward")
    third = max(1, len(reward) // 3)
    metrics = {
        "steps": result.global_step,
        "processes": trainer.args.world_size,
        "reward_curve": reward,
        "reward_first_third": statistics.fmean(reward[:third]) if reward else None,
        "reward_last_third": statistics.fmean(reward[-third:]) if reward else None,
        "entropy_curve": _curve(history, "entropy"),
        "kl_curve": _curve(history, "kl"),  # logged by TRL only when beta > 0
        "frac_reward_zero_std_curve": _curve(history, "frac_reward_zero_std"),
    }
    if any("judge_unparseable" in row for row in history):  # logged by a judge reward
        metrics["judge_unparseable_curve"] = _curve(history, "judge_unparseable")
    logged = {k for row in history for k in row}  # the last row is the run summary, without rewards
    for name in rewards:
        key = next((k for k in sorted(logged) if k.startswith(f"rewards/{name}") and k.endswith("/mean")), None)
        if key:
            metrics[f"{name}_curve"] = _curve(history, key)
    model, weights = _trained(trainer, model)
    return model, metrics, weights
