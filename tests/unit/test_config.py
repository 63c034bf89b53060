"""The robust_plugin config section: defaults, durations, and one clear message per mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from robust_plugin.core.config import PluginConfigError, parse_plugin_config, plugin_config_from
from robust_plugin.core.durations import DurationError, format_duration, parse_duration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("30m", 1800), ("24h", 86400), ("2d", 172800), ("1.5h", 5400), ("1w", 604800)],
)
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "5x", "-1h", "h", None, 24, True, [1], "366d", "53w", "9" * 400 + "s"])
def test_bad_durations_are_refused(bad):
    with pytest.raises(DurationError):
        parse_duration(bad)


def test_durations_are_bounded_by_a_year_so_no_date_arithmetic_can_overflow():
    assert parse_duration("365d") == parse_duration("52w") + 86400
    with pytest.raises(DurationError, match=r'at most 365 days \("365d"\), got "99999999999999999999w"'):
        parse_duration("99999999999999999999w")


def test_format_duration_round_trips():
    for seconds in (90, 1800, 5400, 86400, 7200):
        assert parse_duration(format_duration(seconds)) == seconds


def test_defaults_are_the_documented_ones():
    example = json.loads((ROOT / "config.example.json").read_text())
    config = parse_plugin_config(example["robust_plugin"])
    defaults = parse_plugin_config({})
    assert config == defaults, "config.example.json must show the defaults"
    assert defaults.aged.enabled is True
    assert defaults.aged.max_age == 24 * 3600


def test_absent_section_means_inactive():
    assert plugin_config_from({"stake_currency": "USDT"}) is None


@pytest.mark.parametrize(
    ("section", "path", "words"),
    [
        ({"aged": {"max_agee": "1h"}}, "robust_plugin.aged.max_agee", "unknown key"),
        ({"agde": {}}, "robust_plugin.agde", "unknown key"),
        ({"aged": {"enabled": "yes"}}, "robust_plugin.aged.enabled", "boolean"),
        ({"aged": {"max_age": 24}}, "robust_plugin.aged.max_age", "duration"),
        ({"aged": {"max_age": "-2h"}}, "robust_plugin.aged.max_age", "negative"),
        ({"aged": {"grace_period": "-1m"}}, "robust_plugin.aged.grace_period", "negative"),
        ({"aged": {"step_interval": "0s"}}, "robust_plugin.aged.step_interval", "longer than zero"),
        ({"aged": {"step_interval": "soon"}}, "robust_plugin.aged.step_interval", "duration"),
        ({"aged": {"loss_step_pct": "0.5"}}, "robust_plugin.aged.loss_step_pct", "number"),
        ({"aged": {"loss_step_pct": -1}}, "robust_plugin.aged.loss_step_pct", "greater than 0"),
        ({"aged": {"max_loss_pct": 150}}, "robust_plugin.aged.max_loss_pct", "less than 100"),
        (
            {"aged": {"loss_step_pct": 1.0, "max_loss_pct": 0.5}},
            "robust_plugin.aged.max_loss_pct",
            "below one loss step",
        ),
        ({"aged": {"force_close_after": "-3h"}}, "robust_plugin.aged.force_close_after", "negative"),
        ({"aged": {"force_close_after": 0}}, "robust_plugin.aged.force_close_after", "duration"),
        (
            {"aged": {"max_age": "24h", "force_close_after": "12h"}},
            "robust_plugin.aged.force_close_after",
            "shorter than max_age",
        ),
        ({"aged": []}, "robust_plugin.aged", "valid"),
        ({"store": {"url": 5}}, "robust_plugin.store.url", "string"),
        ({"store": {"url": ""}}, "robust_plugin.store.url", "cannot be empty"),
        ({"store": {"bot_name": ""}}, "robust_plugin.store.bot_name", "cannot be empty"),
        ({"store": {"bot_name": "  "}}, "robust_plugin.store.bot_name", "cannot be empty"),
        ({"store": {"bot_name": "b" * 101}}, "robust_plugin.store.bot_name", "at most 100 characters"),
        ({"aged": {"max_age": "99999999999999999999w"}}, "robust_plugin.aged.max_age", "at most 365 days"),
        ({"aged": {"force_close_after": "400d"}}, "robust_plugin.aged.force_close_after", "at most 365 days"),
        ({"closing": {"backoff_max": "1000w"}}, "robust_plugin.closing.backoff_max", "at most 365 days"),
        ({"metrics": {"host": "0.0.0.0"}}, "robust_plugin.metrics.host", "must be a loopback address"),
        ({"metrics": {"host": "192.168.1.5"}}, "robust_plugin.metrics.host", "must be a loopback address"),
        ({"metrics": {"host": "example.org"}}, "robust_plugin.metrics.host", "must be a loopback address"),
        ({"metrics": {"port": 0}}, "robust_plugin.metrics.port", "greater than or equal to 1"),
        ({"metrics": {"port": 70000}}, "robust_plugin.metrics.port", "less than or equal to 65535"),
        ({"metrics": {"enabled": "yes"}}, "robust_plugin.metrics.enabled", "boolean"),
    ],
)
def test_each_mistake_names_its_key(section, path, words):
    with pytest.raises(PluginConfigError) as err:
        parse_plugin_config(section)
    message = str(err.value)
    assert f"{path}:" in message
    assert words in message
    assert "Traceback" not in message


def test_several_mistakes_are_reported_together():
    with pytest.raises(PluginConfigError) as err:
        parse_plugin_config({"aged": {"max_age": "x", "loss_step_pct": True}})
    assert "robust_plugin.aged.max_age" in str(err.value)
    assert "robust_plugin.aged.loss_step_pct" in str(err.value)


def test_not_an_object():
    with pytest.raises(PluginConfigError, match="robust_plugin: expected an object"):
        parse_plugin_config("on")


def test_force_close_null_forms():
    for value in (None, "null", "off"):
        assert parse_plugin_config({"aged": {"force_close_after": value}}).aged.force_close_after is None


def test_freqtrade_environment_overrides_reach_the_section(monkeypatch):
    """FREQTRADE__ROBUST_PLUGIN__... variables are merged by freqtrade and validated by us."""
    from freqtrade.configuration.environment_vars import environment_vars_to_dict

    monkeypatch.setenv("FREQTRADE__ROBUST_PLUGIN__AGED__MAX_AGE", "2h")
    monkeypatch.setenv("FREQTRADE__ROBUST_PLUGIN__AGED__LOSS_STEP_PCT", "0.25")
    monkeypatch.setenv("FREQTRADE__ROBUST_PLUGIN__AGED__ENABLED", "false")
    config = plugin_config_from(environment_vars_to_dict())
    assert config.aged.max_age == 7200
    assert config.aged.loss_step_pct == 0.25
    assert config.aged.enabled is False


def test_metrics_are_off_by_default_and_loopback_hosts_are_accepted():
    assert parse_plugin_config({}).metrics.enabled is False
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert parse_plugin_config({"metrics": {"enabled": True, "host": host}}).metrics.host == host.strip("[]")
