"""Signed Bybit V5 endpoints besides orders: wallet, account and key info, positions, leverage,
margin and position mode, executions, fees, coins.

The venue's account is a unified trading account (``uta: 1``), isolated margin, one-way positions;
its book-keeping is the shared engine's ledger, so the ground truth reads the same for both dialects.
"""

from __future__ import annotations

from decimal import Decimal

from robust_plugin.venue import bybit_rules
from robust_plugin.venue.account import ZERO, Fill
from robust_plugin.venue.account_api import _totals, position_figures
from robust_plugin.venue.bybit_errors import BybitError, params_error
from robust_plugin.venue.bybit_market import category, integer, linear_spec
from robust_plugin.venue.bybit_orders import CREATE_TYPES, ENGINE_ORIGINS, bybit_id, engine_id, find
from robust_plugin.venue.venue import Venue

EXEC_TYPES = {"liquidation": "BustTrade", "adl": "AdlTrade"}
MAX_LEVERAGE = 100


def wallet_balance(venue: Venue, params: dict):
    account_type = params.get("accountType")
    if account_type != "UNIFIED":
        raise BybitError(10001, f"accountType only support UNIFIED, got {account_type}")
    t = _totals(venue)
    ledger = venue.engine.ledger
    realized = sum((i.income for i in ledger.income if i.income_type == "REALIZED_PNL"), ZERO)
    coin = {
        "coin": "USDT",
        "equity": f"{t['margin_balance']:.8f}",
        "usdValue": f"{t['margin_balance']:.8f}",
        "walletBalance": f"{t['wallet']:.8f}",
        "free": "",
        "locked": "0",
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "availableToWithdraw": f"{t['available']:.8f}",
        "availableToBorrow": "",
        "accruedInterest": "0",
        "totalOrderIM": f"{t['reserved']:.8f}",
        "totalPositionIM": f"{t['used']:.8f}",
        "totalPositionMM": "0",
        "unrealisedPnl": f"{t['unrealized']:.8f}",
        "cumRealisedPnl": f"{realized:.8f}",
        "bonus": "0",
        "marginCollateral": True,
        "collateralSwitch": True,
    }
    if params.get("coin") and "USDT" not in params["coin"].split(","):
        coins = []
    else:
        coins = [coin]
    return {
        "list": [
            {
                "accountType": "UNIFIED",
                "accountIMRate": "0",
                "accountMMRate": "0",
                "accountLTV": "0",
                "totalEquity": coin["equity"],
                "totalWalletBalance": coin["walletBalance"],
                "totalMarginBalance": coin["equity"],
                "totalAvailableBalance": coin["availableToWithdraw"],
                "totalPerpUPL": coin["unrealisedPnl"],
                "totalInitialMargin": f"{t['used'] + t['reserved']:.8f}",
                "totalMaintenanceMargin": "0",
                "coin": coins,
            }
        ]
    }


def _margin_mode(venue: Venue) -> str:
    modes = set(venue.engine.ledger.margin_type.values())
    return "REGULAR_MARGIN" if modes == {"CROSSED"} else "ISOLATED_MARGIN"


def account_info(venue: Venue, params: dict):
    return {
        "unifiedMarginStatus": 5,
        "marginMode": _margin_mode(venue),
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
        "updatedTime": str(venue.clock.started_ms),
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
    }


