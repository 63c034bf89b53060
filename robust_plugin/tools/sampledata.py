"""Deterministic synthetic Binance USD-M futures candles in freqtrade's feather layout.

For the offline demo and the tests: 5m futures candles, 1h mark candles and funding rates per
pair, written through freqtrade's own ``FeatherDataHandler`` so file names and columns are exactly
what ``freqtrade download-data`` produces::

    <datadir>/futures/BTC_USDT_USDT-5m-futures.feather        date, open, high, low, close, volume
    <datadir>/futures/BTC_USDT_USDT-1h-mark.feather           date, open, high, low, close, volume
    <datadir>/futures/BTC_USDT_USDT-1h-funding_rate.feather   date, funding_rate (every 8 h)

The funding file's columns depend on the freqtrade release writing it: 2026.8 and later store
``date, funding_rate``; 2026.4 to 2026.7 store ``date, open, high, low, close, volume`` with the
rate in ``open`` (and 2026.8 and later still read that layout). The frame handed to freqtrade
carries both, so each release stores and reads its own layout.

freqtrade loads mark candles at ``_ft_has["mark_ohlcv_timeframe"]`` and funding rates at
``_ft_has["funding_fee_timeframe"]``; both are "1h" for Binance (not overridden in ``binance.py``).

Each pair's price follows seeded regime blocks of 2-7 days: calm (low volatility, mean-reverting),
trending up or down, and crash (an 18-30 % drop within 2-8 h, then a partial recovery). Every pair
gets at least one crash, so trades that go against the sample strategy grow old and the plugin's
aged exits fire. A pair's series depends only on the seed and the pair, not on the other pairs.

CLI: ``python -m robust_plugin.tools.sampledata --datadir DIR [--pairs 10|BTC,ETH] [--days 90]
[--seed 42]``
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.random import PCG64, Generator

# pair: (start price, volatility multiplier vs BTC, typical quote volume per 5m candle in USDT)
PAIR_PROFILES: dict[str, tuple[float, float, float]] = {
    "BTC/USDT:USDT": (60000.0, 1.0, 30e6),
    "ETH/USDT:USDT": (3000.0, 1.25, 15e6),
    "SOL/USDT:USDT": (150.0, 1.7, 6e6),
    "BNB/USDT:USDT": (580.0, 1.1, 2e6),
    "XRP/USDT:USDT": (0.55, 1.6, 3e6),
    "DOGE/USDT:USDT": (0.12, 1.9, 3e6),
    "ADA/USDT:USDT": (0.45, 1.6, 1e6),
    "AVAX/USDT:USDT": (28.0, 1.8, 1e6),
    "LINK/USDT:USDT": (14.0, 1.6, 1e6),
    "LTC/USDT:USDT": (75.0, 1.4, 1e6),
}
ALL_PAIRS: tuple[str, ...] = tuple(PAIR_PROFILES)
DEFAULT_PAIRS: tuple[str, ...] = ALL_PAIRS[:3]
DEFAULT_END = datetime(2026, 9, 1, tzinfo=UTC)
MARK_TIMEFRAME = "1h"  # Exchange._ft_has["mark_ohlcv_timeframe"], kept by Binance
FUNDING_TIMEFRAME = "1h"  # Exchange._ft_has["funding_fee_timeframe"], kept by Binance
FUNDING_INTERVAL_HOURS = 8  # Binance funds at 00:00, 08:00 and 16:00 UTC
TIMEFRAMES = {"1m": 60, "3m": 180, "5m": 300, "15m": 900, "30m": 1800, "1h": 3600}
_UNKNOWN_PROFILE = (10.0, 1.5, 1e6)
_SIGMA_5M = 0.0012  # BTC calm volatility per 5m candle (about 2 % a day)
_FUNDING_OFFSET = {"calm": 0.0, "up": 8e-5, "down": -6e-5, "crash": -1.5e-4}
_KIND_CODE = {"calm": 0, "up": 1, "down": 2, "crash": 3}


class SampleDataError(ValueError):
    """A bad argument to :func:`generate` (unknown pair, too few days, ...)."""


@dataclass(frozen=True)
class Regime:
    """One regime block of a pair's series: ``kind`` is calm, up, down or crash."""

    kind: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class PairData:
    """Everything generated for one pair, as freqtrade stores it."""

    pair: str
    futures: pd.DataFrame
    mark: pd.DataFrame
    funding: pd.DataFrame
    regimes: tuple[Regime, ...]


@cache
def leverage_tier_pairs() -> frozenset[str]:
    """Pairs in the Binance leverage tiers bundled with freqtrade (what backtesting accepts)."""
    import freqtrade

    tiers = Path(freqtrade.__file__).parent / "exchange" / "binance_leverage_tiers.json"
    return frozenset(json.loads(tiers.read_text()))


