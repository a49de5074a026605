"""fit's training loop options: callbacks and StopTraining, lr schedulers per epoch or batch
(ReduceLROnPlateau fed the monitored value), sample and class weights, the metrics by name
(against scikit-learn), predict_proba, summary and History.plot."""

import io

import numpy as np
import pytest

import steepest
from steepest import nn
from steepest.nn import metrics
from steepest.optim import lr_scheduler


def classifier(classes=3, seed=1):
    return nn.Sequential(nn.Dense(4, 8, seed=seed), nn.ReLU(), nn.Dense(8, classes, seed=seed + 1))


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, y


# -- callbacks -------------------------------------------------------------------------------

def test_callbacks_get_each_epochs_logs_and_can_stop():
    X, y = data()
    seen = []

    def record(epoch, logs):
        seen.append((epoch, logs))

    history = classifier().fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=3,
                               validation_data=(X, y), callbacks=[record])
    assert [e for e, _ in seen] == [0, 1, 2]
    for epoch, logs in seen:
        assert logs == {"loss": history["loss"][epoch], "accuracy": history["accuracy"][epoch],
                        "val_loss": history["val_loss"][epoch],
                        "val_accuracy": history["val_accuracy"][epoch], "lr": 1e-3}
    stopped = classifier().fit(X, y, loss="cross_entropy", epochs=10,
                               callbacks=[lambda epoch, logs: epoch == 1])
    assert stopped.epochs == 2

    def stop(epoch, logs):
        if epoch == 2:
            raise nn.StopTraining()

    assert classifier().fit(X, y, loss="cross_entropy", epochs=10, callbacks=stop).epochs == 3


def test_estimator_callbacks_may_raise_stop_training():
    pytest.importorskip("sklearn")
    from steepest.estimators import LinearRegressor

    def stop(epoch, logs):
        if epoch == 1:
            raise nn.StopTraining

    X, y = data()
    est = LinearRegressor(epochs=10, tol=None, seed=0, callbacks=[stop]).fit(X, y.astype(float))
    assert est.n_iter_ == 2


# -- schedulers ------------------------------------------------------------------------------

def lrs(history_callback_logs):
    return [logs["lr"] for logs in history_callback_logs]


def test_scheduler_per_epoch_and_per_batch():
    X, y = data()
    model = classifier()
    opt = steepest.optim.SGD(model.parameters(), lr=0.1)
    logs = []
    model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=3, batch_size=20,
              scheduler=lr_scheduler.StepLR(opt, step_size=1, gamma=0.5),
              callbacks=[lambda e, lg: logs.append(lg)])
    assert lrs(logs) == [0.1, 0.05, 0.025] and opt.param_groups[0]["lr"] == 0.0125
    # per batch: 3 batches an epoch, the factory builds it on the optimizer fit makes
    logs.clear()
    model.fit(X, y, loss="cross_entropy", optimizer="sgd", epochs=2, batch_size=20,
              scheduler=lambda o: lr_scheduler.ExponentialLR(o, gamma=0.5),
              scheduler_per_batch=True, callbacks=[lambda e, lg: logs.append(lg)])
    assert lrs(logs) == [1e-3, 1e-3 / 8]


def test_reduce_on_plateau_gets_the_monitored_value():
    X, y = data()
    model = classifier()
    opt = steepest.optim.SGD(model.parameters(), lr=0.1)

    class Recording(lr_scheduler.ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    seen = []
    history = model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=3,
                        validation_data=(X[:20], y[:20]), scheduler=Recording(opt))
    assert seen == history["val_loss"]
    seen.clear()
    history = model.fit(X, y, loss="cross_entropy", optimizer=opt, epochs=2,
                        scheduler=Recording(opt))
    assert seen == history["loss"]


def test_scheduler_of_another_optimizer_is_refused():
    X, y = data()
    model = classifier()
    before = [p.data.copy() for p in model.parameters()]
    other = steepest.optim.SGD(classifier().parameters())
    with pytest.raises(ValueError, match="not a scheduler of fit's optimizer"):
        model.fit(X, y, loss="cross_entropy", optimizer=steepest.optim.SGD(model.parameters()),
                  scheduler=lr_scheduler.StepLR(other, 1))
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


# -- sample and class weights ----------------------------------------------------------------

