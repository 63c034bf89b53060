"""Sample strategies: the same signals with and without robust_plugin.

``SampleAgedStrategy`` is what the README's demo backtests: a mean-reversion strategy with no exit
signal and a wide stop-loss, so trades that go against it would sit for days; the plugin's aged policy
closes them. ``SamplePlainStrategy`` is the same strategy without the plugin, for comparison and for
the benchmark of the plugin's cost.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from robust_plugin import RobustMixin


def _rsi(close: pd.Series, period: int = 14) -> pd.Series:
    delta = close.diff()
    gain = delta.clip(lower=0).ewm(alpha=1 / period, adjust=False).mean()
    loss = (-delta.clip(upper=0)).ewm(alpha=1 / period, adjust=False).mean()
    return 100 - 100 / (1 + gain / loss.replace(0, float("nan")))


class SamplePlainStrategy(IStrategy):
    """Buys oversold dips, shorts overbought spikes; takes 2 % profit; no exit signal."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    minimal_roi = {"0": 0.02}
    stoploss = -0.30
    use_exit_signal = True
    startup_candle_count = 60
    process_only_new_candles = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["rsi"] = _rsi(dataframe["close"])
        dataframe["ema_slow"] = dataframe["close"].ewm(span=50, adjust=False).mean()
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe.loc[(dataframe["rsi"] < 25) & (dataframe["close"] < dataframe["ema_slow"]), "enter_long"] = 1
        dataframe.loc[(dataframe["rsi"] > 75) & (dataframe["close"] > dataframe["ema_slow"]), "enter_short"] = 1
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def leverage(
        self,
        pair: str,
        current_time: datetime,
        current_rate: float,
        proposed_leverage: float,
        max_leverage: float,
        entry_tag: str | None,
        side: str,
        **kwargs,
    ) -> float:
        return min(3.0, max_leverage)


class SampleAgedStrategy(RobustMixin, SamplePlainStrategy):
    """``SamplePlainStrategy`` with robust_plugin: aged positions are closed by the plugin."""