def api_key_info(venue: Venue, params: dict):
    return {
        "id": "1",
        "note": "venue",
        "apiKey": "",
        "readOnly": 0,
        "secret": "",
        "permissions": {
            "ContractTrade": ["Order", "Position"],
            "Spot": ["SpotTrade"],
            "Wallet": ["AccountTransfer"],
            "Options": [],
            "Derivatives": ["DerivativesTrade"],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
            "Affiliate": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": -1,
        "expiredAt": "",
        "createdAt": "2025-01-01T00:00:00Z",
        "unified": 0,
        "uta": 1,
        "userID": 1,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }


def _position(venue: Venue, symbol: str, now: int) -> dict:
    engine = venue.engine
    figures = position_figures(venue, symbol, now)
    amount, entry, position, mark = figures.amount, figures.entry, figures.position, figures.mark
    leverage, margin, liquidation = figures.leverage, figures.margin, figures.liquidation
    tier = bybit_rules.tier_index(abs(amount) * entry)
    _, risk_limit, rate, deduction = bybit_rules.RISK_TIERS[tier]
    realized = sum((f.realized_pnl - f.commission for f in engine.ledger.fills if f.symbol == symbol), ZERO)
    mode = engine.ledger.margin_type.get(symbol, "ISOLATED")
    return {
        "positionIdx": 0,
        "riskId": tier + 1,
        "riskLimitValue": str(risk_limit),
        "symbol": symbol,
        "side": "" if not amount else ("Buy" if amount > 0 else "Sell"),
        "size": str(abs(amount)),
        "avgPrice": str(entry),
        "positionValue": f"{abs(amount) * entry:.8f}",
        "tradeMode": 0 if mode == "CROSSED" else 1,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": str(leverage),
        "markPrice": str(mark),
        "liqPrice": f"{liquidation:.8f}" if amount else "",
        "bustPrice": "",
        "positionIM": f"{margin:.8f}",
        "positionMM": f"{max(ZERO, abs(amount) * mark * Decimal(rate) - Decimal(deduction)):.8f}",
        "positionBalance": f"{margin:.8f}",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "sessionAvgPrice": "",
        "unrealisedPnl": f"{(mark - entry) * amount:.8f}",
        "curRealisedPnl": f"{realized:.8f}",
        "cumRealisedPnl": f"{realized:.8f}",
        "adlRankIndicator": 2 if amount else 0,
        "createdTime": str(venue.clock.started_ms),
        "updatedTime": str(position.update_time or venue.clock.started_ms),
        "seq": position.update_time,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
    }


def positions(venue: Venue, params: dict):
    """One entry for a named symbol even when flat (as Bybit answers); otherwise open positions only."""
    venue.tick()
    now = venue.now_ms()
    if params.get("symbol"):
        rows = [_position(venue, linear_spec(venue, params).symbol, now)]
    else:
        category(params)
        if not params.get("settleCoin") and not params.get("baseCoin"):
            raise params_error("symbol, baseCoin or settleCoin is required")
        symbols = sorted(venue.engine.markets)
        if params.get("baseCoin"):
            symbols = [s for s in symbols if venue.engine.markets[s].base == params["baseCoin"]]
        if params.get("settleCoin"):
            symbols = [s for s in symbols if venue.engine.markets[s].quote == params["settleCoin"]]
        rows = [_position(venue, s, now) for s in symbols if venue.position_view(s, now)[0] != 0]
    return {"category": "linear", "list": rows, "nextPageCursor": ""}


def _leverage(params: dict, name: str) -> int:
    raw = params.get(name)
    try:
        value = Decimal(str(raw))
    except ArithmeticError:
        raise params_error(f"{name} invalid") from None
    if raw in (None, "") or not value.is_finite() or value != value.to_integral_value():
        raise params_error(f"{name} invalid")
    if not 1 <= value <= MAX_LEVERAGE:
        raise BybitError(10001, f"leverage invalid: {raw} not within [1, {MAX_LEVERAGE}]")
    return int(value)


def set_leverage(venue: Venue, params: dict):
    symbol = linear_spec(venue, params).symbol
    buy, sell = _leverage(params, "buyLeverage"), _leverage(params, "sellLeverage")
    if buy != sell:
        raise params_error("buyLeverage must equal sellLeverage in one-way mode")
    if venue.engine.leverage(symbol) == buy:
        raise BybitError(110043, "leverage not modified")
    venue.engine.ledger.leverage[symbol] = buy
    return {}


def switch_isolated(venue: Venue, params: dict):
    """Per-symbol margin mode (classic accounts; a unified account answers it too on this venue)."""
    symbol = linear_spec(venue, params).symbol
    mode = {"0": "CROSSED", "1": "ISOLATED"}.get(str(params.get("tradeMode")))
    if mode is None:
        raise params_error("tradeMode invalid")
    leverage = _leverage(params, "buyLeverage")
    ledger = venue.engine.ledger
    if ledger.margin_type.get(symbol) == mode:
        raise BybitError(110026, "Cross/isolated margin mode is not modified")
    ledger.margin_type[symbol] = mode
    ledger.leverage[symbol] = leverage
    return {}


def set_margin_mode(venue: Venue, params: dict):
    """The unified account's margin mode, for every symbol at once."""
    mode = {"ISOLATED_MARGIN": "ISOLATED", "REGULAR_MARGIN": "CROSSED"}.get(params.get("setMarginMode"))
    if mode is None:
        raise params_error("setMarginMode invalid")
    for symbol in venue.engine.markets:
        venue.engine.ledger.margin_type[symbol] = mode
    return {"reasons": []}


def switch_mode(venue: Venue, params: dict):
    category(params)
    if str(params.get("mode")) == "3":
        raise BybitError(110029, "Hedge mode is not available for this symbol")
    if str(params.get("mode")) != "0":
        raise params_error("mode invalid")
    return {}


def _execution(venue: Venue, fill: Fill, owners: dict) -> dict:
    ledger = venue.engine.ledger
    order = ledger.orders.get(fill.order_id)
    algo = owners.get(fill.order_id)
    link = algo.client_algo_id if algo else ("" if fill.origin in ENGINE_ORIGINS else order.client_order_id)
    mark = venue.engine.price(fill.symbol, fill.time)
    return {
        "symbol": fill.symbol,
        "orderId": bybit_id(algo.algo_id if algo else fill.order_id),
        "orderLinkId": link,
        "side": "Buy" if fill.side == "BUY" else "Sell",
        "orderPrice": str(order.price if order else ZERO),
        "orderQty": str(order.orig_qty if order else fill.qty),
        "leavesQty": str(order.remaining if order and order.open else ZERO),
        "createType": "CreateByStopOrder" if algo else CREATE_TYPES.get(fill.origin, "CreateByUser"),
        "orderType": "Limit" if order and order.type == "LIMIT" and fill.origin not in ENGINE_ORIGINS else "Market",
        "stopOrderType": "Stop" if algo else "",
        "execFee": f"{fill.commission:.8f}",
        "execId": str(fill.trade_id),
        "execPrice": str(fill.price),
        "execQty": str(fill.qty),
        "execType": EXEC_TYPES.get(fill.origin, "Trade"),
        "execValue": f"{fill.price * fill.qty:.8f}",
        "execTime": str(fill.time),
        "feeCurrency": "USDT",
        "isMaker": fill.maker,
        "feeRate": str(venue.engine.maker_fee if fill.maker else venue.engine.taker_fee),
        "tradeIv": "",
        "markIv": "",
        "markPrice": str(mark),
        "indexPrice": str(mark),
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "",
        "seq": fill.trade_id,
        "extraFees": "",
    }


def executions(venue: Venue, params: dict):
    venue.tick()
    category(params)
    ledger = venue.engine.ledger
    fills = list(ledger.fills)
    if params.get("symbol"):
        symbol = linear_spec(venue, params).symbol
        fills = [f for f in fills if f.symbol == symbol]
    owners = {a.actual_order_id: a for a in ledger.algo_orders.values() if a.actual_order_id}
    if params.get("orderId") or params.get("orderLinkId"):
        item = find(venue, params)
        number = engine_id(params["orderId"]) if params.get("orderId") else None
        wanted = {getattr(item, "actual_order_id", None), getattr(item, "order_id", None), number} - {None}
        fills = [f for f in fills if f.order_id in wanted]
    start, end = integer(params, "startTime"), integer(params, "endTime")
    fills = [f for f in fills if (start is None or f.time >= start) and (end is None or f.time <= end)]
    limit = integer(params, "limit", 50)
    if not 1 <= limit <= 100:
        raise params_error("limit invalid")
    rows = [_execution(venue, f, owners) for f in reversed(fills)]
    if params.get("execType"):
        rows = [r for r in rows if r["execType"] == params["execType"]]
    return {"category": "linear", "list": rows[:limit], "nextPageCursor": ""}


def fee_rate(venue: Venue, params: dict):
    category(params, ("linear", "spot"))
    symbols = [linear_spec(venue, params).symbol] if params.get("symbol") else sorted(venue.engine.markets)
    engine = venue.engine
    rows = [
        {"symbol": s, "baseCoin": "", "takerFeeRate": str(engine.taker_fee), "makerFeeRate": str(engine.maker_fee)}
        for s in symbols
    ]
    return {"list": rows}


def coins(venue: Venue, params: dict):
    assets = sorted({"USDT"} | {s.base for s in venue.markets.values()} | {s.quote for s in venue.markets.values()})
    return {
        "rows": [
            {
                "name": asset,
                "coin": asset,
                "remainAmount": "10000000",
                "chains": [
                    {
                        "chainType": "VENUE",
                        "confirmation": "1",
                        "withdrawFee": "0",
                        "depositMin": "0",
                        "withdrawMin": "0",
                        "chain": "VENUE",
                        "chainDeposit": "1",
                        "chainWithdraw": "1",
                        "minAccuracy": "8",
                        "withdrawPercentageFee": "0",
                        "contractAddress": "",
                    }
                ],
            }
            for asset in assets
        ]
    }


ROUTES = [
    # "account", not "balance": the endpoint ccxt's fetch_balance reaches in the Binance dialect is
    # /fapi/v3/account, so one scenario hits the same client call in both dialects
    ("GET", "/v5/account/wallet-balance", "account", wallet_balance),
    ("GET", "/v5/account/info", "account", account_info),
    ("GET", "/v5/user/query-api", "account", api_key_info),
    ("GET", "/v5/account/fee-rate", "account", fee_rate),
    ("GET", "/v5/asset/coin/query-info", "account", coins),
    ("GET", "/v5/position/list", "positionRisk", positions),
    ("POST", "/v5/position/set-leverage", "leverage", set_leverage),
    ("POST", "/v5/position/switch-isolated", "marginType", switch_isolated),
    ("POST", "/v5/account/set-margin-mode", "marginType", set_margin_mode),
    ("POST", "/v5/position/switch-mode", "positionSide", switch_mode),
    ("GET", "/v5/execution/list", "userTrades", executions),
]
