"""The handoff contract: a stage refuses a missing or incomplete parent, naming it and what is missing."""

import json
import subprocess
import sys

import pytest

from hybridthink.handoff import MANIFEST, HandoffError, validate_parent, write_manifest


def _fake_checkpoint(directory):
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        (directory / name).write_text("{}")


def _manifest(directory, parent=None, stage="stage1_cold_start"):
    return write_manifest(directory, stage=stage, parent=parent, base_model="toy", config={}, data={}, metrics={},
                          world=None)


def test_complete_parent_is_accepted_and_chain_recorded(tmp_path):
    base, s1 = tmp_path / "base", tmp_path / "s1"
    _fake_checkpoint(base)
    _manifest(base, stage="base")
    _fake_checkpoint(s1)
    m = _manifest(s1, parent=base)
    assert m["parent"]["stage"] == "base" and m["parent"]["path"] == "../base" and len(m["parent"]["sha256"]) == 64
    assert validate_parent(s1, "stage1_cold_start")["stage"] == "stage1_cold_start"


def test_manifest_records_the_packages_and_cpu_the_numbers_depend_on(tmp_path):
    import torch
    import transformers

    _fake_checkpoint(tmp_path)
    _manifest(tmp_path)
    env = json.loads((tmp_path / MANIFEST).read_text())["code_version"]["environment"]
    assert env["packages"]["torch"] == torch.__version__ and env["packages"]["transformers"] == transformers.__version__
    assert set(env["packages"]) >= {"trl", "tokenizers", "accelerate"} and env["python"].count(".") == 2
    assert env["cpu_count"] >= 1 and "cpu" in env


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("no_dir", "does not exist"),
        ("no_manifest", "has no handoff.json"),
        ("bad_json", "not valid JSON"),
        ("missing_key", r"lacks key\(s\) \['metrics'\]"),
        ("running", "status 'running'"),
        ("no_weights", r"lacks checkpoint file\(s\) \['model.safetensors'\]"),
        ("wrong_stage", "needs one of"),
    ],
)
def test_incomplete_parent_is_refused(tmp_path, breakage, message):
    parent = tmp_path / "parent"
    if breakage != "no_dir":
        _fake_checkpoint(parent)
        _manifest(parent)
        manifest = json.loads((parent / MANIFEST).read_text())
        if breakage == "no_manifest":
            (parent / MANIFEST).unlink()
        elif breakage == "bad_json":
            (parent / MANIFEST).write_text("{")
        elif breakage == "missing_key":
            del manifest["metrics"]
        elif breakage == "running":
            manifest["status"] = "running"
        elif breakage == "no_weights":
            (parent / "model.safetensors").unlink()
        if breakage in ("missing_key", "running"):
            (parent / MANIFEST).write_text(json.dumps(manifest))
    expected = "stage2_reasoning_rl" if breakage == "wrong_stage" else None
    with pytest.raises(HandoffError, match=message) as err:
        validate_parent(parent, expected)
    assert str(parent) in str(err.value)


def test_stage_cli_refuses_missing_parent_with_clear_error(tmp_path):
    missing = tmp_path / "no_such_stage1"
    proc = subprocess.run(
        [sys.executable, "-m", "stage2_reasoning_rl", "--parent", str(missing), "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 2
    assert f"error: parent directory {missing} does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_resume_skips_a_checkpoint_cut_off_mid_write(tmp_path):
    from hybridthink.stage import last_complete_checkpoint

    assert last_complete_checkpoint(tmp_path / "absent") is None
    for step, complete in ((2, True), (4, True), (6, False)):
        ckpt = tmp_path / f"checkpoint-{step}"
        ckpt.mkdir()
        if complete:
            (ckpt / "trainer_state.json").write_text("{}")
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
