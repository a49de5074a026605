"""``steepest bench`` (the update rules) runs end to end, writes its JSON and fails cleanly on
bad options (timings are not checked: speed is measured, never asserted)."""

import json

import pytest

from steepest.__main__ import main


def test_bench_writes_a_row_per_point(tmp_path, capsys):
    assert main(["bench", "--rules", "adamw,lamb", "--sizes", "1031,16K", "--threads", "1,2",
                 "--tensors", "1,3", "--repeats", "1", "--no-torch", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "measuring the memory ceiling" in out and "results:" in out
    assert "plot:" in out or "note: matplotlib is not installed" in out  # never a crash
    (path,) = tmp_path.glob("bench-*.json")
    report = json.loads(path.read_text())
    rows = report["results"]
    assert len(rows) == 2 * 2 * 2 * 2  # rules x sizes x threads x tensors
    for row in rows:
        assert row["seconds"]["steepest"] > 0 and row["seconds"]["numpy"] > 0
        assert "torch-fused" not in row["seconds"]  # --no-torch
        # the ceiling is measured at the row's own size, beside the step
        assert row["ceiling_measured"] == "same size, alternated with the step"
        assert row["ceiling_gb_s"] > 0 and row["fraction_of_ceiling"] > 0
        assert row["bytes_per_param"] == {"adamw": 28, "lamb": 40}[row["rule"]]
    assert set(report["ceilings_gb_s"]) == {"4r3w/1t", "4r2w/1t", "3r1w/1t", "4r3w/2t",
                                            "4r2w/2t", "3r1w/2t"}
    assert report["machine"]["cores"] >= 1 and "caches" in report["machine"]


@pytest.mark.parametrize("argv, message", [
    (["--rules", "adamw,nope"], "unknown rule"),
    (["--sizes", "16Q"], "invalid size"),
    (["--sizes", "0"], "must be >= 1"),
    (["--threads", "0"], "--threads must be >= 1"),
    (["--sizes", "8", "--tensors", "9"], "at least each --tensors count"),
])
def test_bench_rejects_bad_options(argv, message, capsys):
    with pytest.raises(SystemExit):
        main(["bench", *argv])
    assert message in capsys.readouterr().err


def test_every_rule_has_its_ceiling_pattern():
    """The default `steepest bench` measures the ceiling of every rule's access pattern: each
    (reads, writes) of every rule (a new rule's too) has a pattern kernel."""
    import numpy as np

    from steepest import _core
    from steepest.bench.rules import RULES

    for rule in RULES.values():
        for reads, writes in rule.patterns:
            arrays = [np.ones(37, np.float32) for _ in range(reads)]
            _core.pattern_pass(arrays, writes)
            assert all(np.isfinite(a).all() for a in arrays), rule.name
