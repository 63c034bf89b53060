"""A strategy for live runs against the venue: enter once at once, exit after ``HOLD_SECONDS``."""

from datetime import datetime

from freqtrade.strategy import IStrategy
from pandas import DataFrame


class RehearsalStrategy(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    minimal_roi = {"0": 10}
    stoploss = -0.10
    startup_candle_count = 10
    process_only_new_candles = False
    HOLD_SECONDS = 20
    ENTRIES = 1

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 1
        dataframe["enter_tag"] = "rehearsal"
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        return dataframe

    def confirm_trade_entry(
        self, pair, order_type, amount, rate, time_in_force, current_time, entry_tag, side, **kwargs
    ) -> bool:
        from freqtrade.persistence import Trade

        return len(Trade.get_trades_proxy()) < self.ENTRIES

    def custom_exit(
        self, pair: str, trade, current_time: datetime, current_rate: float, current_profit: float, **kwargs
    ):
        hold = float(self.config.get("rehearsal_hold_seconds", self.HOLD_SECONDS))
        if (current_time - trade.open_date_utc).total_seconds() >= hold:
            return "rehearsal_exit"
        return None

    def custom_entry_price(self, pair, trade, current_time, proposed_rate, entry_tag, side, **kwargs) -> float:
        """Limit entries a little through the book, so they fill at once like a marketable order."""
        return proposed_rate * (1.002 if side == "long" else 0.998)

    def leverage(
        self, pair, current_time, current_rate, proposed_leverage, max_leverage, entry_tag, side, **kwargs
    ) -> float:
        return 3.0


from robust_plugin import RobustMixin  # noqa: E402


class RobustRehearsalStrategy(RobustMixin, RehearsalStrategy):
    """The rehearsal strategy with the plugin (closing, settlement) in front of it."""

    HOLD_SECONDS = 8
