"""Stage entry points answer bad input with one clear line (exit 2), not a traceback."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_unknown_recipe_key_is_named(tmp_path):
    recipe = tmp_path / "stage.yaml"
    recipe.write_text("world:\n  sizes: {eval: 1}\n  colour: blue\n")
    proc = _run("hybridthink.toy.base", "--config", str(recipe), "--output", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert f"error: {recipe}: unknown recipe key 'world.colour'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_malformed_items_file_is_named_with_its_line(tmp_path):
    items = tmp_path / "eval.jsonl"
    items.write_text('{"id": "a", "family": "arithmetic", "prompt": "What is 1 + 1?"}\n{"id": "b"}\n')
    proc = _run("hybridthink.evaluation", "--model", str(tmp_path), "--items", str(items))
    assert proc.returncode == 2
    assert f"error: {items}:2: missing key(s) ['family', 'prompt']" in proc.stderr
