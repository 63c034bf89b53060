"""The plugin's event store on SQLite and on PostgreSQL: what a bot writes, it and the CLI read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, text

from robust_plugin.store import Event, EventStore, StoreConfigError
from tests.store.conftest import _free_port

T0 = datetime(2026, 9, 1, 12, 0, 0, 250_000, tzinfo=UTC)
PARIS_SUMMER = timezone(timedelta(hours=2))


def test_events_round_trip_with_filters_and_aware_utc_times(store_url):
    store = EventStore(store_url, "bot-a")
    written = [
        store.record(
            Event(kind="aged_phase", created_at=T0, trade_id=1, pair="BTC/USDT:USDT", data={"phase": "grace"})
        ),
        store.record(
            Event(
                kind="close_failed",
                created_at=(T0 + timedelta(minutes=5)).astimezone(PARIS_SUMMER),
                trade_id=1,
                pair="BTC/USDT:USDT",
                severity="warning",
                data={"failure_class": "network"},
            )
        ),
        store.record(
            Event(
                kind="aged_phase",
                created_at=(T0 + timedelta(minutes=10)).replace(tzinfo=None),
                trade_id=2,
                pair="ETH/USDT:USDT",
                data={"phase": "progressive", "accepted_loss_pct": 1.5},
            )
        ),
        store.record(
            Event(
                kind="alert",
                created_at=T0 + timedelta(hours=1),
                severity="critical",
                data={"subject": "reconciliation: orphan", "nested": {"qty": [0.5, 1]}},
            )
        ),
    ]
    store.close()

    reader = EventStore(store_url, "cli")  # another process's view: the CLI opening the same store
    everything = reader.events()
    assert [e.id for e in everything] == [e.id for e in written] and len({e.id for e in written}) == 4
    for event in everything:
        assert event.created_at.tzinfo is not None and event.created_at.utcoffset() == timedelta(0)
    # the same instants, whatever zone they were written in (naive = UTC)
    assert [e.created_at for e in everything] == [T0 + timedelta(minutes=m) for m in (0, 5, 10, 60)]
    assert everything[3].data == {"subject": "reconciliation: orphan", "nested": {"qty": [0.5, 1]}}
    assert {e.bot_name for e in everything} == {"bot-a"}

    assert [e.kind for e in reader.events(trade_id=1)] == ["aged_phase", "close_failed"]
    assert [e.trade_id for e in reader.events(kind="aged_phase")] == [1, 2]
    assert [e.trade_id for e in reader.events(trade_id=1, kind="close_failed")] == [1]
    # since is inclusive and compares instants: 14:05 in UTC+2 is 12:05 UTC
    since = (T0 + timedelta(minutes=5)).astimezone(PARIS_SUMMER)
    assert [e.kind for e in reader.events(since=since)] == ["close_failed", "aged_phase", "alert"]
    assert reader.events(since=T0 + timedelta(hours=2)) == []
    assert reader.events(kind="alert", since=T0, bot_name="bot-a")[0].severity == "critical"
    reader.close()


def test_every_row_carries_its_bot_and_two_bots_see_only_their_own_rows(store_url):
    alpha, beta = EventStore(store_url, "alpha"), EventStore(store_url, "beta")
    for i in range(3):
        alpha.record(Event(kind="aged_phase", created_at=T0 + timedelta(seconds=i), trade_id=i))
        beta.record(Event(kind="aged_phase", created_at=T0 + timedelta(seconds=i), trade_id=i))
    beta.record(Event(kind="alert", created_at=T0, data={"subject": "x"}))

    assert [(e.bot_name, e.trade_id) for e in alpha.events(bot_name="alpha")] == [("alpha", i) for i in range(3)]
    assert [e.kind for e in alpha.events(bot_name="beta")] == ["aged_phase"] * 3 + ["alert"]
    assert alpha.events(kind="alert", bot_name="alpha") == []
    assert len(alpha.events()) == 7  # unfiltered, the store is shared
    with alpha.engine.connect() as conn:  # in the table itself, not only through the API
        names = conn.execute(
            text("SELECT bot_name, COUNT(*) FROM robust_events GROUP BY bot_name ORDER BY bot_name")
        ).all()
    assert [tuple(row) for row in names] == [("alpha", 3), ("beta", 4)]
    alpha.close()
    beta.close()


@pytest.mark.parametrize("bot_name", ["", "   ", "x" * 101])
def test_an_unusable_bot_name_is_refused_naming_the_key(tmp_path, bot_name):
    with pytest.raises(StoreConfigError, match=r"^robust_plugin\.store\.bot_name: "):
        EventStore(f"sqlite:///{tmp_path / 'store.sqlite'}", bot_name)


def test_a_bad_url_is_refused_with_one_error_naming_the_key(tmp_path):
    closed = _free_port()  # nothing listens there
    bad = [
        "robust_plugin.sqlite",  # a path, not a URL
        "nosuchdb://localhost/x",
        f"sqlite:///{tmp_path / 'missing-dir' / 'store.sqlite'}",
        f"postgresql+psycopg://bot:s3cret@127.0.0.1:{closed}/robust",
    ]
    for url in bad:
        with pytest.raises(ValueError, match=r"^robust_plugin\.store\.url: ") as error:
            EventStore(url, "bot-a")
        assert isinstance(error.value, StoreConfigError)
        assert "s3cret" not in str(error.value)  # the password never reaches a log
    assert not (tmp_path / "missing-dir").exists()


def test_postgresql_keeps_time_zones_and_answers_in_utc_whatever_the_session_zone(postgres_server):
    url = postgres_server.new_database()
    EventStore(url, "bot-a").record(Event(kind="aged_exit", created_at=T0.astimezone(PARIS_SUMMER), trade_id=3))
    engine = create_engine(url)
    with engine.connect() as conn:
        column = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns "
                "WHERE table_name = 'robust_events' AND column_name = 'created_at'"
            )
        ).scalar_one()
        conn.execute(text("SET TIME ZONE 'Asia/Tokyo'"))
        in_tokyo = conn.execute(text("SELECT created_at::text FROM robust_events")).scalar_one()
    engine.dispose()
    assert column == "timestamp with time zone"
    assert in_tokyo == "2026-09-01 21:00:00.25+09"  # the instant, shown in the session's zone by PostgreSQL
    # a bot whose connection runs in New York still reads UTC
    new_york = EventStore(url + "?options=-c%20TimeZone%3DAmerica/New_York", "bot-b")
    (event,) = new_york.events(trade_id=3)
    assert event.created_at == T0 and event.created_at.tzinfo == UTC
    new_york.close()


def test_a_bare_postgresql_url_uses_the_installed_psycopg_driver(postgres_server):
    url = postgres_server.new_database().replace("postgresql+psycopg://", "postgresql://")
    store = EventStore(url, "bot-a")
    assert store.engine.dialect.driver == "psycopg"
    assert store.record(Event(kind="k", created_at=T0)).id is not None
    store.close()


def _tables(url: str) -> set[str]:
    from sqlalchemy import inspect

    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_freqtrades_own_database_is_refused_and_left_as_it_was(store_url):
    """A store URL that leads to freqtrade's database (its trades and orders tables are there) is
    refused before anything is written: freqtrade's migrations rename and drop its own tables."""
    from freqtrade.persistence.base import ModelBase

    engine = create_engine(store_url)
    ModelBase.metadata.create_all(engine)  # freqtrade's real schema
    engine.dispose()
    before = _tables(store_url)
    assert {"trades", "orders"} <= before
    with pytest.raises(StoreConfigError, match=r"^robust_plugin\.store\.url: .*freqtrade's database"):
        EventStore(store_url, "bot-a")
    assert _tables(store_url) == before
    if store_url.startswith("sqlite"):
        with create_engine(store_url).connect() as conn:  # not switched to WAL either
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "delete"


