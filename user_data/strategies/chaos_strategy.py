"""A strategy that trades often, for chaos rehearsals against the local venue (``make chaos``).

It enters whenever a pair has no open trade (alternating long and short by the minute), never
signals an exit itself, and leaves every exit to the plugin's aged policy, configured in seconds by
the chaos runner, so each pair turns a trade over within a minute. freqtrade locks a pair until the
next candle after each exit, so a pair trades at most once per 1m candle: the runner trades 20
pairs to get 100 trades in 10 minutes. With ``"chaos_addon_entries": true`` in the config (a cell
of ``--matrix``) each trade adds one entry through ``adjust_trade_position`` a few seconds after it
opens. Not a strategy to trade with.
"""

from datetime import datetime

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from robust_plugin import RobustMixin


class SampleChaosStrategy(RobustMixin, IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "1m"
    can_short = True
    minimal_roi = {"0": 10}
    stoploss = -0.05
    startup_candle_count = 5
    process_only_new_candles = False
    use_exit_signal = True

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        minute = datetime.now().minute
        dataframe["enter_long"] = int(minute % 2 == 0)
        dataframe["enter_short"] = int(minute % 2 == 1)
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        return dataframe

    def adjust_trade_position(self, trade, current_time: datetime, *args, **kwargs):
        """The plugin's chunks first; then, in the add-on cell, one add-on entry per trade."""
        own = super().adjust_trade_position(trade, current_time, *args, **kwargs)
        if own is not None or not self.config.get("chaos_addon_entries"):
            return own
        age = (current_time - trade.open_date_utc).total_seconds()
        if trade.nr_of_successful_entries == 1 and not trade.has_open_orders and 2 <= age <= 5:
            return trade.stake_amount * 0.5, "chaos_addon"
        return None

    def leverage(
        self, pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag, side, **kwargs
    ) -> float:
        return 3.0
