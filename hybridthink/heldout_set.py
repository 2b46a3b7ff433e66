"""A larger held-out set for a toy world that already exists: new items of the eval split's
families and difficulties (and new tool products), none of whose prompts or products any split of
the world holds, so that stage-4 studies can measure changes of a few points.

The world's own eval split (80 items a family, 40 tool items) stays what the report card reads;
this set is drawn afterwards, so the base model and every split stay as they were. (It lives outside
``toy/`` on purpose: every file there goes into the base's fingerprint, so a module added there would
make each cached base look stale.)

    python -m hybridthink.heldout_set --world runs/toy/base/world --output runs/heldout --per-family 320 --tool 160
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from pathlib import Path

from .jsonl import DataError, read_jsonl, write_jsonl
from .stage import run_main
from .toy import tool_tasks
from .toy.world import generate_items

HELDOUT, TOOL_HELDOUT = "heldout.jsonl", "tool_heldout.jsonl"


def world_prompts(world_dir: Path) -> set[str]:
    """Every prompt and tool expression in any split of the world in ``world_dir``."""
    files = sorted(world_dir.glob("*.jsonl"))
    if not files:
        raise DataError(f"{world_dir}: no split files (*.jsonl); pass the world folder of a toy base")
    taken = set()
    for path in files:
        for row in read_jsonl(path, ("prompt",)):
            taken.add(row["prompt"])
            if row.get("expression"):
                taken.add(row["expression"])
    return taken


def _shape(rows: list[dict]) -> tuple[list[str], list[int]]:
    families = sorted({r["family"] for r in rows})
    difficulties = sorted({r["difficulty"] for r in rows})
    return families, difficulties


def heldout_items(world_dir: Path, per_family: int, n_tool: int, seed: int) -> tuple[list[dict], list[dict]]:
    """``per_family`` new items of each family of the world's eval split (cycling through its
    difficulties) and ``n_tool`` new tool products of its tool eval split's difficulties."""
    taken = world_prompts(world_dir)
    families, difficulties = _shape(read_jsonl(world_dir / "eval.jsonl", ("family", "difficulty", "prompt")))
    rows = []
    for family in families:
        batch = generate_items(family, per_family, 10_000 + seed, difficulties, taken)
        taken.update(item["prompt"] for item in batch)
        rows.extend(batch)
    random.Random(seed).shuffle(rows)
    for i, row in enumerate(rows):
        row["id"] = f"heldout-{i:05d}"
    tool_rows = []
    if n_tool:
        tool_path = world_dir / "tool_eval.jsonl"
        if not tool_path.is_file():
            raise DataError(f"{tool_path}: the world has no tool eval split to match (pass --tool 0)")
        _, tool_difficulties = _shape(read_jsonl(tool_path, ("family", "difficulty", "prompt")))
        tool_rows = tool_tasks.make_items(n_tool, 10_000 + seed, tool_difficulties, exclude=taken)
        for i, row in enumerate(tool_rows):
            row["id"] = f"heldout-tool-{i:05d}"
    return rows, tool_rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Draw a larger held-out set for an existing toy world.")
    p.add_argument("--world", required=True, type=Path, help="the world folder of a toy base (runs/toy/base/world)")
    p.add_argument("--output", required=True, type=Path, help=f"folder for {HELDOUT} and {TOOL_HELDOUT}")
    p.add_argument("--per-family", type=int, default=320)
    p.add_argument("--tool", type=int, default=160, help="tool items (each is asked in both modes)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    rows, tool_rows = heldout_items(a.world, a.per_family, a.tool, a.seed)
    a.output.mkdir(parents=True, exist_ok=True)
    write_jsonl(a.output / HELDOUT, rows)
    if tool_rows:
        write_jsonl(a.output / TOOL_HELDOUT, tool_rows)
    by = Counter((r["family"], r["difficulty"]) for r in rows)
    print(f"[heldout] {len(rows)} items in {a.output / HELDOUT} (family/difficulty: "
          + ", ".join(f"{f}/{d} {n}" for (f, d), n in sorted(by.items())) + f"); {len(tool_rows)} tool items")


if __name__ == "__main__":
    run_main(main)
