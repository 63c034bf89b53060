"""The venue's isolated liquidation price against freqtrade's own dry-run formula for each exchange.

No venue process: positions are set in an engine's ledger directly. freqtrade gets the venue's brackets
as a live freqtrade would: the rows the venue serves (``/fapi/v1/leverageBracket``, ``/v5/market/risk-limit``)
parsed by ccxt's own parser, then by freqtrade's tier parser and tier look-up.

freqtrade's functions pick the tier by their ``stake_amount`` argument; the exchanges pick it by the
position's notional, so the tests pass the notional there (the functions use it for nothing else).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import ccxt
import pytest
from freqtrade.enums import MarginMode, RunMode, TradingMode
from freqtrade.exchange import Binance, Bybit, Exchange

from robust_plugin.venue import binance_rules, bybit_market
from robust_plugin.venue.account import Position
from robust_plugin.venue.engine import Engine
from robust_plugin.venue.markets import _spec

BTC = _spec("BTC", "USDT", "perpetual", 60_000.0)  # brackets from freqtrade's bundled Binance snapshot
SMALL = _spec("VNU", "USDT", "perpetual", 2.0)  # not bundled: the venue's own table by size
SPECS = {spec.symbol: spec for spec in (BTC, SMALL)}
REL = 1e-9


class TierSource:
    """The few attributes freqtrade's dry-run liquidation functions read, holding the venue's tiers."""

    trading_mode = TradingMode.FUTURES
    margin_mode = MarginMode.ISOLATED
    name = "venue"

    def __init__(self, ccxt_tiers: dict[str, list[dict]]):
        self._config = {"runmode": RunMode.BACKTEST}  # tiers from the cache, as backtesting reads them
        self._leverage_tiers = {
            pair: [Exchange.parse_leverage_tier(self, tier) for tier in tiers] for pair, tiers in ccxt_tiers.items()
        }
        self.markets = {pair: {"inverse": False} for pair in ccxt_tiers}

    def get_maintenance_ratio_and_amt(self, pair: str, notional_value: float):
        return Exchange.get_maintenance_ratio_and_amt(self, pair, notional_value)


def _ccxt_market(spec) -> dict:
    return {"id": spec.symbol, "symbol": spec.ccxt_symbol, "quote": spec.quote, "settle": spec.quote, "contract": True}


def binance_source() -> TierSource:
    parser = ccxt.binanceusdm()
    served = {
        spec.ccxt_symbol: {"symbol": spec.symbol, "brackets": binance_rules.brackets(spec)} for spec in SPECS.values()
    }
    return TierSource(
        {
            spec.ccxt_symbol: parser.parse_market_leverage_tiers(served[spec.ccxt_symbol], _ccxt_market(spec))
            for spec in SPECS.values()
        }
    )


def bybit_source() -> tuple[TierSource, dict[str, list[dict]]]:
    parser = ccxt.bybit()
    venue = SimpleNamespace(engine=SimpleNamespace(markets=SPECS))
    tiers = {}
    for spec in SPECS.values():
        served = bybit_market.risk_limit(venue, {"category": "linear", "symbol": spec.symbol})["list"]
        tiers[spec.ccxt_symbol] = parser.parse_market_leverage_tiers(served, _ccxt_market(spec))
    return TierSource(tiers), tiers


def engine_with(exchange: str, spec, amount: str, entry: str, leverage: int) -> Engine:
    """An engine (no price replay needed) holding one isolated position opened at ``leverage``."""
    prices = SimpleNamespace(clock=SimpleNamespace(now_ms=lambda: 0))
    engine = Engine(SPECS, prices, Decimal(10**9), exchange=exchange)
    amount_, entry_ = Decimal(amount), Decimal(entry)
    engine.ledger.leverage[spec.symbol] = leverage
    engine.ledger.positions[spec.symbol] = Position(spec.symbol, amount_, entry_, abs(amount_) * entry_ / leverage)
    return engine


# (spec, signed size, entry price, leverage): long and short, in several brackets of each table
BINANCE_CASES = [
    (BTC, "0.5", "60000", 20),  # 30k: first bracket, cum 0
    (BTC, "-0.5", "60000", 10),
    (BTC, "10", "60000", 5),  # 600k: second bracket
    (BTC, "-10", "61000", 8),
    (BTC, "-20", "65000", 3),  # 1.3M: third
    (SMALL, "1000", "2.0", 50),  # 2k: first bracket of the venue's own table
    (SMALL, "-1000", "2.0", 25),
    (SMALL, "20000", "2.0", 10),  # 40k: third, cum from the brackets below
    (SMALL, "-60000", "2.5", 4),  # 150k: fourth
]


def _binance_bracket(spec, amount: str, entry: str) -> int:
    return binance_rules.bracket_for(spec, abs(Decimal(amount)) * Decimal(entry))["bracket"]


def test_the_binance_cases_hit_several_brackets():
    assert len({_binance_bracket(BTC, a, e) for s, a, e, _ in BINANCE_CASES if s is BTC}) >= 3
    assert len({_binance_bracket(SMALL, a, e) for s, a, e, _ in BINANCE_CASES if s is SMALL}) >= 3


@pytest.mark.parametrize(("spec", "amount", "entry", "leverage"), BINANCE_CASES)
def test_binance_liquidation_price_is_freqtrades(spec, amount, entry, leverage):
    engine = engine_with("binance", spec, amount, entry, leverage)
    position = engine.ledger.position(spec.symbol)
    size, price = abs(float(amount)), float(entry)
    expected = Binance.dry_run_liquidation_price(
        binance_source(),
        pair=spec.ccxt_symbol,
        open_rate=price,
        is_short=float(amount) < 0,
        amount=size,
        stake_amount=size * price,  # the tier is the notional's (see the module docstring)
        leverage=leverage,
        wallet_balance=float(position.margin),  # isolated: the position's own margin
        open_trades=[],
    )
    assert expected > 0
    assert float(engine.liquidation_price(spec.symbol)) == pytest.approx(expected, rel=REL)
    [shown] = engine.ledger.truth(engine.liquidation_price)["positions"]
    assert float(shown["liquidation_price"]) == pytest.approx(expected, rel=REL)


def test_a_binance_long_at_1x_is_never_liquidated_above_zero():
    engine = engine_with("binance", BTC, "10", "60000", 1)
    assert engine.liquidation_price("BTCUSDT") == 0


# Bybit: the same risk-limit tiers for every symbol; 2M is the first tier's limit
BYBIT_CASES = [
    (BTC, "0.5", "60000", 20),  # 30k: first tier, no deduction
    (BTC, "-0.5", "60000", 10),
    (BTC, "2", "60000", 50),
    (SMALL, "-10000", "2.0", 5),
    (BTC, "50", "60000", 10),  # 3M: second tier
    (BTC, "-50", "60000", 10),
    (BTC, "-80", "62500", 5),  # 5M: third
]


def _bybit_expected(spec, amount: str, entry: str, leverage: int) -> tuple[float, float]:
    """(freqtrade's price, the tier's mm deduction per unit of size, signed: + for a long)."""
    source, tiers = bybit_source()
    size, price = abs(float(amount)), float(entry)
    expected = Bybit.dry_run_liquidation_price(
        source,
        pair=spec.ccxt_symbol,
        open_rate=price,
        is_short=float(amount) < 0,
        amount=size,
        stake_amount=size * price,  # the tier is the position value's (see the module docstring)
        leverage=leverage,
        wallet_balance=0.0,  # unused in isolated mode
        open_trades=[],
    )
    [tier] = [t for t in reversed(tiers[spec.ccxt_symbol]) if size * price >= t["minNotional"]][:1]
    deduction = float(tier["info"]["mmDeduction"])
    return expected, (deduction / size if float(amount) > 0 else -deduction / size)


@pytest.mark.parametrize(("spec", "amount", "entry", "leverage"), BYBIT_CASES[:4])
def test_bybit_liquidation_price_in_the_first_tier_is_freqtrades(spec, amount, entry, leverage):
    expected, deduction = _bybit_expected(spec, amount, entry, leverage)
    assert deduction == 0 and expected > 0
    engine = engine_with("bybit", spec, amount, entry, leverage)
    assert float(engine.liquidation_price(spec.symbol)) == pytest.approx(expected, rel=REL)


@pytest.mark.parametrize(("spec", "amount", "entry", "leverage"), BYBIT_CASES[4:])
def test_bybit_liquidation_price_above_the_first_tier_is_freqtrades_less_the_mm_deduction(
    spec, amount, entry, leverage
):
    """Bybit's maintenance margin is position value × rate − the tier's mm deduction; freqtrade's dry-run
    formula leaves the deduction out (it reads no deduction from Bybit's tiers), which moves the price
    by deduction / size away from the entry."""
    expected, deduction = _bybit_expected(spec, amount, entry, leverage)
    assert deduction != 0
    engine = engine_with("bybit", spec, amount, entry, leverage)
    assert float(engine.liquidation_price(spec.symbol)) == pytest.approx(expected - deduction, rel=REL)


def test_bybit_documented_example():
    """Bybit's worked example: a 1 BTC long at 20,000 USDT, 50x, 0.5% maintenance rate: 19,700."""
    engine = engine_with("bybit", BTC, "1", "20000", 50)
    assert engine.liquidation_price("BTCUSDT") == Decimal("19700")


def test_the_two_exchanges_differ_where_their_formulas_do():
    """Binance values the maintenance margin at the liquidation price, Bybit at the entry; BTC's first
    bracket (0.4%) and tier (0.5%) differ too."""
    binance = engine_with("binance", BTC, "1", "20000", 50).liquidation_price("BTCUSDT")
    bybit = engine_with("bybit", BTC, "1", "20000", 50).liquidation_price("BTCUSDT")
    assert binance == Decimal("19600") / Decimal("0.996") and bybit == Decimal("19700")


def test_an_unknown_exchange_is_refused():
    with pytest.raises(ValueError, match="unknown exchange"):
        engine_with("kraken", BTC, "1", "20000", 50)
