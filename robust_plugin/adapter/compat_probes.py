"""Behavioural probes of the freqtrade internals listed in :mod:`robust_plugin.adapter.compat`.

Each probe runs freqtrade's own code on a throwaway object: an instance made without ``__init__``
(no exchange connection, no database, no thread) whose collaborators are small stand-ins that record
what freqtrade does with them. No probe touches the network, the bot's exchange object, its wallets
or its database, and none places an order. A probe returns ``(ok, why)``; the caller turns an
exception inside a probe into "could not verify".
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

PAIR = "BTC/USDT:USDT"
Result = tuple[bool, str]
_QUIET = (
    "freqtrade.freqtradebot",
    "freqtrade.wallets",
    "freqtrade.exchange.exchange",
    "freqtrade.exchange.common",
    "freqtrade.strategy.strategy_wrapper",
    "freqtrade.rpc.rpc_manager",
)


class Recorder:
    """Stand-in callables that note each call, in the order freqtrade made them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple, dict]] = []

    def fn(self, name: str, result: Any = None, raises: BaseException | None = None) -> Callable:
        def call(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            if raises is not None:
                raise raises
            return result(*args, **kwargs) if callable(result) else result

        return call

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]

    def of(self, name: str) -> list[tuple[tuple, dict]]:
        return [(args, kwargs) for n, args, kwargs in self.calls if n == name]


class ProbeTrade:
    """Just enough of a freqtrade trade for the code paths probed here (deep-copyable)."""

    def __init__(self, trade_id: int = -1, **changes: Any) -> None:
        opened = datetime.now(UTC) - timedelta(hours=1)
        self.__dict__.update(id=trade_id, pair=PAIR, amount=1.0, leverage=1.0, funding_fees=0.0, exit_reason=None)
        self.__dict__.update(is_short=False, is_open=True, exit_side="sell", entry_side="buy")
        self.__dict__.update(has_open_orders=False, has_open_sl_orders=False, has_open_position=False)
        self.__dict__.update(fee_open_currency="USDT", safe_base_currency="BTC")
        self.__dict__.update(open_date_utc=opened, date_last_filled_utc=opened, **changes)

    def set_funding_fees(self, value: float) -> None:
        self.funding_fees = value

    def calc_profit_ratio(self, *args: Any, **kwargs: Any) -> float:
        return 0.0

    def __repr__(self) -> str:
        return f"robust_plugin compatibility probe trade {self.id}"


_PROBE_CLASSES: dict[type, type] = {}


def bare(cls: type, **attributes: Any) -> Any:
    """An instance of a throwaway subclass of ``cls`` made without ``__init__``; ``attributes`` become
    instance attributes (which shadow methods of the same name). Nothing runs at garbage collection."""
    sub = _PROBE_CLASSES.get(cls)
    if sub is None:
        sub = _PROBE_CLASSES[cls] = type(f"CompatProbe{cls.__name__}", (cls,), {"__del__": lambda self: None})
    obj = object.__new__(sub)
    obj.__dict__.update(attributes)
    return obj