@pytest.mark.parametrize("loss", ["mse", "mae", "huber", "cross_entropy", "bce_with_logits"])
def test_integer_weights_are_repeated_rows(loss):
    """Full-batch gradient descent with weights w_i in {0, 1, 2, 3} takes the steps of the data
    with row i repeated w_i times (in float64: equal to rounding)."""
    X, labels = data()
    w = np.arange(len(X)) % 4
    y = {"cross_entropy": labels, "bce_with_logits": (labels > 0).astype(float)[:, None]}.get(
        loss, np.column_stack([X[:, 0] - X[:, 2], X[:, 1]]))
    outputs = {"cross_entropy": 3, "bce_with_logits": 1}.get(loss, 2)

    def model():
        return nn.Sequential(nn.Dense(4, 8, seed=1, dtype=np.float64), nn.Tanh(),
                             nn.Dense(8, outputs, seed=2, dtype=np.float64))

    a, b = model(), model()
    ha = a.fit(X, y, loss=loss, optimizer="sgd", epochs=3, batch_size=None, sample_weight=w)
    hb = b.fit(np.repeat(X, w, axis=0), np.repeat(y, w, axis=0), loss=loss, optimizer="sgd",
               epochs=3, batch_size=None)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-12)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_allclose(p.data, q.data, rtol=1e-10, atol=1e-14)


def test_class_weight_is_a_sample_weight_per_class():
    sklearn = pytest.importorskip("sklearn.utils.class_weight")
    X, y = data()
    runs = []
    for kwargs in (dict(class_weight="balanced"),
                   dict(sample_weight=sklearn.compute_sample_weight("balanced", y)),
                   dict(class_weight={0: 0.5, 2: 3.0}),
                   dict(sample_weight=np.array([0.5, 1.0, 3.0])[y])):
        model = classifier()
        runs.append((model.fit(X, y, loss="cross_entropy", epochs=2, seed=0, batch_size=16,
                               **kwargs)["loss"], [p.data for p in model.parameters()]))
    for (la, pa), (lb, pb) in (runs[:2], runs[2:]):
        assert la == lb
        for p, q in zip(pa, pb):
            np.testing.assert_array_equal(p, q)


def test_weights_refused_for_losses_not_made_of_rows():
    X, y = data()
    model = nn.Sequential(nn.Dense(4, 1, seed=0))
    with pytest.raises(ValueError, match="loss made of rows"):
        model.fit(X, X[:, 0], loss="sharpe", shuffle=False, sample_weight=np.ones(len(X)))


# -- metrics ---------------------------------------------------------------------------------

def logits(n, k, seed):
    return np.random.default_rng(seed).standard_normal((n, k)).astype(np.float32)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_classification_metrics_match_scikit_learn():
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    # cross_entropy, 3 classes: macro averages, one-vs-rest AUC of the softmax
    z, y = logits(200, 3, 0), rng.integers(0, 3, 200)
    p = softmax(z.astype(np.float64))
    assert metrics.log_loss(z, y) == pytest.approx(skm.log_loss(y, p), rel=1e-9)
    for name in ("precision", "recall", "f1"):
        expected = getattr(skm, f"{name}_score")(y, z.argmax(1), average="macro")
        assert getattr(metrics, name)(z, y) == pytest.approx(expected, rel=1e-12)
    assert metrics.roc_auc(z, y) == pytest.approx(skm.roc_auc_score(y, p, multi_class="ovr"),
                                                  rel=1e-12)
    # cross_entropy with 2 classes and bce with one output: class 1 (ties in the scores too)
    z2, y2 = np.round(logits(150, 2, 1), 1), rng.integers(0, 2, 150)
    zb = np.round(logits(150, 1, 2), 1)
    for pred, score, guess in ((z2, z2[:, 1].astype(np.float64) - z2[:, 0], z2.argmax(1)),
                               (zb, zb[:, 0], (zb[:, 0] > 0).astype(int))):
        target = y2 if pred.shape[1] == 2 else y2[:, None].astype(np.float32)
        for name in ("precision", "recall", "f1"):
            expected = getattr(skm, f"{name}_score")(y2, guess)
            assert getattr(metrics, name)(pred, target) == pytest.approx(expected, rel=1e-12)
        assert metrics.roc_auc(pred, target) == pytest.approx(skm.roc_auc_score(y2, score),
                                                              rel=1e-12)
    assert metrics.log_loss(zb, y2[:, None].astype(np.float32)) == pytest.approx(
        skm.log_loss(y2, 1 / (1 + np.exp(-zb[:, 0].astype(np.float64)))), rel=1e-9)


