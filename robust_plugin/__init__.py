"""robust_plugin: keeps a freqtrade strategy's futures positions from being lost.

``from robust_plugin import RobustMixin`` is resolved lazily so that the pure core modules and the
exchange venue can be imported without importing freqtrade.
"""

__all__ = ["RobustMixin", "__version__"]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name == "RobustMixin":
        from robust_plugin.adapter.mixin import RobustMixin

        return RobustMixin
    raise AttributeError(f"module 'robust_plugin' has no attribute {name!r}")
