"""The venue as a market-metadata server: ccxt loads Binance markets from it, and it stops cleanly."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import ccxt
import pytest

from robust_plugin.tools.sampledata import generate
from robust_plugin.venue.process import VenueStartError, run_venue


@pytest.fixture(scope="module")
def datadir(tmp_path_factory):
    path = tmp_path_factory.mktemp("venue") / "binance"
    generate(path, days=2, seed=3)
    return path


def test_ccxt_loads_usdm_perpetuals_with_binance_filters(datadir):
    with run_venue(datadir) as venue:
        exchange = ccxt.binanceusdm(venue.ccxt_config())
        markets = exchange.load_markets()
    assert {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"} <= set(markets)
    btc = markets["BTC/USDT:USDT"]
    assert btc["swap"] and btc["linear"] and btc["settle"] == "USDT"
    assert btc["precision"]["price"] == 0.1 and btc["precision"]["amount"] == 0.001
    assert btc["limits"]["cost"]["min"] == 100
    assert btc["limits"]["market"]["max"] < btc["limits"]["amount"]["max"]


def test_unknown_paths_get_binance_error_json_and_the_venue_keeps_serving(datadir):
    with run_venue(datadir) as venue:
        with pytest.raises(urllib.error.HTTPError) as refused:
            venue.call("GET", "/fapi/v1/noSuchEndpoint")
        assert refused.value.code == 404
        assert json.loads(refused.value.read())["code"] == -1000
        exchange = ccxt.binanceusdm(venue.ccxt_config())
        assert "BTC/USDT:USDT" in exchange.load_markets()


def test_sigterm_stops_the_process_with_exit_code_zero(datadir):
    with run_venue(datadir) as venue:
        venue.proc.send_signal(signal.SIGTERM)
        assert venue.proc.wait(timeout=10) == 0
    assert "venue stopped" in venue.output


def test_an_empty_data_directory_is_refused_with_a_message(tmp_path):
    with pytest.raises(VenueStartError, match="no candle files"):
        with run_venue(tmp_path):
            pass
    result = subprocess.run(
        [sys.executable, "-m", "robust_plugin.venue", "--data", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "data directory not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_venue_speaks_only_tls_and_only_clients_given_its_ca_trust_it(datadir):
    with run_venue(datadir) as venue:
        assert venue.base_url.startswith("https://127.0.0.1:")
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):  # the system's CAs do not
            urllib.request.urlopen(venue.base_url + "/fapi/v1/time", timeout=10)
        with pytest.raises(ccxt.NetworkError) as refused:  # nor ccxt's own (certifi)
            ccxt.binanceusdm({**venue.ccxt_config(), "validateServerSsl": True}).fetch_time()
        assert "CERTIFICATE_VERIFY_FAILED" in str(refused.value.__cause__)
        plain = venue.base_url.replace("https://", "http://")
        with pytest.raises((urllib.error.URLError, ConnectionError)):  # no plain HTTP on the port
            urllib.request.urlopen(plain + "/fapi/v1/time", timeout=10).read()
        assert ccxt.binanceusdm(venue.ccxt_config()).fetch_time() > 0