def _validate(pairs: Sequence[str], days: int, end: datetime, seed: int, timeframe: str) -> datetime:
    """Raise :class:`SampleDataError` for bad arguments; return ``end`` as aware UTC."""
    if isinstance(pairs, str) or not pairs:
        raise SampleDataError("pairs must be a non-empty sequence of pairs like 'BTC/USDT:USDT'")
    if len(set(pairs)) != len(pairs):
        raise SampleDataError(f"duplicate pairs in {list(pairs)}")
    unknown = [p for p in pairs if p not in leverage_tier_pairs()]
    if unknown:
        raise SampleDataError(
            f"unknown pair(s) {', '.join(unknown)}: not in freqtrade's bundled Binance leverage "
            "tiers (expected USD-M perpetuals like 'BTC/USDT:USDT')"
        )
    if not isinstance(days, int | np.integer) or days < 2:
        raise SampleDataError(f"days must be an integer >= 2 (a crash needs 2 days), got {days!r}")
    if timeframe not in TIMEFRAMES:
        raise SampleDataError(f"timeframe must be one of {', '.join(TIMEFRAMES)}: {timeframe!r}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise SampleDataError(f"seed must be a non-negative integer, got {seed!r}")
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    if end != end.replace(minute=0, second=0, microsecond=0):
        raise SampleDataError(f"end must be on a full UTC hour, got {end.isoformat()}")
    return end


def _bridge(rng: Generator, n: int, x0: float, x1: float, sigma: float) -> np.ndarray:
    """``n`` steps of a Brownian bridge from ``x0`` (excluded) to exactly ``x1``."""
    walk = np.cumsum(rng.normal(0.0, sigma, n))
    t = np.arange(1, n + 1) / n
    return x0 + (x1 - x0) * t + walk - t * walk[-1]


def _chunked(rng: Generator, n: int, x0: float, slope: float, sigma: float, jitter: float, sph: int) -> np.ndarray:
    """A path that keeps returning to the line ``x0 + slope * step`` (6-12 h bridges)."""
    parts: list[np.ndarray] = [np.empty(0)]
    done, x = 0, x0
    while done < n:
        length = min(int(rng.integers(6, 13)) * sph, n - done)
        target = x0 + slope * (done + length) + rng.normal(0.0, jitter)
        parts.append(_bridge(rng, length, x, target, sigma))
        done, x = done + length, float(parts[-1][-1])
    return np.concatenate(parts)


def _layout(rng: Generator, n: int, sph: int) -> list[tuple[int, str]]:
    """Regime blocks of 2-7 days (block length in steps, calm/trend/crash), at least one crash."""
    lengths: list[int] = []
    while sum(lengths) < n:
        lengths.append(int(rng.integers(48, 169)) * sph)
    lengths[-1] = n - sum(lengths[:-1])
    if len(lengths) > 1 and lengths[-1] < 48 * sph:
        lengths[-2:] = [lengths[-2] + lengths[-1]]
    drawn = rng.choice(["calm", "trend", "crash"], size=len(lengths), p=[0.45, 0.43, 0.12])
    kinds = [str(k) for k in drawn]
    if "crash" not in kinds:
        kinds[int(rng.integers(len(kinds)))] = "crash"
    return list(zip(lengths, kinds, strict=True))


def _price_path(
    rng: Generator, n: int, x_start: float, vol: float, sph: int
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int, int]]]:
    """Log closes, per-step volatility and regimes (kind, first step, end step) for one pair."""
    sigma = _SIGMA_5M * vol * np.sqrt(12 / sph)
    jitter = 0.004 * vol
    xs, sig = np.empty(n), np.empty(n)
    regimes: list[tuple[str, int, int]] = []
    pos, x = 0, x_start
    for length, kind in _layout(rng, n, sph):
        if kind == "calm":
            seg, s = _chunked(rng, length, x, 0.0, sigma, jitter, sph), np.full(length, sigma)
        elif kind == "trend":
            # Lean back towards the start price so 90 days stay in a realistic band.
            p_up = float(np.clip(0.5 - 3.0 * (x - x_start), 0.1, 0.9))
            kind = "up" if rng.random() < p_up else "down"
            per_day = rng.uniform(0.015, 0.04) * np.sqrt(vol) * (1 if kind == "up" else -1)
            slope = per_day / (24 * sph)
            seg = _chunked(rng, length, x, slope, sigma * 1.3, jitter, sph)
            s = np.full(length, sigma * 1.3)
        else:
            pre = int(rng.integers(12, 17)) * sph
            drop = int(rng.integers(2, 9)) * sph
            rec = int(rng.integers(12, 25)) * sph
            depth = rng.uniform(0.18, 0.30)
            top = _chunked(rng, pre, x, 0.0, sigma, jitter, sph)
            peak = float(top[-1])
            bottom = _bridge(rng, drop, peak, peak + float(np.log1p(-depth)), sigma * 3)
            recovered = bottom[-1] + rng.uniform(0.4, 0.8) * (top[-1] - bottom[-1])
            back = _bridge(rng, rec, float(bottom[-1]), float(recovered), sigma * 2)
            rest = length - pre - drop - rec
            after = _chunked(rng, rest, float(back[-1]), 0.0, sigma * 1.5, jitter, sph)
            seg = np.concatenate([top, bottom, back, after])
            s = np.repeat(sigma * np.array([1.0, 3.0, 2.0, 1.5]), [pre, drop, rec, rest])
        xs[pos : pos + length], sig[pos : pos + length] = seg, s
        regimes.append((kind, pos, pos + length))
        pos, x = pos + length, float(seg[-1])
    return xs, sig, regimes