@contextlib.contextmanager
def quiet(*extra: str) -> Iterator[None]:
    """Drop what freqtrade logs from this thread while a probe runs: its lines would name the probe's
    stand-ins ("Not enough BTC in wallet to exit robust_plugin compatibility probe trade")."""
    ident = threading.get_ident()

    class _Drop(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return record.thread != ident

    drop = _Drop()
    loggers = [logging.getLogger(name) for name in (*_QUIET, *extra)]
    for log in loggers:
        log.addFilter(drop)
    try:
        yield
    finally:
        for log in loggers:
            log.removeFilter(drop)


def _client(**methods: Callable) -> SimpleNamespace:
    """A stand-in ccxt client. Its methods are attributes of the instance, which is how the order
    guard installs its wrapper on the real client."""
    has = {"fetchOrders": True, "fetchClosedOrders": True, "fetchCanceledOrders": True, "fetchOpenOrders": True}
    return SimpleNamespace(id="compatprobe", has=has, options={}, **methods)


def _ft_has(exchange_cls: type) -> dict:
    combine = getattr(exchange_cls, "combine_ft_has", None)
    return dict(combine(include_futures=True)) if combine is not None else {}


def bare_exchange(exchange_cls: type, client: SimpleNamespace, **extra: Any) -> Any:
    """A throwaway futures exchange of ``exchange_cls`` in live mode around a stand-in client.
    Precision and contract size (which need markets) are identities: they are not what is checked."""
    from freqtrade.enums import MarginMode, TradingMode

    return bare(
        exchange_cls,
        _config={"dry_run": False, "trading_mode": "futures", "margin_mode": "isolated"},
        _api=client,
        _api_async=client,
        _ft_has=_ft_has(exchange_cls),
        _params={},
        log_responses=False,
        trading_mode=TradingMode.FUTURES,
        margin_mode=MarginMode.ISOLATED,
        amount_to_precision=lambda pair, amount: amount,
        price_to_precision=lambda pair, price, **kwargs: price,
        _amount_to_contracts=lambda pair, amount: amount,
        _contracts_to_amount=lambda pair, amount: amount,
        _order_contracts_to_amount=lambda order: order,
        **extra,
    )


def _guard_signature(symbol, type, side, amount, price=None, params=None):
    """The signature of the order guard's wrapper (ccxt's ``create_order``)."""


def order_path(exchange_cls: type) -> Result:
    """An order placed through ``Exchange.create_order`` (live) reaches the client's ``create_order``
    attribute once, with ccxt's arguments and ``reduceOnly`` in the params; its answer is what
    freqtrade gets back; a lost response (a timeout) is not retried and surfaces as a
    ``DependencyException`` (logged by freqtrade, not fatal)."""
    import ccxt
    from freqtrade.exceptions import DependencyException

    answer = {"id": "compatprobe-1", "symbol": PAIR, "type": "market", "side": "sell", "status": "closed"}
    answer |= {"amount": 0.5, "filled": 0.5, "remaining": 0.0, "average": 100.0, "price": 100.0}

    def place(raises: BaseException | None) -> tuple[Any, list[tuple[tuple, dict]]]:
        """(what create_order returned or raised, the client's create_order calls)."""
        rec = Recorder()
        client = _client(create_order=rec.fn("create_order", lambda *a, **k: dict(answer), raises))
        exchange = bare_exchange(exchange_cls, client, _lev_prep=rec.fn("_lev_prep"))
        try:
            outcome = exchange.create_order(
                pair=PAIR, ordertype="market", side="sell", amount=0.5, rate=100.0, leverage=2.0, reduceOnly=True
            )
        except Exception as error:  # noqa: BLE001 - the outcome is what is checked
            outcome = error
        return outcome, rec.of("create_order")

    with quiet(exchange_cls.__module__):
        order, calls = place(None)
        lost, lost_calls = place(ccxt.RequestTimeout("compatibility probe: response lost"))
    if isinstance(order, Exception):
        raise order
    if len(calls) != 1:
        return False, f"Exchange.create_order called the client's create_order {len(calls)} times, not once"
    try:
        bound = inspect.signature(_guard_signature).bind(*calls[0][0], **calls[0][1]).arguments
    except TypeError as error:
        return False, f"Exchange.create_order calls the client's create_order with other arguments: {error}"
    seen = (bound["symbol"], bound["type"], bound["side"], bound["amount"])
    if seen != (PAIR, "market", "sell", 0.5) or not (bound.get("params") or {}).get("reduceOnly"):
        return False, f"Exchange.create_order passed {seen} and params {bound.get('params')}"
    if not isinstance(order, dict) or order.get("id") != answer["id"]:
        return False, "Exchange.create_order does not return the client's answer"
    if len(lost_calls) != 1:
        return False, f"a lost create_order response was sent {len(lost_calls)} times: freqtrade retries it"
    if not isinstance(lost, DependencyException):
        what = type(lost).__name__ if isinstance(lost, BaseException) else "an order"
        return False, f"a lost create_order response became {what}, not a DependencyException"
    return True, "Exchange.create_order places through self._api.create_order once and does not retry it"


def wallet_sync_before_confirm_exit() -> Result:
    """``execute_trade_exit`` syncs the wallets (positions included) before it asks
    ``confirm_trade_exit``, and places nothing when the answer is no."""
    from freqtrade.enums import ExitCheckTuple, ExitType, TradingMode
    from freqtrade.freqtradebot import FreqtradeBot

    rec = Recorder()
    types = {"entry": "market", "exit": "market", "stoploss": "market", "emergency_exit": "market"}
    strategy = SimpleNamespace(
        order_types={**types, "stoploss_on_exchange": False},
        order_time_in_force={"entry": "GTC", "exit": "GTC"},
        confirm_trade_exit=rec.fn("confirm_trade_exit", False),
        custom_exit_price=rec.fn("custom_exit_price", lambda **kw: kw.get("proposed_rate")),
    )
    bot = bare(
        FreqtradeBot,
        config={},
        exchange=SimpleNamespace(get_funding_fees=rec.fn("get_funding_fees", 0.0), create_order=rec.fn("create_order")),
        strategy=strategy,
        wallets=SimpleNamespace(update=rec.fn("wallets.update")),
        trading_mode=TradingMode.FUTURES,
        _exit_reason_cache={},
        cancel_stoploss_on_exchange=rec.fn("cancel_stoploss_on_exchange", lambda trade, **kw: trade),
        handle_similar_open_order=rec.fn("handle_similar_open_order", True),
    )
    with quiet():
        placed = bot.execute_trade_exit(ProbeTrade(), 100.0, ExitCheckTuple(exit_type=ExitType.CUSTOM_EXIT))
    names = rec.names()
    if "confirm_trade_exit" not in names:
        return False, "execute_trade_exit did not call confirm_trade_exit"
    before = names[: names.index("confirm_trade_exit")]
    if "wallets.update" not in before:
        return False, "execute_trade_exit no longer syncs the wallets before confirm_trade_exit"
    if placed or "create_order" in names:
        return False, "execute_trade_exit placed an order after confirm_trade_exit said no"
    kwargs = rec.of("confirm_trade_exit")[0][1]
    if {"trade", "amount", "exit_reason"} - set(kwargs):
        return False, f"confirm_trade_exit is called with {sorted(kwargs)}"
    return True, "wallets.update() runs before confirm_trade_exit"


def onexchange_recovery() -> Result:
    """``exit_positions`` runs ``handle_onexchange_order`` for a trade the wallet cannot cover, and
    not while the trade has an open stop order; the recovery reads ``exchange.fetch_orders`` and
    records unknown orders as ``sold_on_exchange`` (read from its source: it needs the database)."""
    from freqtrade.freqtradebot import FreqtradeBot

    rec = Recorder()
    bot = bare(
        FreqtradeBot,
        wallets=SimpleNamespace(check_exit_amount=rec.fn("check_exit_amount", False), update=rec.fn("wallets.update")),
        strategy=SimpleNamespace(order_types={"stoploss_on_exchange": False}),
        handle_onexchange_order=rec.fn("recover", True),
        handle_trade=rec.fn("handle_trade", False),
        handle_stoploss_on_exchange=rec.fn("handle_stoploss_on_exchange", False),
    )
    plain, with_stop = ProbeTrade(1), ProbeTrade(2, has_open_sl_orders=True)
    with quiet():
        bot.exit_positions([plain, with_stop])
    recovered = [args[0].id for args, _ in rec.of("recover")]
    if recovered != [1]:
        return (
            False,
            f"exit_positions ran the on-exchange recovery for trades {recovered}, expected [1] (no stop order)",
        )
    source = inspect.getsource(FreqtradeBot.handle_onexchange_order)
    if "self.exchange.fetch_orders(" not in source or "SOLD_ON_EXCHANGE" not in source:
        return False, "handle_onexchange_order no longer imports orders from exchange.fetch_orders as sold_on_exchange"
    return True, "recovery runs when the wallet cannot cover a trade without an open stop order"


def trade_copy() -> Result:
    """``strategy_safe_wrapper`` hands a callback whose ``__qualname__`` starts with ``IStrategy.``
    the trade itself (no protective deep copy)."""
    from freqtrade.strategy.strategy_wrapper import strategy_safe_wrapper

    seen: dict[str, Any] = {}

    def default(*, trade):
        seen["default"] = trade

    def own(*, trade):
        seen["own"] = trade

    default.__qualname__ = "IStrategy.custom_exit"
    own.__qualname__ = "CompatProbeStrategy.custom_exit"
    trade = ProbeTrade()
    with quiet():
        strategy_safe_wrapper(default)(trade=trade)
        strategy_safe_wrapper(own)(trade=trade)
    if seen.get("default") is not trade:
        return False, "strategy_safe_wrapper copies the trade for IStrategy's defaults too"
    copies = seen.get("own") is not trade
    return True, "defaults get the trade itself" + (", a strategy's own callbacks a copy" if copies else "")


def fetch_orders(exchange_cls: type) -> Result:
    """``Exchange.fetch_orders(pair, since)`` returns closed, canceled and open orders, emulating the
    history from the three ccxt calls where ``fetchOrders`` is missing or unsupported."""
    import ccxt

    since = datetime.now(UTC) - timedelta(hours=1)
    lists = {"fetch_closed_orders": "closed", "fetch_canceled_orders": "canceled", "fetch_open_orders": "open"}

    def run(has_fetch_orders: bool) -> tuple[set[str], Recorder]:
        rec = Recorder()
        methods = {name: rec.fn(name, lambda *a, _s=status, **k: [_order(_s)]) for name, status in lists.items()}
        client = _client(fetch_orders=rec.fn("fetch_orders", raises=ccxt.NotSupported("probe")), **methods)
        client.has["fetchOrders"] = has_fetch_orders
        found = bare_exchange(exchange_cls, client).fetch_orders(PAIR, since)
        return {order["id"] for order in found}, rec

    with quiet(exchange_cls.__module__):
        for has_fetch_orders in (False, True):
            ids, rec = run(has_fetch_orders)
            if not {"closed", "open"} <= ids:  # fills are in closed (and open, partly filled) orders
                return False, f"Exchange.fetch_orders returned {sorted(ids)} without ccxt fetchOrders"
            for name in lists:
                for args, kwargs in rec.of(name):
                    asked = kwargs.get("since", args[1] if len(args) > 1 else None)
                    if asked is None or asked > since.timestamp() * 1000:
                        return False, f"Exchange.fetch_orders asked {name} for orders since {asked}"
    return True, "Exchange.fetch_orders emulates the history from closed, canceled and open orders"


def _order(status: str) -> dict:
    filled = 0.5 if status == "closed" else 0.0
    return {"id": status, "symbol": PAIR, "status": status, "type": "limit", "side": "buy", "price": 100.0} | {
        "amount": 0.5,
        "filled": filled,
        "remaining": 0.5 - filled,
        "average": 100.0 if filled else None,
        "timestamp": int(datetime.now(UTC).timestamp() * 1000) - 60_000,
        "fee": None,
    }


def fetch_positions(exchange_cls: type) -> Result:
    """``Exchange.fetch_positions()`` (live futures) returns the client's positions for all symbols."""
    raw = {"symbol": PAIR, "side": "short", "contracts": 2.0, "collateral": 25.0, "leverage": 2.0}
    rec = Recorder()
    client = _client(fetch_positions=rec.fn("fetch_positions", lambda *a, **k: [dict(raw)]))
    with quiet(exchange_cls.__module__):
        every = bare_exchange(exchange_cls, client).fetch_positions()
    calls = rec.of("fetch_positions")
    if len(calls) != 1 or [p.get("symbol") for p in every] != [PAIR]:
        return False, f"Exchange.fetch_positions() returned {every!r} after {len(calls)} client calls"
    args, kwargs = calls[0]
    if (args[0] if args else kwargs.get("symbols")) is not None:
        return False, "Exchange.fetch_positions() no longer asks for every symbol at once"
    return True, "Exchange.fetch_positions() returns every position in one request"


def wallet_positions() -> Result:
    """A wallet sync turns an exchange position into ``Wallets.get_all_positions()[pair]`` with
    ``position`` (base currency) and ``side``."""
    from freqtrade.enums import RunMode
    from freqtrade.wallets import Wallets

    raw = {"symbol": PAIR, "side": "short", "contracts": 4.0, "collateral": 25.0, "initialMargin": 25.0}
    raw |= {"leverage": 2.0, "unrealizedPnl": 0.0, "liquidationPrice": 150.0}
    rec = Recorder()
    exchange = SimpleNamespace(
        get_balances=rec.fn("get_balances", {"USDT": {"free": 900.0, "used": 100.0, "total": 1000.0}}),
        fetch_positions=rec.fn("fetch_positions", lambda *a, **k: [dict(raw)]),
        _contracts_to_amount=lambda pair, contracts: contracts * 0.5,
        balance_includes_unrealized_pnl=lambda: False,
        get_proxy_coin=lambda: "USDT",
    )
    config = {"dry_run": False, "runmode": RunMode.LIVE, "stake_currency": "USDT", "dry_run_wallet": 1000}
    wallets = bare(Wallets, _config=config, _exchange=exchange, _is_backtest=False, _wallets={}, _positions={})
    wallets.__dict__.update(_start_cap={}, _stake_currency="USDT", _last_wallet_refresh=None)
    with quiet():
        wallets.update()
        position = wallets.get_all_positions().get(PAIR)
    if position is None:
        return False, "a wallet sync left no position for an open exchange position"
    if float(position.position) != 2.0 or getattr(position, "side", None) != "short":
        return False, f"a wallet sync gave position={position.position!r} side={getattr(position, 'side', None)!r}"
    return True, "get_all_positions()[pair] has position (base currency) and side after a wallet sync"


def dataprovider() -> Result:
    """``DataProvider`` keeps the exchange as ``_exchange``, reports ``runmode`` from the config, and
    ``send_msg(text, always_send=True)`` reaches the RPC modules as a strategy message in live modes."""
    from freqtrade.data.dataprovider import DataProvider
    from freqtrade.enums import RPCMessageType, RunMode
    from freqtrade.rpc.rpc_manager import RPCManager

    exchange = object()
    live = DataProvider({"runmode": RunMode.LIVE, "timeframe": "5m"}, exchange)
    backtest = DataProvider({"runmode": RunMode.BACKTEST, "timeframe": "5m"}, exchange)
    if live._exchange is not exchange or live.runmode != RunMode.LIVE or backtest.runmode != RunMode.BACKTEST:
        return False, "DataProvider no longer exposes _exchange and runmode"
    rec = Recorder()
    module = SimpleNamespace(name="probe", _config={"probe": {"allow_custom_messages": True}})
    module.send_msg = rec.fn("send_msg")
    rpc = bare(RPCManager, registered_modules=[module])
    for provider in (live, backtest):
        provider.send_msg("compatibility probe", always_send=True)
        provider.send_msg("compatibility probe", always_send=True)
        with quiet():
            rpc.process_msg_queue(provider._msg_queue)
    sent = [args[0] for args, _ in rec.of("send_msg")]
    expected = {"type": RPCMessageType.STRATEGY_MSG, "msg": "compatibility probe"}
    if sent != [expected, expected]:
        return False, f"dp.send_msg(always_send=True) reached the RPC modules as {sent!r}"
    return True, "dp._exchange, dp.runmode; dp.send_msg reaches RPC in live modes only"
