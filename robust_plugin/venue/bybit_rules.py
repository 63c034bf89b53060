"""Bybit V5 risk-limit tiers for the venue's USDT perpetuals (``/v5/market/risk-limit``).

Plain data and look-ups, no HTTP: the shared engine reads them for the Bybit dialect's liquidation
price without importing the dialect's endpoints.
"""

from __future__ import annotations

from decimal import Decimal

# (max leverage, risk limit value, maintenance margin rate, mm deduction): Bybit's tiers for USDT perpetuals.
# The deduction of tier n is that of tier n-1 plus tier n-1's risk limit × the rise in rate.
RISK_TIERS = [
    (100, 2_000_000, "0.005", "0"),
    (75, 4_000_000, "0.0075", "5000"),
    (50, 6_000_000, "0.01", "15000"),
    (25, 10_000_000, "0.02", "75000"),
    (10, 20_000_000, "0.05", "375000"),
]


def tier_index(position_value: Decimal) -> int:
    """The index in RISK_TIERS of the tier a position of ``position_value`` (absolute) falls in."""
    value = abs(position_value)
    return next((i for i, tier in enumerate(RISK_TIERS) if value <= tier[1]), len(RISK_TIERS) - 1)


def maintenance(position_value: Decimal) -> tuple[Decimal, Decimal]:
    """(maintenance margin rate, mm deduction) of the tier for ``position_value``."""
    _, _, rate, deduction = RISK_TIERS[tier_index(position_value)]
    return Decimal(rate), Decimal(deduction)
