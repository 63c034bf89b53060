"""Chunk plans: how to close a position in partial exits that each fit the market's limits.

Every chunk is a positive multiple of the amount step, at least the minimum quantity and the minimum
notional, at most the market-order maximum (``MARKET_LOT_SIZE``) and the order maximum; the chunks
add up exactly to the position rounded down to the step. A remainder that would be below the minimum
is not left behind (freqtrade silently drops partial exits that round to zero): the position is
spread evenly over the fewest chunks that fit, so none is below the minimum. Larger chunks go first.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal


@dataclass(frozen=True)
class MarketLimits:
    step: Decimal
    min_qty: Decimal = Decimal(0)
    max_qty: Decimal | None = None
    market_max_qty: Decimal | None = None
    min_notional: Decimal | None = None

    def __post_init__(self) -> None:
        if self.step <= 0:
            raise ValueError("step must be positive")


@dataclass(frozen=True)
class ChunkPlan:
    chunks: tuple[Decimal, ...]
    total: Decimal  # the position rounded down to the step: what the chunks close
    unclosable: Decimal  # below one step: no order can close it
    dust_folded: Decimal  # a sub-minimum remainder that was rebalanced into the last chunks
    below_minimum: bool  # the whole position is below the minimum: one chunk, reduce-only
    last_below_minimum: bool = False  # limits too narrow to split evenly: the last chunk is below the minimum

    @property
    def chunked(self) -> bool:
        return len(self.chunks) > 1


def _down(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_FLOOR) * step


def _up(value: Decimal, step: Decimal) -> Decimal:
    return (value / step).to_integral_value(ROUND_CEILING) * step


def minimum_chunk(price: Decimal, limits: MarketLimits) -> Decimal:
    """The smallest amount one order may have: min quantity and min notional, on the step grid."""
    minimum = max(limits.min_qty, limits.step)
    if limits.min_notional and price > 0:
        minimum = max(minimum, _up(limits.min_notional / price, limits.step))
    return _up(minimum, limits.step)


def maximum_chunk(limits: MarketLimits, max_chunk: Decimal | None = None) -> Decimal | None:
    caps = [c for c in (limits.market_max_qty, limits.max_qty, max_chunk) if c is not None and c > 0]
    return _down(min(caps), limits.step) if caps else None


def plan_chunks(amount: Decimal, price: Decimal, limits: MarketLimits, max_chunk: Decimal | None = None) -> ChunkPlan:
    """Chunks that close ``amount`` at about ``price`` within ``limits``."""
    if amount < 0:
        raise ValueError("amount cannot be negative")
    total = _down(amount, limits.step)
    unclosable = amount - total
    low = minimum_chunk(price, limits)
    cap = maximum_chunk(limits, max_chunk)
    if total == 0:
        return ChunkPlan((), total, unclosable, Decimal(0), True)
    if total < low:
        return ChunkPlan((total,), total, unclosable, Decimal(0), True)
    if cap is None or total <= cap:
        return ChunkPlan((total,), total, unclosable, Decimal(0), False)
    if cap < low:
        raise ValueError(f"the market's maximum ({cap}) is below its minimum ({low}): no chunk can fit")
    count = int((total / cap).to_integral_value(ROUND_CEILING))
    base = _down(total / count, limits.step)
    if base < low:  # no even split fits (minimum close to maximum): full chunks, then what is left
        full, rest = divmod(total, cap)
        chunks = [cap] * int(full) + ([rest] if rest else [])
        return ChunkPlan(
            tuple(chunks), total, unclosable, Decimal(0), False, last_below_minimum=bool(rest and rest < low)
        )
    extra = int((total - base * count) / limits.step)  # fewer than ``count`` steps left over
    chunks = [base + limits.step] * extra + [base] * (count - extra)
    rest = total % cap
    dust = rest if 0 < rest < low else Decimal(0)  # what a greedy split would have left below the minimum
    return ChunkPlan(tuple(chunks), total, unclosable, dust, False)


def amount_for_stake(stake: Decimal, trade_amount: Decimal, trade_stake: Decimal, step: Decimal) -> Decimal:
    """freqtrade's conversion of a partial exit's stake to an amount (truncated to the step)."""
    return _down(abs(stake) * trade_amount / trade_stake, step)


def stake_for_amount(chunk: Decimal, trade_amount: Decimal, trade_stake: Decimal, step: Decimal) -> Decimal:
    """A stake that freqtrade turns back into exactly ``chunk`` (half a step of headroom against
    float rounding, never more than the whole trade)."""
    if chunk >= trade_amount:
        return trade_stake
    return (chunk + step / 2) * trade_stake / trade_amount
