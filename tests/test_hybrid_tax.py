"""The hybrid-tax table's formatting (the paired comparison itself runs in the e2e pipeline test)."""

from hybridthink.hybrid_tax import to_markdown


def test_a_tax_that_rounds_to_zero_reads_plus_zero():
    row = {"stage": "stage4_general_rl", "mode": "think", "hybrid_accuracy": 0.5, "hybrid_accuracy_ci95": 0.1,
           "variant": "thinking", "variant_accuracy": 0.5, "variant_accuracy_ci95": 0.1, "tax": -0.0004,
           "tax_ci95": 0.05, "hybrid_tokens": 40.0, "variant_tokens": 41.0, "hybrid_adherence": 1.0,
           "variant_adherence": 1.0, "n": 80}
    line = to_markdown([row]).splitlines()[2]
    assert "| +0.000 ± 0.050 |" in line and "-0.000" not in line
    assert "| -0.012 ± 0.050 |" in to_markdown([{**row, "tax": -0.012}]).splitlines()[2]
