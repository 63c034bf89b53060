"""The exchange code is read from the whole answer ccxt quotes, nested objects included: Bybit's
envelope always carries ``"result":{}`` and ``"retExtInfo":{}`` around the retCode."""

from __future__ import annotations

import ccxt
import pytest

from robust_plugin.adapter.exchange.bybit import ERROR_CODES
from robust_plugin.core.failures import FailureClass, classify, exchange_code

ENVELOPE = 'bybit {{"retCode":{code},"retMsg":"{msg}","result":{{}},"retExtInfo":{{}},"time":1796316843549}}'


@pytest.mark.parametrize(
    ("code", "msg", "failure_class"),
    [
        (10001, "The number of contracts exceeds maximum limit allowed", FailureClass.LIMITS),
        (110007, "ab not enough for new order", FailureClass.INSUFFICIENT_MARGIN),
        (110017, "current position is zero, cannot fix reduce-only order qty", FailureClass.POSITION_REJECTED),
        (10006, "Too many visits. Exceeded the API Rate Limit.", FailureClass.RATE_LIMIT),
    ],
)
def test_a_bybit_envelope_gives_its_ret_code(code, msg, failure_class):
    message = ENVELOPE.format(code=code, msg=msg)
    assert exchange_code(message) == code
    error = ccxt.bybit().exceptions["exact"][str(code)](message)
    failure = classify(error, codes=ERROR_CODES)
    assert (failure.code, failure.failure_class) == (code, failure_class)


def test_other_shapes_still_read():
    assert exchange_code('binanceusdm {"code":-2022,"msg":"ReduceOnly Order is rejected."}') == -2022
    assert exchange_code('bybit {"retCode":"110017","retMsg":"x","result":{"a":1},"retExtInfo":{}}') == 110017
    assert exchange_code("bybit {}") is None and exchange_code("no json here") is None
