"""What the HTML report shows, read from where freqtrade and the plugin keep it.

* a backtest: the result freqtrade writes with ``--export trades`` (a ``.zip`` with the config
  inside, a ``.json``, or the results directory, whose last result is used);
* a live or dry-run bot: freqtrade's database (``trades`` and the plugin's custom data under the
  key ``robustplugin``) and the plugin's event store;
* candles from the data directory (as ``freqtrade download-data`` lays it out), when present.

Every problem with an input is a :class:`ReportInputError` with one line that names it.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from robust_plugin.core.aging import AgedPolicy
from robust_plugin.core.config import PluginConfig, PluginConfigError, parse_plugin_config
from robust_plugin.core.trade_state import CUSTOM_DATA_KEY


class ReportInputError(ValueError):
    """A missing file or unreadable input: one line for the operator."""


@dataclass
class ReportInputs:
    title: str
    source: str
    policy: AgedPolicy | None
    """``None`` when the aged policy is off in the config."""
    policy_note: str
    trades: list[dict[str, Any]]
    """freqtrade's backtest trade fields (``pair``, ``is_short``, ``open_date``, ``close_date`` ...);
    live trades add ``trade_id`` and ``is_open`` (an open trade's ``close_date`` is the report time)."""
    candles: dict[str, Any] = field(default_factory=dict)
    """Per pair a DataFrame with ``date`` and ``close`` (pairs without candles are absent)."""
    timeframe: str = "5m"
    stake_currency: str = "USDT"
    live: bool = False
    plugin_state: dict[int, dict[str, Any]] = field(default_factory=dict)
    """Live: per trade id, the value of the custom data key ``robustplugin``."""
    events: list[dict[str, Any]] = field(default_factory=list)
    """Live: the plugin's events (``kind``, ``created_at``, ``trade_id``, ``pair``, ``severity``, ``data``)."""


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif hasattr(value, "to_pydatetime"):
        moment = value.to_pydatetime()
    else:
        moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ReportInputError(f"config not found: {path}")
    try:
        return json.loads(path.read_text())
    except ValueError as error:
        raise ReportInputError(f"config {path} is not JSON: {error}") from None


def policy_from(config: dict[str, Any] | None, where: str) -> tuple[AgedPolicy | None, str]:
    """The aged policy of a freqtrade config's ``robust_plugin`` section, and a line saying whence."""
    if config is None or "robust_plugin" not in config:
        return PluginConfig().aged.policy(), f"no robust_plugin section in {where}: the defaults"
    try:
        plugin = parse_plugin_config(config["robust_plugin"])
    except PluginConfigError as error:
        raise ReportInputError(f"{where}: robust_plugin: {error}") from None
    if not (plugin.enabled and plugin.aged.enabled):
        return None, f"the aged policy is off in {where}"
    return plugin.aged.policy(), f"robust_plugin.aged from {where}"


# -- backtests --------------------------------------------------------------------------------------


def _result_file(path: Path) -> Path:
    if not path.exists():
        raise ReportInputError(f"backtest result not found: {path}")
    if path.is_file():
        return path
    marker = path / ".last_result.json"
    if not marker.is_file():
        raise ReportInputError(f"no backtest result in {path} (no .last_result.json; give the .zip or .json)")
    try:
        name = json.loads(marker.read_text())["latest_backtest"]
    except (ValueError, KeyError):
        raise ReportInputError(f"unreadable {marker}") from None
    found = path / name
    if not found.is_file():
        raise ReportInputError(f"backtest result not found: {found} (named in {marker})")
    return found


def _zipped_config(result: Path) -> dict[str, Any] | None:
    if result.suffix != ".zip":
        return None
    with zipfile.ZipFile(result) as archive:
        names = [n for n in archive.namelist() if n.endswith("_config.json")]
        return json.loads(archive.read(names[0])) if names else None


def backtest_inputs(
    path: Path, *, config_path: Path | None, datadir: Path | None, strategy: str | None
) -> ReportInputs:
    from freqtrade.data.btanalysis import load_backtest_stats

    result = _result_file(path)
    try:
        stats = load_backtest_stats(result)
    except (ValueError, zipfile.BadZipFile, OSError) as error:
        raise ReportInputError(f"not a freqtrade backtest result: {result} ({error})") from None
    strategies = stats.get("strategy") if isinstance(stats, dict) else None
    if not strategies:
        raise ReportInputError(f"not a freqtrade backtest result: {result}")
    if strategy is None:
        if len(strategies) > 1:
            raise ReportInputError(f"{result} holds several strategies ({', '.join(strategies)}): give --strategy")
        strategy = next(iter(strategies))
    if strategy not in strategies:
        raise ReportInputError(f"--strategy {strategy}: not in {result} (it has {', '.join(strategies)})")
    run = strategies[strategy]
    if config_path is not None:
        config, where = read_config_file(config_path), str(config_path)
    else:
        config = _zipped_config(result)
        where = f"the config stored in {result.name}" if config else f"{result.name} (no config stored; give --config)"
    policy, note = policy_from(config, where)
    trades = [dict(t) for t in run.get("trades", [])]
    for trade in trades:
        trade["open_date"], trade["close_date"] = _when(trade["open_date"]), _when(trade["close_date"])
    timeframe = run.get("timeframe") or (config or {}).get("timeframe") or "5m"
    inputs = ReportInputs(
        title=f"robust_plugin report: backtest of {strategy}",
        source=f"{result} ({', '.join(filter(None, [run.get('timerange'), f'{len(trades)} trades']))})",
        policy=policy,
        policy_note=note,
        trades=trades,
        timeframe=timeframe,
        stake_currency=run.get("stake_currency", "USDT"),
    )
    inputs.candles = load_candles(_datadir(datadir, config), {t["pair"] for t in trades}, timeframe, config)
    return inputs


# -- live databases ---------------------------------------------------------------------------------


def sqlite_url(value: str, what: str) -> str:
    url = value if "://" in value else f"sqlite:///{value}"
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if not path.is_file():
            raise ReportInputError(f"{what} not found: {path} (give its path or SQLAlchemy URL)")
    return url


_TRADE_COLUMNS = (
    "id, pair, is_short, is_open, open_date, close_date, open_rate, close_rate, amount, fee_open, "
    "fee_close, funding_fees, leverage, exit_reason, close_profit, close_profit_abs, stake_amount, "
    "price_precision, precision_mode, precision_mode_price"
)


def live_inputs(
    db: str, *, store: str | None, config_path: Path | None, datadir: Path | None, now: datetime
) -> ReportInputs:
    from sqlalchemy import create_engine, text

    url = sqlite_url(db, "freqtrade database")
    try:
        with create_engine(url).connect() as connection:
            rows = connection.execute(text(f"select {_TRADE_COLUMNS} from trades order by id")).mappings().all()
            custom = connection.execute(
                text("select ft_trade_id, cd_value from trade_custom_data where cd_key = :key"),
                {"key": CUSTOM_DATA_KEY},
            ).fetchall()
    except Exception as error:  # noqa: BLE001 - not a freqtrade database, or not reachable
        raise ReportInputError(f"not a freqtrade database ({type(error).__name__}): {db}") from None
    trades = []
    for row in rows:
        trade = dict(row)
        trade["trade_id"] = trade.pop("id")
        trade["is_short"], trade["is_open"] = bool(trade["is_short"]), bool(trade["is_open"])
        trade["open_date"] = _when(trade["open_date"])
        trade["close_date"] = now if trade["is_open"] or trade["close_date"] is None else _when(trade["close_date"])
        trade["profit_ratio"] = trade.pop("close_profit") or 0.0
        trade["profit_abs"] = trade.pop("close_profit_abs") or 0.0
        trade["exit_reason"] = trade["exit_reason"] or ("(open)" if trade["is_open"] else "")
        trades.append(trade)
    state: dict[int, dict[str, Any]] = {}
    for trade_id, value in custom:
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            parsed = None
        state[trade_id] = parsed if isinstance(parsed, dict) else {}
    config = read_config_file(config_path) if config_path is not None else None
    policy, note = policy_from(config, str(config_path) if config_path else "no --config")
    inputs = ReportInputs(
        title="robust_plugin report: live trades",
        source=f"{db} ({len(trades)} trades)",
        policy=policy,
        policy_note=note,
        trades=trades,
        timeframe=(config or {}).get("timeframe", "5m"),
        stake_currency=(config or {}).get("stake_currency", "USDT"),
        live=True,
        plugin_state=state,
        events=_store_events(store, db),
    )
    if datadir is not None or config is not None:
        inputs.candles = load_candles(_datadir(datadir, config), {t["pair"] for t in trades}, inputs.timeframe, config)
    return inputs


def store_beside(db_url: str) -> str | None:
    """The bot's default store, ``robust_plugin.sqlite`` beside a SQLite ``db_url``, when it exists."""
    if not db_url.startswith("sqlite:///"):
        return None
    beside = Path(db_url[len("sqlite:///") :]).parent / "robust_plugin.sqlite"
    return f"sqlite:///{beside}" if beside.is_file() else None


def _store_events(store: str | None, db: str) -> list[dict[str, Any]]:
    url = sqlite_url(store, "plugin store") if store is not None else store_beside(sqlite_url(db, "freqtrade database"))
    if url is None:
        return []
    from robust_plugin.store import EventStore, StoreConfigError

    try:
        events = EventStore(url, "report").events()
    except StoreConfigError as error:  # unreachable, not a database, or freqtrade's own database
        where = "--store" if store is not None else f"the plugin store beside --db ({url})"
        raise ReportInputError(f"{where}: {error.detail}") from None
    except Exception as error:  # noqa: BLE001 - a database that is not the plugin's
        raise ReportInputError(f"cannot read the plugin store ({type(error).__name__}): {store or url}") from None
    return [
        {
            "kind": e.kind,
            "created_at": e.created_at,
            "trade_id": e.trade_id,
            "pair": e.pair,
            "severity": e.severity,
            "data": e.data,
        }
        for e in events
    ]


# -- candles ----------------------------------------------------------------------------------------


def _datadir(datadir: Path | None, config: dict[str, Any] | None) -> Path:
    if datadir is not None:
        if not datadir.is_dir():
            raise ReportInputError(f"--datadir not found: {datadir}")
        return datadir
    config = config or {}
    if config.get("datadir"):
        return Path(config["datadir"])
    exchange = (config.get("exchange") or {}).get("name", "binance")
    return Path("user_data") / "data" / exchange


def load_candles(datadir: Path, pairs: set[str], timeframe: str, config: dict[str, Any] | None) -> dict[str, Any]:
    """Per pair, the candles (``date``, ``close``) in ``datadir``; pairs without data are left out."""
    from freqtrade.data.history import get_datahandler
    from freqtrade.enums import CandleType

    config = config or {}
    if not datadir.is_dir():
        return {}
    futures = config.get("trading_mode", "futures") == "futures"
    handler = get_datahandler(datadir, config.get("dataformat_ohlcv", "feather"))
    candles = {}
    for pair in sorted(pairs):
        kind = CandleType.FUTURES if futures and ":" in pair else CandleType.SPOT
        frame = handler.ohlcv_load(pair, timeframe, kind, warn_no_data=False)
        if not frame.empty:
            candles[pair] = frame[["date", "open", "high", "low", "close"]]
    return candles
