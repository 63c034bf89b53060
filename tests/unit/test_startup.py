"""Start-up checks that read freqtrade's config, the environment and the config files."""

from __future__ import annotations

import json

from freqtrade.enums import RunMode

from robust_plugin.adapter.startup_checks import environment_overrides, freqtrade_db_urls, only_from_environment

ENV = {"FREQTRADE__ROBUST_PLUGIN__AGED__MAX_AGE": "2h", "FREQTRADE__EXCHANGE__KEY": "k", "HOME": "/home/x"}


def test_only_the_plugins_variables_count():
    environ = {**ENV, "FREQTRADE__robust_plugin__enabled": "true", "FREQTRADE__ROBUST_PLUGINS__X": "1"}
    assert environment_overrides(environ) == [
        "FREQTRADE__ROBUST_PLUGIN__AGED__MAX_AGE",
        "FREQTRADE__robust_plugin__enabled",
    ]


def test_a_section_made_by_variables_alone_is_told_apart_by_the_config_files(tmp_path):
    plain, with_section = tmp_path / "plain.json", tmp_path / "plugin.json"
    plain.write_text(json.dumps({"stake_currency": "USDT"}))
    with_section.write_text(json.dumps({"robust_plugin": {}}))
    merged = {"robust_plugin": {"aged": {"max_age": "2h"}}}
    assert only_from_environment({**merged, "config_files": [str(plain)]}, ENV) == [
        "FREQTRADE__ROBUST_PLUGIN__AGED__MAX_AGE"
    ]
    assert only_from_environment({**merged, "config_files": [str(plain), str(with_section)]}, ENV) == []
    assert only_from_environment({**merged, "config_files": [str(plain)]}, {"HOME": "/home/x"}) == []
    # a config read from stdin cannot be read again: the merged config is taken as it is
    assert only_from_environment({**merged, "config_files": ["-"]}, ENV) == []
    assert only_from_environment({"config_files": [str(plain)]}, ENV) == []


def test_freqtrades_database_per_run_mode():
    both = ["sqlite:///tradesv3.sqlite", "sqlite:///tradesv3.dryrun.sqlite"]
    assert freqtrade_db_urls({"runmode": RunMode.BACKTEST}) == both
    assert freqtrade_db_urls({"runmode": RunMode.BACKTEST, "db_url": "sqlite:///tradesv3.sqlite"}) == both
    assert freqtrade_db_urls({"runmode": RunMode.BACKTEST, "db_url": "sqlite:///mine.sqlite"}) == [
        "sqlite:///mine.sqlite"
    ]
    assert freqtrade_db_urls({"runmode": RunMode.DRY_RUN, "db_url": "sqlite:///tradesv3.dryrun.sqlite"}) == [
        "sqlite:///tradesv3.dryrun.sqlite"
    ]
    assert freqtrade_db_urls({"runmode": RunMode.LIVE, "db_url": "postgresql://h/ft"}) == ["postgresql://h/ft"]


def _strategy(runmode: RunMode, unfilledtimeout: dict | None):
    from robust_plugin import RobustMixin
    from robust_plugin.adapter.startup_checks import HOOKS

    cls = type("Limits", (), {hook: getattr(RobustMixin, hook) for hook in HOOKS})
    strategy = cls()
    strategy.use_exit_signal = True
    strategy.order_types = {"entry": "limit", "exit": "limit"}
    strategy.unfilledtimeout = unfilledtimeout
    strategy.config = {"runmode": runmode}
    return strategy


def test_limit_exits_without_an_exit_timeout_are_warned_about_live(caplog):
    """A limit exit that does not fill rests for ever without unfilledtimeout.exit (freqtrade has no
    default), and an aged close waits with it: the rehearsal's limit-exit cells stalled so."""
    from robust_plugin import RobustMixin
    from robust_plugin.adapter.startup_checks import check_strategy
    from robust_plugin.core.config import PluginConfig

    plugin = PluginConfig.model_validate({"aged": {"max_age": "1h"}})
    with caplog.at_level("WARNING"):
        check_strategy(_strategy(RunMode.LIVE, None), RobustMixin, plugin)
    assert any("unfilledtimeout.exit is not set" in r.message for r in caplog.records)
    caplog.clear()
    with caplog.at_level("WARNING"):
        check_strategy(_strategy(RunMode.LIVE, {"exit": 30, "unit": "seconds"}), RobustMixin, plugin)
        check_strategy(_strategy(RunMode.BACKTEST, None), RobustMixin, plugin)
    assert not any("unfilledtimeout" in r.message for r in caplog.records)
