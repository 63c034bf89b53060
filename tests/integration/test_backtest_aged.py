"""Aged exits in freqtrade's real Backtesting: right ages, right reasons, right prices.

Each trade freqtrade reports is checked against the pure rule, computed independently here from the
trade's own figures: the age at exit decides the reason; the exit price is the target for that
reason (or the candle's open when the open was already past it); the net result is never worse than
the accepted loss.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from robust_plugin.core.aging import AgedPolicy, PositionCosts, Side, stage_at, target_price
from robust_plugin.core.config import parse_plugin_config
from tests.integration.backtest_harness import backtest_config, backtest_results, run_backtest

pytest.importorskip("robust_plugin.venue.ccxt_config")
pytestmark = pytest.mark.integration

CANDLE = timedelta(minutes=5)
SAMPLE_PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def _ts(value) -> datetime:
    return pd.Timestamp(value).to_pydatetime()


def _opens(datadir: Path, pair: str) -> dict[datetime, float]:
    name = pair.replace("/", "_").replace(":", "_")
    frame = pd.read_feather(datadir / "futures" / f"{name}-5m-futures.feather")
    return dict(zip((d.to_pydatetime() for d in frame["date"]), frame["open"]))


def check_aged_trades(trades, policy: AgedPolicy, datadir: Path) -> int:
    """Assert the rule for every trade; returns how many aged exits there were."""
    opens = {pair: _opens(datadir, pair) for pair in {t["pair"] for t in trades}}
    aged = 0
    for t in trades:
        reason = t["exit_reason"]
        age = (_ts(t["close_date"]) - _ts(t["open_date"])).total_seconds()
        net = t["profit_ratio"] / t["leverage"]
        if policy.force_close_after is not None and reason != "force_exit":
            assert age <= policy.force_close_after + CANDLE.total_seconds(), t
        if not reason.startswith("aged_"):
            continue
        aged += 1
        assert age >= policy.max_age, f"aged exit before max_age: {t}"
        stage = stage_at(policy, age)
        assert reason == stage.exit_reason, (reason, stage, t)
        if reason == "aged_force":
            continue
        loss = stage.accepted_loss_pct / 100
        assert net >= -loss - 1e-6, f"net {net:.6f} worse than accepted {-loss}: {t}"
        costs = PositionCosts(
            side=Side.SHORT if t["is_short"] else Side.LONG,
            entry_price=t["open_rate"],
            amount=t["amount"],
            fee_open=t["fee_open"],
            fee_close=t["fee_close"],
            funding_fees=t.get("funding_fees") or 0.0,
        )
        target = target_price(costs, stage.accepted_loss_pct)
        candle_open = opens[t["pair"]][_ts(t["close_date"])]
        at_target = math.isclose(t["close_rate"], target, rel_tol=2e-4)
        at_open = math.isclose(t["close_rate"], candle_open, rel_tol=1e-9)
        assert at_target or at_open, (t["close_rate"], target, candle_open, t)
        if reason == "aged_grace":
            assert t["profit_abs"] >= -1e-6, t
    return aged


AGED = {
    "max_age": "12h",
    "grace_period": "4h",
    "step_interval": "1h",
    "loss_step_pct": 0.5,
    "max_loss_pct": 3.0,
    "force_close_after": "48h",
}


def test_aged_exits_happen_at_the_right_ages_reasons_and_prices(tmp_path, sample_venue, sample_datadir):
    config = backtest_config(
        tmp_path,
        sample_venue,
        sample_datadir,
        strategy="SampleAgedStrategy",
        plugin={"aged": AGED},
        pairs=SAMPLE_PAIRS,
    )
    trades = run_backtest(config)
    policy = parse_plugin_config({"aged": AGED}).aged.policy()
    aged = check_aged_trades(trades, policy, sample_datadir)
    reasons = {t["exit_reason"] for t in trades}
    assert aged >= 5, f"expected aged exits on the sample data, got reasons {reasons}"
    assert "aged_grace" in reasons
    assert any(r.startswith("aged_progressive_") for r in reasons), reasons


def test_aged_limit_exits_never_rest_so_freqtrades_exit_timeout_changes_nothing(tmp_path, sample_venue, sample_datadir):
    """freqtrade cancels an exit order that rests longer than unfilledtimeout.exit and counts it as an
    exit timeout (the demo's summary showed "Exit Timeouts 0 / 2096"). Aged exits are signalled only in
    the candle that reaches the target, so no aged order rests: the same aged exits at the same prices
    whatever the timeout, and none timed out."""

    def run(exit_timeout: int) -> dict:
        extra = {"unfilledtimeout": {"entry": 10, "exit": exit_timeout, "unit": "minutes"}}
        config = backtest_config(
            tmp_path,
            sample_venue,
            sample_datadir,
            strategy="SampleAgedStrategy",
            plugin={"aged": AGED},
            pairs=SAMPLE_PAIRS,
            extra=extra,
        )
        return backtest_results(config)

    keys = ("pair", "open_date", "close_date", "open_rate", "close_rate", "exit_reason", "amount")
    usual, patient = run(10), run(100_000)  # the example config's 10 minutes; a timeout never reached
    assert usual["timedout_exit_orders"] == 0 and patient["timedout_exit_orders"] == 0
    assert [tuple(t[k] for k in keys) for t in usual["trades"]] == [
        tuple(t[k] for k in keys) for t in patient["trades"]
    ]
    policy = parse_plugin_config({"aged": AGED}).aged.policy()
    assert check_aged_trades(usual["trades"], policy, sample_datadir) >= 5


def test_without_the_section_the_strategy_trades_exactly_as_without_the_mixin(tmp_path, sample_venue, sample_datadir):
    common = dict(plugin=None, pairs=SAMPLE_PAIRS, timerange="20260815-")
    with_mixin = run_backtest(
        backtest_config(tmp_path, sample_venue, sample_datadir, strategy="SampleAgedStrategy", **common)
    )
    plain = run_backtest(
        backtest_config(tmp_path, sample_venue, sample_datadir, strategy="SamplePlainStrategy", **common)
    )
    keys = ("pair", "open_date", "close_date", "open_rate", "close_rate", "exit_reason", "amount")
    assert len(plain) > 0
    assert [tuple(t[k] for k in keys) for t in with_mixin] == [tuple(t[k] for k in keys) for t in plain]


@pytest.mark.parametrize(
    "aged",
    [
        {
            "max_age": "6h",
            "grace_period": "2h",
            "step_interval": "30m",
            "loss_step_pct": 0.25,
            "max_loss_pct": 2.0,
            "force_close_after": None,
        },
        {
            "max_age": "3h",
            "grace_period": "0s",
            "step_interval": "15m",
            "loss_step_pct": 0.1,
            "max_loss_pct": 1.0,
            "force_close_after": "10h",
        },
        {
            "max_age": "90m",
            "grace_period": "1h",
            "step_interval": "1h",
            "loss_step_pct": 1.0,
            "max_loss_pct": 1.0,
            "force_close_after": "4h",
        },
    ],
)
def test_real_binance_candles(tmp_path, real_venue, real_datadir, aged):
    config = backtest_config(
        tmp_path,
        real_venue,
        real_datadir,
        strategy="SampleAgedStrategy",
        plugin={"aged": aged},
        pairs=["XRP/USDT:USDT"],
    )
    trades = run_backtest(config)
    assert trades, "the sample strategy should trade on a week of XRP"
    policy = parse_plugin_config({"aged": aged}).aged.policy()
    check_aged_trades(trades, policy, real_datadir)


def test_an_environment_variable_adjusts_the_section_but_never_turns_the_plugin_on(
    tmp_path, monkeypatch, sample_venue, sample_datadir
):
    """README: without the section the mixin does nothing; FREQTRADE__ROBUST_PLUGIN__... variables
    adjust a section the config files have. freqtrade merges them into the config before the strategy
    sees it, so the plugin tells the two apart by the config files freqtrade read."""
    monkeypatch.setenv("FREQTRADE__ROBUST_PLUGIN__AGED__MAX_AGE", "2h")
    monkeypatch.setenv("FREQTRADE__ROBUST_PLUGIN__AGED__GRACE_PERIOD", "1h")
    common = dict(pairs=SAMPLE_PAIRS, timerange="20260815-")
    without = backtest_config(
        tmp_path, sample_venue, sample_datadir, strategy="SampleAgedStrategy", plugin=None, **common
    )
    assert without["robust_plugin"] == {"aged": {"max_age": "2h", "grace_period": "1h"}}  # freqtrade merged it
    trades = run_backtest(without)
    assert trades and not [t for t in trades if t["exit_reason"].startswith("aged_")]

    with_section = run_backtest(
        backtest_config(tmp_path, sample_venue, sample_datadir, strategy="SampleAgedStrategy", plugin={}, **common)
    )
    policy = parse_plugin_config({"aged": {"max_age": "2h", "grace_period": "1h"}}).aged.policy()
    assert check_aged_trades(with_section, policy, sample_datadir) > 0
    ages = [
        (_ts(t["close_date"]) - _ts(t["open_date"])).total_seconds()
        for t in with_section
        if t["exit_reason"].startswith("aged_")
    ]
    assert min(ages) < 24 * 3600  # the variables' 2 h, not the default 24 h
