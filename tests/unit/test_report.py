"""The demo's exit table: per-reason counts, ages and unleveraged net results."""

from datetime import datetime, timedelta

from robust_plugin.report import exit_rows, render_exit_table

T0 = datetime(2026, 8, 1)


def _trade(reason, hours, ratio, leverage=2.0, profit=1.0):
    return {
        "exit_reason": reason,
        "open_date": T0,
        "close_date": T0 + timedelta(hours=hours),
        "profit_ratio": ratio,
        "leverage": leverage,
        "profit_abs": profit,
    }


def test_rows_group_by_reason_in_staircase_order():
    trades = [
        _trade("roi", 2, 0.04),
        _trade("aged_progressive_1.5pct", 30, -0.03),
        _trade("aged_grace", 25, 0.002),
        _trade("aged_progressive_0.5pct", 28, -0.01, profit=-2.0),
        _trade("aged_progressive_0.5pct", 30, -0.01, profit=-1.0),
        _trade("aged_force", 48, -0.2),
    ]
    rows = exit_rows(trades, aged_only=True)
    assert [r.exit_reason for r in rows] == [
        "aged_grace",
        "aged_progressive_0.5pct",
        "aged_progressive_1.5pct",
        "aged_force",
    ]
    half = rows[1]
    assert half.count == 2
    assert half.avg_age_hours == 29
    assert half.avg_net_pct == -0.5  # -1 % at 2x leverage is -0.5 % unleveraged
    assert half.total_profit == -3.0
    assert len(exit_rows(trades)) == 5


def test_table_shows_every_row_and_an_empty_table_says_none():
    text = render_exit_table(exit_rows([_trade("aged_grace", 25, 0.002)]), "aged exits")
    assert "aged_grace" in text and "25.0" in text and "+0.10" in text
    assert "(none)" in render_exit_table([], "aged exits")
