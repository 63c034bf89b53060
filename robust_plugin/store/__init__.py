"""The plugin's own database: events, alerts and findings, apart from freqtrade's tables."""

from robust_plugin.store.engine import StoreConfigError
from robust_plugin.store.repository import Event, EventStore, default_url

__all__ = ["Event", "EventStore", "StoreConfigError", "default_url"]
