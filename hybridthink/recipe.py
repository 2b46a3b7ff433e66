"""Recipes as data: YAML files merged over a stage's defaults, with strict key checking."""

from __future__ import annotations

import copy
import re
import dataclasses
from pathlib import Path
from typing import Any

import yaml

# A section whose default is OPEN accepts any keys (e.g. TRL trainer arguments, checked by
# ``trainer_config`` against the TRL dataclass instead).
OPEN: dict = {}


class _Loader(yaml.SafeLoader):
    """YAML 1.2 floats: ``3e-4`` is a number, not the string YAML 1.1 makes of it."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?$|^[-+]?(?:\d+\.\d*|\.\d+)$"),
    list("-+0123456789."),
)


def _yaml(text: str):
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


class RecipeError(ValueError):
    """A recipe that cannot be used; the message names the file and the key."""


def _merge(defaults: dict, given: dict, source: str, prefix: str = "") -> dict:
    merged = copy.deepcopy(defaults)
    for key, value in given.items():
        dotted = f"{prefix}{key}"
        if key not in defaults:
            known = ", ".join(sorted(defaults)) or "(none)"
            raise RecipeError(f"{source}: unknown recipe key '{dotted}'. Known keys here: {known}")
        if defaults[key] is OPEN:
            if not isinstance(value, dict):
                raise RecipeError(f"{source}: '{dotted}' must be a mapping, got {value!r}")
            merged[key] = dict(value)
        elif isinstance(defaults[key], dict) and defaults[key]:
            if not isinstance(value, dict):
                raise RecipeError(f"{source}: '{dotted}' must be a mapping, got {value!r}")
            merged[key] = _merge(defaults[key], value, source, dotted + ".")
        else:
            merged[key] = value
    return merged


def _parse_override(text: str) -> dict:
    if "=" not in text:
        raise RecipeError(f"override {text!r} is not of the form key.sub=value")
    dotted, raw = text.split("=", 1)
    value: Any = _yaml(raw)
    for part in reversed(dotted.strip().split(".")):
        value = {part: value}
    return value


def _deep_update(target: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value
    return target


def _read_mapping(path: Path, what: str) -> dict:
    if not path.is_file():
        raise RecipeError(f"{what} file not found: {path}")
    try:
        given = _yaml(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise RecipeError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(given, dict):
        raise RecipeError(f"{path}: a {what} must be a mapping at the top level")
    return given


def mix_path(mix: str, recipe_path: str | Path | None) -> Path:
    """The mix file ``mix`` names: a path to a YAML file, or a name looked up as
    ``mixes/<name>.yaml`` beside the recipe."""
    if mix.endswith((".yaml", ".yml")) or "/" in mix:
        return Path(mix)
    here = Path(recipe_path).parent if recipe_path is not None else Path(".")
    return here / "mixes" / f"{mix}.yaml"


MIX_SECTIONS = ("data", "mix")


def load_recipe(path: str | Path | None, defaults: dict, overrides: list[str] = (), mix: str | Path | None = None) -> dict:
    """Merge the YAML recipe at ``path``, then the mix file ``mix`` (a partial recipe of the
    ``data`` and ``mix`` sections only), then ``key.sub=value`` overrides over ``defaults``."""
    given: dict = {}
    source = "defaults"
    if path is not None:
        path = Path(path)
        source = str(path)
        given = _read_mapping(path, "recipe")
    if mix is not None:
        mix = Path(mix)
        layer = _read_mapping(mix, "mix")
        other = sorted(set(layer) - set(MIX_SECTIONS))
        if other or "mix" not in defaults:
            raise RecipeError(f"{mix}: a mix file sets only the sections {', '.join(MIX_SECTIONS)} "
                              f"of a stage that mixes data, not {', '.join(other) or 'this stage'}")
        _merge({k: defaults[k] for k in MIX_SECTIONS}, layer, str(mix))  # names the mix file on an unknown key
        _deep_update(given, copy.deepcopy(layer))
    for text in overrides:
        _deep_update(given, _parse_override(text))
    return _merge(defaults, given, source)


def trainer_config(cls, args: dict, defaults: dict, source: str = "recipe"):
    """Build a TRL/transformers config dataclass, naming any unknown 'trainer.*' key."""
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(args) - known)
    if unknown:
        raise RecipeError(f"{source}: unknown recipe key(s) {', '.join('trainer.' + k for k in unknown)} for {cls.__name__}")
    return cls(**{**defaults, **args})
