"""Failure classes: what went wrong with an order, decided by exception type first.

ccxt and freqtrade exception types come first (walking the ``__cause__``/``__context__`` chain and
each exception's class hierarchy by name, so this module imports neither); the exchange's error codes
(from the exchange dialect's table) refine a type that is too coarse (freqtrade wraps most ccxt errors in ``TemporaryError``, and ccxt
itself raises a plain ``ExchangeError`` for codes it does not map); the message text is the last
resort. Each class has a policy: retry with backoff, look at the position before deciding, or
escalate to chunked closes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import Enum


class FailureClass(str, Enum):
    RATE_LIMIT = "rate_limit"
    NETWORK = "network"  # timeouts, lost responses, disconnects
    UNAVAILABLE = "unavailable"  # exchange down, maintenance, symbol halted
    INSUFFICIENT_MARGIN = "insufficient_margin"
    POSITION_REJECTED = "position_rejected"  # reduce-only rejected, position not found
    LIMITS = "limits"  # quantity, notional or precision outside the market's limits
    UNKNOWN = "unknown"


class FailurePolicy(str, Enum):
    RETRY = "retry"  # back off, then try again
    VERIFY_THEN_DECIDE = "verify_then_decide"  # look at the exchange position before any retry
    ESCALATE = "escalate"  # a full close cannot work: close in chunks


POLICY: dict[FailureClass, FailurePolicy] = {
    FailureClass.RATE_LIMIT: FailurePolicy.RETRY,
    FailureClass.NETWORK: FailurePolicy.RETRY,
    FailureClass.UNAVAILABLE: FailurePolicy.RETRY,
    FailureClass.UNKNOWN: FailurePolicy.RETRY,
    FailureClass.INSUFFICIENT_MARGIN: FailurePolicy.VERIFY_THEN_DECIDE,
    FailureClass.POSITION_REJECTED: FailurePolicy.VERIFY_THEN_DECIDE,
    FailureClass.LIMITS: FailurePolicy.ESCALATE,
}

# Exception class names (ccxt and freqtrade) -> class, most specific first.
_BY_TYPE: tuple[tuple[str, FailureClass], ...] = (
    ("RateLimitExceeded", FailureClass.RATE_LIMIT),
    ("DDoSProtection", FailureClass.RATE_LIMIT),
    ("DDosProtection", FailureClass.RATE_LIMIT),  # freqtrade's spelling
    ("InsufficientFunds", FailureClass.INSUFFICIENT_MARGIN),
    ("InsufficientFundsError", FailureClass.INSUFFICIENT_MARGIN),
    ("OnMaintenance", FailureClass.UNAVAILABLE),
    ("ExchangeNotAvailable", FailureClass.UNAVAILABLE),
    ("RequestTimeout", FailureClass.NETWORK),
    ("NetworkError", FailureClass.NETWORK),
    ("OperationFailed", FailureClass.NETWORK),
    ("OrderNotFound", FailureClass.POSITION_REJECTED),
)
# Types too coarse to decide alone: a code or the message decides; else this fallback.
_COARSE: dict[str, FailureClass] = {
    "InvalidOrder": FailureClass.UNKNOWN,
    "InvalidOrderException": FailureClass.UNKNOWN,
    "BadRequest": FailureClass.UNKNOWN,
    "OperationRejected": FailureClass.UNKNOWN,
    "ExchangeError": FailureClass.UNKNOWN,
    "TemporaryError": FailureClass.NETWORK,
    "RetryableOrderError": FailureClass.NETWORK,
}

Codes = Mapping[int, FailureClass]
"""An exchange's error codes and what they mean; each exchange dialect supplies its own."""

_NO_CODES: Mapping[int, FailureClass] = {}

