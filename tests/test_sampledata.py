"""Tests for the synthetic Binance futures sample data (robust_plugin.tools.sampledata)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from freqtrade.data.history import load_pair_history
from freqtrade.enums import CandleType
from freqtrade.exchange import Binance, Exchange
from hypothesis import given, settings
from hypothesis import strategies as st

from robust_plugin.tools import sampledata
from robust_plugin.tools.sampledata import (
    ALL_PAIRS,
    DEFAULT_END,
    DEFAULT_PAIRS,
    FUNDING_TIMEFRAME,
    MARK_TIMEFRAME,
    SampleDataError,
    generate,
    generate_data,
    simulate_pair,
)

DAYS = 90
CANDLES = DAYS * 288
START = DEFAULT_END - timedelta(days=DAYS)


@pytest.fixture(scope="module")
def datadir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("sample") / "binance"


@pytest.fixture(scope="module")
def files(datadir) -> list[Path]:
    """The default data set: BTC, ETH, SOL, 90 days of 5m candles, seed 42."""
    return generate(datadir)


def max_drawdown_24h(frame: pd.DataFrame, candles_per_day: int = 288) -> float:
    """Worst fall from a high to a low at most 24 h later, as a negative ratio."""
    peak = frame["high"].rolling(candles_per_day + 1, min_periods=1).max()
    return float((frame["low"] / peak - 1).min())


def assert_consistent_ohlc(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume"]
    assert str(frame["date"].dt.tz) == "UTC"
    assert all(frame[c].dtype == np.float64 for c in ["open", "high", "low", "close", "volume"])
    assert not frame.isna().any().any()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] > 0).all()
    previous_close = frame["close"].shift().iloc[1:]
    assert np.allclose(frame["open"].iloc[1:], previous_close, rtol=1e-3)


def test_writes_futures_mark_and_funding_for_each_default_pair(datadir, files):
    assert len(DEFAULT_PAIRS) >= 3
    expected = {
        datadir / "futures" / f"{p.replace('/', '_').replace(':', '_')}-{tf}-{kind}.feather"
        for p in DEFAULT_PAIRS
        for tf, kind in [("5m", "futures"), (MARK_TIMEFRAME, "mark"), (FUNDING_TIMEFRAME, "funding_rate")]
    }
    assert set(files) == expected
    assert len(files) == len(expected)
    assert all(f.is_file() for f in files)


def test_timeframes_match_what_freqtrade_loads_for_binance_futures():
    ft_has = Binance.combine_ft_has(include_futures=True)
    assert ft_has["mark_ohlcv_timeframe"] == MARK_TIMEFRAME
    assert ft_has["funding_fee_timeframe"] == FUNDING_TIMEFRAME
    assert ft_has["mark_ohlcv_price"] == CandleType.MARK


def test_futures_candles_are_consistent_and_gapless(files):
    for path in files[::3]:
        frame = pd.read_feather(path)
        assert_consistent_ohlc(frame)
        assert (frame["volume"] > 0).all()
        assert len(frame) == CANDLES >= 60 * 288
        assert (frame["date"].diff().iloc[1:] == pd.Timedelta(minutes=5)).all()
        assert frame["date"].iloc[0] == START
        assert frame["date"].iloc[-1] == DEFAULT_END - timedelta(minutes=5)


def test_realistic_prices_and_mark_follows_futures(files):
    starts = {"BTC": 60000, "ETH": 3000, "SOL": 150}
    for path in files[::3]:
        frame = pd.read_feather(path)
        nominal = starts[path.name.split("_")[0]]
        assert frame["open"].iloc[0] == pytest.approx(nominal)
        assert nominal / 3 < frame["close"].min() and frame["close"].max() < nominal * 3
        mark = pd.read_feather(path.with_name(path.name.replace("-5m-futures", "-1h-mark")))
        assert_consistent_ohlc(mark)
        hourly_close = frame.set_index("date")["close"].resample("1h").last()
        assert len(mark) == len(hourly_close) == DAYS * 24
        deviation = mark["close"].to_numpy() / hourly_close.to_numpy() - 1
        assert np.abs(deviation).max() < 0.002


def stored_funding_columns() -> list[str]:
    """The columns this freqtrade stores for funding rates (2026.8 added ``get_candle_columns``)."""
    try:
        from freqtrade.candle_columns import get_candle_columns
    except ImportError:  # 2026.4 to 2026.7: OHLCV, the rate in "open"
        from freqtrade.constants import DEFAULT_DATAFRAME_COLUMNS

        return list(DEFAULT_DATAFRAME_COLUMNS)
    return list(get_candle_columns(CandleType.FUNDING_RATE))


def test_funding_rates_every_8_hours_in_freqtrades_layout(files):
    for path in files[2::3]:
        frame = pd.read_feather(path)
        assert list(frame.columns) == stored_funding_columns()
        rate = frame["funding_rate" if "funding_rate" in frame else "open"]
        assert len(frame) == DAYS * 3
        assert set(frame["date"].dt.hour) == {0, 8, 16}
        assert (frame["date"].diff().iloc[1:] == pd.Timedelta(hours=8)).all()
        assert rate.abs().max() < 0.003
        assert rate.mean() == pytest.approx(1e-4, abs=1e-4)


def test_funding_is_handed_to_freqtrade_in_both_layouts(tmp_path, monkeypatch):
    """freqtrade 2026.4 to 2026.7 store OHLCV columns for funding rates, 2026.8 and later
    ``funding_rate``: the frame written carries both, so every supported release can store it."""
    from freqtrade.data.history.datahandlers.featherdatahandler import FeatherDataHandler

    stored = {}
    original = FeatherDataHandler.ohlcv_store

    def spy(self, pair, timeframe, data, candle_type):
        stored[candle_type] = data.copy()
        return original(self, pair, timeframe, data, candle_type)

    monkeypatch.setattr(FeatherDataHandler, "ohlcv_store", spy)
    item = simulate_pair("BTC/USDT:USDT", days=3)
    sampledata.write(tmp_path, [item])
    funding = stored[CandleType.FUNDING_RATE]
    assert set(funding.columns) >= {"date", "open", "high", "low", "close", "volume", "funding_rate"}
    for column in ("open", "high", "low", "close", "funding_rate"):
        assert funding[column].tolist() == item.funding["funding_rate"].tolist(), column
    assert (funding["volume"] == 0).all()


@pytest.mark.parametrize("pair", DEFAULT_PAIRS)
def test_freqtrade_loads_the_data_back(datadir, files, pair):
    expected = {
        CandleType.FUTURES: ("5m", CANDLES, DEFAULT_END - timedelta(minutes=5)),
        CandleType.MARK: (MARK_TIMEFRAME, DAYS * 24, DEFAULT_END - timedelta(hours=1)),
        CandleType.FUNDING_RATE: (FUNDING_TIMEFRAME, DAYS * 3, DEFAULT_END - timedelta(hours=8)),
    }
    loaded = {}
    for candle_type, (timeframe, length, last) in expected.items():
        frame = load_pair_history(pair, timeframe, datadir, data_format="feather", candle_type=candle_type)
        assert frame["date"].iloc[0] == START
        assert frame["date"].iloc[-1] == last
        if candle_type != CandleType.FUNDING_RATE:
            assert len(frame) == length, candle_type
        loaded[candle_type] = frame
    # freqtrade up to 2026.7 fills the 8-hourly rates in hourly (each hour repeats the last rate);
    # 2026.8 and later keep them as stored, with the rate also as "funding_rate".
    funding = loaded[CandleType.FUNDING_RATE]
    assert len(funding) in (DAYS * 3, (DAYS * 3 - 1) * 8 + 1)
    assert "funding_rate" not in funding or funding["open"].equals(funding["funding_rate"])
    generated = generate_data(pairs=[pair], days=DAYS)[0].funding.set_index("date")["funding_rate"]
    rates = funding.set_index("date")["open"]
    assert rates.reindex(generated.index).tolist() == generated.tolist()
    # What Backtesting does with them (freqtrade/optimize/backtesting.py, load_bt_data).
    combined = Exchange.combine_funding_and_mark(
        funding_rates=loaded[CandleType.FUNDING_RATE], mark_rates=loaded[CandleType.MARK]
    )
    assert set(generated.index) <= set(combined["date"])
    assert not combined[["open_mark", "open_fund"]].isna().any().any()


def test_each_pair_has_a_crash(files):
    for path in files[::3]:
        assert max_drawdown_24h(pd.read_feather(path)) <= -0.15, path.name


def test_regimes_cover_the_range_with_the_four_kinds():
    data = generate_data(pairs=ALL_PAIRS)
    kinds = set()
    for item in data:
        spans = item.regimes
        assert spans[0].start == START and spans[-1].end == DEFAULT_END
        assert all(a.end == b.start for a, b in zip(spans, spans[1:], strict=False))
        assert all(timedelta(days=2) <= r.end - r.start < timedelta(days=9) for r in spans)
        assert "crash" in {r.kind for r in spans}
        kinds |= {r.kind for r in spans}
    assert kinds == {"calm", "up", "down", "crash"}


def test_same_seed_gives_byte_identical_files(files, tmp_path):
    again = generate(tmp_path / "binance")
    assert [p.name for p in again] == [p.name for p in files]
    for first, second in zip(files, again, strict=True):
        assert first.read_bytes() == second.read_bytes(), first.name
        pd.testing.assert_frame_equal(pd.read_feather(first), pd.read_feather(second))


def test_different_seed_gives_different_data():
    a = simulate_pair("BTC/USDT:USDT", days=10, seed=1)
    b = simulate_pair("BTC/USDT:USDT", days=10, seed=2)
    assert not a.futures[["close"]].equals(b.futures[["close"]])
    assert not a.funding.equals(b.funding)


def test_a_pair_does_not_depend_on_the_other_pairs(files):
    alone = generate_data(pairs=["SOL/USDT:USDT"])[0]
    pd.testing.assert_frame_equal(alone.futures, pd.read_feather(files[6]), check_dtype=False)


@settings(max_examples=25)
@given(seed=st.integers(0, 2**32), days=st.integers(2, 20))
def test_any_seed_and_length_is_consistent_and_has_a_crash(seed, days):
    item = simulate_pair("DOGE/USDT:USDT", days=days, seed=seed)
    assert len(item.futures) == days * 288
    assert_consistent_ohlc(item.futures)
    assert (item.futures["volume"] > 0).all()
    assert max_drawdown_24h(item.futures) <= -0.15


def test_other_timeframe_and_end():
    end = datetime(2026, 1, 1, 12, tzinfo=UTC)
    item = generate_data(pairs=["ETH/USDT:USDT"], days=3, end=end, timeframe="15m")[0]
    assert len(item.futures) == 3 * 96
    assert item.futures["date"].iloc[-1] == end - timedelta(minutes=15)
    assert len(item.mark) == 72
    assert_consistent_ohlc(item.futures)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"pairs": ["BTC/USDT:USDT", "NOPE/USDT:USDT"]}, "NOPE/USDT:USDT"),
        ({"pairs": ["BTC/USDT"]}, "BTC/USDT"),
        ({"pairs": "BTC/USDT:USDT"}, "sequence"),
        ({"pairs": []}, "non-empty"),
        ({"pairs": ["BTC/USDT:USDT"] * 2}, "duplicate"),
        ({"days": 1}, "days"),
        ({"timeframe": "4h"}, "timeframe"),
        ({"seed": -1}, "seed"),
        ({"end": datetime(2026, 9, 1, 0, 30, tzinfo=UTC)}, "full UTC hour"),
    ],
)
def test_bad_arguments_are_rejected_with_a_clear_message(tmp_path, kwargs, message):
    with pytest.raises(SampleDataError, match=message.replace("/", ".")):
        generate(tmp_path, **kwargs)
    assert not (tmp_path / "futures").exists()


def test_cli_writes_and_summarises(tmp_path, capsys):
    assert sampledata.main(["--datadir", str(tmp_path), "--pairs", "btc,XRP", "--days", "3"]) == 0
    out = capsys.readouterr().out
    assert "BTC/USDT:USDT" in out and "XRP/USDT:USDT" in out and "crash" in out
    assert "864" in out  # 3 days of 5m candles
    assert len(list((tmp_path / "futures").glob("*.feather"))) == 6


def test_cli_count_of_pairs_and_unknown_pair(tmp_path, capsys):
    assert sampledata._parse_pairs("10") == list(ALL_PAIRS)
    assert len(ALL_PAIRS) >= 10
    with pytest.raises(SystemExit) as exc:
        sampledata.main(["--datadir", str(tmp_path), "--pairs", "BTC,FOOBAR"])
    assert exc.value.code == 2
    assert "FOOBAR/USDT:USDT" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        sampledata.main(["--datadir", str(tmp_path), "--pairs", "11"])
