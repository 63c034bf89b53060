"""The configuration matrix of the chaos rehearsal: one short run per cell of
{stop-loss on the exchange, off} x {market exits, limit exits} x {no add-on entries, add-on entries},
every invariant checked in each, one row per cell.

``make chaos CHAOS_ARGS="--matrix"`` runs all eight cells; ``--matrix 'stop=off,exit=limit,addon=on'``
runs the cells named (several separated by ``;``).
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from robust_plugin.tools import chaos_check as cc

Rehearse = Callable[[argparse.Namespace, dict], "list[cc.Row] | None"]
AXES = {"stop": ("on", "off"), "exit": ("market", "limit"), "addon": ("off", "on")}


@dataclass(frozen=True)
class Cell:
    stop_on_exchange: bool
    exit_type: str  # "market" / "limit"
    addon_entries: bool

    @property
    def name(self) -> str:
        return (
            f"stop={'on' if self.stop_on_exchange else 'off'},exit={self.exit_type},"
            f"addon={'on' if self.addon_entries else 'off'}"
        )

    def overrides(self) -> dict:
        """What the cell changes in the rehearsal's freqtrade config."""
        return {
            "order_types": {"stoploss_on_exchange": self.stop_on_exchange, "exit": self.exit_type},
            "chaos_addon_entries": self.addon_entries,
        }


def all_cells() -> list[Cell]:
    return [
        Cell(stop == "on", exit_type, addon == "on")
        for stop, exit_type, addon in itertools.product(AXES["stop"], AXES["exit"], AXES["addon"])
    ]


def parse_cells(text: str) -> list[Cell]:
    """``all``, or cells like ``stop=off,exit=limit,addon=on`` separated by ``;`` (an axis left out
    takes both of its values)."""
    if text.strip() == "all":
        return all_cells()
    cells: list[Cell] = []
    for spec in filter(None, (part.strip() for part in text.split(";"))):
        chosen = {axis: list(values) for axis, values in AXES.items()}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            axis, _, value = item.partition("=")
            if axis not in AXES or value not in AXES[axis]:
                known = "; ".join(f"{a}={'|'.join(v)}" for a, v in AXES.items())
                raise ValueError(f"unknown cell part {item!r} (known: {known})")
            chosen[axis] = [value]
        for stop, exit_type, addon in itertools.product(chosen["stop"], chosen["exit"], chosen["addon"]):
            cell = Cell(stop == "on", exit_type, addon == "on")
            if cell not in cells:
                cells.append(cell)
    if not cells:
        raise ValueError("no cell named")
    return cells


@dataclass(frozen=True)
class CellResult:
    cell: Cell
    rows: list[cc.Row] | None  # None: freqtrade exited on its own

    @property
    def broken(self) -> list[str]:
        return ["freqtrade exited on its own"] if self.rows is None else cc.broken(self.rows)


def run_matrix(args: argparse.Namespace, cells: list[Cell], rehearse: Rehearse) -> int:
    """One rehearsal per cell (``rehearse(args, overrides)``: the chaos runner's), then one row each."""
    results = []
    for number, cell in enumerate(cells, 1):
        print(f"== cell {number}/{len(cells)}: {cell.name} ({args.minutes:g} min)", flush=True)
        results.append(CellResult(cell, rehearse(args, cell.overrides())))
    return report(results)


def summary(result: CellResult) -> dict[str, str]:
    rows = {row.check: row for row in result.rows or []}

    def value(prefix: str) -> str:
        row = next((r for name, r in rows.items() if name.startswith(prefix)), None)
        return row.value if row else "-"

    return {
        "cell": result.cell.name,
        "trades": value("trades"),
        "faults": value("faults fired"),
        "invariants": "all hold" if not result.broken else "BROKEN: " + "; ".join(result.broken),
    }


def report(results: list[CellResult]) -> int:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="chaos rehearsal: configuration matrix")
    for column in ("cell", "trades", "faults", "invariants"):
        table.add_column(column)
    for result in results:
        table.add_row(*summary(result).values())
    Console(width=160).print(table)
    failed = [r.cell.name for r in results if r.broken]
    print(f"{len(results) - len(failed)} of {len(results)} cells hold every invariant")
    return 1 if failed else 0
