"""Two bots with similar names and a position opened by hand share one account on the venue.

Each bot trades its own pair with ``reconcile.scope: "pairs"``; the first close order of the account
loses its response. No bot touches or reports the other's position or the hand-opened one, and the
lost response is resolved with the bot's own order, never the other's.
"""

from __future__ import annotations

import pytest

from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    all_trades_closed,
    freqtrade_db,
    live_config,
    plugin_events,
    run_trades,
    venue_state,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "shared-key", "shared-secret"
BOTS = {"binance-bot-1": "BTC/USDT:USDT", "binance-bot-2": "ETH/USDT:USDT"}
MANUAL = "SOLUSDT"
SCENARIO = '[[faults]]\nkind = "lost_response"\nendpoint = "order.new"\nreduce_only = true\noccurrences = [1]\n'
PLUGIN = {
    "aged": {"enabled": False},
    "closing": {"backoff_initial": "1s", "backoff_max": "4s"},
    "reconcile": {"interval": "3s", "grace": "3s", "scope": "pairs"},
}


def test_two_bots_and_a_hand_opened_position_share_an_account(tmp_path, sample_datadir):
    (tmp_path / "scenario.toml").write_text(SCENARIO)
    workdirs = {name: tmp_path / name for name in BOTS}
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET, scenario=tmp_path / "scenario.toml") as venue:
        venue.call("POST", "/_venue/external", {"action": "open", "symbol": MANUAL, "side": "BUY", "quantity": "2"})
        bots = []
        for name, pair in BOTS.items():
            workdirs[name].mkdir()
            extra = {"robust_plugin": PLUGIN, "bot_name": name, "position_adjustment_enable": True, "stake_amount": 200}
            bots.append((live_config(venue, workdirs[name], KEY, SECRET, [pair], extra), workdirs[name]))

        def finished() -> bool:
            positions = venue_state(venue)["positions"]
            return all(all_trades_closed(w) for w in workdirs.values()) and [p["symbol"] for p in positions] == [MANUAL]

        logs = run_trades(bots, sample_datadir, "RobustRehearsalStrategy", until=finished, timeout=150)
        truth = venue_state(venue)
    events = {name: plugin_events(w) for name, w in workdirs.items()}
    for name, workdir in workdirs.items():
        assert [t["is_open"] for t in freqtrade_db(workdir)["trades"]] == [0], logs[list(BOTS).index(name)][-3000:]
    # the hand-opened position is untouched and nobody calls it an orphan
    assert [(p["symbol"], float(p["amount"])) for p in truth["positions"]] == [(MANUAL, 2.0)]
    assert not [o for o in truth["orders"] if o["symbol"] == MANUAL and o["origin"] == "api"]
    for name in BOTS:
        assert not [e for e in events[name] if e["kind"].startswith("finding_")], (name, events[name])
    # one close per bot, each carrying its own bot's client order id
    closes = [o for o in truth["orders"] if o["reduce_only"] and float(o["executed_qty"]) > 0 and o["origin"] == "api"]
    assert sorted(o["symbol"] for o in closes) == ["BTCUSDT", "ETHUSDT"]
    tags = {}
    for name, pair in BOTS.items():
        attempts = [e["data"]["client_order_id"] for e in events[name] if e["kind"] == "close_attempt"]
        assert attempts, (name, events[name])
        tags[name] = attempts[0].split("-t")[0]
        [close] = [o for o in closes if o["symbol"] == pair.split("/")[0] + "USDT"]
        assert close["client_order_id"] in attempts
    assert tags["binance-bot-1"] != tags["binance-bot-2"]
    # the lost response was resolved with the bot's own order
    found = [(name, e) for name in BOTS for e in events[name] if e["kind"] == "close_found_after_loss"]
    assert len(found) == 1, found
    name, event = found[0]
    assert event["data"]["client_order_id"].startswith(tags[name] + "-")
    assert [f["kind"] for f in truth["faults_fired"]] == ["lost_response"]
