"""A local exchange venue speaking Binance USD-M futures over HTTP.

A separate subpackage: the plugin never imports it at run time. The demo, the benchmarks and the
tests start it as a process (``python -m robust_plugin.venue``) and point ccxt at it.
"""
