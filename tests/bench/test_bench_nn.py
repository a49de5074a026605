"""``steepest bench nn`` runs end to end and writes its JSON (timings are not checked)."""

import json

import pytest

pytest.importorskip("sklearn")

from steepest.__main__ import main  # noqa: E402


def test_bench_nn_writes_both_tables(tmp_path, capsys):
    assert main(["bench", "nn", "--repeats", "1", "--epochs", "1", "--threads", "1",
                 "--no-torch", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "GEMM" in out and "digits" in out
    (path,) = tmp_path.glob("nn-*.json")
    report = json.loads(path.read_text())
    assert {r["case"] for r in report["gemm"]} == {"nn", "nt", "tn", "tt"}
    assert [r["framework"] for r in report["model"]] == ["steepest", "sklearn"]
    assert report["machine"]["cores"] >= 1


def test_bench_nn_rejects_bad_threads():
    with pytest.raises(SystemExit):
        main(["bench", "nn", "--threads", "x"])
