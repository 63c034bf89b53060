"""How Binance USD-M shows positions and balances, per endpoint version.

``/fapi/v2/positionRisk`` answers a row per symbol (zeros where there is no position), with the
v2-only ``leverage``, ``marginType``, ``maxNotionalValue``; ``/fapi/v3/positionRisk`` answers only
the open positions, without those, and with the margin fields (``maintMargin`` from the symbol's
leverage bracket). ``/fapi/v2|v3/balance`` list every margin asset, zeros included.
"""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.venue import binance_rules

V2_FIELDS = (
    "symbol",
    "positionAmt",
    "entryPrice",
    "breakEvenPrice",
    "markPrice",
    "unRealizedProfit",
    "liquidationPrice",
    "leverage",
    "marginType",
    "isolatedMargin",
    "positionSide",
    "notional",
    "isolatedWallet",
    "updateTime",
)
V3_FIELDS = (
    "symbol",
    "positionSide",
    "positionAmt",
    "entryPrice",
    "breakEvenPrice",
    "markPrice",
    "unRealizedProfit",
    "liquidationPrice",
    "isolatedMargin",
    "notional",
    "marginAsset",
    "isolatedWallet",
    "initialMargin",
    "maintMargin",
    "positionInitialMargin",
    "openOrderInitialMargin",
    "adl",
    "bidNotional",
    "askNotional",
    "updateTime",
)
# the margin assets a USD-M account lists (Binance's multi-assets collateral), in Binance's order
MARGIN_ASSETS = ("FDUSD", "BFUSD", "BTC", "XRP", "TUSD", "BNB", "ETH", "USDT", "USDP", "USDC")


def position_v2(engine, row: dict) -> dict:
    spec = engine.spec(row["symbol"])
    cap = binance_rules.notional_cap(spec, int(row["leverage"]))
    shown = {key: row[key] for key in V2_FIELDS}
    return shown | {
        "maxNotionalValue": str(cap),
        "isAutoAddMargin": "false",
        "isolated": row["marginType"] == "isolated",
        "adlQuantile": 0 if Decimal(row["positionAmt"]) == 0 else 1,
    }


def position_v3(engine, row: dict) -> dict:
    spec = engine.spec(row["symbol"])
    maint = binance_rules.maint_margin(spec, Decimal(row["notional"]))
    return {key: row[key] for key in V3_FIELDS} | {"maintMargin": f"{maint:.8f}"}


def balances(usdt: dict) -> list[dict]:
    """``usdt``: the USDT row; the other margin assets hold nothing."""
    rows = []
    for asset in MARGIN_ASSETS:
        if asset == usdt["asset"]:
            rows.append(usdt)
            continue
        zero = {key: ("0.00000000" if isinstance(value, str) else value) for key, value in usdt.items()}
        rows.append(zero | {"accountAlias": usdt["accountAlias"], "asset": asset, "marginAvailable": True})
    return rows


def funding_info(engine) -> list[dict]:
    """``/fapi/v1/fundingInfo``: Binance's funding caps and interval per symbol."""
    return [
        {
            "symbol": symbol,
            "adjustedFundingRateCap": "0.02000000",
            "adjustedFundingRateFloor": "-0.02000000",
            "fundingIntervalHours": 8,
            "disclaimer": False,
        }
        for symbol in sorted(engine.markets)
    ]


def agg_trades(engine, symbol: str, now: int, start: int | None, end: int | None, limit: int) -> list[dict]:
    """``/fapi/v1/aggTrades``: recent trades at the replayed price, one a second, the most recent last
    (from ``start`` on when it is given), in Binance's compact shape."""
    spec = engine.spec(symbol)
    end = min(end if end is not None else now, now)
    times = range(start, end + 1, 1000) if start is not None else range(end - (limit - 1) * 1000, end + 1, 1000)
    times = list(times)[:limit] if start is not None else list(times)
    rows = []
    for t in times:
        trade_id = t // 1000
        rows.append(
            {
                "a": trade_id,
                "p": str(engine.price(symbol, t)),
                "q": str(spec.min_qty * (1 + trade_id % 5)),
                "f": trade_id * 3,
                "l": trade_id * 3 + trade_id % 3,
                "T": t,
                "m": trade_id % 2 == 0,
            }
        )
    return rows


def symbol_config(engine, symbols: list[str]) -> list[dict]:
    """``/fapi/v1/symbolConfig``: the account's margin type and leverage per symbol."""
    rows = []
    for symbol in symbols:
        leverage = engine.leverage(symbol)
        rows.append(
            {
                "symbol": symbol,
                "marginType": engine.ledger.margin_type.get(symbol, "ISOLATED"),
                "isAutoAddMargin": "false",
                "leverage": leverage,
                "maxNotionalValue": str(binance_rules.notional_cap(engine.spec(symbol), leverage)),
            }
        )
    return rows
