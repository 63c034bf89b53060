"""The ``"robust_plugin"`` section of the freqtrade config, as typed data.

Validated once when the bot or backtest starts. Every mistake is reported in one message that names
the key path (``robust_plugin.aged.max_age``) and what is wrong; nothing here imports freqtrade.

Durations are strings such as ``"90s"``, ``"30m"``, ``"24h"`` (see :mod:`robust_plugin.core.durations`);
percentages are plain numbers (``1.5`` means 1.5 %).
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
)

from robust_plugin.core.aging import AgedPolicy
from robust_plugin.core.durations import DurationError, parse_duration

SECTION = "robust_plugin"


class PluginConfigError(ValueError):
    """The ``robust_plugin`` section is wrong; the message names every bad key path."""


def _duration(value: object) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from None


def _optional_duration(value: object) -> float | None:
    if value is None or (isinstance(value, str) and value.strip().lower() in ("null", "none", "off")):
        return None
    return _duration(value)


Duration = Annotated[float, BeforeValidator(_duration)]
OptionalDuration = Annotated[float | None, BeforeValidator(_optional_duration)]


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"expected a number of percent such as 1.5, got {value!r}")
    return float(value)


Percent = Annotated[float, BeforeValidator(_number), Field(gt=0, lt=100)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class AgedConfig(_Section):
    """``robust_plugin.aged``: the aged-position policy (see :mod:`robust_plugin.core.aging`)."""

    enabled: StrictBool = Field(True, description="Turn the aged-position policy on or off.")
    max_age: Duration = Field("24h", description="Age after which a trade enters its grace period.")
    grace_period: Duration = Field("6h", description="How long the breakeven (fees included) target applies.")
    step_interval: Duration = Field(
        "1h", description="After the grace period, the accepted loss grows once per interval."
    )
    loss_step_pct: Percent = Field(0.5, description="Accepted loss added per step, in percent of the entry price.")
    max_loss_pct: Percent = Field(5.0, description="Cap of the accepted loss, in percent.")
    force_close_after: OptionalDuration = Field(
        None, description="Age at which the trade exits whatever the price; null for never."
    )

    def policy(self) -> AgedPolicy:
        """The pure policy these settings describe."""
        return AgedPolicy(
            max_age=self.max_age,
            grace_period=self.grace_period,
            step_interval=self.step_interval,
            loss_step_pct=float(self.loss_step_pct),
            max_loss_pct=float(self.max_loss_pct),
            force_close_after=self.force_close_after,
        )


BOT_NAME_MAX = 100  # the width of the store's bot_name column


def _not_blank(value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise ValueError("cannot be empty; leave the key out (or null) for the default")
    return value


def _bot_name(value: str | None) -> str | None:
    if value is not None and len(value) > BOT_NAME_MAX:
        raise ValueError(f"at most {BOT_NAME_MAX} characters, got {len(value)}")
    return _not_blank(value)


class StoreConfig(_Section):
    """``robust_plugin.store``: the plugin's own database (never freqtrade's)."""

    url: Annotated[StrictStr | None, AfterValidator(_not_blank)] = Field(
        None,
        description=(
            "SQLAlchemy URL of the plugin's database; default: a SQLite file "
            "robust_plugin.sqlite in freqtrade's user_data directory."
        ),
    )
    bot_name: Annotated[StrictStr | None, AfterValidator(_bot_name)] = Field(
        None, description="Name written on every row; default: freqtrade's bot_name."
    )


Count = Annotated[StrictInt, Field(ge=1, le=1000)]


class ClosingConfigSection(_Section):
    """``robust_plugin.closing``: verified closes with retry and chunked fallback (live futures)."""

    enabled: StrictBool = Field(True, description="Verify, retry and escalate closes in live trading.")
    order_guard: StrictBool = Field(
        True, description="Give orders client order ids and look them up when a response is lost."
    )
    max_full_attempts: Count = Field(3, description="Failed full closes before closing in chunks.")
    alert_after_failures: Count = Field(3, description="Consecutive failures of one trade's close before an alert.")
    max_attempts: Count = Field(
        10,
        description="Consecutive failed attempts before a close counts as stuck: a full close goes on in chunks "
        "(with chunked_fallback), otherwise a critical alert, repeated every max_attempts failures, and attempts "
        "go on at backoff_max.",
    )
    backoff_initial: Duration = Field("2s", description="Wait after the first failure; doubles per failure.")
    backoff_max: Duration = Field("5m", description="Longest wait between attempts.")
    chunked_fallback: StrictBool = Field(True, description="Close in partial exits when full closes cannot work.")

    def core(self):
        """The pure closing configuration these settings describe."""
        from robust_plugin.core.closing import ClosingConfig
        from robust_plugin.core.retry import default_policy

        return ClosingConfig(
            max_full_attempts=self.max_full_attempts,
            alert_after_failures=self.alert_after_failures,
            chunked_fallback=self.chunked_fallback,
            retry=default_policy(
                self.max_attempts, max(self.backoff_initial, 0.001), max(self.backoff_max, self.backoff_initial)
            ),
        )


class SettlementConfig(_Section):
    """``robust_plugin.settlement``: post-entry verification (live futures)."""

    enabled: StrictBool = Field(True, description="Verify every entry fill against the exchange position.")
    deadline: Duration = Field(
        "2m", description="How long a missing position may stay unexplained before a critical alert."
    )
    late_after: Duration = Field(
        "10s", description="Visible later than this after the fill: verified_late (the exchange is slow)."
    )
    dense_window: Duration = Field("1m", description="Check on every loop for this long after the fill.")
    max_spacing: Duration = Field("1m", description="Longest spacing between checks after the dense window.")

    def policy(self):
        from robust_plugin.core.settlement import SettlementPolicy

        return SettlementPolicy(self.deadline, self.late_after, self.dense_window, self.max_spacing)


class ReconcileConfig(_Section):
    """``robust_plugin.reconcile``: open trades against exchange positions (live futures)."""

    enabled: StrictBool = Field(True, description="Compare open trades with exchange positions periodically.")
    interval: Duration = Field("1m", description="How often.")
    grace: Duration = Field("30s", description="Trades younger than this are settlement's job, not reconciliation's.")
    unprotected_after: Duration = Field(
        "1m", description="With stoploss on exchange: a position without a live stop order this long is reported."
    )
    scope: Literal["account", "pairs"] = Field(
        "account",
        description='Which positions this bot answers for: "account" (every position; one bot per account) or '
        '"pairs" (only the pairs it trades; several bots or hand trading on one account).',
    )
    ignore_pairs: list[StrictStr] = Field(
        default_factory=list,
        description="Pairs traded by hand or by other bots: a position there is never an orphan of this bot "
        '(e.g. ["ETH/USDT:USDT"]).',
    )


class EntryGuardConfig(_Section):
    """``robust_plugin.entry_guard``: hold new entries while a position may be open unknown or unprotected."""

    enabled: StrictBool = Field(
        True,
        description="Hold new entries (confirm_trade_entry) while a settlement is unknown, an orphan is open "
        "or a position is unprotected (live futures).",
    )
    scope: Literal["account", "pair"] = Field(
        "account", description='"account": hold every entry of the bot; "pair": only entries on the affected pair.'
    )


class AlertsConfig(_Section):
    """``robust_plugin.alerts``: messages through freqtrade's RPC (Telegram, webhook, Discord)."""

    min_interval: Duration = Field(
        "10m", description="The same alert for the same trade at most this often, critical ones included."
    )
    max_per_hour: Count = Field(
        30, description="At most this many warnings and info alerts per hour; critical alerts are never held back."
    )


