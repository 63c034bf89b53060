"""The README's config tables and config.example.json cannot drift from the config model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from robust_plugin.core.config import PluginConfig, parse_plugin_config
from robust_plugin.tools.config_docs import SECTIONS, table

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("section", SECTIONS)
def test_readme_config_tables_are_generated_from_the_model(section):
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- config:{section} -->\n(.*?)\n<!-- /config:{section} -->", readme, re.S)
    assert match, f"README lacks the {section} table (python -m robust_plugin.tools.config_docs {section})"
    assert match.group(1).strip() == table(section)


def test_the_example_config_documents_exactly_the_defaults():
    section = json.loads((ROOT / "config.example.json").read_text())["robust_plugin"]
    assert parse_plugin_config(section) == PluginConfig()
    for name in SECTIONS:
        assert set(section[name]) == set(PluginConfig.model_fields[name].annotation.model_fields), name
