"""Bybit V5 request signing: HMAC-SHA256 over timestamp + key + recv window + query (GET) or body (POST).

The key, timestamp, window and signature come in the ``X-BAPI-*`` headers. A timestamp outside the
window is refused with 10002 before the signature is looked at, an unknown key with 10003, a wrong
signature with 10004, as Bybit refuses them.
"""

from __future__ import annotations

import hashlib
import hmac
import time

from robust_plugin.venue.auth import Credentials
from robust_plugin.venue.bybit_errors import BybitError

DEFAULT_RECV_WINDOW = 5000


def verify(credentials: Credentials, headers, method: str, query: str, body: str, now: float | None = None) -> None:
    """Raise :class:`BybitError` unless the request is signed with a known key, in time."""
    api_key = headers.get("X-BAPI-API-KEY")
    secret = credentials.secret(api_key)
    if secret is None:
        raise BybitError(10003, "API key is invalid.")
    raw_timestamp = headers.get("X-BAPI-TIMESTAMP", "")
    raw_window = headers.get("X-BAPI-RECV-WINDOW", "")
    try:
        timestamp = int(raw_timestamp)
        recv_window = int(raw_window) if raw_window else DEFAULT_RECV_WINDOW
    except ValueError:
        raise BybitError(10001, "params error: X-BAPI-TIMESTAMP or X-BAPI-RECV-WINDOW invalid") from None
    server_ms = int((now if now is not None else time.time()) * 1000)
    if not server_ms - recv_window <= timestamp < server_ms + 1000:
        raise BybitError(
            10002,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{timestamp}],server_timestamp[{server_ms}],recv_window[{recv_window}]",
        )
    payload = raw_timestamp + api_key + raw_window + (body if method == "POST" else query)
    expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    signature = headers.get("X-BAPI-SIGN", "")
    if not hmac.compare_digest(expected, signature.lower()):
        raise BybitError(
            10004, "error sign! Please check your signature generation algorithm (timestamp + key + window + query)."
        )
