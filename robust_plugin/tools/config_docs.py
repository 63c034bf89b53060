"""Markdown tables of the ``robust_plugin`` config keys, generated from the config model.

``python -m robust_plugin.tools.config_docs [SECTION]`` prints them; the README embeds them between
``<!-- config:SECTION -->`` markers and a test keeps the two identical, so the docs cannot drift.
"""

from __future__ import annotations

import sys

from pydantic import BaseModel

from robust_plugin.core.config import SECTION, PluginConfig

SECTIONS = ("aged", "closing", "settlement", "reconcile", "entry_guard", "alerts", "store", "metrics")


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if isinstance(value, list):
        return f"`{value!r}`".replace("'", '"')
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def table(section: str) -> str:
    model = PluginConfig.model_fields[section].annotation
    assert isinstance(model, type) and issubclass(model, BaseModel)
    lines = ["| key | default | meaning |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        lines.append(f"| `{SECTION}.{section}.{name}` | {_default(model, name)} | {field.description or ''} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    for section in args or SECTIONS:
        if section not in SECTIONS:
            print(f"unknown section {section!r}; known: {', '.join(SECTIONS)}", file=sys.stderr)
            return 2
        print(f"<!-- config:{section} -->\n{table(section)}\n<!-- /config:{section} -->\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
