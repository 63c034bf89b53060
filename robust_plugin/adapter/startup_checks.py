"""Start-up checks of the mixin that need freqtrade's config, the environment or the strategy class.

Each problem is one line naming the key; :class:`~robust_plugin.adapter.mixin.RobustMixin` stops
start-up with it (``OperationalException``) in every run mode, backtesting included.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Mapping
from typing import Any

from freqtrade import constants
from freqtrade.enums import RunMode

from robust_plugin.core.config import SECTION, PluginConfig
from robust_plugin.store import default_url
from robust_plugin.store.engine import URL_KEY, StoreConfigError, parse_url, same_database, shown

logger = logging.getLogger(__name__)

HOOKS = (
    "confirm_trade_entry",
    "custom_exit",
    "custom_exit_price",
    "order_filled",
    "confirm_trade_exit",
    "adjust_trade_position",
    "bot_loop_start",
)


class StartupError(ValueError):
    """A start-up check failed; the message names the key."""


# -- the store is never freqtrade's database ----------------------------------------------------------


def freqtrade_db_urls(config: Mapping[str, Any]) -> list[str]:
    """The database(s) freqtrade trades on with this config: ``db_url`` as freqtrade resolved it in
    dry-run and live; in backtesting and hyperopt, where freqtrade opens no database, the one a
    dry-run or live run of this config would use (both defaults when ``db_url`` is not set)."""
    db_url = config.get("db_url")
    if config.get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE) and db_url:
        return [db_url]
    if not db_url or db_url == constants.DEFAULT_DB_PROD_URL:
        return [constants.DEFAULT_DB_PROD_URL, constants.DEFAULT_DB_DRYRUN_URL]
    return [db_url]


def store_url(plugin: PluginConfig, config: Mapping[str, Any]) -> str:
    """The store's URL (``store.url`` or the default beside freqtrade's ``user_data``), once it is
    known to be a URL and not freqtrade's own database.

    :raises StartupError: naming ``robust_plugin.store.url``.
    """
    url = plugin.store.url or default_url(config.get("user_data_dir") or "user_data")
    try:
        parsed = parse_url(url)
        for db_url in freqtrade_db_urls(config):
            if same_database(parsed, db_url):
                raise StartupError(
                    f"{URL_KEY}: {shown(parsed)} is freqtrade's own database (db_url {db_url}); the plugin "
                    "never writes into it: give it a database of its own, or leave store.url out for "
                    "robust_plugin.sqlite in user_data"
                )
    except StoreConfigError as error:
        raise StartupError(str(error)) from None
    return url


# -- a section from environment variables alone --------------------------------------------------------


def environment_overrides(environ: Mapping[str, str]) -> list[str]:
    """The ``FREQTRADE__ROBUST_PLUGIN__...`` variables (freqtrade merges them into the config)."""
    prefix = constants.ENV_VAR_PREFIX
    return sorted(
        name for name in environ if name.startswith(prefix) and name[len(prefix) :].split("__")[0].lower() == SECTION
    )


def section_in_config_files(config: Mapping[str, Any]) -> bool | None:
    """Whether one of the config files freqtrade read has a ``robust_plugin`` section; ``None`` when
    that cannot be told (no file names recorded, or the config came from stdin)."""
    from freqtrade.configuration.load_config import load_config_file
    from freqtrade.exceptions import OperationalException

    files = config.get("config_files")
    if not files or "-" in files:
        return None
    try:
        return any(SECTION in load_config_file(str(name)) for name in files)
    except (OperationalException, OSError):
        return None


def only_from_environment(config: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> list[str]:
    """The environment variables that alone made the ``robust_plugin`` section (no config file has
    one); empty when the section is in a config file, or cannot be told apart."""
    if SECTION not in config:
        return []
    variables = environment_overrides(os.environ if environ is None else environ)
    if not variables or section_in_config_files(config) is not False:
        return []
    return variables


# -- the strategy around the mixin ---------------------------------------------------------------------


def check_strategy(strategy: Any, mixin: type, plugin: PluginConfig) -> None:
    """Refuse an aged policy that could never act; warn about callbacks that skip the mixin's part and
    about market exits.

    :raises StartupError: when ``use_exit_signal`` is off while the aged policy is on.
    """
    if plugin.aged.enabled and not strategy.use_exit_signal:
        raise StartupError(
            f"{SECTION}.aged is enabled but 'use_exit_signal' is false, so "
            "freqtrade never calls custom_exit and aged positions would never be closed. "
            f'Set "use_exit_signal": true, or set {SECTION}.aged.enabled to false.'
        )
    for hook in HOOKS:
        own = getattr(type(strategy), hook)
        if own is not getattr(mixin, hook):
            try:
                calls_super = "super()" in inspect.getsource(own)
            except (OSError, TypeError):
                calls_super = True
            if not calls_super:
                logger.warning(
                    "robust_plugin: %s.%s does not call super().%s(...); the plugin's part of "
                    "that callback will not run.",
                    type(strategy).__name__,
                    hook,
                    hook,
                )
    exit_type = strategy.order_types.get("exit", "limit")
    live = (getattr(strategy, "config", None) or {}).get("runmode") in (RunMode.DRY_RUN, RunMode.LIVE)
    if live and exit_type == "limit" and plugin.aged.enabled and not unfilled_exit_timeout(strategy):
        logger.warning(
            "robust_plugin: order_types.exit is 'limit' and unfilledtimeout.exit is not set: an aged "
            "exit whose limit order does not fill rests on the exchange until it does, and the close "
            'waits with it. Set "unfilledtimeout": {"exit": N, "unit": "seconds"} (freqtrade then '
            "cancels it and the plugin signals the exit again at the current stage's price)."
        )
    if exit_type != "limit":
        logger.warning(
            "robust_plugin: order_types.exit is '%s'. Aged exits then happen at a candle's open "
            'in backtesting instead of at their target price; use "exit": "limit".',
            exit_type,
        )


def unfilled_exit_timeout(strategy: Any) -> float | None:
    """freqtrade's ``unfilledtimeout.exit`` for this strategy (the config's, else the strategy's)."""
    timeouts = getattr(strategy, "unfilledtimeout", None) or (getattr(strategy, "config", None) or {}).get(
        "unfilledtimeout"
    )
    value = (timeouts or {}).get("exit")
    return float(value) if value else None
