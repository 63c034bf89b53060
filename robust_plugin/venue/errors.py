"""Binance's error answers: ``{"code": -2019, "msg": "Margin is insufficient."}`` with its HTTP status."""

from __future__ import annotations


class VenueError(Exception):
    """A request the venue refuses, as Binance refuses it."""

    def __init__(self, code: int, msg: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = headers or {}

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


def missing(name: str) -> VenueError:
    return VenueError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def bad_value(name: str) -> VenueError:
    return VenueError(-1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'.")


def invalid_symbol() -> VenueError:
    return VenueError(-1121, "Invalid symbol.")


def unknown_order() -> VenueError:
    return VenueError(-2013, "Order does not exist.")


def cancel_rejected() -> VenueError:
    return VenueError(-2011, "Unknown order sent.")


def insufficient_margin() -> VenueError:
    return VenueError(-2019, "Margin is insufficient.")


def reduce_only_rejected() -> VenueError:
    return VenueError(-2022, "ReduceOnly Order is rejected.")


def precision(field: str = "quantity") -> VenueError:
    if field == "price":
        return VenueError(-4014, "Price not increased by tick size.")
    return VenueError(-1111, "Precision is over the maximum defined for this asset.")


def quantity_below_zero() -> VenueError:
    return VenueError(-4003, "Quantity less than or equal to zero.")


def quantity_below_min() -> VenueError:
    return VenueError(-4004, "Quantity less than min quantity.")


def quantity_above_max() -> VenueError:
    return VenueError(-4005, "Quantity greater than max quantity.")


def min_notional(notional: str) -> VenueError:
    return VenueError(-4164, f"Order's notional must be no smaller than {notional} (unless you choose reduce only).")


def duplicate_client_id() -> VenueError:
    return VenueError(-4116, "ClientOrderId is duplicated.")


def invalid_client_id() -> VenueError:
    return VenueError(-4015, "Client order id is not valid.")


def post_only_rejected() -> VenueError:
    return VenueError(-5022, "Due to the order could not be executed as maker, the Post Only order will be rejected.")


def symbol_halted() -> VenueError:
    return VenueError(-4141, "Symbol is closed.")


def disconnected() -> VenueError:
    return VenueError(-1001, "Internal error; unable to process your request. Please try again.", 503)


def rate_limited(retry_after: int, status: int = 429) -> VenueError:
    msg = "Too many requests; current limit is 2400 requests per minute. Please use the websocket for live updates."
    if status == 418:
        msg = f"Way too many requests; IP banned until {retry_after} seconds from now. Please use the websocket for live updates."
    return VenueError(-1003, msg, status, {"Retry-After": str(retry_after)})
