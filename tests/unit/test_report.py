"""The demo's exit table: per-reason counts, ages and unleveraged net results."""

from datetime import datetime, timedelta

from robust_plugin.core.report_rows import comparison_line, exit_rows, run_figures
from robust_plugin.report.exit_table import render_exit_table

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


def test_the_demos_comparison_line_sets_the_plugin_against_the_plain_strategy():
    plugin = run_figures([_trade("roi", 2, 0.04, profit=4.0), _trade("aged_grace", 25, 0.0, profit=0.0)], 0)
    plain = run_figures([_trade("roi", 2, 0.04, profit=4.0), _trade("force_exit", 900, -0.3, profit=-30.5)], 0)
    line = comparison_line(plugin, plain, "SamplePlainStrategy")
    assert line == (
        "with robust_plugin vs without (SamplePlainStrategy, the same signals): trades 2 vs 2, "
        "aged exits 1 vs 0, profit +4.00 vs -26.50 USDT, exit timeouts 0 vs 0"
    )
    assert "exit timeouts" not in comparison_line(run_figures([]), plain, "P")


def test_table_shows_every_row_and_an_empty_table_says_none():
    text = render_exit_table(exit_rows([_trade("aged_grace", 25, 0.002)]), "aged exits")
    assert "aged_grace" in text and "25.0" in text and "+0.10" in text
    assert "(none)" in render_exit_table([], "aged exits")


def test_settlement_rows_prefer_the_stores_verdicts_and_fall_back_to_the_trades_state():
    from robust_plugin.core.report_rows import settlement_rows

    states = {
        1: {"settlement": {"outcome": "verified", "lag_s": 1.25}},
        2: {"settlement": {"outcome": "verified_late", "lag_s": 14.0}},
        3: {"aged": {"phase": "grace"}},  # no settlement yet: no row
    }
    events = [
        {"kind": "settlement_started", "trade_id": 2, "pair": "ETH/USDT:USDT", "data": {}},
        {
            "kind": "settlement_verified_late",
            "trade_id": 2,
            "pair": "ETH/USDT:USDT",
            "data": {"outcome": "verified_late", "lag_s": 14.5, "checks": 9, "detail": "position visible after 14.5s"},
        },
        {"kind": "close_failed", "trade_id": 1, "pair": "BTC/USDT:USDT", "data": {"failure_class": "network"}},
    ]
    rows = settlement_rows(states, {1: "BTC/USDT:USDT", 2: "ETH/USDT:USDT"}, events)
    assert [(r.trade_id, r.pair, r.outcome, r.lag_s, r.checks) for r in rows] == [
        (1, "BTC/USDT:USDT", "verified", 1.25, None),
        (2, "ETH/USDT:USDT", "verified_late", 14.5, 9),  # the event, not the state's copy
    ]


def test_attempt_rows_list_every_attempt_with_its_failure_class():
    from robust_plugin.core.report_rows import attempt_rows

    closing = {
        "status": "closed",
        "attempts": [
            {
                "number": 1,
                "close_type": "full",
                "started_at": 1786000000.0,
                "amount": "0.004",
                "client_order_id": "bot-t7-x1",
                "outcome": "failed",
                "failure_class": "rate_limit",
                "error": "429",
            },
            {
                "number": 2,
                "close_type": "full",
                "started_at": 1786000004.5,
                "amount": "0.004",
                "client_order_id": "bot-t7-x2",
                "outcome": "filled",
                "failure_class": None,
                "error": None,
            },
        ],
    }
    rows = attempt_rows({7: {"closing": closing}, 8: {}}, {7: "SOL/USDT:USDT"})
    assert [(r.trade_id, r.number, r.client_order_id, r.outcome, r.failure_class) for r in rows] == [
        (7, 1, "bot-t7-x1", "failed", "rate_limit"),
        (7, 2, "bot-t7-x2", "filled", ""),
    ]
    assert rows[1].started_at.utcoffset().total_seconds() == 0 and rows[1].started_at.timestamp() == 1786000004.5
