"""Client order ids: deterministic per close attempt, unique per bot and per freqtrade database, and
in a form the exchange accepts.

An id names its bot, its trade, the kind of attempt and its number, so a lookup after a lost response
finds exactly this bot's order and no other's. The bot part is a short readable stem of the bot's
name plus a hash of the whole name and of the freqtrade database's identity: two bots called
``binance-bot-1`` and ``binance-bot-2`` never share ids, and a replaced database (whose trade ids
start at 1 again) never reuses an id still in the exchange's history.

Each exchange's rule (length, alphabet, or a 128-bit hex string) is data its dialect supplies.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

_NOT_ALNUM = re.compile(r"[^A-Za-z0-9]")
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class IdRule:
    """What an exchange accepts as a client order id."""

    max_len: int
    separator: str = "-"  # "" where only letters and digits are allowed
    hex128: bool = False  # the id must be a 128-bit hex string ("0x" + 32 hex digits)

    def __post_init__(self) -> None:
        if self.max_len < 16 and not self.hex128:
            raise ValueError("a client id rule needs at least 16 characters")


BINANCE_RULE = IdRule(36)
"""Binance USD-M: up to 36 of ``[.A-Z:/a-z0-9_-]``, unique among open orders."""


def _base36(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, 36)
        out.append(_BASE36[digit])
    return "".join(out)


def bot_tag(bot_name: str, database_identity: str = "") -> str:
    """The bot's part of every id: up to 4 letters of its name and a 6-character hash of the whole
    name and the database identity (e.g. ``bina3k9x0q``)."""
    stem = _NOT_ALNUM.sub("", bot_name).lower()[:4] or "rp"
    digest = hashlib.sha256(f"{bot_name}\x00{database_identity}".encode()).digest()
    return stem + _base36(digest, 6)


def make_id(tag: str, trade_id: int, kind: str, number: int, rule: IdRule = BINANCE_RULE) -> str:
    """The client order id of attempt ``number`` (``kind``: ``x`` full close, ``c`` chunk, ``o`` other)."""
    tag = _NOT_ALNUM.sub("", tag) or "rp"
    logical = f"{tag}{rule.separator}t{trade_id}{rule.separator}{kind}{number}"
    if rule.hex128:
        return "0x" + hashlib.sha256(logical.encode()).hexdigest()[:32]
    if len(logical) <= rule.max_len:
        return logical
    # too long (a very large trade id): keep the readable tail, hash the rest
    digest = _base36(hashlib.sha256(logical.encode()).digest(), 8)
    tail = f"{rule.separator}{kind}{number}"
    return (digest + tail)[-rule.max_len :] if len(digest + tail) > rule.max_len else digest + tail


def is_valid(client_id: str, rule: IdRule) -> bool:
    if rule.hex128:
        return re.fullmatch(r"0x[0-9a-f]{32}", client_id) is not None
    allowed = r"[A-Za-z0-9]" if not rule.separator else r"[A-Za-z0-9" + re.escape(rule.separator) + r"]"
    return 0 < len(client_id) <= rule.max_len and re.fullmatch(f"{allowed}+", client_id) is not None