_TEXT: tuple[tuple[str, FailureClass], ...] = (
    ("too many requests", FailureClass.RATE_LIMIT),
    ("rate limit", FailureClass.RATE_LIMIT),
    ("reduceonly", FailureClass.POSITION_REJECTED),
    ("reduce only", FailureClass.POSITION_REJECTED),
    ("reduce-only", FailureClass.POSITION_REJECTED),
    ("margin is insufficient", FailureClass.INSUFFICIENT_MARGIN),
    ("insufficient", FailureClass.INSUFFICIENT_MARGIN),
    ("notional", FailureClass.LIMITS),
    ("lot size", FailureClass.LIMITS),
    ("lot_size", FailureClass.LIMITS),
    ("precision", FailureClass.LIMITS),
    ("max quantity", FailureClass.LIMITS),
    ("min quantity", FailureClass.LIMITS),
    ("timed out", FailureClass.NETWORK),
    ("timeout", FailureClass.NETWORK),
    ("maintenance", FailureClass.UNAVAILABLE),
)

# one level of nested objects allowed: Bybit's envelope carries "result":{} and "retExtInfo":{}
_OBJECT_PART = r"(?:[^{}]|\{[^{}]*\})"
_CODE = re.compile(r"\{" + _OBJECT_PART + r'*?"(?:code|retCode)"\s*:\s*"?(-?\d+)"?' + _OBJECT_PART + r"*\}")
_RETRY_AFTER = re.compile(r"retry[- ]after[\"']?\s*[:=]?\s*[\"']?(\d+(?:\.\d+)?)", re.IGNORECASE)


@dataclass(frozen=True)
class Failure:
    """A classified failure of one order attempt."""

    failure_class: FailureClass
    code: int | None
    message: str
    retry_after: float | None
    exception_type: str

    @property
    def policy(self) -> FailurePolicy:
        return POLICY[self.failure_class]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["failure_class"] = self.failure_class.value
        return data


def exchange_code(message: str) -> int | None:
    """The exchange's error code in a ccxt message such as ``binanceusdm {"code":-2022,"msg":"..."}``
    or ``bybit {"retCode":110007,"retMsg":"..."}``."""
    match = _CODE.search(message or "")
    if not match:
        return None
    try:
        data = json.loads(match.group(0))
        return int(data.get("code", data.get("retCode")))
    except (ValueError, TypeError, AttributeError):
        return int(match.group(1))


def classify_parts(type_names: Sequence[str], code: int | None, message: str, codes: Codes = _NO_CODES) -> FailureClass:
    """Decide from exception class names (outermost first, each with its bases), the exchange's code
    (looked up in ``codes``, the exchange dialect's table), a message."""
    names = list(type_names)
    for name, failure_class in _BY_TYPE:
        if name in names:
            if failure_class in (FailureClass.NETWORK,) and code in codes:
                return codes[code]  # e.g. TemporaryError("... -2019 ...") from a plain ExchangeError
            return failure_class
    if code in codes:
        return codes[code]
    lowered = (message or "").lower()
    for text, failure_class in _TEXT:
        if text in lowered:
            return failure_class
    for name in names:
        if name in _COARSE:
            return _COARSE[name]
    return FailureClass.UNKNOWN


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def classify(exc: BaseException, retry_after: float | None = None, codes: Codes = _NO_CODES) -> Failure:
    """Classify ``exc`` (and the exceptions it was raised from); ``codes`` is the exchange's table."""
    chain = list(_chain(exc))
    innermost_first = list(reversed(chain))  # the original ccxt error is the most specific
    names = [klass.__name__ for e in innermost_first for klass in type(e).__mro__]
    message = " | ".join(str(e) for e in chain)
    code = next((c for c in (exchange_code(str(e)) for e in innermost_first) if c is not None), None)
    if retry_after is None:
        for e in chain:
            value = getattr(e, "retry_after", None)
            if isinstance(value, int | float):
                retry_after = float(value)
                break
        else:
            match = _RETRY_AFTER.search(message)
            retry_after = float(match.group(1)) if match else None
    return Failure(classify_parts(names, code, message, codes), code, message[:500], retry_after, type(exc).__name__)
