"""scikit-learn's digits (8x8 images, 10 classes): 64-256-256-10 ReLU with Adam learns them."""

import numpy as np
import pytest

import steepest
from steepest import nn

datasets = pytest.importorskip("sklearn.datasets")


def test_digits_held_out_accuracy():
    X, y = datasets.load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)  # pixels 0..16 -> [0, 1]
    order = np.random.default_rng(0).permutation(len(X))
    train, test = order[:1400], order[1400:]  # 1400 to train, 397 held out
    model = nn.Sequential(nn.Dense(64, 256, seed=0), nn.ReLU(), nn.Dense(256, 256, seed=1),
                          nn.ReLU(), nn.Dense(256, 10, seed=2))
    history = model.fit(X[train], y[train], loss="cross_entropy",
                        optimizer=steepest.optim.Adam(model.parameters(), lr=1e-3), epochs=10,
                        batch_size=64, seed=0)
    assert history["loss"][-1] < history["loss"][0]
    accuracy = model.evaluate(X[test], y[test], loss="cross_entropy")["accuracy"]
    assert accuracy >= 0.90
