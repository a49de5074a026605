"""fit: steps per epoch, shuffling, the history, early stopping, verbose output, bad input."""

import sys

import numpy as np
import pytest

import steepest
from steepest import nn


def model_and_data(n=50, seed=0, classes=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    model = nn.Sequential(nn.Dense(4, 8, seed=1), nn.ReLU(), nn.Dense(8, classes, seed=2))
    return model, X, y


def weights(model):
    return [p.data.copy() for p in model.parameters()]


def manual_epochs(model, X, y, orders, batch_size, lr):
    """The loop fit runs, written out: SGD over the batches of each order."""
    opt = steepest.optim.SGD(model.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    for order in orders:
        for start in range(0, len(X), batch_size):
            rows = order[start:start + batch_size]
            model.zero_grad()
            _, dout = loss.value_and_grad(model.forward(X[rows]), y[rows])
            model.backward(dout)
            opt.step()


@pytest.mark.parametrize("batch_size,steps", [(None, 1), (1, 50), (16, 4), (50, 1), (80, 1)])
def test_steps_per_epoch(batch_size, steps):
    model, X, y = model_and_data()
    opt = steepest.optim.Adam(model.parameters())
    history = model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=3,
                        batch_size=batch_size)
    assert history.steps == 3 * steps and history.epochs == 3
    assert int(opt.state[0]["step"]) == 3 * steps


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_same_trajectory_as_the_loop_written_out(shuffle, batch_size):
    """Batches in order (shuffle=False) or in np.random.default_rng(seed).permutation order,
    one per epoch: bitwise the weights of the explicit loop."""
    model, X, y = model_and_data()
    other = model_and_data()[0]
    model.fit(X, y, loss="cross_entropy", optimizer=steepest.optim.SGD(model.parameters(),
              lr=0.1), epochs=3, batch_size=batch_size, shuffle=shuffle, seed=5)
    rng = np.random.default_rng(5)
    orders = [rng.permutation(50) if shuffle else np.arange(50) for _ in range(3)]
    manual_epochs(other, X, y, orders, batch_size or 50, lr=0.1)
    for a, b in zip(weights(model), weights(other)):
        np.testing.assert_array_equal(a, b)


def test_shuffle_seed_determines_the_run():
    runs = {}
    for key, seed in (("a", 7), ("b", 7), ("c", 8)):
        model, X, y = model_and_data()
        model.fit(X, y, loss="cross_entropy", epochs=2, batch_size=8, seed=seed)
        runs[key] = weights(model)
    for a, b in zip(runs["a"], runs["b"]):
        np.testing.assert_array_equal(a, b)
    assert any((a != c).any() for a, c in zip(runs["a"], runs["c"]))


def test_bitwise_the_same_on_any_thread_count(num_threads):
    """The digits-sized layers (products large enough to be split across threads)."""
    rng = np.random.default_rng(4)
    X = rng.random((256, 64)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    runs = []
    for n in (1, 2, 3):
        model = nn.Sequential(nn.Dense(64, 256, seed=0), nn.ReLU(), nn.Dense(256, 256, seed=1),
                              nn.GELU(), nn.Dense(256, 10, seed=2))
        with num_threads(n):
            model.fit(X, y, loss="cross_entropy", epochs=2, batch_size=64, seed=0)
        runs.append(weights(model))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)


def test_history_content():
    model, X, y = model_and_data()
    Xv, yv = X[:20] + 0.1, y[:20]
    history = model.fit(X, y, loss="cross_entropy", optimizer="adam", epochs=4, batch_size=16,
                        shuffle=False, validation_data=(Xv, yv))
    assert list(history) == ["loss", "accuracy", "val_loss", "val_accuracy"]
    assert all(len(v) == 4 for v in history.values())
    assert history.best_epoch is None and history.stopped_epoch is None
    final = model.evaluate(Xv, yv, loss="cross_entropy")
    assert final == {"loss": history["val_loss"][-1], "accuracy": history["val_accuracy"][-1]}
    assert all(0 <= a <= 1 for a in history["accuracy"] + history["val_accuracy"])

    # the epoch's loss is the row-weighted mean of its batch losses, as the weights moved
    model, X, y = model_and_data()
    other = model_and_data()[0]
    history = model.fit(X, y, loss="cross_entropy", optimizer=steepest.optim.SGD(
        model.parameters(), lr=0.1), epochs=1, batch_size=16, shuffle=False)
    opt, loss, total = steepest.optim.SGD(other.parameters(), lr=0.1), nn.CrossEntropyLoss(), 0
    for start in range(0, 50, 16):
        other.zero_grad()
        value, dout = loss.value_and_grad(other.forward(X[start:start + 16]), y[start:start + 16])
        total += value * len(dout)
        other.backward(dout)
        opt.step()
    assert history["loss"][0] == pytest.approx(total / 50, rel=1e-12)


def test_regression_history_and_metrics():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])  # 1-d targets for the single output
    model = nn.Sequential(nn.Dense(3, 1, seed=0))
    history = model.fit(X, y, loss="mse", optimizer=steepest.optim.Adam(model.parameters(),
                        lr=0.05), epochs=60, batch_size=8, seed=0)
    assert list(history) == ["loss"]
    assert history["loss"][-1] < 0.01 * history["loss"][0]
    history = model.fit(X, y, loss=nn.HuberLoss(0.5), optimizer="sgd", epochs=2,
                        metric="mae", validation_data=(X, y))
    assert list(history) == ["loss", "mae", "val_loss", "val_mae"]
    history = model.fit(X, y, loss="mae", epochs=1, metric=lambda p, t: 1.5)
    assert history["<lambda>"] == [1.5]


