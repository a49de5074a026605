"""Trading metrics against hand-computed values; the backtest's costs and alignment."""

import numpy as np
import pytest

from steepest import trading

R = np.array([0.01, -0.02, 0.03, -0.01, 0.02])


def test_sharpe_and_sortino_by_hand():
    mean, sd = 0.006, np.sqrt(np.sum((R - 0.006) ** 2) / 4)
    assert trading.sharpe_ratio(R) == pytest.approx(mean / sd * np.sqrt(252))
    assert trading.sharpe_ratio(R, periods_per_year=12, risk_free=0.012) == pytest.approx(
        (mean - 0.001) / sd * np.sqrt(12))
    downside = np.sqrt((0.02 ** 2 + 0.01 ** 2) / 5)
    assert trading.sortino_ratio(R) == pytest.approx(mean / downside * np.sqrt(252))
    assert np.isnan(trading.sharpe_ratio(np.full(4, 0.01)))
    assert np.isnan(trading.sortino_ratio(np.full(4, 0.01)))


def test_drawdown_by_hand():
    equity = np.cumprod(1 + R)  # 1.01, 0.9898, 1.019494, 1.00929906, 1.0294850412
    np.testing.assert_allclose(trading.equity_curve(R), equity)
    assert trading.max_drawdown(R) == pytest.approx(1 - 0.9898 / 1.01)
    assert trading.max_drawdown([-0.1, 0.05]) == pytest.approx(0.1)  # from the start
    assert trading.max_drawdown([0.01, 0.02]) == 0.0
    assert trading.annual_return(R, 5) == pytest.approx(equity[-1] - 1)
    assert trading.calmar_ratio(R, 5) == pytest.approx((equity[-1] - 1) / (1 - 0.9898 / 1.01))


def test_turnover_and_hit_rate():
    p = np.array([1.0, 1.0, -1.0, 0.0, 0.5])
    assert trading.turnover(p) == pytest.approx((1 + 0 + 2 + 1 + 0.5) / 5)
    # held in periods 0, 1, 2, 4: signs (+,+), (+,-), (-,+), (+,+): 2 of 4
    assert trading.hit_rate(p, R) == pytest.approx(0.5)
    assert np.isnan(trading.hit_rate(np.zeros(5), R))


def test_backtest_costs_and_metrics():
    p = np.array([1.0, 1.0, -1.0, 0.0, 0.5])
    result = trading.backtest(p, R, cost_bps=10)
    costs = 1e-3 * np.array([1, 0, 2, 1, 0.5])
    np.testing.assert_allclose(result.gross, p * R)
    np.testing.assert_allclose(result.costs, costs)
    np.testing.assert_allclose(result.returns, p * R - costs)
    np.testing.assert_allclose(result.equity, np.cumprod(1 + p * R - costs))
    assert result.metrics["sharpe_ratio"] == pytest.approx(trading.sharpe_ratio(p * R - costs))
    assert result.metrics["total_return"] == pytest.approx(np.prod(1 + p * R - costs) - 1)
    assert result.metrics["turnover"] == pytest.approx(trading.turnover(p))


def test_backtest_plot(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "equity.png"
    trading.backtest(np.ones(5), R).plot(path)
    assert path.stat().st_size > 1000


@pytest.mark.parametrize("call, message", [
    (lambda: trading.sharpe_ratio([]), "returns is empty"),
    (lambda: trading.sharpe_ratio([0.1, np.nan]), "NaN or infinite"),
    (lambda: trading.sharpe_ratio(np.zeros((2, 2))), "1-d"),
    (lambda: trading.sharpe_ratio(R, periods_per_year=0), "periods_per_year must be > 0"),
    (lambda: trading.backtest(np.ones(4), R), "positions has 4 periods"),
    (lambda: trading.backtest(np.ones(5), R, cost_bps=-1), "cost_bps"),
])
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
