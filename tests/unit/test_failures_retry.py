"""Failure classes from real ccxt/freqtrade exceptions, and the composable retry policy."""

from __future__ import annotations

import ccxt
import pytest
from freqtrade import exceptions as ft
from hypothesis import given
from hypothesis import strategies as st

from robust_plugin.adapter.exchange.binance import ERROR_CODES as BINANCE_CODES
from robust_plugin.adapter.exchange.bybit import ERROR_CODES as BYBIT_CODES
from robust_plugin.core.failures import Failure, FailureClass, FailurePolicy, classify, exchange_code
from robust_plugin.core.retry import default_policy, stop_after_attempt, wait_exponential, wait_retry_after


def wrapped(outer: type[BaseException], inner: BaseException) -> BaseException:
    """``outer`` raised from ``inner``, as freqtrade's Exchange.create_order does."""
    try:
        try:
            raise inner
        except BaseException as error:
            raise outer(f"Could not place order: {error}") from error
    except BaseException as error:  # noqa: BLE001 - the test returns whatever was raised
        return error


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (
            wrapped(ft.DDosProtection, ccxt.RateLimitExceeded("binanceusdm 429 Too Many Requests")),
            FailureClass.RATE_LIMIT,
        ),
        (wrapped(ft.TemporaryError, ccxt.RequestTimeout("binanceusdm POST timed out")), FailureClass.NETWORK),
        (
            wrapped(ft.TemporaryError, ccxt.OperationFailed('binanceusdm {"code":-1001,"msg":"Internal error"}')),
            FailureClass.NETWORK,
        ),
        (
            wrapped(ft.TemporaryError, ccxt.ExchangeNotAvailable("binanceusdm 502 Bad Gateway")),
            FailureClass.UNAVAILABLE,
        ),
        (
            wrapped(
                ft.InsufficientFundsError,
                ccxt.InsufficientFunds('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}'),
            ),
            FailureClass.INSUFFICIENT_MARGIN,
        ),
        (
            wrapped(
                ft.InvalidOrderException,
                ccxt.InvalidOrder('binanceusdm {"code":-2022,"msg":"ReduceOnly Order is rejected."}'),
            ),
            FailureClass.POSITION_REJECTED,
        ),
        (
            wrapped(
                ft.TemporaryError,
                ccxt.BadRequest('binanceusdm {"code":-4005,"msg":"Quantity greater than max quantity."}'),
            ),
            FailureClass.LIMITS,
        ),
        (
            wrapped(
                ft.InvalidOrderException,
                ccxt.InvalidOrder('binanceusdm {"code":-4164,"msg":"Order\'s notional must be no smaller than 5"}'),
            ),
            FailureClass.LIMITS,
        ),
        # ccxt against a loopback host raises a plain ExchangeError for -2019: the code still decides
        (
            wrapped(
                ft.TemporaryError, ccxt.ExchangeError('binanceusdm {"code":-2019,"msg":"Margin is insufficient."}')
            ),
            FailureClass.INSUFFICIENT_MARGIN,
        ),
        (wrapped(ft.TemporaryError, ccxt.ExchangeError("something odd")), FailureClass.UNKNOWN),
        (ValueError("no idea"), FailureClass.UNKNOWN),
    ],
)
def test_real_exception_chains_are_classified_by_type_then_code(exception, expected):
    assert classify(exception, codes=BINANCE_CODES).failure_class is expected


def test_policies_say_what_to_do():
    assert classify(ccxt.RequestTimeout("x")).policy is FailurePolicy.RETRY
    assert classify(ccxt.InsufficientFunds("x")).policy is FailurePolicy.VERIFY_THEN_DECIDE
    assert classify(ccxt.BadRequest('{"code":-4005,"msg":"x"}'), codes=BINANCE_CODES).policy is FailurePolicy.ESCALATE


def test_exchange_codes_and_retry_after_are_read_from_messages():
    assert exchange_code('binanceusdm {"code":-2022,"msg":"ReduceOnly Order is rejected."}') == -2022
    assert exchange_code('bybit {"retCode":110017,"retMsg":"reduce-only rule not satisfied"}') == 110017
    assert exchange_code("no json here") is None
    assert classify(ccxt.RateLimitExceeded("429 Retry-After: 7")).retry_after == 7.0
    assert classify(ccxt.RateLimitExceeded("429"), retry_after=3).retry_after == 3


def failure(retry_after=None, cls=FailureClass.NETWORK) -> Failure:
    return Failure(cls, None, "x", retry_after, "X")


@given(st.integers(1, 40), st.floats(0.1, 10), st.floats(1, 4), st.floats(10, 1000))
def test_exponential_waits_never_decrease_and_never_exceed_the_cap(attempt, initial, multiplier, maximum):
    wait = wait_exponential(initial, multiplier, maximum)
    assert wait(attempt, failure()) <= wait(attempt + 1, failure()) <= maximum


@given(st.integers(1, 20), st.one_of(st.none(), st.floats(0, 600)))
def test_retry_after_is_never_undercut(attempt, retry_after):
    wait = wait_retry_after(wait_exponential(1, 2, 60))
    delay = wait(attempt, failure(retry_after))
    assert delay >= (retry_after or 0)
    assert delay >= wait_exponential(1, 2, 60)(attempt, failure())


def test_the_policy_stops_and_refuses_escalation_classes():
    policy = default_policy(max_attempts=3, initial=1, maximum=10)
    assert policy.next_delay(1, failure()) == 1
    assert policy.next_delay(2, failure(retry_after=5)) == 5
    assert policy.next_delay(3, failure()) is None  # stopped
    assert policy.next_delay(1, failure(cls=FailureClass.LIMITS)) is None  # escalate, do not retry
    assert stop_after_attempt(2)(2) and not stop_after_attempt(2)(1)


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        # Bybit's quantity and notional refusals escalate instead of being retried as "unknown"
        (
            wrapped(ft.TemporaryError, ccxt.BadRequest('bybit {"retCode":10001,"retMsg":"Qty invalid"}')),
            FailureClass.LIMITS,
        ),
        (
            wrapped(
                ft.InvalidOrderException,
                ccxt.InvalidOrder('bybit {"retCode":110094,"retMsg":"Order does not meet minimum order value"}'),
            ),
            FailureClass.LIMITS,
        ),
        (
            wrapped(
                ft.InvalidOrderException,
                ccxt.InvalidOrder('bybit {"retCode":110017,"retMsg":"Reduce-only rule not satisfied"}'),
            ),
            FailureClass.POSITION_REJECTED,
        ),
        (
            wrapped(
                ft.InsufficientFundsError, ccxt.InsufficientFunds('bybit {"retCode":110007,"retMsg":"ab not enough"}')
            ),
            FailureClass.INSUFFICIENT_MARGIN,
        ),
        (
            wrapped(ft.DDosProtection, ccxt.RateLimitExceeded('bybit {"retCode":10006,"retMsg":"Too many visits!"}')),
            FailureClass.RATE_LIMIT,
        ),
    ],
)
def test_bybit_refusals_are_classified_by_type_then_bybit_code(exception, expected):
    assert classify(exception, codes=BYBIT_CODES).failure_class is expected
    if expected is FailureClass.LIMITS:  # without Bybit's table the quantity refusal was retried blindly
        assert classify(exception, codes=BINANCE_CODES).failure_class is not FailureClass.LIMITS