def _dates(start: datetime, count: int, seconds: int) -> pd.Series:
    """Candle open times as freqtrade's converter builds them (``to_datetime(ms, utc=True)``)."""
    ms = int(start.timestamp() * 1000) + np.arange(count, dtype=np.int64) * seconds * 1000
    return pd.Series(pd.to_datetime(ms, unit="ms", utc=True))


def simulate_pair(
    pair: str, *, days: int = 90, end: datetime = DEFAULT_END, seed: int = 42, timeframe: str = "5m"
) -> PairData:
    """Generate (but don't write) one pair's futures, mark and funding frames; no validation."""
    price0, vol, quote_volume = PAIR_PROFILES.get(pair, _UNKNOWN_PROFILE)
    rng = Generator(PCG64([seed, zlib.crc32(pair.encode())]))
    tf_secs = TIMEFRAMES[timeframe]
    sph, n = 3600 // tf_secs, days * 24 * 3600 // tf_secs
    start = end - timedelta(days=days)
    decimals = max(0, 5 - int(np.floor(np.log10(price0))))

    xs, sig, spans = _price_path(rng, n, float(np.log(price0)), vol, sph)
    close = np.exp(xs)
    open_ = np.concatenate([[price0], close[:-1]])
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, 0.7, n)) * sig)
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, 0.7, n)) * sig)
    move = np.abs(np.diff(xs, prepend=np.log(price0))) / sig
    volume = quote_volume * tf_secs / 300 / close * rng.lognormal(0.0, 0.35, n) * (0.6 + 0.5 * move)
    futures = pd.DataFrame({"date": _dates(start, n, tf_secs)})
    for name, values in (("open", open_), ("high", high), ("low", low), ("close", close)):
        futures[name] = np.round(values, decimals)
    futures["volume"] = np.maximum(np.round(volume, 3), 0.001)

    # Mark: the futures price with tiny noise, one candle per hour; open = previous mark close.
    hours = n // sph

    def noise() -> np.ndarray:
        return np.exp(rng.normal(0.0, 2e-4, hours))

    m_close = close[sph - 1 :: sph] * noise()
    m_open = np.concatenate([[price0 * np.exp(rng.normal(0.0, 2e-4))], m_close[:-1]])
    m_high = np.maximum(high.reshape(hours, sph).max(axis=1) * noise(), np.maximum(m_open, m_close))
    m_low = np.minimum(low.reshape(hours, sph).min(axis=1) * noise(), np.minimum(m_open, m_close))
    mark = pd.DataFrame({"date": _dates(start, hours, 3600)})
    for name, values in (("open", m_open), ("high", m_high), ("low", m_low), ("close", m_close)):
        mark[name] = np.round(values, decimals)
    mark["volume"] = 0.0

    # Funding: Binance's 8-hourly rate, higher in up trends, negative around crashes.
    code = np.empty(n, dtype=np.int8)
    for kind, a, b in spans:
        code[a:b] = _KIND_CODE[kind]
    hour_of_day = mark["date"].dt.hour.to_numpy()
    at = np.flatnonzero(hour_of_day % FUNDING_INTERVAL_HOURS == 0)
    offsets = np.array([_FUNDING_OFFSET[k] for k in _KIND_CODE])[code[at * sph]]
    rate = np.clip(1e-4 + offsets + rng.normal(0.0, 3e-5, len(at)), -3e-3, 3e-3)
    funding = pd.DataFrame({"date": mark["date"].iloc[at].reset_index(drop=True)})
    funding["funding_rate"] = np.round(rate, 8)

    step = timedelta(seconds=tf_secs)
    regimes = tuple(Regime(k, start + a * step, start + b * step) for k, a, b in spans)
    return PairData(pair, futures, mark, funding, regimes)


