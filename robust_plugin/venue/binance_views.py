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
    cap = binance_rules.leverage_allowed(spec, int(row["leverage"]))
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
