"""Fixtures for integration tests: sample data, a venue process, real freqtrade."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from robust_plugin.tools.sampledata import generate
from robust_plugin.venue.process import run_venue

ROOT = Path(__file__).resolve().parents[2]


SHARED_DATA = ROOT.parent / "shared" / "data" / "binance"


@pytest.fixture(scope="session")
def sample_datadir(tmp_path_factory) -> Path:
    """30 days of generated 5m futures candles for BTC, ETH and SOL (seed 7)."""
    datadir = tmp_path_factory.mktemp("sample") / "binance"
    generate(datadir, days=30, seed=7)
    return datadir


@pytest.fixture(scope="session")
def sample_venue(sample_datadir):
    with run_venue(sample_datadir) as venue:
        yield venue


@pytest.fixture(scope="session")
def real_datadir(tmp_path_factory) -> Path:
    """Real Binance XRP/USDT perpetual candles (with mark and funding) from the shared data."""
    source = SHARED_DATA / "futures"
    if not source.is_dir():
        pytest.skip(f"real candles not found beside the repository ({source})")
    datadir = tmp_path_factory.mktemp("real") / "binance"
    shutil.copytree(source, datadir / "futures")
    return datadir


@pytest.fixture(scope="session")
def real_venue(real_datadir):
    with run_venue(real_datadir) as venue:
        yield venue