def test_a_file_that_is_not_a_sqlite_database_is_refused_naming_the_key_and_the_file(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n")
    with pytest.raises(StoreConfigError, match=r"^robust_plugin\.store\.url: ") as error:
        EventStore(f"sqlite:///{notes}", "bot-a")
    assert str(notes) in str(error.value) and "not a SQLite database" in str(error.value)
    assert "\n" not in str(error.value)
    assert notes.read_text() == "not a database\n"


def test_same_database_compares_what_the_urls_lead_to_not_how_they_are_spelt(tmp_path, monkeypatch):
    from robust_plugin.store.engine import same_database

    monkeypatch.chdir(tmp_path)
    here = tmp_path / "tradesv3.sqlite"
    assert same_database("sqlite:///tradesv3.sqlite", f"sqlite:///{here}")  # relative to the working directory
    assert same_database(f"sqlite+pysqlite:///{tmp_path}/./x/../tradesv3.sqlite", f"sqlite:///{here}")
    assert not same_database("sqlite:///robust_plugin.sqlite", "sqlite:///tradesv3.sqlite")
    assert not same_database("sqlite://", "sqlite://")  # in-memory databases are never shared
    assert same_database(
        "postgresql://bot:x@DB.example.com/trading", "postgresql+psycopg://ft@db.example.com:5432/trading"
    )
    assert not same_database("postgresql://db.example.com/robust", "postgresql://db.example.com/trading")
    assert not same_database("postgresql://db.example.com:5433/trading", "postgresql://db.example.com/trading")
    assert not same_database("sqlite:///tradesv3.sqlite", "not a url")
