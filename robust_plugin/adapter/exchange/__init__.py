"""The exchange boundary and its dialects: the only code that touches freqtrade's exchange object."""

from robust_plugin.adapter.exchange.boundary import ExchangeBoundary, dialect_for

__all__ = ["ExchangeBoundary", "dialect_for"]
