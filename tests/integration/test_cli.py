"""The operator CLI reads the plugin's store and freqtrade's database and prints tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from robust_plugin.report.cli import build_parser, main
from robust_plugin.store import Event, EventStore


def test_events_and_alerts_tables(tmp_path, capsys):
    store = EventStore(f"sqlite:///{tmp_path / 'robust_plugin.sqlite'}", "bot-a")
    now = datetime.now(UTC)
    store.record(
        Event(kind="close_failed", created_at=now, trade_id=7, pair="BTC/USDT:USDT", data={"failure_class": "network"})
    )
    store.record(
        Event(
            kind="alert",
            created_at=now,
            trade_id=7,
            pair="BTC/USDT:USDT",
            severity="warning",
            data={"subject": "close keeps failing", "happened": "3 failures", "you_should": "check it"},
        )
    )
    assert (
        main(["events", "--store", str(tmp_path / "robust_plugin.sqlite"), "--trade", "7", "--kind", "close_failed"])
        == 0
    )
    out = capsys.readouterr().out
    assert "close_failed" in out and "network" in out and "alert" not in out.split("events")[1].split("\n", 2)[2]
    assert main(["alerts", "--store", str(tmp_path / "robust_plugin.sqlite"), "--since", "1h"]) == 0
    assert "close keeps failing" in capsys.readouterr().out


def test_status_shows_the_plugins_state_of_open_trades(tmp_path, capsys):
    from freqtrade.persistence import Trade, init_db

    url = f"sqlite:///{tmp_path / 'trades.sqlite'}"
    init_db(url)
    trade = Trade(
        pair="ETH/USDT:USDT",
        stake_amount=100,
        amount=0.05,
        open_rate=2000,
        fee_open=0.0005,
        fee_close=0.0005,
        open_date=datetime.now(UTC),
        exchange="binance",
        is_open=True,
        leverage=3,
        trading_mode="futures",
    )
    Trade.session.add(trade)
    Trade.commit()
    trade.set_custom_data(
        "robustplugin",
        {
            "aged": {"phase": "grace", "accepted_loss_pct": 0.0, "target": 2002.0},
            "settlement": {"outcome": "verified", "lag_s": 1.5},
        },
    )
    Trade.commit()
    assert main(["status", "--db", str(tmp_path / "trades.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "ETH/USDT:USDT" in out and "grace" in out and "verified after 1.5s" in out


def test_missing_databases_and_bad_arguments_get_one_clear_line(tmp_path, capsys):
    assert main(["status", "--db", str(tmp_path / "missing.sqlite")]) == 2
    assert "freqtrade database not found" in capsys.readouterr().err
    assert main(["events", "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert main(["alerts", "--store", str(tmp_path / "missing.sqlite"), "--since", "soon"]) == 2
    capsys.readouterr()
    # nothing listens on port 9 of loopback: the store cannot be reached - one line naming the argument, no traceback
    assert main(["events", "--store", "postgresql+psycopg://bot:secret@127.0.0.1:9/robust"]) == 2
    err = capsys.readouterr().err
    assert "--store" in err and "secret" not in err and "Traceback" not in err


def test_report_of_a_live_database_charts_open_trades_the_policy_has_aged(tmp_path, capsys):
    from datetime import timedelta

    from freqtrade.persistence import Trade, init_db

    init_db(f"sqlite:///{tmp_path / 'trades.sqlite'}")
    opened = datetime.now(UTC) - timedelta(hours=30)
    for pair, hours, phase in (("BTC/USDT:USDT", 30, "progressive"), ("ETH/USDT:USDT", 2, None)):
        trade = Trade(
            pair=pair,
            stake_amount=100,
            amount=0.05,
            open_rate=2000,
            fee_open=0.0005,
            fee_close=0.0005,
            open_date=datetime.now(UTC) - timedelta(hours=hours),
            exchange="binance",
            is_open=True,
            leverage=3,
            trading_mode="futures",
            price_precision=0.01,
            precision_mode_price=4,
        )
        Trade.session.add(trade)
        Trade.commit()
        if phase:
            trade.set_custom_data("robustplugin", {"aged": {"phase": phase, "accepted_loss_pct": 0.5}})
    Trade.commit()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"robust_plugin": {"aged": {"max_age": "24h", "grace_period": "4h"}}}))
    page = tmp_path / "live.html"
    assert main(["report", "--db", str(tmp_path / "trades.sqlite"), "--config", str(config), "--out", str(page)]) == 0
    assert "2 trades, 1 aged" in capsys.readouterr().out
    text = page.read_text()
    assert "Aged trades (1)" in text and "#1 BTC\\u002fUSDT:USDT long: open" in text  # the chart's title
    assert "ETH/USDT:USDT" not in text  # fresh: neither in the aged table nor charted
    assert "No plugin store was read" in text  # none beside the database, none given
    assert f"{opened:%Y-%m-%d %H}" in text
    assert (
        main(
            [
                "report",
                "--db",
                str(tmp_path / "trades.sqlite"),
                "--store",
                str(tmp_path / "nope.sqlite"),
                "--out",
                str(page),
            ]
        )
        == 2
    )
    assert "plugin store not found" in capsys.readouterr().err


def _freqtrade_db(path) -> str:
    """A freqtrade database with one open trade, as freqtrade writes it; returns its path."""
    from freqtrade.persistence import Trade, init_db

    init_db(f"sqlite:///{path}")
    trade = Trade(
        pair="ETH/USDT:USDT",
        stake_amount=100,
        amount=0.05,
        open_rate=2000,
        fee_open=0.0005,
        fee_close=0.0005,
        open_date=datetime.now(UTC),
        exchange="binance",
        is_open=True,
        leverage=3,
        trading_mode="futures",
    )
    Trade.session.add(trade)
    Trade.commit()
    return str(path)


def _tables(path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_store_argument_at_freqtrades_database_is_refused_and_nothing_is_written(tmp_path, capsys):
    db = _freqtrade_db(tmp_path / "tradesv3.sqlite")
    before = _tables(db)
    for argv in (
        ["events", "--store", db],
        ["alerts", "--store", f"sqlite:///{db}"],
        ["report", "--db", db, "--store", db, "--out", str(tmp_path / "r.html")],
    ):
        assert main(argv) == 2, argv
        line = _one_line(capsys.readouterr().err)
        assert "--store" in line and "freqtrade's database" in line, line
    assert _tables(db) == before  # no robust_events, no robust_alembic_version
    assert not (tmp_path / "r.html").exists()


def test_a_store_that_is_not_a_sqlite_file_gets_one_line_naming_the_argument_and_the_file(tmp_path, capsys):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    assert main(["events", "--store", str(notes)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "--store" in line and str(notes) in line and "not a SQLite database" in line, line
    assert notes.read_text() == "my notes\n"


@pytest.mark.parametrize("limit", ["0", "-5", "many"])
def test_limit_must_be_a_positive_number_of_rows(tmp_path, capsys, limit):
    EventStore(f"sqlite:///{tmp_path / 'robust_plugin.sqlite'}", "bot-a").record(
        Event(kind="close_failed", created_at=datetime.now(UTC), trade_id=7)
    )
    for command in ("events", "alerts"):
        with pytest.raises(SystemExit) as stopped:
            main([command, "--store", str(tmp_path / "robust_plugin.sqlite"), "--limit", limit])
        assert stopped.value.code == 2
        err = capsys.readouterr().err
        assert "--limit" in err.strip().splitlines()[-1] and "Traceback" not in err, err


def test_report_refuses_an_unwritable_out_before_reading_anything(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    db = _freqtrade_db(tmp_path / "tradesv3.sqlite")
    cases = [
        ["report", "--db", db, "--out", str(blocker / "report.html")],  # a directory that cannot exist
        ["report", "--backtest", str(tmp_path / "no-such-result"), "--out", str(blocker / "r.html")],  # checked first
    ]
    (tmp_path / "dir.html").mkdir()
    cases.append(["report", "--db", db, "--out", str(tmp_path / "dir.html")])  # a directory, not a file
    for argv in cases:
        assert main(argv) == 2, argv
        line = _one_line(capsys.readouterr().err)
        assert "--out" in line, line
    assert blocker.read_text() == "x"


def test_status_reads_the_plugin_store_when_given(tmp_path, capsys):
    db = _freqtrade_db(tmp_path / "tradesv3.sqlite")
    store = EventStore(f"sqlite:///{tmp_path / 'robust_plugin.sqlite'}", "bot-a")
    store.record(
        Event(kind="close_failed", created_at=datetime.now(UTC), trade_id=1, pair="ETH/USDT:USDT", severity="warning")
    )
    store.close()
    assert main(["status", "--db", db, "--store", str(tmp_path / "robust_plugin.sqlite")]) == 0
    out = capsys.readouterr().out
    assert "ETH/USDT:USDT" in out and "close_failed" in out
    assert main(["status", "--db", db, "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert "plugin store not found" in _one_line(capsys.readouterr().err)
    status_help = build_parser()._subparsers._group_actions[0].choices["status"].format_help()
    assert "--store" in status_help  # the help and the parser agree
