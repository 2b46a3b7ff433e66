"""Where the project keeps what it builds once per machine (the toy base model, NLTK's tables)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """``$HYBRIDTHINK_CACHE``, by default ``~/.cache/hybridthink``."""
    return Path(os.environ.get("HYBRIDTHINK_CACHE", Path.home() / ".cache" / "hybridthink"))
