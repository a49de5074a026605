"""Estimators, models and optimizers pickle (into Ray workers and back), and a Ray Tune run with
ASHA over the walk-forward example's search works (where ray is installed)."""

import importlib.util
import pickle
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("sklearn")

import steepest  # noqa: E402
from steepest import nn  # noqa: E402
from steepest.estimators import LinearRegressor, MLPClassifier, SequenceRegressor  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.standard_normal((200, 6))
Y = X @ RNG.standard_normal(6)


@pytest.mark.parametrize("est,y", [
    (LinearRegressor(optimizer="adam", seed=0, epochs=3), Y),
    (MLPClassifier(hidden_layer_sizes=(8,), seed=0, epochs=3), Y > 0),
    (SequenceRegressor(hidden_size=4, seed=0, epochs=2), Y),
])
def test_fitted_estimators_pickle_and_continue(est, y):
    """The copy predicts the same and its partial_fit (same optimizer state) matches."""
    est.fit(X, y)
    copy = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(copy.predict(X), est.predict(X))
    copy.partial_fit(X, y)
    est.partial_fit(X, y)
    np.testing.assert_array_equal(copy.predict(X), est.predict(X))


def test_model_and_optimizer_pickle_together():
    model = nn.Sequential(nn.Dense(6, 4, seed=0), nn.ReLU(), nn.Dense(4, 1, seed=1))
    opt = steepest.optim.Adam(model.parameters(), lr=1e-2)
    model.fit(X, Y, loss="mse", optimizer=opt, epochs=1)
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    for m, o in ((model, opt), (model2, opt2)):
        m.fit(X, Y, loss="mse", optimizer=o, epochs=1, seed=3)
    np.testing.assert_array_equal(model2.predict(X), model.predict(X))
    assert opt2.applied_steps == opt.applied_steps


@pytest.fixture(scope="module")
def ray_runtime():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def test_estimators_go_to_workers_and_back(ray_runtime):
    @ray_runtime.remote
    def fit(est):
        return est.fit(X, Y)

    remote = ray_runtime.get(fit.remote(LinearRegressor(optimizer="adam", seed=0, epochs=3)))
    local = LinearRegressor(optimizer="adam", seed=0, epochs=3).fit(X, Y)
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_tune_with_asha_on_the_walk_forward_example(ray_runtime):
    path = Path(__file__).parents[2] / "examples" / "ray_tune_walk_forward.py"
    spec = importlib.util.spec_from_file_location("ray_tune_walk_forward", path)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    X_bars, y_bars = example._walk_forward_example().dataset(n=800)
    best, results = example.search(X_bars, y_bars, trials=4, epochs=4)
    assert len(results) == 4 and not results.errors
    for result in results:
        assert 1 <= result.metrics["epoch"] <= 4 and np.isfinite(result.metrics["val_loss"])
    assert set(best) == {"hidden", "lr", "weight_decay", "batch_size", "epochs"}