def test_binary_classification():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.float64)
    model = nn.Sequential(nn.Dense(2, 1, seed=0))
    history = model.fit(X, y, loss="bce_with_logits", optimizer=steepest.optim.Adam(
        model.parameters(), lr=0.05), epochs=20, batch_size=32, seed=0)
    assert history["accuracy"][-1] > 0.95


def early_stopping_setup():
    """Validation targets opposite to the training ones: val_loss rises as training goes."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = X @ np.array([1.0, -1.0, 2.0], np.float32)
    model = nn.Sequential(nn.Dense(3, 1, seed=0))
    opt = steepest.optim.Adam(model.parameters(), lr=0.05)
    return model, opt, X, y, (X, -y)


@pytest.mark.parametrize("restore", [True, False])
def test_early_stopping_restores_best_weights(restore):
    model, opt, X, y, val = early_stopping_setup()
    stopper = nn.EarlyStopping(patience=3, restore_best_weights=restore)
    history = model.fit(X, y, loss="mse", optimizer=opt, epochs=50, batch_size=16, seed=0,
                        validation_data=val, early_stopping=stopper)
    best = int(np.argmin(history["val_loss"]))
    assert history.best_epoch == best == stopper.best_epoch
    assert history.stopped_epoch == best + 3 == history.epochs - 1
    final = model.evaluate(*val, loss="mse")["loss"]
    assert final == history["val_loss"][best if restore else -1]


def test_best_weights_restored_also_without_stopping():
    model, opt, X, y, val = early_stopping_setup()
    history = model.fit(X, y, loss="mse", optimizer=opt, epochs=6, batch_size=16, seed=0,
                        validation_data=val, early_stopping=nn.EarlyStopping(patience=100))
    assert history.stopped_epoch is None and history.epochs == 6
    best = int(np.argmin(history["val_loss"]))
    assert history.best_epoch == best < 5
    assert model.evaluate(*val, loss="mse")["loss"] == history["val_loss"][best]


def test_optimizer_wrappers():
    """Accumulate: one update per k steps of fit, from the mean of their gradients."""
    model, X, y = model_and_data()
    inner = steepest.optim.Adam(model.parameters())
    history = model.fit(X, y, loss="cross_entropy", optimizer=steepest.optim.Accumulate(inner, 2),
                        epochs=2, batch_size=10)
    assert history.steps == 10 and int(inner.state[0]["step"]) == 5


def test_early_stopping_monitor_mode_and_min_delta():
    model, opt, X, y, val = early_stopping_setup()
    # the training loss keeps falling, but not by min_delta=1e9: stop after 'patience' epochs
    history = model.fit(X, y, loss="mse", optimizer=opt, epochs=50, validation_data=val,
                        early_stopping=nn.EarlyStopping("loss", patience=2, min_delta=1e9))
    assert history.best_epoch == 0 and history.epochs == 3
    model, X, y = model_and_data()
    stopper = nn.EarlyStopping("val_accuracy", patience=0)
    history = model.fit(X, y, loss="cross_entropy", epochs=30, validation_data=(X, y),
                        early_stopping=stopper)
    assert stopper.best_value == max(history["val_accuracy"])  # accuracy is maximized
    with pytest.raises(ValueError, match="monitor 'val_loss' is not recorded"):
        model.fit(X, y, loss="cross_entropy", early_stopping=nn.EarlyStopping("val_loss"))
    model, opt, X, y, val = early_stopping_setup()
    history = model.fit(X, y, loss="mse", optimizer=opt, epochs=50, validation_data=val,
                        early_stopping=1)  # EarlyStopping(patience=1) on val_loss
    assert history.stopped_epoch == history.best_epoch + 1


def test_verbose_lines(capsys, monkeypatch):
    model, X, y = model_and_data()
    model.fit(X, y, loss="cross_entropy", epochs=2, verbose=2, validation_data=(X, y))
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert out[0].startswith("epoch 1/2: loss ") and "val_accuracy" in out[0]
    monkeypatch.setitem(sys.modules, "tqdm", None)  # as if tqdm were not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    model.fit(X, y, loss="cross_entropy", epochs=3, verbose=1)
    assert len(capsys.readouterr().out.splitlines()) == 3
    model.fit(X, y, loss="cross_entropy", epochs=3)
    assert capsys.readouterr() == ("", "")


def test_verbose_progress_bar(capsys):
    pytest.importorskip("tqdm")
    model, X, y = model_and_data()
    model.fit(X, y, loss="cross_entropy", epochs=3, verbose=1)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "3/3" in captured.err and "loss=" in captured.err


def test_verbose_early_stopping_message(capsys):
    model, opt, X, y, val = early_stopping_setup()
    model.fit(X, y, loss="mse", optimizer=opt, epochs=50, validation_data=val,
              early_stopping=2, verbose=2)
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("early stopping after epoch") and "weights restored" in last


BAD = [
    (dict(X=np.ones((50, 5))), ValueError, "X has 5 features, the model expects 4"),
    (dict(X=np.where(np.eye(50, 4) > 0, np.nan, 0)), ValueError, "X contains NaN"),
    (dict(X=np.full((50, 4), np.inf)), ValueError, "X contains NaN or infinity"),
    (dict(X=np.ones(50)), ValueError, "X must be 2-d"),
    (dict(y=np.arange(50) % 4), ValueError, "y\\[3\\] = 3 is out of range"),
    (dict(y=-np.ones(50, np.int64)), ValueError, "y\\[0\\] = -1 is out of range"),
    (dict(y=np.where(np.arange(50) == 7, np.uint64(2**63), np.uint64(0))), ValueError,
     "y\\[7\\] = 9223372036854775808 is out of range"),
    (dict(y=np.full(50, 2**64 - 1, np.uint64)), ValueError,
     "y\\[0\\] = 18446744073709551615 is out of range"),
    (dict(y=np.zeros(50)), TypeError, "integer class labels, got dtype float64"),
    (dict(y=np.zeros((50, 3), np.int64)), ValueError, "labels of shape \\(n,\\)"),
    (dict(y=np.zeros(49, np.int64)), ValueError, "X has 50 rows but y has 49"),
    (dict(loss="nll"), ValueError, "loss must be"),
    (dict(loss="mse", y=np.zeros((50, 2))), ValueError, "expects targets of shape \\(n, 3\\)"),
    (dict(loss="mse", y=np.full((50, 3), np.nan)), ValueError, "y contains NaN"),
    (dict(loss="bce_with_logits", y=np.full((50, 3), 2.0)), ValueError, "in \\[0, 1\\]"),
    (dict(loss="mse", metric="accuracy", y=np.zeros((50, 3))), ValueError, "classification"),
    (dict(metric="f2"), ValueError, "metric must be"),
    (dict(metric="r2"), ValueError, "metric 'r2' needs a regression loss"),
    (dict(loss="mse", y=np.zeros((50, 3)), metric="f1"), ValueError,
     "needs a classification loss"),
    (dict(callbacks=[1]), TypeError, "callbacks must be"),
    (dict(scheduler=3), TypeError, "scheduler must be"),
    (dict(sample_weight=np.ones(49)), ValueError, "sample_weight must be numbers of shape"),
    (dict(sample_weight=-np.ones(50)), ValueError, "finite and >= 0"),
    (dict(sample_weight=np.zeros(50)), ValueError, "sum to 0"),
    (dict(class_weight="even"), ValueError, "class_weight must be"),
    (dict(class_weight={0: -1.0}), ValueError, "class_weight\\[0\\] must be"),
    (dict(class_weight={"a": 1.0}), ValueError, "class_weight keys must be"),
    (dict(loss="mse", y=np.zeros((50, 3)), class_weight="balanced"), ValueError,
     "class_weight needs class labels"),
    (dict(optimizer="adamm"), ValueError, "optimizer 'adamm' is not one of"),
    (dict(optimizer=object()), TypeError, "optimizer must be"),
    (dict(epochs=-1), ValueError, "epochs must be an int >= 0"),
    (dict(batch_size=0), ValueError, "batch_size must be an int >= 1"),
    (dict(batch_size=2.5), ValueError, "batch_size"),
    (dict(verbose=3), ValueError, "verbose"),
    (dict(validation_data=np.ones((5, 4))), TypeError, "validation_data must be a pair"),
    (dict(validation_data=(np.ones((5, 3)), np.zeros(5, np.int64))), ValueError,
     "validation_data\\[0\\] has 3 features"),
    (dict(validation_data=(np.ones((5, 4)), np.full(5, 9))), ValueError,
     "validation_data\\[1\\]\\[0\\] = 9 is out of range"),
    (dict(validation_data=(np.ones((5, 4)), np.full(5, 2**63, np.uint64))), ValueError,
     "validation_data\\[1\\]\\[0\\] = 9223372036854775808 is out of range"),
    (dict(early_stopping="yes"), TypeError, "early_stopping must be"),
    (dict(clip_grad_norm=0.0), ValueError, "clip_grad_norm must be None or a finite number > 0"),
    (dict(clip_grad_norm=-1), ValueError, "clip_grad_norm must be"),
    (dict(clip_grad_norm=np.inf), ValueError, "clip_grad_norm must be"),
    (dict(clip_grad_norm=True), ValueError, "clip_grad_norm must be"),
    (dict(clip_grad_norm="1"), ValueError, "clip_grad_norm must be"),
]


@pytest.mark.parametrize("change,error,match", BAD)
def test_bad_input_changes_nothing(change, error, match):
    model, X, y = model_and_data()
    before = weights(model)
    args = dict(X=X, y=y, loss="cross_entropy", epochs=2)
    args.update(change)
    with pytest.raises(error, match=match):
        model.fit(args.pop("X"), args.pop("y"), **args)
    for a, b in zip(weights(model), before):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 1e6])
def test_clip_grad_norm_is_a_clip_between_backward_and_step(max_norm):
    """fit's step with clip_grad_norm equals the loop written out with clip_grad_norm_ between
    backward and step, bitwise; a tiny max norm clips every step, a huge one none."""
    model, X, y = model_and_data()
    other = model_and_data()[0]
    model.fit(X, y, loss="cross_entropy", optimizer=steepest.optim.SGD(model.parameters(),
              lr=0.5), epochs=2, batch_size=16, shuffle=False, clip_grad_norm=max_norm)
    opt = steepest.optim.SGD(other.parameters(), lr=0.5)
    loss = nn.CrossEntropyLoss()
    norms = []
    for _ in range(2):
        for start in range(0, 50, 16):
            other.zero_grad()
            _, dout = loss.value_and_grad(other.forward(X[start:start + 16]), y[start:start + 16])
            other.backward(dout)
            norms.append(steepest.optim.clip_grad_norm_(other.parameters(), max_norm))
            total = np.sqrt(sum(float(np.sum(p.grad.astype(np.float64) ** 2))
                                for p in other.parameters()))
            assert total <= max_norm * (1 + 1e-5)
            opt.step()
    assert (min(norms) > max_norm) == (max_norm < 0.01) and (max(norms) < max_norm) == (max_norm > 1)
    for a, b in zip(weights(model), weights(other)):
        np.testing.assert_array_equal(a, b)


def test_train_step_clips():
    """train_step(..., clip_grad_norm) leaves gradients of total norm max_norm when the
    unclipped norm is larger, and the update used them."""
    from steepest.nn.training import train_step
    model, X, y = model_and_data()
    before = weights(model)
    opt = steepest.optim.SGD(model.parameters(), lr=1.0)
    train_step(model, nn.CrossEntropyLoss(), opt, X, y, {}, clip_grad_norm=1e-4)
    grads = [p.grad for p in model.parameters()]
    norm = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    np.testing.assert_allclose(norm, 1e-4, rtol=1e-4)
    for w0, p, g in zip(before, model.parameters(), grads):
        np.testing.assert_array_equal(p.data, w0 - g)
    with pytest.raises(ValueError, match="clip_grad_norm"):
        train_step(model, nn.CrossEntropyLoss(), opt, X, y, {}, clip_grad_norm=-1.0)


def test_optimizer_must_hold_the_models_parameters():
    model, X, y = model_and_data()
    other = model_and_data()[0]
    with pytest.raises(ValueError, match="none of the model's parameters"):
        model.fit(X, y, loss="cross_entropy", optimizer=steepest.optim.SGD(other.parameters()))
    with pytest.raises(ValueError, match="plain arrays"):
        model.fit(X, y, loss="cross_entropy",
                  optimizer=steepest.optim.SGD([p.data for p in model.parameters()]))
    history = model.fit(X, y, loss="cross_entropy", optimizer="AdamW", epochs=1)
    assert history.steps == 2


# --- sequences: X (N, T, F) windows ---------------------------------------------------------

def windows(n=600, T=16, seed=0):
    """(X (n, T, 3), y (n,)) from a noisy AR(2) series s: each window holds s, its first
    difference and a noise feature over T steps; the target is the next value of s."""
    rng = np.random.default_rng(seed)
    s = np.zeros(n + T + 2)
    for t in range(2, len(s)):
        s[t] = 1.2 * s[t - 1] - 0.5 * s[t - 2] + 0.3 * rng.standard_normal()
    feats = np.stack([s, np.diff(s, prepend=0.0), rng.standard_normal(len(s))], axis=1)
    X = np.stack([feats[i:i + T] for i in range(n)])
    y = s[T:T + n]  # the value after each window
    return X.astype(np.float32), y.astype(np.float32)


def sequence_model(seed=0):
    return nn.Sequential(nn.Dense(3, 16, seed=seed), nn.ReLU(), nn.Dense(16, 16, seed=seed + 1),
                         nn.ReLU(), nn.LastStep(), nn.Dense(16, 1, seed=seed + 2))


def test_fit_on_windows_beats_predicting_the_mean():
    X, y = windows()
    Xt, yt, Xv, yv = X[:450], y[:450], X[450:], y[450:]
    model = sequence_model()
    history = model.fit(Xt, yt, loss="mse", optimizer=steepest.optim.Adam(
        model.parameters(), lr=3e-3), epochs=30, batch_size=32, seed=0,
        validation_data=(Xv, yv), early_stopping=5)
    mean_loss = float(np.mean((yv - yt.mean()) ** 2))
    val = model.evaluate(Xv, yv, loss="mse")["loss"]
    assert val == pytest.approx(min(history["val_loss"]), rel=1e-6)  # the best weights restored
    assert val < 0.5 * mean_loss, (val, mean_loss)
    pred = model.predict(Xv, batch_size=7)
    assert pred.shape == (150, 1)
    np.testing.assert_allclose(pred[:, 0], model.predict(Xv)[:, 0], rtol=1e-6, atol=1e-6)
    assert model.evaluate(Xv, yv.reshape(-1, 1), loss="mse")["loss"] == pytest.approx(val)


SEQUENCE_BAD = [
    (dict(X=np.ones((40, 16, 4))), ValueError, "X has 4 features, the model expects 3"),
    (dict(X=np.ones((40, 3))), ValueError, r"LastStep\(\) takes sequences"),
    (dict(y=np.zeros((40, 2))), ValueError, r"expects targets of shape \(n, 1\) or \(n,\)"),
    (dict(y=np.zeros(39)), ValueError, "X has 40 rows but y has 39"),
    (dict(X=np.where(np.arange(40)[:, None, None] == 7, np.nan, np.ones((40, 16, 3)))),
     ValueError, "X contains NaN or infinity \\(first at row 7\\)"),
    (dict(validation_data=(np.ones((5, 16, 2)), np.zeros(5))), ValueError,
     "validation_data\\[0\\] has 2 features"),
]


@pytest.mark.parametrize("change,error,match", SEQUENCE_BAD)
def test_bad_sequences_change_nothing(change, error, match):
    model = sequence_model()
    before = weights(model)
    args = dict(X=np.ones((40, 16, 3), np.float32), y=np.zeros(40), loss="mse", epochs=1)
    args.update(change)
    with pytest.raises(error, match=match):
        model.fit(args.pop("X"), args.pop("y"), **args)
    for a, b in zip(weights(model), before):
        np.testing.assert_array_equal(a, b)


def test_fit_needs_an_output_of_rows():
    model = nn.Sequential(nn.Dense(3, 1, seed=0))  # (N, T, 3) -> (N, T, 1)
    with pytest.raises(ValueError, match=r"end the model with LastStep\(\)"):
        model.fit(np.ones((10, 4, 3)), np.zeros(10), loss="mse")
    assert model.predict(np.ones((10, 4, 3))).shape == (10, 4, 1)  # predict takes any output
