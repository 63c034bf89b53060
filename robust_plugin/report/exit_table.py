"""The exit summary as a text table in freqtrade's report style (rich)."""

from __future__ import annotations

from robust_plugin.core.report_rows import ExitRow


def render_exit_table(rows: list[ExitRow], title: str, stake_currency: str = "USDT") -> str:
    """The rows as a text table in freqtrade's report style."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for name in ("Exit reason", "Exits", "Avg age (h)", "Avg net % (1x)", f"Total {stake_currency}"):
        table.add_column(name, justify="left" if name == "Exit reason" else "right")
    for row in rows:
        table.add_row(
            row.exit_reason,
            str(row.count),
            f"{row.avg_age_hours:.1f}",
            f"{row.avg_net_pct:+.2f}",
            f"{row.total_profit:+.2f}",
        )
    if not rows:
        table.add_row("(none)", "0", "-", "-", "-")
    console = Console(width=100, record=True, force_terminal=False)
    with console.capture() as capture:
        console.print(table)
    return capture.get()
