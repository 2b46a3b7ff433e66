"""Reuse the rejection-sampled thinking samples of an earlier stage-3 run from the same parent.

Rejection sampling depends only on the parent checkpoint, the queries and the sampling settings,
so runs that differ only in their mix (a sweep) can share it instead of sampling again.
"""

from __future__ import annotations

from pathlib import Path

from hybridthink.handoff import manifest_sha256, resolve_from, validate_parent
from hybridthink.jsonl import read_jsonl
from hybridthink.recipe import RecipeError

SAMPLES = "rejection_sampled"
# The recipe keys the samples depend on: the same values are required to reuse them.
DEPENDS_ON = {"data": ("thinking_split", "max_queries"),
              "rejection_sampling": ("k", "temperature", "max_new_tokens", "seed", "max_line_repeats")}


def sample_rows(thinking: list[tuple[dict, str]]) -> list[dict]:
    """The kept samples as rows of ``data/rejection_sampled.jsonl``."""
    return [{"item": item, "text": text} for item, text in thinking]


def reused_samples(source: str | Path, parent: Path, recipe: dict, stage: str) -> tuple[list[tuple[dict, str]], dict]:
    """The kept samples and sampling counts of the stage-3 run in ``source``, after checking it
    sampled from the same parent checkpoint with the same settings (RecipeError naming what differs)."""
    source = Path(source)
    manifest = validate_parent(source, stage)
    where = f"rejection_sampling.reuse={source}"
    if manifest["parent"]["sha256"] != manifest_sha256(parent):
        raise RecipeError(f"{where}: that run's parent is {manifest['parent']['path']}, not the same checkpoint as {parent}")
    theirs = manifest["config"]["resolved"]
    differ = [f"{section}.{key}" for section, keys in DEPENDS_ON.items() for key in keys
              if theirs[section][key] != recipe[section][key]]
    if differ:
        raise RecipeError(f"{where}: that run sampled with other {', '.join(differ)}")
    if SAMPLES not in manifest["data"]:
        raise RecipeError(f"{where}: that run kept no {SAMPLES}.jsonl (made before samples were saved)")
    rows = read_jsonl(resolve_from(source, manifest["data"][SAMPLES]["path"]), ("item", "text"))
    stats = {k: v for k, v in manifest["metrics"]["rejection_sampling"].items() if k != "reference_filled"}
    return [(row["item"], row["text"]) for row in rows], {**stats, "reused_from": str(source)}
