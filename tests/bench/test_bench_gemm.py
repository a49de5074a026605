"""The GEMM benchmark module: what measure() returns, the table, the shape parser (no timings
are asserted)."""
import numpy as np
import pytest

from steepest.bench import gemm as bench


def test_measure_rows():
    rows = bench.measure([(3, 5, 7, "nt"), (2, 2, 2, "tn")], threads=1, repeats=1, with_torch=False)
    assert [(r["m"], r["n"], r["k"], r["case"]) for r in rows] == [(3, 5, 7, "nt"), (2, 2, 2, "tn")]
    for r in rows:
        assert r["threads"] == 1 and r["dtype"] == "float32"
        assert r["steepest_seconds"] > 0 and r["numpy_seconds"] > 0
        flops = 2.0 * r["m"] * r["n"] * r["k"]
        assert r["steepest_gflops"] == pytest.approx(flops / r["steepest_seconds"] / 1e9)
        assert r["vs_numpy"] == pytest.approx(r["numpy_seconds"] / r["steepest_seconds"])
        assert "torch_seconds" not in r
    lines = bench.table(rows).splitlines()
    assert len(lines) == 3 and "vs numpy" in lines[0] and " nt " in lines[1]


def test_operands_follow_the_case():
    a, b, c = bench.operands(3, 5, 7, "tn", "float64")
    assert a.shape == (7, 3) and b.shape == (7, 5) and c.shape == (3, 5) and c.dtype == np.float64


def test_parse_shape():
    assert bench.parse_shape("64x256x256") == (64, 256, 256, "nn")
    assert bench.parse_shape("64x10x256:nt") == (64, 10, 256, "nt")
    for bad in ("64x256", "64x256x0", "1x2x3:nx", "axbxc"):
        with pytest.raises(ValueError, match="invalid shape"):
            bench.parse_shape(bad)
