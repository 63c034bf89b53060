"""The backtest benchmark judges the mixin's cost on the runs that shared a round's load: one lucky
run of the plain strategy must not decide the verdict, and a real slowdown in every round must."""

from __future__ import annotations

import pytest

from robust_plugin.tools.bench import BACKTEST_DAYS, DORMANT, backtest_summary


def _summary(plain, dormant, active=None):
    active = active or [d * 1.2 for d in dormant]
    return backtest_summary(
        {"plain": plain, "mixin_dormant": dormant, "mixin_active": active},
        {"plain": plain, "mixin_dormant": dormant, "mixin_active": active},
        {"plain": 10, "mixin_dormant": 10, "mixin_active": 12},
        pairs=10,
        days=60,
    )


def test_one_lucky_plain_run_does_not_decide_the_ratio():
    # round 1's plain run was 6 % faster than everything else; every round's pair is even
    r = _summary(plain=[3.8, 4.2, 4.2, 4.3, 4.2], dormant=[3.8, 4.2, 4.2, 4.3, 4.2])
    r_lucky = _summary(plain=[3.6, 4.2, 4.2, 4.3, 4.2], dormant=[3.8, 4.2, 4.2, 4.3, 4.2])
    assert r["ratio"] == pytest.approx(1.0) and r_lucky["ratio"] == pytest.approx(1.0)
    assert r_lucky["ratio_best"] == pytest.approx(3.8 / 3.6)  # still shown, not judged
    assert r_lucky["ratio_per_round"]["max"] == pytest.approx(3.8 / 3.6)


def test_a_slowdown_in_every_round_is_the_ratio():
    plain = [4.0, 4.4, 4.1, 4.2, 4.3]
    r = _summary(plain=plain, dormant=[p * 1.05 for p in plain])
    assert r["ratio"] == pytest.approx(1.05) and r["ratio"] > r["goal"]
    assert r["ratio_cpu"] == pytest.approx(1.05)
    assert r["seconds"]["plain"] == pytest.approx(4.2)  # the median run, as printed
    assert r["best_seconds"]["plain"] == pytest.approx(4.0)


def test_the_dormant_mixin_is_a_valid_section_whose_policy_never_fires_on_the_benchmarks_data():
    import json

    from robust_plugin.core.config import parse_plugin_config
    from robust_plugin.tools.backtest_env import EXAMPLE_CONFIG, deep_merge

    section = deep_merge(json.loads(EXAMPLE_CONFIG.read_text())["robust_plugin"], DORMANT)
    assert parse_plugin_config(section).aged.max_age > BACKTEST_DAYS * 86400
