"""Sell a block of shares in H steps: a softmax policy trained by REINFORCE against TWAP.

An agent must sell V shares within H steps. The mid price moves as a random walk whose drift
follows a signal the agent sees (an AR(1), e.g. order-flow imbalance), and every sale pays a
temporary impact proportional to its size (Almgren & Chriss 2000, linear impact):

    s_(t+1) = 0.7 s_t + e_t                       the signal, e ~ N(0, 1)
    S_(t+1) = S_t + alpha s_t + sigma z_t           the mid price
    sale of n_t shares at t: price S_t - eta n_t    (temporary impact)

Without the signal, selling evenly (TWAP) is optimal for a risk-neutral seller; with it, selling
faster before expected falls and slower before rises does better. The policy sees (time left,
inventory left, signal) and picks a pace in {0, 0.5, 1, 1.5, 2} x V/H (the last step sells the
rest). It is trained with steepest.nn.ReinforceLoss: each step's action weighted by its
advantage, the reward-to-go (cash from then on, relative to the arrival price) minus a baseline
per time step. Judged by the implementation shortfall, (arrival value - proceeds) / arrival
value, in basis points, on new price paths, against TWAP on the same paths.

Run: python examples/execution_policy_gradient.py
"""

import numpy as np

import steepest
from steepest import nn

PACES = np.array([0.0, 0.5, 1.0, 1.5, 2.0])  # x V/H per step


class Market:
    def __init__(self, steps=10, shares=1.0, price=100.0, alpha=0.08, sigma=0.15, eta=0.5):
        self.steps, self.shares, self.price = steps, shares, price
        self.alpha, self.sigma, self.eta = alpha, sigma, eta

    def run(self, choose, episodes, rng):
        """Simulate ``episodes`` sales with ``choose(states) -> action indices``; returns the
        states (H, E, 3), actions (H, E), the cash of each step relative to the arrival price
        (H, E) and the shortfall of each episode in bps (E,)."""
        H, E = self.steps, episodes
        S = np.full(E, self.price)
        signal = rng.standard_normal(E)
        left = np.full(E, self.shares)
        states, actions, cash = np.zeros((H, E, 3)), np.zeros((H, E), np.int64), np.zeros((H, E))
        for t in range(H):
            states[t] = np.column_stack([np.full(E, (H - t) / H), left / self.shares, signal])
            actions[t] = choose(states[t])
            n = left if t == H - 1 else np.minimum(left, PACES[actions[t]] * self.shares / H)
            cash[t] = n * (S - self.eta * n - self.price)
            left = left - n
            S = S + self.alpha * signal + self.sigma * rng.standard_normal(E)
            signal = 0.7 * signal + rng.standard_normal(E)
        shortfall = -cash.sum(0) / (self.price * self.shares) * 1e4
        return states, actions, cash, shortfall


def twap(states):
    return np.full(len(states), 2)  # pace 1: V/H every step


def train(market, iterations=300, episodes=256, lr=3e-3, seed=0):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Dense(3, 32, seed=seed), nn.ReLU(),
                          nn.Dense(32, len(PACES), seed=seed + 1))
    opt = steepest.optim.Adam(model.parameters(), lr=lr)

    def sample(states):
        logits = model.predict(states.astype(np.float32)).astype(np.float64)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return (rng.random((len(p), 1)) > np.cumsum(p, 1)).sum(1).clip(0, len(PACES) - 1)

    for _ in range(iterations):
        states, actions, cash, _ = market.run(sample, episodes, rng)
        to_go = np.cumsum(cash[::-1], 0)[::-1]  # reward-to-go of each step (H, E)
        advantage = to_go - to_go.mean(1, keepdims=True)  # baseline: the step's mean
        advantage /= advantage.std() + 1e-12
        X = states.reshape(-1, 3)
        y = np.column_stack([actions.ravel(), advantage.ravel()])
        model.fit(X, y, loss="reinforce", optimizer=opt, epochs=1, batch_size=None)
    return model


def main(iterations=300, episodes=256, test_episodes=4000, quiet=False):
    say = (lambda *a: None) if quiet else print
    market = Market()
    model = train(market, iterations, episodes)

    def greedy(states):
        return model.predict(states.astype(np.float32)).argmax(1)

    results = {}
    for name, policy in (("TWAP", twap), ("REINFORCE", greedy)):
        *_, shortfall = market.run(policy, test_episodes, np.random.default_rng(123))
        results[name] = shortfall
    say(f"selling {market.shares:g} x {market.price:g} in {market.steps} steps, "
        f"{test_episodes} new price paths (the same for both)")
    say(f"{'policy':<10} {'shortfall (bps)':>16} {'std':>7}")
    for name, s in results.items():
        say(f"{name:<10} {s.mean():>16.2f} {s.std():>7.1f}")
    return results


if __name__ == "__main__":
    main()
