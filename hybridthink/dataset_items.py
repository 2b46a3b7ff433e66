"""Items from datasets by column mapping: how a real recipe turns hub (or local) datasets into the
world splits every stage reads, in the toy world's item format.

A source in a recipe's ``splits`` section::

    - dataset: open-r1/OpenR1-Math-220k   # hub name, a local data file (.jsonl .json .parquet .csv) or folder
      config: default                      # hub configuration (optional)
      split: train
      rows: [0, 20000]                     # a slice, after the optional shuffle
      family: math                         # how the items are graded (hybridthink.scoring.GRADERS)
      columns: {prompt: problem, answer: answer, completion: messages.1.content}

``columns`` maps item fields to dataset columns; ``a.b.0`` reaches into nested columns. A
``completion`` (text with ``<think>…</think>``) is split into ``thinking`` and ``response``; a list
of tests is joined by lines; IFEval ``kwargs`` lists are stored as JSON. Instead of a prompt column,
``prompt_template`` builds the prompt with ``str.format`` over the row (``"{text}\n{test_list[0]}"``).
``instructions: [1, 3]`` appends that many random IFEval instructions to each prompt and fills the
item's IFEval columns (family ``instruction``). A row that lacks a mapped value, or whose prompt an
earlier split already holds, is dropped and counted.
"""

from __future__ import annotations

import json
import random
import string
from collections import Counter
from pathlib import Path

from .ifeval import random_instructions
from .jsonl import DataError
from .modes import THINK_CLOSE, THINK_OPEN
from .recipe import RecipeError
from .scoring import GRADERS

FIELDS = ("prompt", "answer", "tests", "entry_point", "instruction_id_list", "kwargs", "thinking", "response",
          "completion", "difficulty")
SOURCE_KEYS = {"dataset", "config", "split", "revision", "rows", "shuffle_seed", "family", "columns", "prompt_template",
               "instructions", "seed"}
FILE_BUILDERS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}
# Eval first, so no training split can hold a held-out prompt.
SPLIT_ORDER = ("eval", "stage1", "stage2", "stage3", "stage4")


def check_source(source: dict, where: str) -> None:
    """Raise RecipeError naming ``where`` and the key for a source that cannot be read."""
    if not isinstance(source, dict):
        raise RecipeError(f"{where}: a source must be a mapping, got {source!r}")
    unknown = sorted(set(source) - SOURCE_KEYS)
    if unknown:
        raise RecipeError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(SOURCE_KEYS))}")
    for key in ("dataset", "family", "columns"):
        if key not in source:
            raise RecipeError(f"{where}: '{key}' is required")
    if source["family"] not in GRADERS:
        raise RecipeError(f"{where}: family {source['family']!r} has no grader; known: {', '.join(sorted(GRADERS))}")
    columns = source["columns"]
    if not isinstance(columns, dict) or ("prompt" in columns) == ("prompt_template" in source):
        raise RecipeError(f"{where}: give the prompt either as columns.prompt or as prompt_template (one of them)")
    other = sorted(set(columns) - set(FIELDS))
    if other:
        raise RecipeError(f"{where}: columns.{other[0]} is not an item field; fields: {', '.join(FIELDS)}")
    if "instructions" in source:
        lo_hi = source["instructions"]
        if source["family"] != "instruction" or not (isinstance(lo_hi, list) and len(lo_hi) == 2 and 1 <= lo_hi[0] <= lo_hi[1]):
            raise RecipeError(f"{where}: instructions is [min, max] (at least 1) on a source of family 'instruction'")
        columns = {**columns, "instruction_id_list": None, "kwargs": None}
    missing = [k for k in GRADERS[source["family"]][1] if k not in columns]
    if missing:
        raise RecipeError(f"{where}: family {source['family']!r} is graded on {', '.join(missing)}: map it in 'columns'")


def load_source(source: dict):
    """The source's rows as a ``datasets.Dataset`` (shuffled and sliced as the source says)."""
    from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

    name, split = source["dataset"], source.get("split", "train")
    path = Path(name)
    if path.is_file():
        if path.suffix not in FILE_BUILDERS:
            raise DataError(f"{path}: unknown data file type; known: {', '.join(FILE_BUILDERS)}")
        data = load_dataset(FILE_BUILDERS[path.suffix], data_files=str(path), split="train")
    elif (path / "dataset_info.json").is_file() or (path / "dataset_dict.json").is_file():
        data = load_from_disk(str(path))
        data = data[split] if isinstance(data, DatasetDict) else data
    else:
        data = load_dataset(name, source.get("config"), split=split, revision=source.get("revision"))
    assert isinstance(data, Dataset), type(data)
    if source.get("shuffle_seed") is not None:
        data = data.shuffle(seed=source["shuffle_seed"])
    start, stop = source.get("rows") or (0, len(data))
    return data.select(range(min(start, len(data)), min(stop, len(data))))