def _loopback(value: str) -> str:
    host = value.strip()
    try:
        loopback = host.lower() == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"must be a loopback address such as 127.0.0.1, ::1 or localhost, got {value!r}; the metrics "
            "describe positions and failures, so expose them through a proxy or an SSH tunnel instead"
        )
    return host.strip("[]")


class MetricsConfig(_Section):
    """``robust_plugin.metrics``: the optional Prometheus exporter (dry-run and live)."""

    enabled: StrictBool = Field(
        False, description="Serve Prometheus metrics at http://host:port/metrics (dry-run and live)."
    )
    host: Annotated[StrictStr, AfterValidator(_loopback)] = Field(
        "127.0.0.1", description="Address to listen on; loopback only (127.0.0.1, ::1 or localhost)."
    )
    port: Annotated[StrictInt, Field(ge=1, le=65535)] = Field(9109, description="TCP port of the metrics endpoint.")


class PluginConfig(_Section):
    """The whole ``robust_plugin`` section."""

    enabled: StrictBool = Field(True, description="Turn the whole plugin on or off.")
    aged: AgedConfig = Field(default_factory=AgedConfig)
    closing: ClosingConfigSection = Field(default_factory=ClosingConfigSection)
    settlement: SettlementConfig = Field(default_factory=SettlementConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    entry_guard: EntryGuardConfig = Field(default_factory=EntryGuardConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    store: StoreConfig = Field(default_factory=StoreConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join([SECTION, *(str(part) for part in loc)])


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = PluginConfig
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return sorted(model.model_fields)


def _describe(error: dict[str, Any]) -> str:
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden":
        known = ", ".join(_known_keys(loc))
        return f"{_path(loc)}: unknown key (known keys here: {known})"
    message = error["msg"]
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    if error["type"] in ("float_type", "int_type", "bool_type", "model_type", "string_type"):
        message = f"{message}, got {error['input']!r}"
    return f"{_path(loc)}: {message}"


def _cross_checks(config: PluginConfig) -> list[str]:
    problems = []
    aged = config.aged
    if aged.step_interval <= 0:
        problems.append(f"{SECTION}.aged.step_interval: must be longer than zero")
    if aged.max_loss_pct < aged.loss_step_pct:
        problems.append(
            f"{SECTION}.aged.max_loss_pct: the cap ({aged.max_loss_pct}) is below one loss step "
            f"(loss_step_pct = {aged.loss_step_pct})"
        )
    settlement = config.settlement
    if settlement.late_after > settlement.deadline:
        problems.append(f"{SECTION}.settlement.late_after: longer than deadline ({settlement.deadline}s)")
    for key in ("deadline", "late_after", "dense_window", "max_spacing"):
        if getattr(settlement, key) <= 0:
            problems.append(f"{SECTION}.settlement.{key}: must be longer than zero")
    if config.reconcile.interval <= 0:
        problems.append(f"{SECTION}.reconcile.interval: must be longer than zero")
    closing = config.closing
    if closing.backoff_max < closing.backoff_initial:
        problems.append(f"{SECTION}.closing.backoff_max: shorter than backoff_initial ({closing.backoff_initial}s)")
    if aged.force_close_after is not None and aged.force_close_after <= 0:
        problems.append(f"{SECTION}.aged.force_close_after: must be longer than zero, or null")
    elif aged.force_close_after is not None and aged.force_close_after < aged.max_age:
        problems.append(
            f"{SECTION}.aged.force_close_after: is shorter than max_age, so trades would be forced out "
            "before they age; set it to max_age or later, or null"
        )
    return problems


def parse_plugin_config(section: object) -> PluginConfig:
    """Validate the ``robust_plugin`` section (the value, not the whole freqtrade config).

    :raises PluginConfigError: with one line per problem, each naming the key path.
    """
    if not isinstance(section, dict):
        raise PluginConfigError(f'{SECTION}: expected an object with keys such as "aged", got {section!r}')
    try:
        config = PluginConfig.model_validate(section)
    except ValidationError as exc:
        lines = [_describe(err) for err in exc.errors()]
        raise PluginConfigError(_join(lines)) from None
    problems = _cross_checks(config)
    if problems:
        raise PluginConfigError(_join(problems))
    return config


def plugin_config_from(freqtrade_config: dict[str, Any]) -> PluginConfig | None:
    """The plugin config from a whole freqtrade config, or ``None`` when the section is absent."""
    if SECTION not in freqtrade_config:
        return None
    return parse_plugin_config(freqtrade_config[SECTION])


def _join(lines: list[str]) -> str:
    if len(lines) == 1:
        return f"invalid config: {lines[0]}"
    return "invalid config:\n  " + "\n  ".join(lines)
