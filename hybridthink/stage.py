"""What every stage entry point shares: the CLI, parent validation, resume and the handoff.

Under ``accelerate launch`` with several processes every rank runs the whole stage (its data
preparation too); the main process alone writes the data files, the checkpoint and the manifest,
and every rank trains on the rows the main process wrote.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import PartialState
from transformers import AutoModelForCausalLM, AutoTokenizer

from .efforts import check_efforts, read_efforts, write_efforts
from .jsonl import file_sha256, read_jsonl, write_jsonl
from .handoff import HandoffError, read_manifest, resolve_from, validate_parent, write_manifest
from .recipe import RecipeError, load_recipe, mix_path


def last_complete_checkpoint(directory: Path) -> str | None:
    """The highest ``checkpoint-N`` in ``directory`` that was written to the end, if any.

    The Trainer writes ``trainer_state.json`` last, so a checkpoint without it was cut off
    mid-write by a kill and is skipped.
    """
    if not directory.is_dir():
        return None
    complete = [p for p in directory.glob("checkpoint-*")
                if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()]
    return str(max(complete, key=lambda p: int(p.name.split("-")[-1]))) if complete else None


def processes() -> PartialState:
    """The processes of this launch (one without ``accelerate launch``); on the CPU when no GPU
    is seen, as the Trainer will be."""
    return PartialState(cpu=not torch.cuda.is_available())


def load_checkpoint(path: str | Path, model_class=AutoModelForCausalLM):
    """A checkpoint's model, on this process's device (its GPU when there is one: generation before
    training and evaluation run there, not on the CPU), and its tokenizer."""
    return model_class.from_pretrained(path).to(processes().device), AutoTokenizer.from_pretrained(path)


@dataclass
class StageContext:
    name: str
    recipe: dict
    recipe_path: str | None
    parent: Path | None
    parent_manifest: dict | None
    output: Path
    mix_path: str | None = None

    @property
    def world(self) -> Path:
        """The toy world's data directory, carried forward through the manifests."""
        return resolve_from(self.parent, self.parent_manifest["world"])

    @property
    def trainer_dir(self) -> Path:
        return self.output / "trainer"

    def load_parent_model(self):
        """The parent stage's checkpoint and tokenizer."""
        return load_checkpoint(self.parent)

    def write_data(self, name: str, rows: list[dict]) -> tuple[dict, list[dict]]:
        """Write rows to ``data/<name>.jsonl`` in the output (main process); return its manifest
        data entry and the rows as written, the same on every process."""
        path = self.output / "data" / f"{name}.jsonl"
        state = processes()
        if state.is_main_process:
            write_jsonl(path, rows)
        state.wait_for_everyone()
        return {name: {"path": path, "rows": len(rows), "sha256": file_sha256(path)}}, read_jsonl(path)


def parse_args(description: str, argv: list[str] | None = None, needs_parent: bool = True,
               takes_mix: bool = False) -> argparse.Namespace:
    """The command line every stage takes (and ``--mix`` where the stage mixes data)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--config", help="recipe YAML of this stage")
    if takes_mix:
        p.add_argument("--mix", help="a data mix: NAME (mixes/NAME.yaml beside the recipe) or a YAML file path; "
                                     "its data and mix keys replace the recipe's")
    if needs_parent:
        p.add_argument("--parent", required=True, help="directory of the previous stage's handoff")
    p.add_argument("--output", required=True, help="directory to write this stage's checkpoint and handoff.json")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a recipe key, e.g. trainer.max_steps=5")
    p.add_argument("--force", action="store_true", help="run again even if the output holds a complete handoff")
    return p.parse_args(argv)


def open_stage(name: str, args: argparse.Namespace, defaults: dict, parent_stages: tuple[str, ...] | None) -> StageContext | None:
    """Validate the parent and recipe; return None when the output already holds a finished stage."""
    output = Path(args.output)
    if (output / "handoff.json").is_file() and not args.force:
        if read_manifest(output).get("status") == "complete":
            print(f"[{name}] {output} already holds a complete handoff; skipping (use --force to redo)")
            return None
    parent = Path(args.parent) if getattr(args, "parent", None) else None
    manifest = validate_parent(parent, parent_stages) if parent is not None else None
    mix = mix_path(args.mix, args.config) if getattr(args, "mix", None) else None
    recipe = load_recipe(args.config, defaults, args.set, mix)
    try:  # fail before any work, not when the checkpoint is saved (finish_stage)
        check_efforts(recipe.get("efforts") or {}, args.config or "recipe")
    except ValueError as err:
        raise RecipeError(str(err)) from None
    output.mkdir(parents=True, exist_ok=True)
    return StageContext(name, recipe, args.config, parent, manifest, output, str(mix) if mix else None)


def device_defaults() -> dict:
    """Trainer arguments that depend on the hardware: CPU with fp32, or GPU with bf16."""
    gpu = torch.cuda.is_available()
    cpu_only = {} if gpu else {"use_cpu": True, "activation_checkpointing": False}
    return {"bf16": gpu, "report_to": "none", "save_total_limit": 1, "seed": 0, **cpu_only}


def finish_stage(ctx: StageContext, model, tokenizer, *, data: dict, metrics: dict, base_model: str | None = None,
                 world: Path | None = None, weights: dict | None = None) -> dict:
    """Save the checkpoint (``weights``, when given, instead of the model's own state), tokenizer and
    effort levels (the recipe's ``efforts``, else the parent's), drop trainer checkpoints, and write
    the manifest (main process; the others wait for it and return the manifest it wrote)."""
    state = processes()
    state.wait_for_everyone()
    if not state.is_main_process:
        state.wait_for_everyone()
        return read_manifest(ctx.output)
    model.save_pretrained(ctx.output, state_dict=weights)
    tokenizer.save_pretrained(ctx.output)
    efforts = ctx.recipe.get("efforts") or (read_efforts(ctx.parent) if ctx.parent else None)
    if efforts:
        write_efforts(ctx.output, efforts)
    shutil.rmtree(ctx.trainer_dir, ignore_errors=True)
    manifest = write_manifest(
        ctx.output,
        stage=ctx.name,
        parent=ctx.parent,
        base_model=base_model or ctx.parent_manifest["base_model"],
        config={"recipe": ctx.recipe_path, **({"mix": ctx.mix_path} if ctx.mix_path else {}), "resolved": ctx.recipe},
        data=data,
        metrics=metrics,
        world=world or (ctx.world if ctx.parent_manifest else None),
    )
    print(f"[{ctx.name}] wrote {ctx.output}/handoff.json")
    print(json.dumps(metrics, indent=2, default=str))
    state.wait_for_everyone()
    return manifest


def run_main(main, argv: list[str] | None = None) -> None:
    """Run a stage's main, turning recipe, data and handoff errors into one clear line and exit 2."""
    from .jsonl import DataError

    try:
        main(argv)
    except (RecipeError, HandoffError, DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
