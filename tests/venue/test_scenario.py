"""Scenario files: mistakes are refused with the line and key, good files drive the venue."""

from __future__ import annotations

import subprocess
import sys

import pytest

from robust_plugin.venue.faults import ScenarioError, parse_scenario
from robust_plugin.venue.process import run_venue
from tests.venue.conftest import API_KEY, API_SECRET, BTC, make_client

GOOD = """\
seed = 3

[account]
balance = 2500

[[markets]]
symbol = "BTCUSDT"
market_max_qty = 0.05

[[faults]]
kind = "lost_response"
endpoint = "order.new"
symbols = ["BTCUSDT"]
occurrences = [2]
reduce_only = true
"""


@pytest.mark.parametrize(
    ("text", "line", "where", "what"),
    [
        ('[[faults]]\nkind = "lost_response"\noccurences = [1]\n', 3, "faults[0].occurences", "unknown key"),
        ('[[faults]]\nkind = "lost_respons"\n', 2, "faults[0].kind", "unknown fault kind"),
        (
            '\n[[faults]]\nkind = "rate_limit"\n\n[[faults]]\nkind = "latency"\nprobability = 1.5\n',
            7,
            "faults[1].probability",
            "between 0 and 1",
        ),
        ('[[faults]]\nkind = "halt"\nafter = "-5m"\n', 3, "faults[0].after", "negative"),
        ('[[faults]]\nkind = "server_error"\nstatus = 200\n', 3, "faults[0].status", "between 400 and 599"),
        ('[[faults]]\nkind = "partial_fill"\nendpoint = "orders.new"\n', 3, "faults[0].endpoint", "unknown endpoint"),
        (
            '[[faults]]\nkind = "external"\nsymbols = ["BTCUSDT"]\nat = "1m"\naction = "open"\n',
            1,
            "faults[0]",
            "needs side and quantity",
        ),
        ('[[faults]]\nkind = "phantom_fill"\nstatus_query = "yes"\n', 3, "faults[0].status_query", "true or false"),
        ("sed = 3\n", 1, "sed", "unknown key"),
        ("[account]\nbalanse = 10\n", 2, "account.balanse", "unknown key"),
    ],
)
def test_mistakes_name_the_line_and_key(text, line, where, what):
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "scenario.toml")
    message = str(error.value)
    assert f"scenario.toml, line {line}: {where}" in message
    assert what in message


def test_toml_syntax_errors_keep_tomllibs_position():
    with pytest.raises(ScenarioError, match=r"scenario.toml: .*line 2"):
        parse_scenario('seed = 1\nkind = = "x"\n', "scenario.toml")


def test_a_good_scenario_parses_into_rules_and_overrides():
    scenario = parse_scenario(GOOD)
    assert scenario.seed == 3 and str(scenario.balance) == "2500"
    assert scenario.market_overrides == {"BTCUSDT": {"market_max_qty": "0.05"}}
    [rule] = scenario.rules
    assert (rule.kind, rule.endpoint, rule.symbols, rule.occurrences, rule.reduce_only) == (
        "lost_response",
        "order.new",
        ("BTCUSDT",),
        (2,),
        True,
    )


def test_the_cli_refuses_a_bad_scenario_without_a_traceback(tmp_path, venue_datadir):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[faults]]\nkind = "lost_response"\noccurences = [1]\n')
    result = subprocess.run(
        [sys.executable, "-m", "robust_plugin.venue", "--data", str(venue_datadir), "--scenario", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "line 3: faults[0].occurences: unknown key" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_scenario_file_drives_the_venue_started_from_the_command_line(tmp_path, venue_datadir):
    path = tmp_path / "scenario.toml"
    path.write_text(GOOD)
    with run_venue(venue_datadir, scenario=path, api_key=API_KEY, api_secret=API_SECRET) as venue:
        client = make_client(venue)
        assert client.fetch_balance()["USDT"]["total"] == 2500
        assert client.market(BTC)["limits"]["market"]["max"] == 0.05
        client.create_order(BTC, "market", "buy", 0.02)
        client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})  # reduce-only #1 passes
        import ccxt

        with pytest.raises(ccxt.RequestTimeout):
            client.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})  # #2 is lost
        assert client.fetch_positions([BTC]) == []  # ... but it executed
