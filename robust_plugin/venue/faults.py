"""Scripted faults: a scenario file (TOML) says which fault fires where, when and how often.

Example::

    seed = 7

    [[faults]]
    kind = "lost_response"      # the order executes; the client sees a 504
    endpoint = "order.new"
    symbols = ["BTCUSDT"]
    occurrences = [1]           # the first matching request (1-based); or probability = 0.2
    reduce_only = true          # only closing orders

    [[faults]]
    kind = "position_lag"       # positionRisk trails fills by 20 s
    seconds = 20

Every rule may limit itself with ``endpoint``, ``symbols``, ``after``/``until`` (durations since the
venue started, e.g. "30s", "5m"), ``occurrences`` or ``probability``, and for order endpoints
``reduce_only``. Randomness comes from ``seed`` (or ``--seed``), so a scenario replays identically.
A mistake is refused with the line and key that are wrong.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from robust_plugin.core.durations import DurationError, parse_duration

ENDPOINTS = (
    "*",
    "order.new",
    "order.query",
    "order.cancel",
    "algo.new",
    "algo.query",
    "algo.cancel",
    "openOrders",
    "allOrders",
    "openAlgoOrders",
    "allAlgoOrders",
    "userTrades",
    "positionRisk",
    "account",
    "balance",
    "income",
    "leverage",
    "marginType",
    "positionSide",
    "multiAssetsMargin",
    "leverageBracket",
    "klines",
    "depth",
    "ticker",
    "premiumIndex",
    "fundingRate",
    "time",
    "exchangeInfo",
)

# kind: (default endpoint, allowed extra keys with their parsers)
KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "position_lag": ("positionRisk", {"seconds": "seconds"}),
    "lost_response": ("order.new", {"status": "status"}),
    "rate_limit": ("*", {"status": "status", "retry_after": "seconds"}),
    "disconnect": ("*", {}),
    "server_error": ("*", {"status": "status"}),
    "latency": ("*", {"seconds": "seconds"}),
    "insufficient_margin": ("order.new", {}),
    "reduce_only_reject": ("order.new", {}),
    "liquidate_after_entry": ("order.new", {"seconds": "seconds"}),
    "partial_fill": ("order.new", {"ratio": "ratio"}),
    "halt": ("order.new", {}),
    # answered FILLED, but nothing executed (no order, no fill); with ``status_query`` the order's own
    # status query reports it filled too (Bybit's create answer has no status: freqtrade asks that query)
    "phantom_fill": ("order.new", {"status_query": "flag"}),
    "external": ("*", {"at": "seconds", "action": "action", "side": "side", "quantity": "decimal"}),
}
COMMON_KEYS = ("kind", "endpoint", "symbols", "after", "until", "occurrences", "probability", "reduce_only")
ACTIONS = ("open", "close", "cancel_stops", "adl")
TOP_KEYS = ("seed", "faults", "account", "markets")
MARKET_KEYS = ("symbol", "max_qty", "market_max_qty", "min_qty", "min_notional")


class ScenarioError(ValueError):
    """A scenario file the venue refuses; the message names the line and key."""


@dataclass
class FaultRule:
    index: int
    kind: str
    endpoint: str
    symbols: tuple[str, ...] = ()
    after_s: float = 0.0
    until_s: float | None = None
    occurrences: tuple[int, ...] = ()
    probability: float | None = None
    reduce_only: bool | None = None
    params: dict = field(default_factory=dict)
    seen: int = 0
    done: bool = False  # one-shot rules (external) that have fired

    def applies(self, endpoint: str, symbol: str | None, elapsed_s: float, reduce_only: bool | None) -> bool:
        if self.endpoint != "*" and self.endpoint != endpoint:
            return False
        if self.symbols and symbol not in self.symbols:
            return False
        if elapsed_s < self.after_s or (self.until_s is not None and elapsed_s >= self.until_s):
            return False
        # a rule about reduce-only orders applies to order requests only, and only to the matching kind
        return self.reduce_only is None or self.reduce_only == reduce_only


@dataclass
class Scenario:
    seed: int | None = None
    balance: Decimal | None = None
    market_overrides: dict[str, dict[str, str]] = field(default_factory=dict)
    rules: list[FaultRule] = field(default_factory=list)


def _line_of(text: str, table: str, index: int | None, key: str | None) -> int | None:
    """The line of ``key`` inside the ``index``-th ``[[table]]`` (or top level when table is empty)."""
    count, inside = -1, table == ""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped in (f"[[{table}]]", f"[{table}]")
            if inside and stripped.startswith("[["):
                count += 1
            if key is None and inside and (index is None or count == index):
                return number
            continue
        if inside and (index is None or count == index) and key and stripped.split("=")[0].strip() == key:
            return number
    return None


def _fail(text: str, source: str, table: str, index: int | None, key: str | None, message: str):
    line = _line_of(text, table, index, key)
    where = f"{source}, line {line}" if line else source
    path = ".".join(p for p in (table + (f"[{index}]" if index is not None else "") if table else "", key or "") if p)
    raise ScenarioError(f"{where}: {path}: {message}")


def _seconds(value) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a duration")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("cannot be negative")
        return float(value)
    try:
        return float(parse_duration(str(value)))
    except DurationError as error:
        raise ValueError(str(error)) from None


def _parse_value(kind: str, value):
    if kind == "seconds":
        return _seconds(value)
    if kind == "status":
        if not isinstance(value, int) or not 400 <= value <= 599:
            raise ValueError("expected an HTTP error status between 400 and 599")
        return value
    if kind == "ratio":
        if not isinstance(value, int | float) or not 0 <= value < 1:
            raise ValueError("expected a number from 0 up to (not including) 1")
        return Decimal(repr(float(value)))
    if kind == "flag":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind == "action":
        if value not in ACTIONS:
            raise ValueError(f"expected one of {', '.join(ACTIONS)}")
        return value
    if kind == "side":
        if value not in ("BUY", "SELL"):
            raise ValueError('expected "BUY" or "SELL"')
        return value
    if kind == "decimal":
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError("expected a number") from None
        if number <= 0:
            raise ValueError("must be positive")
        return number
    raise AssertionError(kind)


def _rule(text: str, source: str, index: int, raw: dict) -> FaultRule:
    def fail(key, message):
        _fail(text, source, "faults", index, key, message)

    if not isinstance(raw, dict):
        fail(None, "expected a table")
    kind = raw.get("kind")
    if kind not in KINDS:
        fail("kind", f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
    default_endpoint, extra = KINDS[kind]
    for key in raw:
        if key not in COMMON_KEYS and key not in extra:
            fail(key, f"unknown key for a {kind} fault; allowed: {', '.join(list(COMMON_KEYS) + list(extra))}")
    rule = FaultRule(index=index, kind=kind, endpoint=raw.get("endpoint", default_endpoint))
    if rule.endpoint not in ENDPOINTS:
        fail("endpoint", f"unknown endpoint {rule.endpoint!r}; known: {', '.join(ENDPOINTS)}")
    symbols = raw.get("symbols", [])
    if not isinstance(symbols, list) or not all(isinstance(s, str) for s in symbols):
        fail("symbols", 'expected a list of exchange symbols such as ["BTCUSDT"]')
    rule.symbols = tuple(symbols)
    try:
        rule.after_s = _seconds(raw.get("after", 0))
    except ValueError as error:
        fail("after", str(error))
    if "until" in raw:
        try:
            rule.until_s = _seconds(raw["until"])
        except ValueError as error:
            fail("until", str(error))
    occurrences = raw.get("occurrences", [])
    if not isinstance(occurrences, list) or not all(
        isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in occurrences
    ):
        fail("occurrences", "expected a list of request numbers counted from 1, such as [1, 3]")
    rule.occurrences = tuple(occurrences)
    if "probability" in raw:
        p = raw["probability"]
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            fail("probability", "expected a number between 0 and 1")
        if occurrences:
            fail("probability", "give either occurrences or probability, not both")
        rule.probability = float(p)
    if "reduce_only" in raw:
        if not isinstance(raw["reduce_only"], bool):
            fail("reduce_only", "expected true or false")
        rule.reduce_only = raw["reduce_only"]
    for key, parser in extra.items():
        if key in raw:
            try:
                rule.params[key] = _parse_value(parser, raw[key])
            except ValueError as error:
                fail(key, str(error))
    if kind == "position_lag" and "seconds" not in rule.params:
        fail(None, "a position_lag fault needs seconds")
    if kind == "external":
        for key in ("at", "action"):
            if key not in rule.params:
                fail(None, f"an external fault needs {key}")
        if len(rule.symbols) != 1:
            fail("symbols", "an external fault acts on exactly one symbol")
        if rule.params["action"] == "open" and not {"side", "quantity"} <= set(rule.params):
            fail(None, "an external open needs side and quantity")
    return rule


def parse_scenario(text: str, source: str = "scenario") -> Scenario:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{source}: {error}") from None
    for key in document:
        if key not in TOP_KEYS:
            _fail(text, source, "", None, key, f"unknown key; allowed: {', '.join(TOP_KEYS)}")
    scenario = Scenario()
    if "seed" in document:
        if not isinstance(document["seed"], int) or isinstance(document["seed"], bool):
            _fail(text, source, "", None, "seed", "expected an integer")
        scenario.seed = document["seed"]
    account = document.get("account", {})
    for key, value in account.items():
        if key != "balance":
            _fail(text, source, "account", None, key, "unknown key; allowed: balance")
        try:
            scenario.balance = _parse_value("decimal", value)
        except ValueError as error:
            _fail(text, source, "account", None, key, str(error))
    for index, market in enumerate(document.get("markets", [])):
        for key, value in market.items():
            if key not in MARKET_KEYS:
                _fail(text, source, "markets", index, key, f"unknown key; allowed: {', '.join(MARKET_KEYS)}")
            if key != "symbol":
                try:
                    _parse_value("decimal", value)
                except ValueError as error:
                    _fail(text, source, "markets", index, key, str(error))
        if "symbol" not in market:
            _fail(text, source, "markets", index, None, "needs symbol")
        scenario.market_overrides[market["symbol"]] = {k: str(v) for k, v in market.items() if k != "symbol"}
    faults = document.get("faults", [])
    if not isinstance(faults, list):
        _fail(text, source, "", None, "faults", "expected [[faults]] tables")
    scenario.rules = [_rule(text, source, i, raw) for i, raw in enumerate(faults)]
    return scenario


class FaultPlan:
    """The scenario's rules at run time: which fire for a request, and a record of every one that did."""

    def __init__(self, rules: list[FaultRule], seed: int = 0):
        self.rules = rules
        self.random = random.Random(seed)
        self.fired: list[dict] = []

    def add(self, rules: list[FaultRule], seed: int | None = None) -> None:
        """Add rules at run time; a seed restarts the random sequence so a posted scenario replays."""
        if seed is not None:
            self.random = random.Random(seed)
        offset = len(self.rules)
        for i, rule in enumerate(rules):
            rule.index = offset + i
        self.rules.extend(rules)

    def clear(self) -> None:
        self.rules = []

    def fire(
        self,
        kinds: tuple[str, ...],
        endpoint: str,
        symbol: str | None,
        elapsed_s: float,
        now_ms: int,
        reduce_only: bool | None = None,
    ) -> list[FaultRule]:
        """Rules of ``kinds`` that fire for this request (counting it for each rule that matches)."""
        firing = []
        for rule in self.rules:
            if rule.kind not in kinds or not rule.applies(endpoint, symbol, elapsed_s, reduce_only):
                continue
            rule.seen += 1
            if rule.occurrences:
                hit = rule.seen in rule.occurrences
            elif rule.probability is not None:
                hit = self.random.random() < rule.probability
            else:
                hit = True
            if hit:
                firing.append(rule)
                self.record(rule, endpoint, symbol, now_ms)
        return firing

    def active(self, kind: str, symbol: str | None, elapsed_s: float) -> list[FaultRule]:
        """Window rules (position_lag, halt) in force now for ``symbol``, without counting."""
        return [r for r in self.rules if r.kind == kind and r.applies(r.endpoint, symbol, elapsed_s, None)]

    def due_external(self, elapsed_s: float) -> list[FaultRule]:
        due = [r for r in self.rules if r.kind == "external" and not r.done and elapsed_s >= r.params["at"]]
        for rule in due:
            rule.done = True
        return due

    def record(self, rule: FaultRule, endpoint: str, symbol: str | None, now_ms: int, **detail) -> None:
        self.fired.append(
            {
                "time": now_ms,
                "kind": rule.kind,
                "rule": rule.index,
                "endpoint": endpoint,
                "symbol": symbol,
                **{k: str(v) for k, v in (rule.params | detail).items()},
            }
        )
