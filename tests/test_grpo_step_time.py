"""The GRPO step-time benchmark on a tiny checkpoint: the parts come from TRL's own timers and add up."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_grpo_step_time_splits_generation_scoring_and_update(tiny_checkpoint, tmp_path):
    model_dir, items, _ = tiny_checkpoint
    out = tmp_path / "grpo.json"
    proc = subprocess.run([sys.executable, "benchmarks/grpo_step_time.py", "--model", str(model_dir), "--items", str(items),
                           "--steps", "2", "--prompts-per-step", "2", "--generations", "2",
                           "--max-completion-length", "8", "--work-dir", str(tmp_path / "work"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["steps"] == 2 and len(result["records"]) == 2
    for record in result["records"]:
        assert record["generation"] > 0 and record["scoring"] > 0 and record["update_and_rest"] > 0
        assert abs(record["generation"] + record["scoring"] + record["update_and_rest"] - record["step_s"]) < 1e-9
        assert 0 < record["completion_tokens"] <= 2 * 2 * 8
        assert record["rollout_tokens_per_s"] == record["completion_tokens"] / record["generation"]
    assert "generation:" in proc.stdout and "of the step" in proc.stdout and "completion tokens/s" in proc.stdout


def test_grpo_step_time_on_random_weights_of_a_shape(tmp_path):
    out = tmp_path / "grpo.json"
    proc = subprocess.run([sys.executable, "benchmarks/grpo_step_time.py", "--shape", "toy", "--steps", "1",
                           "--prompts-per-step", "2", "--generations", "2", "--max-completion-length", "8",
                           "--work-dir", str(tmp_path / "work"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["model"] == "toy" and len(result["records"]) == 1
    assert result["records"][0]["completion_tokens"] > 0
