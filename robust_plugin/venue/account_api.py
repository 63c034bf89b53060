"""Signed Binance USD-M endpoints of the account: balances, positions and the settings freqtrade
reads or changes at start-up (leverage, margin type, position mode, brackets, fees, coins)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from robust_plugin.venue import binance_rules, binance_views, errors
from robust_plugin.venue.account import ZERO, Position
from robust_plugin.venue.public_api import _int
from robust_plugin.venue.venue import Venue


def _totals(venue: Venue) -> dict:
    engine, now = venue.engine, venue.now_ms()
    ledger = engine.ledger
    unrealized = ZERO
    for symbol, position in ledger.positions.items():
        if position.amount:
            unrealized += (engine.price(symbol, now) - position.entry_price) * position.amount
    used = ledger.used_margin()
    reserved = ledger.reserved_margin(None)
    available = ledger.wallet - used - reserved + min(unrealized, ZERO)
    return {
        "wallet": ledger.wallet,
        "unrealized": unrealized,
        "margin_balance": ledger.wallet + unrealized,
        "used": used,
        "reserved": reserved,
        "available": max(available, ZERO),
    }


def _asset(venue: Venue) -> dict:
    t = _totals(venue)
    return {
        "asset": "USDT",
        "walletBalance": f"{t['wallet']:.8f}",
        "unrealizedProfit": f"{t['unrealized']:.8f}",
        "marginBalance": f"{t['margin_balance']:.8f}",
        "maintMargin": "0",
        "initialMargin": f"{t['used'] + t['reserved']:.8f}",
        "positionInitialMargin": f"{t['used']:.8f}",
        "openOrderInitialMargin": f"{t['reserved']:.8f}",
        "crossWalletBalance": f"{t['wallet'] - t['used']:.8f}",
        "crossUnPnl": "0",
        "availableBalance": f"{t['available']:.8f}",
        "maxWithdrawAmount": f"{t['available']:.8f}",
        "marginAvailable": True,
        "updateTime": venue.now_ms(),
    }


def balance(venue: Venue, params: dict):
    asset = _asset(venue)
    usdt = {
        "accountAlias": "venue",
        "asset": "USDT",
        "balance": asset["walletBalance"],
        "crossWalletBalance": asset["crossWalletBalance"],
        "crossUnPnl": "0",
        "availableBalance": asset["availableBalance"],
        "maxWithdrawAmount": asset["maxWithdrawAmount"],
        "marginAvailable": True,
        "updateTime": asset["updateTime"],
    }
    return binance_views.balances(usdt)


def account(venue: Venue, params: dict):
    asset = _asset(venue)
    t = _totals(venue)
    return {
        "totalInitialMargin": asset["initialMargin"],
        "totalMaintMargin": "0",
        "totalWalletBalance": asset["walletBalance"],
        "totalUnrealizedProfit": asset["unrealizedProfit"],
        "totalMarginBalance": asset["marginBalance"],
        "totalPositionInitialMargin": asset["positionInitialMargin"],
        "totalOpenOrderInitialMargin": asset["openOrderInitialMargin"],
        "totalCrossWalletBalance": asset["crossWalletBalance"],
        "totalCrossUnPnl": "0",
        "availableBalance": f"{t['available']:.8f}",
        "maxWithdrawAmount": f"{t['available']:.8f}",
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "feeTier": 0,
        "multiAssetsMargin": False,
        "assets": [asset],
        "positions": [_position(venue, s, venue.now_ms()) for s in _visible(venue)],
    }


def _visible(venue: Venue, symbol: str | None = None) -> list[str]:
    symbols = [symbol] if symbol else sorted(venue.engine.markets)
    return [s for s in symbols if venue.position_view(s, venue.now_ms())[0] != 0]


@dataclass(frozen=True)
class PositionFigures:
    """A symbol's position as the account shows it now (a lagging view shows the last one it had):
    what each dialect's position endpoint formats."""

    amount: Decimal  # signed
    entry: Decimal
    position: Position  # the ledger's (its update time)
    mark: Decimal
    leverage: int
    margin: Decimal
    liquidation: Decimal  # 0 when flat or while the view lags


def position_figures(venue: Venue, symbol: str, now: int) -> PositionFigures:
    engine = venue.engine
    amount, entry, hidden = venue.position_view(symbol, now)
    position = engine.ledger.position(symbol)
    leverage = engine.leverage(symbol)
    margin = position.margin if not hidden else abs(amount) * entry / Decimal(leverage)
    liquidation = engine.liquidation_price(symbol) if amount and not hidden else ZERO
    return PositionFigures(amount, entry, position, engine.price(symbol, now), leverage, margin, liquidation)


