"""The operator CLI reads the plugin's store and freqtrade's database and prints tables."""

from __future__ import annotations

from datetime import datetime, timezone

from robust_plugin.cli import main
from robust_plugin.store import Event, EventStore


def test_events_and_alerts_tables(tmp_path, capsys):
    store = EventStore(f"sqlite:///{tmp_path / 'robust_plugin.sqlite'}", "bot-a")
    now = datetime.now(timezone.utc)
    store.record(Event(kind="close_failed", created_at=now, trade_id=7, pair="BTC/USDT:USDT", data={"failure_class": "network"}))
    store.record(Event(kind="alert", created_at=now, trade_id=7, pair="BTC/USDT:USDT", severity="warning",
                       data={"subject": "close keeps failing", "happened": "3 failures", "you_should": "check it"}))  # fmt: skip
    assert main(["events", "--store", str(tmp_path / "robust_plugin.sqlite"), "--trade", "7", "--kind", "close_failed"]) == 0
    out = capsys.readouterr().out
    assert "close_failed" in out and "network" in out and "alert" not in out.split("events")[1].split("\n", 2)[2]
    assert main(["alerts", "--store", str(tmp_path / "robust_plugin.sqlite"), "--since", "1h"]) == 0
    assert "close keeps failing" in capsys.readouterr().out


def test_status_shows_the_plugins_state_of_open_trades(tmp_path, capsys):
    from freqtrade.persistence import Trade, init_db

    url = f"sqlite:///{tmp_path / 'trades.sqlite'}"
    init_db(url)
    trade = Trade(pair="ETH/USDT:USDT", stake_amount=100, amount=0.05, open_rate=2000, fee_open=0.0005, fee_close=0.0005,
                  open_date=datetime.now(timezone.utc), exchange="binance", is_open=True, leverage=3, trading_mode="futures")  # fmt: skip
    Trade.session.add(trade)
    Trade.commit()
    trade.set_custom_data("robustplugin", {"aged": {"phase": "grace", "accepted_loss_pct": 0.0, "target": 2002.0},
                                           "settlement": {"outcome": "verified", "lag_s": 1.5}})  # fmt: skip
    Trade.commit()
    assert main(["status", "--db", str(tmp_path / "trades.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "ETH/USDT:USDT" in out and "grace" in out and "verified after 1.5s" in out


def test_missing_databases_and_bad_arguments_get_one_clear_line(tmp_path, capsys):
    assert main(["status", "--db", str(tmp_path / "missing.sqlite")]) == 2
    assert "freqtrade database not found" in capsys.readouterr().err
    assert main(["events", "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert main(["alerts", "--store", str(tmp_path / "missing.sqlite"), "--since", "soon"]) == 2
