"""The training CLI's evaluation log line (the full figures go to metrics.jsonl)."""

from core.cli.train import _describe_eval


def test_eval_line_keeps_scalars_and_counts_per_item_figures():
    line = _describe_eval(
        {"step": 500, "metrics": {"mean_balanced_accuracy": 0.8261, "ba/Bald": 0.91, "ba/Male": 0.97}}
    )
    assert line == "eval at step 500: mean_balanced_accuracy=0.8261 (+2 per-item figures in metrics.jsonl)"
    assert "Bald" not in line and "AP" not in line


def test_eval_line_puts_ap_first():
    line = _describe_eval({"step": 1, "metrics": {"ap_easy": 0.5, "ap_hard": 0.25, "images": 3}})
    assert line == "eval at step 1: AP easy=0.5000 hard=0.2500 images=3"