def _position(venue: Venue, symbol: str, now: int) -> dict:
    figures = position_figures(venue, symbol, now)
    amount, entry, position, mark = figures.amount, figures.entry, figures.position, figures.mark
    leverage, margin, liquidation = figures.leverage, figures.margin, figures.liquidation
    unrealized = (mark - entry) * amount
    return {
        "symbol": symbol,
        "positionSide": "BOTH",
        "positionAmt": str(amount),
        "entryPrice": str(entry),
        "breakEvenPrice": str(entry),
        "markPrice": str(mark),
        "unRealizedProfit": f"{unrealized:.8f}",
        "liquidationPrice": f"{liquidation:.8f}",
        "isolatedMargin": f"{margin + unrealized:.8f}",
        "notional": f"{mark * amount:.8f}",
        "marginAsset": "USDT",
        "isolatedWallet": f"{margin:.8f}",
        "initialMargin": f"{abs(mark * amount) / leverage:.8f}",
        "maintMargin": "0",
        "positionInitialMargin": f"{abs(mark * amount) / leverage:.8f}",
        "openOrderInitialMargin": "0",
        "adl": 1,
        "bidNotional": "0",
        "askNotional": "0",
        "leverage": str(leverage),
        "marginType": venue.engine.ledger.margin_type.get(symbol, "isolated").lower(),
        "updateTime": position.update_time,
    }


def position_risk(venue: Venue, params: dict):
    """v3: the open positions only."""
    symbol = venue.engine.spec(params["symbol"]).symbol if params.get("symbol") else None
    now = venue.now_ms()
    return [binance_views.position_v3(venue.engine, _position(venue, s, now)) for s in _visible(venue, symbol)]


def position_risk_v2(venue: Venue, params: dict):
    """v2: a row per symbol, zeros where there is no position."""
    symbols = [venue.engine.spec(params["symbol"]).symbol] if params.get("symbol") else sorted(venue.engine.markets)
    now = venue.now_ms()
    return [binance_views.position_v2(venue.engine, _position(venue, s, now)) for s in symbols]


def set_leverage(venue: Venue, params: dict):
    symbol = venue.engine.spec(params.get("symbol")).symbol
    leverage = _int(params, "leverage")
    if leverage is None:
        raise errors.missing("leverage")
    cap = binance_rules.leverage_allowed(venue.engine.spec(symbol), leverage)
    venue.engine.ledger.leverage[symbol] = leverage
    return {"leverage": leverage, "maxNotionalValue": str(cap), "symbol": symbol}


def set_margin_type(venue: Venue, params: dict):
    symbol = venue.engine.spec(params.get("symbol")).symbol
    margin_type = params.get("marginType", "").upper()
    if margin_type not in ("ISOLATED", "CROSSED"):
        raise errors.VenueError(-1100, "Illegal characters found in parameter 'marginType'.")
    if (
        venue.engine.ledger.margin_type.get(symbol, "ISOLATED") == margin_type
        and symbol in venue.engine.ledger.margin_type
    ):
        raise errors.VenueError(-4046, "No need to change margin type.")
    if venue.engine.ledger.margin_type.get(symbol, "ISOLATED") != margin_type:  # a change, not a first setting
        binance_rules.margin_type_change(venue.engine, symbol)
    venue.engine.ledger.margin_type[symbol] = margin_type
    return {"code": 200, "msg": "success"}


def position_side(venue: Venue, params: dict):
    return {"dualSidePosition": False}


def change_position_side(venue: Venue, params: dict):
    if str(params.get("dualSidePosition", "")).lower() == "true":
        raise errors.VenueError(-4068, "Hedge mode is not available on this venue.")
    raise errors.VenueError(-4059, "No need to change position side.")


def multi_assets(venue: Venue, params: dict):
    return {"multiAssetsMargin": False}


def leverage_bracket(venue: Venue, params: dict):
    symbols = [venue.engine.spec(params["symbol"]).symbol] if params.get("symbol") else sorted(venue.engine.markets)
    return [
        {"symbol": s, "notionalCoef": 1.0, "brackets": binance_rules.brackets(venue.engine.spec(s))} for s in symbols
    ]


def symbol_config(venue: Venue, params: dict):
    symbols = [venue.engine.spec(params["symbol"]).symbol] if params.get("symbol") else sorted(venue.engine.markets)
    return binance_views.symbol_config(venue.engine, symbols)


def commission_rate(venue: Venue, params: dict):
    symbol = venue.engine.spec(params.get("symbol")).symbol
    return {
        "symbol": symbol,
        "makerCommissionRate": str(venue.engine.maker_fee),
        "takerCommissionRate": str(venue.engine.taker_fee),
    }


def coins(venue: Venue, params: dict):
    """``/sapi/v1/capital/config/getall``: ccxt loads currencies from it when keys are set."""
    assets = sorted(
        {"USDT"} | {spec.base for spec in venue.markets.values()} | {spec.quote for spec in venue.markets.values()}
    )
    free = {"USDT": f"{venue.engine.ledger.wallet:.8f}"}
    return [
        {
            "coin": asset,
            "name": asset,
            "free": free.get(asset, "0"),
            "locked": "0",
            "freeze": "0",
            "withdrawing": "0",
            "ipoing": "0",
            "ipoable": "0",
            "storage": "0",
            "isLegalMoney": False,
            "trading": True,
            "depositAllEnable": True,
            "withdrawAllEnable": True,
            "networkList": [
                {
                    "network": "VENUE",
                    "coin": asset,
                    "withdrawIntegerMultiple": "0.00000001",
                    "isDefault": True,
                    "depositEnable": True,
                    "withdrawEnable": True,
                    "name": "venue",
                    "withdrawFee": "0",
                    "withdrawMin": "0",
                    "withdrawMax": "10000000000",
                    "minConfirm": 1,
                    "busy": False,
                }
            ],
        }
        for asset in assets
    ]