def generate_data(
    *,
    pairs: Sequence[str] = DEFAULT_PAIRS,
    days: int = 90,
    end: datetime = DEFAULT_END,
    seed: int = 42,
    timeframe: str = "5m",
) -> list[PairData]:
    """Validate the arguments and simulate every pair (nothing is written)."""
    end = _validate(pairs, days, end, seed, timeframe)
    days, seed = int(days), int(seed)
    return [simulate_pair(p, days=days, end=end, seed=seed, timeframe=timeframe) for p in pairs]


def funding_for_storage(funding: pd.DataFrame) -> pd.DataFrame:
    """The funding frame with both column sets freqtrade releases store: the rate as ``funding_rate``
    (2026.8 and later) and as ``open``/``high``/``low``/``close`` with ``volume`` 0 (up to 2026.7)."""
    rate = funding["funding_rate"]
    legacy = {name: rate for name in ("open", "high", "low", "close")}
    return pd.DataFrame({"date": funding["date"], **legacy, "volume": 0.0, "funding_rate": rate})


def write(datadir: Path, data: Sequence[PairData], timeframe: str = "5m") -> list[Path]:
    """Store the frames through freqtrade's FeatherDataHandler; return the files written."""
    from freqtrade.data.history.datahandlers.featherdatahandler import FeatherDataHandler
    from freqtrade.enums import CandleType

    handler = FeatherDataHandler(Path(datadir))
    (Path(datadir) / "futures").mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for item in data:
        for tf, frame, candle_type in (
            (timeframe, item.futures, CandleType.FUTURES),
            (MARK_TIMEFRAME, item.mark, CandleType.MARK),
            (FUNDING_TIMEFRAME, funding_for_storage(item.funding), CandleType.FUNDING_RATE),
        ):
            handler.ohlcv_store(item.pair, tf, frame, candle_type)
            written.append(handler._pair_data_filename(Path(datadir), item.pair, tf, candle_type))
    return written


def generate(
    datadir: Path,
    *,
    pairs: Sequence[str] = DEFAULT_PAIRS,
    days: int = 90,
    end: datetime = DEFAULT_END,
    seed: int = 42,
    timeframe: str = "5m",
) -> list[Path]:
    """Generate and write sample data for ``pairs`` under ``datadir``; return the files written.

    :raises SampleDataError: (a ``ValueError``) on an unknown pair, ``days < 2``, an unsupported
        timeframe, a negative seed or an ``end`` that is not on a full hour.
    """
    data = generate_data(pairs=pairs, days=days, end=end, seed=seed, timeframe=timeframe)
    return write(datadir, data, timeframe)


def _parse_pairs(value: str) -> list[str]:
    """``"10"`` -> the first 10 of ALL_PAIRS; ``"BTC,ETH/USDT:USDT"`` -> USDT perpetuals."""
    if value.strip().isdigit():
        count = int(value)
        if not 1 <= count <= len(ALL_PAIRS):
            raise SampleDataError(f"--pairs N must be between 1 and {len(ALL_PAIRS)}, got {count}")
        return list(ALL_PAIRS[:count])
    names = [v.strip() for v in value.split(",") if v.strip()]
    return [n if "/" in n else f"{n.upper()}/USDT:USDT" for n in names]


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: generate, write, print a short summary."""
    parser = argparse.ArgumentParser(
        prog="python -m robust_plugin.tools.sampledata",
        description="Write deterministic synthetic Binance futures candles for freqtrade.",
    )
    parser.add_argument("--datadir", type=Path, required=True, help="e.g. user_data/data/binance")
    parser.add_argument(
        "--pairs",
        default=str(len(DEFAULT_PAIRS)),
        help=f"a count (1-{len(ALL_PAIRS)}) or comma-separated pairs, e.g. BTC,ETH (default 3)",
    )
    parser.add_argument("--days", type=int, default=90, help="days of candles (default 90)")
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    args = parser.parse_args(argv)
    try:
        data = generate_data(pairs=_parse_pairs(args.pairs), days=args.days, seed=args.seed)
    except SampleDataError as exc:
        parser.error(str(exc))
    files = write(args.datadir, data)
    first = data[0].futures["date"]
    print(
        f"{len(files)} files in {args.datadir / 'futures'}: {len(data)} pairs x {len(first)} "
        f"5m candles, {first.iloc[0]:%Y-%m-%d %H:%M} .. {first.iloc[-1]:%Y-%m-%d %H:%M} UTC, "
        f"seed {args.seed}"
    )
    for item in data:
        counts = Counter(r.kind for r in item.regimes)
        kinds = ", ".join(f"{counts[k]} {k}" for k in _KIND_CODE if counts[k])
        print(
            f"  {item.pair:<16} {item.futures['close'].iloc[0]:>12g} -> "
            f"{item.futures['close'].iloc[-1]:<12g} regimes: {kinds}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
