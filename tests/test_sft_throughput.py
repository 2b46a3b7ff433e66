"""The SFT throughput benchmark on a few rows: every run sees the same tokens, and it reports each."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_sft_throughput_compares_padded_and_packed_on_the_same_tokens(tmp_path):
    out = tmp_path / "sft.json"
    proc = subprocess.run([sys.executable, "benchmarks/sft_throughput.py", "--rows", "24", "--batch-size", "4",
                           "--max-length", "512", "--repeats", "1", "--work-dir", str(tmp_path / "work"), "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    padded, packed, rows = result["records"]
    assert (padded["kind"], packed["kind"], rows["kind"]) == ("padded", "packed", "packed_rows")
    assert padded["tokens"] == packed["tokens"] == rows["tokens"] > 24 * 20  # the same rows, every token counted once
    assert rows["steps"] == packed["steps"] < padded["steps"]  # packing puts several rows in each batch row
    assert abs(rows["loss"] - packed["loss"]) < 1e-4  # the same batches and masks: the same training
    assert result["speedup"]["packed"][0] == packed["tokens_per_s"] / padded["tokens_per_s"]
    assert "packed / padded:" in proc.stdout and "packed_rows / padded:" in proc.stdout
