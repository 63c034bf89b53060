"""The package's layers, read from its imports: every arrow points down, and the core stays pure.

Layers, top to bottom: ``tools`` > ``report`` > ``adapter`` > ``store`` > ``core``; ``venue`` stands
beside them and imports only the core (the tools start it as a process).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "robust_plugin"

# What each layer may import from the package (besides itself).
ALLOWED = {
    "core": set(),
    "store": {"core"},
    "adapter": {"core", "store"},
    "report": {"core", "store"},
    "venue": {"core"},
    "tools": {"core", "store", "adapter", "report", "venue"},
}
# Third-party libraries that do I/O, draw, or belong to freqtrade/ccxt: never in the core.
IMPURE = {"freqtrade", "ccxt", "sqlalchemy", "alembic", "prometheus_client", "aiohttp", "rich", "plotly", "requests"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules(layer: str) -> list[Path]:
    return sorted(p for p in (PACKAGE / layer).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_layer_imports_only_the_layers_below_it(layer):
    for path in _modules(layer):
        for name in _imports(path):
            parts = name.split(".")
            if parts[0] != "robust_plugin" or len(parts) < 2 or parts[1] in (layer, "monitoring"):
                continue
            assert parts[1] in ALLOWED[layer], f"{path.relative_to(PACKAGE)} imports {name} (upward or sideways)"


def test_the_core_imports_no_io_library():
    for path in _modules("core"):
        for name in _imports(path):
            assert name.split(".")[0] not in IMPURE, f"{path.relative_to(PACKAGE)} imports {name}"


def test_the_package_top_level_holds_only_layers():
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert loose == []