def test_regression_metrics():
    skm = pytest.importorskip("sklearn.metrics")
    pred, y = logits(100, 2, 4), logits(100, 2, 5)
    assert metrics.r2(pred, y) == pytest.approx(skm.r2_score(y.astype(float), pred.astype(float)),
                                                rel=1e-12)
    assert metrics.directional_accuracy(pred, y) == np.mean(np.sign(pred) == np.sign(y))
    assert metrics.r2(y[:, :1] * 0 + 1, y[:, :1] * 0 + 1) == 1.0  # constant, predicted


def test_metrics_over_the_whole_epoch():
    """f1 and roc_auc are computed over all the epoch's rows, not averaged over batches: with
    lr=0 the outputs do not move, so history's values are the metric of predict."""
    skm = pytest.importorskip("sklearn.metrics")
    X, y = data(90)
    yb = (y > 0).astype(np.float32)
    model = nn.Sequential(nn.Dense(4, 1, seed=3))
    for name in ("f1", "roc_auc"):
        opt = steepest.optim.SGD(model.parameters(), lr=0.0)
        history = model.fit(X, yb, loss="bce_with_logits", optimizer=opt, batch_size=16,
                            metric=name, validation_data=(X[:40], yb[:40]))
        z = model.predict(X)[:, 0]
        expected = skm.f1_score(yb, z > 0) if name == "f1" else skm.roc_auc_score(yb, z)
        assert history[name] == [pytest.approx(expected, rel=1e-12)]
        zv = z[:40]
        expected = (skm.f1_score(yb[:40], zv > 0) if name == "f1"
                    else skm.roc_auc_score(yb[:40], zv))
        assert history[f"val_{name}"] == [pytest.approx(expected, rel=1e-12)]
        assert model.evaluate(X, yb, "bce_with_logits", metric=name)[name] == pytest.approx(
            history[name][0], rel=1e-12)


def test_score_metrics_are_maximized_by_early_stopping():
    X, y = data()
    stopper = nn.EarlyStopping("val_f1", patience=0)
    history = classifier().fit(X, y, loss="cross_entropy", epochs=5, metric="f1",
                               validation_data=(X, y), early_stopping=stopper)
    assert stopper.best_value == max(history["val_f1"][:history.epochs])


# -- predict_proba, summary, History.plot ----------------------------------------------------

def test_predict_proba():
    X, _ = data()
    model = classifier()
    z = model.predict(X).astype(np.float64)
    np.testing.assert_allclose(model.predict_proba(X), softmax(z), rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(X, multilabel=True), 1 / (1 + np.exp(-z)),
                               rtol=1e-12)
    one = nn.Sequential(nn.Dense(4, 1, seed=0))
    np.testing.assert_allclose(one.predict_proba(X),
                               1 / (1 + np.exp(-one.predict(X).astype(np.float64))),
                               rtol=1e-12)


def test_summary():
    model = nn.Sequential(nn.Conv1d(3, 8, 3, seed=0), nn.ReLU(), nn.LastStep(),
                          nn.Dense(8, 2, seed=1))
    out = io.StringIO()
    assert model.summary((30, 3), file=out) is None
    text = out.getvalue()[:-1]
    assert out.getvalue() == model.summary((30, 3), file=None) + "\n"
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "output", "shape", "parameters"]
    assert "(B, 30, 8)" in lines[2] and lines[2].endswith(" 80")  # 8*3*3 + 8
    assert "(B, 8)" in lines[4] and "(B, 2)" in lines[5] and lines[5].endswith(" 18")
    assert lines[-1] == "parameters: 98 (float32)"
    assert "?" in model.summary(file=None).splitlines()[2]  # no input shape seen yet
    model.predict(np.zeros((1, 30, 3)))
    assert model.summary(file=None) == text


def test_history_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    X, y = data()
    history = classifier().fit(X, y, loss="cross_entropy", epochs=3, validation_data=(X, y),
                               early_stopping=2)
    fig = history.plot()
    assert [ax.get_ylabel() for ax in fig.axes] == ["loss", "accuracy"]
    lines = fig.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_ydata(), history["loss"])
    np.testing.assert_array_equal(lines[1].get_ydata(), history["val_loss"])
    fig.savefig(tmp_path / "history.png")
    assert (tmp_path / "history.png").stat().st_size > 0
