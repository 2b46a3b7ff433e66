"""Effort levels: names for thinking budgets, set in a recipe and kept beside the checkpoint.

Stage 3's recipe section ``efforts`` (e.g. ``{low: 8, medium: 32, high: 64}``) is written to
``thinking_efforts.json`` in its checkpoint; later stages carry their parent's file forward, so a
served model names the budgets it was trained for. A checkpoint without the file uses
:data:`DEFAULT_EFFORTS`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

DEFAULT_EFFORTS = {"low": 64, "medium": 256, "high": 1024}
EFFORTS_FILE = "thinking_efforts.json"
_NAME = re.compile(r"^\w*[^\W\d]\w*$")  # a word, not a number (a number is a budget in tokens)


def check_efforts(efforts: dict, source: str) -> dict:
    """``efforts`` as a plain dict in its order, or ValueError naming ``source`` and the bad level."""
    if not isinstance(efforts, dict):
        raise ValueError(f"{source}: efforts must map level names to budgets, got {efforts!r}")
    for name, budget in efforts.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{source}: effort level {name!r} must be a word (numbers are budgets already)")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 0:
            raise ValueError(f"{source}: effort level {name!r} needs a budget in tokens >= 0, got {budget!r}")
    return dict(efforts)


def read_efforts(checkpoint: str | Path) -> dict | None:
    """The effort levels saved with a checkpoint, or None when it has none."""
    path = Path(checkpoint) / EFFORTS_FILE
    if not path.is_file():
        return None
    try:
        efforts = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err.msg})") from None
    return check_efforts(efforts, str(path))


def checkpoint_efforts(checkpoint: str | Path) -> dict:
    """The effort levels of a checkpoint: its own, else :data:`DEFAULT_EFFORTS`."""
    return read_efforts(checkpoint) or dict(DEFAULT_EFFORTS)


def write_efforts(checkpoint: str | Path, efforts: dict) -> None:
    """Save effort levels beside a checkpoint, in their order."""
    efforts = check_efforts(efforts, "efforts")
    (Path(checkpoint) / EFFORTS_FILE).write_text(json.dumps(efforts, indent=2) + "\n")
