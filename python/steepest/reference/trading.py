"""NumPy oracles of the trading losses (the C++ kernels are tested against these, and these
against float64 finite differences).

Sharpe loss (Lim, Zohren & Roberts 2019, "Enhancing Time Series Momentum Strategies Using Deep
Neural Networks"): positions p (n,) in time order, next returns r (n,), a cost c per unit of
position change between consecutive rows:

    R_i = p_i r_i - c |p_i - p_{i-1}|      (no cost for the first row of the batch)
    m = mean(R),  s = sqrt(mean((R - m)^2) + eps)
    L = -sqrt(periods_per_year) m / s
    dL/dR_i = -sqrt(ppy) / (n s) (1 - m (R_i - m) / s^2)

Sortino loss: the same with the downside deviation d = sqrt(mean(min(R, 0)^2) + eps):

    L = -sqrt(ppy) m / d,   dL/dR_i = -sqrt(ppy) / (n d) (1 - m min(R_i, 0) / d^2)

and dL/dp_i = dL/dR_i r_i - c sign(p_i - p_{i-1}) dL/dR_i + c sign(p_{i+1} - p_i) dL/dR_{i+1}.

REINFORCE (Williams 1992), a softmax policy: logits z (n, A), the actions taken a (n,), their
advantages (return minus a baseline) A (n,):

    L = -mean_i A_i log softmax(z_i)[a_i],   dL/dz_ij = A_i (softmax(z_i)_j - [j = a_i]) / n
"""

import numpy as np


def _portfolio(p, r, cost):
    R = p * r
    R[1:] -= cost * np.abs(np.diff(p))
    return R


def _through_positions(dR, p, r, cost):
    """dL/dp from dL/dR (the chain rule through R's two terms)."""
    grad = dR * r
    if cost:
        s = np.sign(np.diff(p)) * cost  # d|p_i - p_{i-1}| / dp_i for i >= 1
        grad[1:] -= s * dR[1:]
        grad[:-1] += s * dR[1:]
    return grad


def sharpe_loss(p, r, cost=0.0, periods_per_year=252.0, eps=1e-12):
    """(loss, dL/dp) of the negative annualized Sharpe ratio of the positions' returns."""
    p, r = np.asarray(p, np.float64), np.asarray(r, np.float64)
    R = _portfolio(p, r, cost)
    n, k = R.size, np.sqrt(periods_per_year)
    m = R.mean()
    s = np.sqrt(np.mean((R - m) ** 2) + eps)
    dR = -k / (n * s) * (1 - m * (R - m) / s ** 2)
    return -k * m / s, _through_positions(dR, p, r, cost)


def sortino_loss(p, r, cost=0.0, periods_per_year=252.0, eps=1e-12):
    """(loss, dL/dp) of the negative annualized Sortino ratio of the positions' returns."""
    p, r = np.asarray(p, np.float64), np.asarray(r, np.float64)
    R = _portfolio(p, r, cost)
    n, k = R.size, np.sqrt(periods_per_year)
    m = R.mean()
    down = np.minimum(R, 0.0)
    d = np.sqrt(np.mean(down ** 2) + eps)
    dR = -k / (n * d) * (1 - m * down / d ** 2)
    return -k * m / d, _through_positions(dR, p, r, cost)


def reinforce_loss(logits, actions, advantages):
    """(loss, dL/dlogits) of the policy-gradient loss of a softmax policy."""
    z = np.asarray(logits, np.float64)
    a = np.asarray(actions, np.int64)
    adv = np.asarray(advantages, np.float64)
    n = z.shape[0]
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -np.mean(adv * log_p[np.arange(n), a])
    grad = np.exp(log_p)
    grad[np.arange(n), a] -= 1.0
    return loss, grad * (adv / n)[:, None]
