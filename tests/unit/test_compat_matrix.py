"""The pure parts of ``make compat`` (robust_plugin.tools.compat_matrix) and the pins around it."""

from __future__ import annotations

import re
from pathlib import Path

from robust_plugin.adapter import compat
from robust_plugin.tools.compat_matrix import ENDS, RELEASES, Outcome, changes_to, release_spec, summary

ROOT = Path(__file__).resolve().parents[2]


def _item(name: str, version: str) -> dict:
    return {"metadata": {"name": name, "version": version}}


def test_a_report_that_installs_freqtrade_or_ccxt_is_caught():
    report = {"install": [_item("robust_plugin", "0.1.0"), _item("alembic", "1.20.1"), _item("CCXT", "4.5.91")]}
    assert changes_to(report) == ["CCXT 4.5.91"]
    report["install"].append(_item("freqtrade", "2026.9"))
    assert changes_to(report) == ["CCXT 4.5.91", "freqtrade 2026.9"]
    assert changes_to({"install": [_item("robust_plugin", "0.1.0"), _item("freqtrade-client", "2026.9")]}) == []
    assert changes_to({}) == []


def test_the_releases_are_the_supported_range_month_by_month():
    assert RELEASES == ("2026.4", "2026.5", "2026.6", "2026.7", "2026.8", "2026.9")
    assert (RELEASES[0], RELEASES[-1]) == ENDS == compat.supported_range()
    assert release_spec("2026.5") == "freqtrade==2026.5.*"  # 2026.5.1 too


def test_the_makefile_pins_the_newest_release_for_the_dev_venv_and_tests_both_ends():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^FREQTRADE_VERSION \?= (\S+)$", makefile, re.M)[1] == compat.NEWEST
    assert re.search(r"^VERSIONS \?= (.+)$", makefile, re.M)[1].split() == list(ENDS)
    assert "ccxt==" in (ROOT / "constraints" / "dev.txt").read_text()


def test_the_summary_says_what_happened():
    good = Outcome("2026.4", Path("v"), {"freqtrade": "2026.4"}, {"freqtrade": "2026.4", "ccxt": "4.5.90"})
    good.tests, good.seconds = "passed", 300
    bad = Outcome("2026.9", Path("w"), problems=["installing the plugin would install ccxt 4.5.91"])
    text = summary([good, bad])
    assert "2026.4   2026.4 / 4.5.90" in text and "left both untouched" in text and "passed" in text
    assert "CHANGED THEM" in text and "2026.9: installing the plugin would install ccxt 4.5.91" in text
    assert text.splitlines()[-1] == "compat: 1 passed, 1 failed"


def test_the_quick_subset_names_tests_that_exist():
    """CI runs ``--quick`` under the oldest release: a renamed test must not silently drop out of it."""
    import re
    from pathlib import Path

    from robust_plugin.tools.compat_matrix import QUICK, TESTS

    root = Path(__file__).resolve().parents[2]
    for entry in QUICK:
        path, _, name = entry.partition("::")
        assert path in TESTS, f"{path} is not in the full compatibility set"
        source = (root / path).read_text()
        assert not name or re.search(rf"^def {name}\(", source, re.M), f"{entry} names no test"
