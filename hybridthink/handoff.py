"""The checkpoint handoff contract between stages: an HF checkpoint plus ``handoff.json``."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import subprocess
from pathlib import Path

MANIFEST = "handoff.json"
REQUIRED_KEYS = ("stage", "status", "parent", "base_model", "config", "data", "metrics", "code_version")
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


class HandoffError(RuntimeError):
    """A parent directory that cannot be used; the message names it and what is missing."""


# Packages whose versions a checkpoint records: the toy pipeline's numbers (its pretrained base
# included) are not the same across their versions or across CPUs.
RECORDED_PACKAGES = ("torch", "transformers", "trl", "tokenizers", "accelerate", "datasets", "peft")


def _cpu_model() -> str | None:
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor() or None
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), None)


def _installed_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def environment() -> dict:
    """What a run's numbers depend on beyond the code: Python, the recorded packages' versions, the CPU."""
    return {"python": platform.python_version(), "packages": {name: _installed_version(name) for name in RECORDED_PACKAGES},
            "cpu": _cpu_model(), "cpu_count": os.cpu_count()}


def code_version() -> dict:
    """Package version, the environment (:func:`environment`) and, when run from a git checkout,
    its commit and whether it is dirty."""
    root = Path(__file__).resolve().parent.parent
    git = None
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if sha.returncode == 0:
            dirty = subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, timeout=10)
            git = {"commit": sha.stdout.strip(), "dirty": bool(dirty.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        pass
    return {"package": _installed_version("hybridthink"), "git": git, "environment": environment()}


def manifest_sha256(directory: str | Path) -> str:
    """Hex SHA-256 of a directory's manifest file."""
    return hashlib.sha256((Path(directory) / MANIFEST).read_bytes()).hexdigest()


def read_manifest(directory: str | Path) -> dict:
    """Read ``handoff.json`` of a directory (no validation)."""
    return json.loads((Path(directory) / MANIFEST).read_text())


def validate_parent(directory: str | Path, expected_stage: str | tuple[str, ...] | None = None) -> dict:
    """Check a parent stage directory is complete; return its manifest or raise HandoffError."""
    directory = Path(directory)
    if not directory.is_dir():
        raise HandoffError(f"parent directory {directory} does not exist: run the previous stage first")
    path = directory / MANIFEST
    if not path.is_file():
        raise HandoffError(f"parent directory {directory} has no {MANIFEST}: the previous stage did not finish")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise HandoffError(f"{path} is not valid JSON ({err.msg})") from None
    missing = [k for k in REQUIRED_KEYS if k not in manifest]
    if missing:
        raise HandoffError(f"{path} lacks key(s) {missing}")
    if manifest["status"] != "complete":
        raise HandoffError(f"{path} has status {manifest['status']!r}, not 'complete'")
    absent = [f for f in MODEL_FILES if not (directory / f).is_file()]
    if absent:
        raise HandoffError(f"parent directory {directory} lacks checkpoint file(s) {absent}")
    if expected_stage is not None:
        allowed = (expected_stage,) if isinstance(expected_stage, str) else expected_stage
        if manifest["stage"] not in allowed:
            raise HandoffError(f"{directory} holds stage {manifest['stage']!r}; this stage needs one of {list(allowed)}")
    return manifest


def resolve_from(directory: str | Path, relative: str) -> Path:
    """Resolve a path stored in a manifest (relative to that manifest's directory)."""
    return (Path(directory) / relative).resolve()


def world_file(directory: str | Path, name: str = "eval.jsonl") -> Path:
    """A file of the toy world a stage directory carries in its manifest (by default its held-out
    evaluation items)."""
    world = read_manifest(directory).get("world")
    if not world:
        raise HandoffError(f"{directory}/{MANIFEST} names no world: give the items file explicitly")
    return resolve_from(directory, world) / name


def write_manifest(
    directory: str | Path,
    *,
    stage: str,
    parent: str | Path | None,
    base_model: str,
    config: dict,
    data: dict,
    metrics: dict,
    world: str | Path | None,
) -> dict:
    """Write ``handoff.json`` with status 'complete'; paths are stored relative to ``directory``."""
    directory = Path(directory)
    rel = lambda p: os.path.relpath(Path(p).resolve(), directory.resolve())  # noqa: E731
    parent_entry = None
    if parent is not None:
        parent_manifest = read_manifest(parent)
        parent_entry = {"path": rel(parent), "stage": parent_manifest["stage"], "sha256": manifest_sha256(parent)}
    manifest = {
        "stage": stage,
        "status": "complete",
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "parent": parent_entry,
        "base_model": base_model,
        "world": rel(world) if world else None,
        "config": config,
        "data": {name: {**entry, "path": rel(entry["path"])} for name, entry in data.items()},
        "metrics": metrics,
        "code_version": code_version(),
    }
    (directory / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    return manifest
