"""Anomalies in transaction patterns, flagged by an autoencoder's reconstruction error.

Normal transactions are feature vectors with structure (8 features driven by 3 hidden factors:
amount, hour, counterparty activity, ... correlated as real ones are); anomalies break it. An
autoencoder (8 -> 16 -> 3 -> 16 -> 8) learns to reconstruct normal vectors through a 3-number
bottleneck; a vector whose reconstruction error exceeds the 99th percentile of the training
errors is flagged. Precision and recall on injected anomalies measure it.

Run: python examples/autoencoder_anomalies.py
"""

import numpy as np

import steepest
from steepest import nn


def transactions(n, anomalies=0.0, seed=0):
    """(X, is_anomaly): n vectors of 8 features from 3 factors plus noise; a fraction of them
    replaced by vectors of the same scale that ignore the factors."""
    rng = np.random.default_rng(seed)
    mixing = np.random.default_rng(42).standard_normal((3, 8))  # the same structure every call
    X = rng.standard_normal((n, 3)) @ mixing + 0.1 * rng.standard_normal((n, 8))
    is_anomaly = rng.random(n) < anomalies
    X[is_anomaly] = rng.standard_normal((int(is_anomaly.sum()), 8)) * X.std(0)
    return X.astype(np.float32), is_anomaly


def autoencoder(seed=0):
    return nn.Sequential(nn.Dense(8, 16, seed=seed), nn.ReLU(), nn.Dense(16, 3, seed=seed + 1),
                         nn.Dense(3, 16, seed=seed + 2), nn.ReLU(), nn.Dense(16, 8, seed=seed + 3))


def errors(model, X):
    return np.mean((model.predict(X) - X) ** 2, axis=1)


def main(n_train=4000, n_test=2000, epochs=60, quantile=0.99, quiet=False):
    say = (lambda *a: None) if quiet else print
    X_train, _ = transactions(n_train, seed=1)  # normal transactions only
    model = autoencoder()
    opt = steepest.optim.Adam(model.parameters(), lr=3e-3)
    model.fit(X_train, X_train, loss="mse", optimizer=opt, epochs=epochs, batch_size=64, seed=0)
    threshold = np.quantile(errors(model, X_train), quantile)
    X_test, truth = transactions(n_test, anomalies=0.02, seed=2)
    flagged = errors(model, X_test) > threshold
    true_positives = int(np.sum(flagged & truth))
    precision = true_positives / max(int(flagged.sum()), 1)
    recall = true_positives / max(int(truth.sum()), 1)
    say(f"trained on {n_train} normal transactions; threshold: the {100 * quantile:.0f}th "
        f"percentile of their reconstruction errors, {threshold:.4f}")
    say(f"test: {n_test} transactions, {int(truth.sum())} anomalies injected; flagged "
        f"{int(flagged.sum())}: precision {precision:.2f}, recall {recall:.2f}")
    return precision, recall


if __name__ == "__main__":
    main()
