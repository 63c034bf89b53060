"""Prices: candles from a freqtrade data directory replayed onto the venue's clock.

The venue shows a data candle that started at ``t`` as if it started at ``t + shift``, where the
shift puts the replay start (by default the 1000th candle, so bots find history) at the venue's
start time. Within a candle the price walks open → low → high → close for a rising candle and
open → high → low → close for a falling one, linearly in three equal legs, so every price the
candle reached is visited, deterministically. ``speed`` > 1 makes the venue's clock (and the replay)
run faster than the wall clock, for tests that do not run freqtrade.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_TF = re.compile(r"^(\d+)([mhd])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}


def timeframe_ms(timeframe: str) -> int:
    match = _TF.match(timeframe)
    if not match:
        raise ValueError(f"unsupported timeframe {timeframe!r}")
    return int(match[1]) * _UNIT_MS[match[2]]


@dataclass(frozen=True)
class CandleSeries:
    """Candles of one symbol at one timeframe (numpy arrays, times in ms)."""

    timeframe_ms: int
    times: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def from_feather(cls, path: Path, timeframe: str) -> CandleSeries:
        import pyarrow.feather as feather

        table = feather.read_table(path).to_pandas()
        if table.empty:
            raise ValueError(f"{path.name}: no candles")
        times = table["date"].astype("int64").to_numpy()
        unit = str(table["date"].dtype)
        times = times // {"ns": 1_000_000, "us": 1_000, "ms": 1, "s": 1}.get(_unit_of(unit), 1_000_000)
        columns = {name: table[name].astype(float).to_numpy() for name in ("open", "high", "low", "close", "volume")}
        return cls(timeframe_ms(timeframe), times, **columns)

    def index_at(self, data_ms: float) -> int:
        """The candle containing ``data_ms`` (clamped to the first and last candle)."""
        i = int(np.searchsorted(self.times, data_ms, side="right")) - 1
        return min(max(i, 0), len(self.times) - 1)

    def path_price(self, i: int, fraction: float) -> float:
        """The price at ``fraction`` (0..1) of candle ``i``'s duration."""
        o, h, lo, c = self.open[i], self.high[i], self.low[i], self.close[i]
        legs = (o, lo, h, c) if c >= o else (o, h, lo, c)
        f = min(max(fraction, 0.0), 1.0) * 3
        leg = min(int(f), 2)
        return float(legs[leg] + (legs[leg + 1] - legs[leg]) * (f - leg))

    def price(self, data_ms: float) -> float:
        if data_ms >= self.times[-1] + self.timeframe_ms:
            return float(self.close[-1])  # after the data ends the last close holds
        if data_ms < self.times[0]:
            return float(self.open[0])
        i = self.index_at(data_ms)
        return self.path_price(i, (data_ms - self.times[i]) / self.timeframe_ms)

    def price_range(self, start_ms: float, end_ms: float) -> tuple[float, float]:
        """Lowest and highest price the path visits between two data times."""
        points = [self.price(start_ms), self.price(end_ms)]
        first, last = self.index_at(start_ms), self.index_at(end_ms)
        for i in range(first, last + 1):
            for k in (1, 2):  # the inner corners of the candle's path
                corner = self.times[i] + self.timeframe_ms * k / 3
                if start_ms <= corner <= end_ms:
                    points.append(self.path_price(i, k / 3))
        return min(points), max(points)


def _unit_of(dtype: str) -> str:
    match = re.search(r"\[(\w+)", dtype)
    return match[1] if match else "ns"


class VenueClock:
    """The venue's time: the wall clock, optionally sped up from the moment the venue started."""

    def __init__(self, speed: float = 1.0, wall=time.time):
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._wall = wall
        self.started_wall = wall()

    def now_ms(self) -> int:
        elapsed = self._wall() - self.started_wall
        return int((self.started_wall + elapsed * self.speed) * 1000)

    @property
    def started_ms(self) -> int:
        return int(self.started_wall * 1000)


