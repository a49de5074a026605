"""``steepest bench nn`` runs end to end and writes its JSON (timings are not checked)."""

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from steepest.__main__ import main  # noqa: E402


def test_bench_nn_writes_both_tables(tmp_path, capsys):
    assert main(["bench", "nn", "--repeats", "1", "--epochs", "1", "--threads", "1",
                 "--no-torch", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "GEMM" in out and "digits" in out and "TCN" in out and "Transformer" in out
    (path,) = tmp_path.glob("nn-*.json")
    report = json.loads(path.read_text())
    assert {r["case"] for r in report["gemm"]} == {"nn", "nt", "tn", "tt"}
    assert [r["framework"] for r in report["model"]] == ["steepest", "sklearn"]
    assert report["machine"]["cores"] >= 1
    tcn = report["sequence"][0]
    assert tcn["model"] == "TCN" and tcn["threads"] == 1 and tcn["steepest_s"] > 0 and tcn["floor_s"] > 0
    lstms = [r for r in report["sequence"] if r["model"].startswith("LSTM")]
    assert [r["model"] for r in lstms] == ["LSTM-h64", "LSTM-h128"]
    assert all(r["steepest_s"] > 0 and r["floor_s"] > 0 for r in lstms)
    (gru,) = [r for r in report["sequence"] if r["model"] == "GRU"]
    assert gru["steepest_s"] > 0 and gru["floor_s"] > 0
    assert report["sequence"][-1]["model"] == "Transformer"
    assert report["sequence"][-1]["steepest_s"] > 0


def test_bench_nn_rejects_bad_threads():
    with pytest.raises(SystemExit):
        main(["bench", "nn", "--threads", "x"])


def test_tcn_models_agree_and_the_flops_are_the_models():
    """The bench's PyTorch TCN has our model's weights and output, and products() counts the
    model's matrix products: 2 * B*T * (c_in*k) * C per convolution and pass."""
    torch = pytest.importorskip("torch")
    from steepest.bench import nn_tcn, seq_models

    X, y = nn_tcn.data()
    net = nn_tcn.torch_model()
    with torch.no_grad():
        theirs = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(nn_tcn.steepest_model().predict(X), theirs, rtol=1e-4, atol=1e-5)
    assert seq_models.torch_step(nn_tcn, X, y)() is None
    conv = 2 * nn_tcn.B * nn_tcn.T * nn_tcn.C * nn_tcn.C * nn_tcn.K
    first = 2 * nn_tcn.B * nn_tcn.T * nn_tcn.F * nn_tcn.C
    assert seq_models.flops(nn_tcn) == 2 * first + 8 * 3 * conv  # the first conv needs no dx
    ours = nn_tcn.steepest_model()
    assert sum(p.data.size for p in ours.parameters()) == 4 * (2 * (64 * 64 * 3 + 64)) + 45 * 64 + 64 + 65


@pytest.mark.parametrize("hidden", [64, 128])
def test_lstm_models_agree_and_the_flops_are_the_models(hidden):
    """The bench's PyTorch LSTM has our model's weights and output, and products() counts the
    step's matrix products: the input projection, T - 1 recurrent products forward and T - 1
    backward (h_{-1} = 0 needs none), dW_ih and dW_hh."""
    torch = pytest.importorskip("torch")
    from steepest.bench import nn_lstm, seq_models

    spec = {64: nn_lstm.H64, 128: nn_lstm.H128}[hidden]
    X, y = spec.data()
    net = spec.torch_model()
    with torch.no_grad():
        theirs = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(spec.steepest_model().predict(X), theirs, rtol=1e-4, atol=1e-5)
    assert seq_models.torch_step(spec, X, y)() is None
    B, T, F, G = nn_lstm.B, nn_lstm.T, nn_lstm.F, 4 * hidden
    projection, recurrent, weights = B * T * F * G, B * hidden * G, G * B * T * (F + hidden)
    assert seq_models.flops(spec) == 2 * (projection + 2 * (T - 1) * recurrent + weights)
    assert sum(p.data.size for p in spec.steepest_model().parameters()) == \
        G * (F + hidden + 2) + hidden + 1


def test_gru_models_agree_and_the_flops_are_the_models():
    """The bench's PyTorch GRU has our model's weights and output, and products() counts the
    step's matrix products: the input projection, T - 1 recurrent products forward and T - 1
    backward (h_{-1} = 0 needs none), dW_ih and dW_hh."""
    torch = pytest.importorskip("torch")
    from steepest.bench import nn_gru, seq_models

    X, y = nn_gru.data()
    net = nn_gru.torch_model()
    with torch.no_grad():
        theirs = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(nn_gru.steepest_model().predict(X), theirs, rtol=1e-4, atol=1e-5)
    assert seq_models.torch_step(nn_gru, X, y)() is None
    B, T, F, H = nn_gru.B, nn_gru.T, nn_gru.F, nn_gru.H
    G = 3 * H
    projection, recurrent, weights = B * T * F * G, B * H * G, G * B * T * (F + H)
    assert seq_models.flops(nn_gru) == 2 * (projection + 2 * (T - 1) * recurrent + weights)
    assert sum(p.data.size for p in nn_gru.steepest_model().parameters()) == \
        G * (F + H + 2) + H + 1


def test_transformer_models_agree_and_the_flops_are_the_models():
    """The bench's PyTorch Transformer (torch.nn.TransformerEncoder) has our model's weights and
    output, and products() counts the model's matrix products: per encoder layer 3 passes of
    2 * B*T * d_model * (3 + 1 + 2 * ff / d_model) d_model for the dense products and
    6 * 2 * B * T * T * d_model for the attention's, plus the first and last Dense."""
    torch = pytest.importorskip("torch")
    from steepest.bench import nn_transformer as spec
    from steepest.bench import seq_models

    X, y = spec.data()
    net = spec.torch_model()
    with torch.no_grad():
        theirs = net(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(spec.steepest_model().predict(X), theirs, rtol=1e-4, atol=1e-5)
    assert seq_models.torch_step(spec, X, y)() is None
    rows, d, ff = spec.B * spec.T, spec.D, spec.FF
    dense = 3 * 2 * rows * d * (3 * d + d + 2 * ff)
    attention = 6 * 2 * spec.B * spec.T * spec.T * d
    ends = 2 * 2 * rows * spec.F * d + 3 * 2 * spec.B * d
    assert seq_models.flops(spec) == spec.LAYERS * (dense + attention) + ends
    ours = spec.steepest_model()
    layer = 4 * d * d + 4 * d + 2 * d * ff + ff + d + 4 * d
    assert sum(p.data.size for p in ours.parameters()) == spec.F * d + d + 2 * layer + d + 1
