"""Binance request signing: HMAC-SHA256 over the query string and body, checked as Binance checks it."""

from __future__ import annotations

import hashlib
import hmac
import re
import time

from robust_plugin.venue import errors

_SIGNATURE = re.compile(r"(^|&)signature=([0-9a-fA-F]*)")


def _strip_signature(raw: str) -> tuple[str, str | None]:
    match = _SIGNATURE.search(raw)
    if not match:
        return raw, None
    stripped = raw[: match.start()] + raw[match.end() :]
    return stripped.lstrip("&") if match.group(1) == "" else stripped, match.group(2)


class Credentials:
    """The API keys the venue accepts (key → secret). Secrets are never logged or shown."""

    def __init__(self, keys: dict[str, str] | None = None):
        self._keys = dict(keys or {})

    def __repr__(self) -> str:
        return f"Credentials({len(self._keys)} key(s))"

    def __bool__(self) -> bool:
        return bool(self._keys)

    def secret(self, api_key: str | None) -> str | None:
        """The secret of ``api_key``, or None for a key the venue does not know (for other signing dialects)."""
        return self._keys.get(api_key) if api_key else None

    def verify(self, api_key: str | None, query: str, body: str, params: dict, now: float | None = None) -> None:
        """Raise :class:`VenueError` unless the request is signed with a known key, in time."""
        if not api_key:
            raise errors.VenueError(-2014, "API-key format invalid.", 401)
        secret = self._keys.get(api_key)
        if secret is None:
            raise errors.VenueError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
        query_rest, query_sig = _strip_signature(query)
        body_rest, body_sig = _strip_signature(body)
        signature = query_sig or body_sig
        if not signature:
            raise errors.missing("signature")
        if "timestamp" not in params:
            raise errors.missing("timestamp")
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", 5000))
        except ValueError:
            raise errors.VenueError(-1100, "Illegal characters found in parameter 'timestamp'.") from None
        if not 0 < recv_window <= 60000:
            raise errors.VenueError(-1131, "recvWindow must be less than 60000")
        expected = hmac.new(secret.encode(), (query_rest + body_rest).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            raise errors.VenueError(-1022, "Signature for this request is not valid.")
        server_ms = int((now if now is not None else time.time()) * 1000)
        if timestamp >= server_ms + 1000 or server_ms - timestamp > recv_window:
            raise errors.VenueError(-1021, "Timestamp for this request is outside of the recvWindow.")