class PriceReplay:
    """Current prices and candles for every symbol, replayed onto a :class:`VenueClock`."""

    def __init__(
        self,
        series: dict[str, CandleSeries],
        clock: VenueClock,
        start_ms: int | None = None,
        mark: dict[str, CandleSeries] | None = None,
        funding: dict[str, CandleSeries] | None = None,
    ):
        if not series:
            raise ValueError("no candle series to replay")
        self.series = series
        self.mark = mark or {}
        self.funding = funding or {}
        self.clock = clock
        reference = next(iter(series.values()))
        if start_ms is None:
            start_ms = int(reference.times[min(1000, len(reference.times) // 2)])
        tf = reference.timeframe_ms
        self.shift_ms = (clock.started_ms // tf) * tf - (start_ms // tf) * tf  # whole candles: boundaries stay aligned
        self._pinned: dict[str, float] = {}

    def data_ms(self, venue_ms: float) -> float:
        return venue_ms - self.shift_ms

    def venue_time_of(self, data_ms: float) -> int:
        return int(data_ms + self.shift_ms)

    def pin(self, symbol: str, price: float | None) -> None:
        """Hold ``symbol`` at ``price`` (a test or scenario moving the market), or release it."""
        if price is None:
            self._pinned.pop(symbol, None)
        else:
            self._pinned[symbol] = float(price)

    def price(self, symbol: str, venue_ms: float | None = None) -> float:
        if symbol in self._pinned:
            return self._pinned[symbol]
        venue_ms = self.clock.now_ms() if venue_ms is None else venue_ms
        return self.series[symbol].price(self.data_ms(venue_ms))

    def price_range(self, symbol: str, start_ms: float, end_ms: float) -> tuple[float, float]:
        if symbol in self._pinned:
            return self._pinned[symbol], self._pinned[symbol]
        return self.series[symbol].price_range(self.data_ms(start_ms), self.data_ms(end_ms))

    def klines(
        self, symbol: str, interval_ms: int, start_ms: int | None, end_ms: int | None, limit: int, source: str = "trade"
    ) -> list[list]:
        """Binance klines up to the venue's now (the last one still forming)."""
        table = {"trade": self.series, "mark": self.mark}.get(source, self.series)
        base = table.get(symbol) or self.series[symbol]
        now = self.clock.now_ms()
        if interval_ms < base.timeframe_ms:
            raise ValueError(f"interval shorter than the data's {base.timeframe_ms // 60000}m candles")
        last_open = now - now % interval_ms
        end = min(end_ms if end_ms is not None else now, now)
        end_open = end - end % interval_ms
        if start_ms is not None:  # before the first candle: Binance answers from the first candle on
            start_ms = max(start_ms, self.venue_time_of(int(base.times[0])))
            first_open = start_ms + (-start_ms) % interval_ms
            opens = range(first_open, end_open + 1, interval_ms)
            opens = list(opens[:limit])
        else:
            opens = list(range(end_open - (limit - 1) * interval_ms, end_open + 1, interval_ms))
        rows = []
        for open_ms in opens:
            row = self._kline(base, symbol, open_ms, interval_ms, min(now, open_ms + interval_ms), open_ms == last_open)
            if row is not None:
                rows.append(row)
        return rows

    def _kline(self, base: CandleSeries, symbol: str, open_ms: int, interval_ms: int, until_ms: int, forming: bool):
        d0, d1 = self.data_ms(open_ms), self.data_ms(until_ms)
        if d0 < base.times[0]:
            return None
        i0 = base.index_at(d0)
        i1 = base.index_at(d1 - 1)
        if forming or symbol in self._pinned:
            low, high = self.price_range(symbol, open_ms, until_ms)
            o, c = self.price(symbol, open_ms), self.price(symbol, until_ms)
            frac = (d1 - d0) / interval_ms
            volume = float(base.volume[i0 : i1 + 1].sum()) * min(frac, 1.0)
        else:
            o, c = float(base.open[i0]), float(base.close[i1])
            high, low = float(base.high[i0 : i1 + 1].max()), float(base.low[i0 : i1 + 1].min())
            volume = float(base.volume[i0 : i1 + 1].sum())
        close_ms = open_ms + interval_ms - 1
        return [
            open_ms,
            _fmt(o),
            _fmt(high),
            _fmt(low),
            _fmt(c),
            _fmt(volume),
            close_ms,
            _fmt(volume * c),
            100,
            _fmt(volume / 2),
            _fmt(volume * c / 2),
            "0",
        ]

    def funding_rate(self, symbol: str, venue_ms: int) -> float:
        series = self.funding.get(symbol)
        if series is None:
            return 0.0001
        i = series.index_at(self.data_ms(venue_ms))
        return float(series.open[i])


def _fmt(value: float) -> str:
    return f"{value:.8f}".rstrip("0").rstrip(".") or "0"


_FILE = re.compile(
    r"^(?P<pair>[A-Z0-9]+_[A-Z0-9]+_[A-Z0-9]+)-(?P<tf>\d+[mhd])-(?P<kind>futures|mark|funding_rate)\.feather$"
)


def load_replay(data_dir: Path, symbols: dict[str, str], clock: VenueClock, start_ms: int | None = None) -> PriceReplay:
    """Replay the smallest-timeframe futures candles of each symbol (``{"BTCUSDT": "BTC_USDT_USDT"}``)."""
    found: dict[tuple[str, str], list[tuple[int, Path, str]]] = {}
    for path in sorted((Path(data_dir) / "futures").glob("*.feather")):
        match = _FILE.match(path.name)
        if match:
            found.setdefault((match["pair"], match["kind"]), []).append((timeframe_ms(match["tf"]), path, match["tf"]))
    series, mark, funding = {}, {}, {}
    for symbol, file_pair in symbols.items():
        for kind, target in (("futures", series), ("mark", mark), ("funding_rate", funding)):
            candidates = sorted(found.get((file_pair, kind), []))
            if candidates:
                _, path, tf = candidates[0]
                target[symbol] = (
                    _load_funding(path, tf) if kind == "funding_rate" else CandleSeries.from_feather(path, tf)
                )
    return PriceReplay(series, clock, start_ms, mark, funding)


def _load_funding(path: Path, timeframe: str) -> CandleSeries:
    import pyarrow.feather as feather

    frame = feather.read_table(path).to_pandas()
    column = "funding_rate" if "funding_rate" in frame.columns else "open"
    rates = frame[column].astype(float).to_numpy()
    times = frame["date"].astype("int64").to_numpy() // {"ns": 1_000_000, "us": 1_000}.get(
        _unit_of(str(frame["date"].dtype)), 1
    )
    empty = np.zeros(len(rates))
    return CandleSeries(timeframe_ms(timeframe), times, rates, rates, rates, rates, empty)
