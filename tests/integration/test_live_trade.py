"""freqtrade ``trade`` in live mode against the venue: a futures trade opens and closes, and the
exchange's ground truth matches freqtrade's database."""

from __future__ import annotations

import pytest

from robust_plugin.venue.process import run_venue
from tests.integration.live_harness import (
    all_trades_closed,
    freqtrade_db,
    live_config,
    run_trade,
    stops_done,
    venue_state,
)

pytestmark = pytest.mark.integration
KEY, SECRET = "live-key", "live-secret"


def test_live_futures_trade_round_trip_matches_the_ground_truth(tmp_path, sample_datadir):
    with run_venue(sample_datadir, api_key=KEY, api_secret=SECRET) as venue:
        config = live_config(venue, tmp_path, KEY, SECRET, ["BTC/USDT:USDT"])

        def closed() -> bool:
            state = venue_state(venue)
            # and freqtrade has recorded it: on a loaded machine the venue's fill comes well before that
            return (
                len(state["fills"]) >= 2
                and not state["positions"]
                and all_trades_closed(tmp_path)
                and stops_done(state)
            )

        log = run_trade(config, tmp_path, sample_datadir, "RehearsalStrategy", until=closed)
        truth = venue_state(venue)
    assert closed_ok(truth), log[-3000:]
    db = freqtrade_db(tmp_path)
    [trade] = db["trades"]
    assert trade["is_open"] == 0 and trade["exit_reason"] == "rehearsal_exit", trade
    venue_orders = {str(o["order_id"]): o for o in truth["orders"]}
    fills_by_order = {}
    for fill in truth["fills"]:
        fills_by_order.setdefault(str(fill["order_id"]), []).append(fill)
    market_orders = [o for o in db["orders"] if o["ft_order_side"] in ("buy", "sell")]
    assert len(market_orders) == 2
    for order in market_orders:  # every order freqtrade knows is the venue's, with the same fill
        theirs = venue_orders[order["order_id"]]
        assert theirs["status"] == "FILLED"
        assert float(theirs["executed_qty"]) == pytest.approx(order["filled"])
        fills = fills_by_order[order["order_id"]]
        average = sum(float(f["price"]) * float(f["qty"]) for f in fills) / sum(float(f["qty"]) for f in fills)
        assert average == pytest.approx(order["average"])
    assert {o["origin"] for o in truth["orders"]} == {"api"}
    assert len(truth["orders"]) == 2, "the venue executed an order freqtrade does not know"
    entry_fill = fills_by_order[market_orders[0]["order_id"]][0]
    assert float(entry_fill["qty"]) == pytest.approx(trade["amount"])
    assert trade["open_rate"] == pytest.approx(float(entry_fill["price"]))
    # stoploss on exchange: placed through the algo-order API, cancelled when the trade exited
    [stop] = truth["algo_orders"]
    assert stop["order_type"] == "STOP_MARKET" and stop["reduce_only"] and stop["algo_status"] == "CANCELED"
    assert any(o["ft_order_side"] == "stoploss" and o["order_id"] == str(stop["algo_id"]) for o in db["orders"])
    realized = sum(float(f["realized_pnl"]) - float(f["commission"]) for f in truth["fills"])
    assert trade["close_profit_abs"] == pytest.approx(realized, abs=0.01)
    assert "Traceback" not in log


def closed_ok(truth: dict) -> bool:
    return len(truth["fills"]) >= 2 and not truth["positions"]
