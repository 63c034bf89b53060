"""The venue as one object: markets, clock, prices, engine, faults, keys, request log."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

from robust_plugin.venue import exchange_closes
from robust_plugin.venue.account import Order
from robust_plugin.venue.auth import Credentials
from robust_plugin.venue.engine import Engine
from robust_plugin.venue.faults import FaultPlan, Scenario
from robust_plugin.venue.markets import MarketSpec, discover_markets
from robust_plugin.venue.prices import VenueClock, load_replay
from robust_plugin.venue.weights import RequestWeights

DEFAULT_BALANCE = Decimal("10000")

REQUEST_LOG_LIMIT = 20_000  # requests kept for GET /_venue/requests


class Venue:
    def __init__(
        self,
        data_dir: Path,
        scenario: Scenario | None = None,
        seed: int | None = None,
        credentials: Credentials | None = None,
        speed: float = 1.0,
        start_ms: int | None = None,
        balance: Decimal | None = None,
        exchange: str = "binance",
    ):
        scenario = scenario or Scenario()
        markets = discover_markets(Path(data_dir))
        if not markets:
            raise ValueError(f"no candle files found in {data_dir}")
        for symbol, changes in scenario.market_overrides.items():
            key = symbol if symbol in markets else None
            if key is None:
                raise ValueError(f"scenario: markets: unknown symbol {symbol!r}; listed: {', '.join(sorted(markets))}")
            markets[key] = dataclasses.replace(markets[key], **{k: Decimal(v) for k, v in changes.items()})
        self.markets: dict[str, MarketSpec] = markets
        self.clock = VenueClock(speed)
        perpetuals = {s.symbol: f"{s.base}_{s.quote}_{s.quote}" for s in markets.values() if s.kind == "perpetual"}
        self.prices = load_replay(Path(data_dir), perpetuals, self.clock, start_ms) if perpetuals else None
        wallet = balance or scenario.balance or DEFAULT_BALANCE
        self.exchange = exchange  # the dialect it speaks: binance or bybit (whose liquidation price applies)
        self.engine = Engine(markets, self.prices, wallet, exchange=exchange) if self.prices else None
        self.plan = FaultPlan(scenario.rules, seed if seed is not None else (scenario.seed or 0))
        self.credentials = credentials or Credentials()
        self.requests: list[dict] = []
        self.weights = RequestWeights()  # counts only; main() sets the limit from --weight-limit
        self.scheduled: list[tuple[int, str, str]] = []  # (due ms, action, symbol)
        self._lag_recorded: set[tuple[str, int]] = set()
        # phantom fills whose status query reports them filled (not in the ledger, so not in the truth)
        self.phantoms: dict[int, Order] = {}

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def elapsed_s(self) -> float:
        return (self.now_ms() - self.clock.started_ms) / 1000

    def tick(self) -> None:
        """Let time pass: scheduled faults, outside changes, fills, triggers, liquidations."""
        if self.engine is None:
            return
        now = self.now_ms()
        for rule in self.plan.due_external(self.elapsed_s()):
            self._external(rule.params, rule.symbols[0], now)
            self.plan.record(rule, "external", rule.symbols[0], now)
        due = [item for item in self.scheduled if item[0] <= now]
        self.scheduled = [item for item in self.scheduled if item[0] > now]
        for _, action, symbol in due:
            if action == "liquidate":
                exchange_closes.liquidate(self.engine, symbol, now)
        self.engine.advance(now)

    def _external(self, params: dict, symbol: str, now: int) -> None:
        action = params["action"]
        if action == "open":
            self.engine.external_order(symbol, params["side"], params["quantity"], now)
        elif action == "close":
            if self.engine.ledger.position(symbol).amount:
                self.engine.external_order(symbol, "", None, now)
        elif action == "cancel_stops":
            self.engine.cancel_all_algos(symbol, now)
        elif action == "adl":
            exchange_closes.auto_deleverage(self.engine, symbol, params.get("quantity"), now)

    def external(self, action: str, symbol: str, side: str | None = None, quantity: Decimal | None = None) -> None:
        self.engine.spec(symbol)
        self._external({"action": action, "side": side, "quantity": quantity}, symbol, self.now_ms())

    def position_view(self, symbol: str, now: int) -> tuple[Decimal, Decimal, bool]:
        """(amount, entry price, hidden) as positionRisk shows it, after any visibility lag."""
        position = self.engine.ledger.position(symbol)
        lags = self.plan.active("position_lag", symbol, self.elapsed_s())
        if not lags:
            return position.amount, position.entry_price, False
        lag_ms = int(max(rule.params["seconds"] for rule in lags) * 1000)
        amount, entry = self.engine.ledger.position_as_of(symbol, now - lag_ms)
        hidden = amount != position.amount
        if hidden:  # recorded once per position change it hides, not once per poll
            changed_at = max(
                (row["time"] for row in self.engine.ledger.position_history if row["symbol"] == symbol), default=0
            )
            if (symbol, changed_at) not in self._lag_recorded:
                self._lag_recorded.add((symbol, changed_at))
                self.plan.record(lags[0], "positionRisk", symbol, now, shown=amount, actual=position.amount)
        return amount, entry, hidden

    def log_request(self, entry: dict) -> None:
        """One request in the request log (``GET /_venue/requests``); the oldest half goes past the limit."""
        self.requests.append(entry)
        if len(self.requests) > REQUEST_LOG_LIMIT:
            del self.requests[: REQUEST_LOG_LIMIT // 2]

    def truth(self) -> dict:
        ledger = self.engine.ledger.truth(self.engine.liquidation_price) if self.engine else {}
        return {
            "now": self.now_ms(),
            "started": self.clock.started_ms,
            **ledger,
            "faults_fired": list(self.plan.fired),
            "halted": sorted(self.engine.halted) if self.engine else [],
            "requests": len(self.requests),
        }
