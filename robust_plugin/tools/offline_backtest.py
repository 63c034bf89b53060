"""Backtest your own strategy without the internet: freqtrade's markets come from the local venue.

freqtrade loads the exchange's markets at start-up even for a backtest, and stops with "Could not
load markets" when the exchange cannot be reached. This helper starts the plugin's venue on loopback
(``python -m robust_plugin.venue``), which lists a Binance market for every pair with candles in the
data directory, and runs freqtrade with one more ``--config`` that points ccxt at it::

    python -m robust_plugin.tools.offline_backtest --config user_data/config.json --strategy MyStrategy
    python -m robust_plugin.tools.offline_backtest hyperopt --config ... --hyperopt-loss ... --epochs 50

Every argument after the optional subcommand (``backtesting`` by default) goes to freqtrade
unchanged. The data directory is freqtrade's own (``--datadir``, the config's ``datadir``, or
``<user_data>/data/<exchange>``) and must hold the candles in freqtrade's default feather format,
e.g. from an earlier ``freqtrade download-data``. Binance (USD-M futures and spot) and Bybit (linear
USDT perpetuals), the exchanges the venue speaks.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from robust_plugin.tools.backtest_env import write_override
from robust_plugin.venue.process import VenueStartError, run_venue

COMMANDS = ("backtesting", "hyperopt", "lookahead-analysis", "recursive-analysis")
EXCHANGES = {"binance": "binance", "binanceusdm": "binance", "bybit": "bybit"}  # config name -> venue dialect


class OfflineError(Exception):
    """Why the backtest cannot run offline (a message for the trader)."""


def _known(argv: list[str]) -> argparse.Namespace:
    """The options this helper reads itself; freqtrade gets them too."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-c", "--config", action="append", default=[])
    parser.add_argument("-d", "--datadir", "--data-dir", dest="datadir")
    parser.add_argument("--userdir", "--user-data-dir", dest="user_data_dir")
    return parser.parse_known_args(argv)[0]


def resolve(argv: list[str]) -> tuple[str, Path]:
    """(exchange name, data directory) as freqtrade resolves them from the same arguments."""
    from freqtrade.configuration import Configuration
    from freqtrade.enums import RunMode

    known = _known(argv)
    args = {"config": known.config}
    if known.datadir:
        args["datadir"] = known.datadir
    if known.user_data_dir:
        args["user_data_dir"] = known.user_data_dir
    try:
        config = Configuration(args, RunMode.BACKTEST).get_config()
    except Exception as error:  # noqa: BLE001 - freqtrade's own message says what is wrong
        raise OfflineError(f"freqtrade cannot read the configuration: {error}") from None
    name = str(config.get("exchange", {}).get("name", "")).lower()
    if name not in EXCHANGES:
        raise OfflineError(
            f"the local venue serves Binance and Bybit markets only; the configuration uses exchange {name!r}"
        )
    datadir = Path(config["datadir"])
    if not any(datadir.glob("*.feather")) and not any((datadir / "futures").glob("*.feather")):
        raise OfflineError(
            f"no candles in feather format in {datadir}: the venue lists a market for each pair with candles "
            "there (freqtrade download-data writes them; it needs the internet once)"
        )
    return name, datadir


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command = argv.pop(0) if argv and argv[0] in COMMANDS else "backtesting"
    if not _known(argv).config:  # freqtrade's default, which one more --config would otherwise replace
        argv = ["--config", "config.json", *argv]
    try:
        name, datadir = resolve(argv)
        with run_venue(datadir, exchange=EXCHANGES[name]) as venue, tempfile.TemporaryDirectory() as tmp:
            override = write_override(Path(tmp) / "offline-markets.json", venue)
            print(f"robust_plugin: markets from the local venue at {venue.base_url} ({datadir})", flush=True)
            return subprocess.call([sys.executable, "-m", "freqtrade", command, *argv, "--config", str(override)])
    except (OfflineError, VenueStartError) as error:
        print(f"robust_plugin offline {command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