def _template_columns(template: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(template) if name}


def column_value(row: dict, dotted: str):
    """The value at ``dotted`` (``messages.1.content``) in a row; None where the path ends early."""
    value = row
    for part in dotted.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def split_completion(text: str) -> tuple[str, str] | None:
    """(thinking, response) of a completion with a closed think block (the opening tag may be
    left out, as some datasets do); None without ``</think>``."""
    before, close, response = text.partition(THINK_CLOSE)
    if not close:
        return None
    return before.split(THINK_OPEN, 1)[-1].strip(), response.strip()


def _field(name: str, value):
    if name == "tests" and isinstance(value, list):
        return "\n".join(map(str, value))
    if name == "kwargs" and not isinstance(value, str):
        return json.dumps(value)
    if name == "answer" and not isinstance(value, str):
        return str(value)
    return value


def _prompt(template: str, row: dict) -> str | None:
    try:
        return template.format(**row)
    except (KeyError, IndexError, TypeError):
        return None


def to_item(row: dict, source: dict, rng: random.Random) -> tuple[dict | None, str | None]:
    """The item a dataset row gives, or None and the reason it is dropped."""
    item = {"family": source["family"], "difficulty": 1, "thinking": None, "response": None, "answer": None,
            "tests": None, "instruction_id_list": None, "kwargs": None}
    for name, column in source["columns"].items():
        value = column_value(row, column)
        if value is None or value == "" or value == []:
            return None, f"no {name} ({column})"
        if name == "completion":
            parts = split_completion(str(value))
            if parts is None:
                return None, "completion without </think>"
            item["thinking"], item["response"] = parts
        else:
            item[name] = _field(name, value)
    if "prompt_template" in source:
        item["prompt"] = _prompt(source["prompt_template"], row)
        if not item["prompt"]:
            return None, "prompt_template fails on the row"
    item["prompt"] = str(item["prompt"])
    if "instructions" in source:
        ids, kwargs, texts = random_instructions(item["prompt"], rng.randint(*source["instructions"]), rng)
        item["prompt"] = " ".join([item["prompt"], *texts])
        item["instruction_id_list"], item["kwargs"] = ids, json.dumps(kwargs)
    return item, None


def build_splits(splits: dict[str, list[dict]], recipe_path: str, load=load_source) -> tuple[dict, dict]:
    """Every split's items from its sources, and per split and source what was read, kept and
    dropped (by reason). Prompts are unique: a prompt an earlier split holds (``SPLIT_ORDER``, eval
    first) is dropped as ``in an earlier split``, a repeat within the split as ``duplicate in the split``."""
    unknown = sorted(set(splits) - set(SPLIT_ORDER))
    if unknown:
        raise RecipeError(f"{recipe_path}: unknown split(s) {', '.join(unknown)}; known: {', '.join(SPLIT_ORDER)}")
    for split, sources in splits.items():
        if not isinstance(sources, list) or not sources:
            raise RecipeError(f"{recipe_path}: splits.{split} must be a list of sources")
        for i, source in enumerate(sources):
            check_source(source, f"{recipe_path}: splits.{split}[{i}]")
    seen: dict[str, str] = {}  # prompt -> the split that holds it
    world, stats = {}, {}
    for split in (s for s in SPLIT_ORDER if s in splits):
        items, counts = [], []
        for i, source in enumerate(splits[split]):
            data = load(source)
            absent = sorted({c.split(".")[0] for c in source["columns"].values()} - set(data.column_names))
            if "prompt_template" in source:
                absent += sorted(_template_columns(source["prompt_template"]) - set(data.column_names))
            if absent:
                raise DataError(f"{recipe_path}: splits.{split}[{i}] ({source['dataset']}): no column(s) "
                                f"{', '.join(absent)}; the dataset has {', '.join(data.column_names)}")
            dropped, rng = Counter(), random.Random(source.get("seed", 0))
            for row in data:
                item, reason = to_item(row, source, rng)
                if item is not None and item["prompt"] in seen:
                    same = seen[item["prompt"]] == split
                    item, reason = None, "duplicate in the split" if same else "in an earlier split"
                if item is None:
                    dropped[reason] += 1
                    continue
                seen[item["prompt"]] = split
                items.append({**item, "id": f"{split}-{len(items):06d}"})
            counts.append({"dataset": source["dataset"], "read": len(data), "kept": len(data) - sum(dropped.values()),
                           "dropped": dict(dropped)})
        if not items:
            raise DataError(f"{recipe_path}: splits.{split} kept no item: {counts}")
        world[split], stats[split] = items, counts
    return world, stats
