"""What an opening store does to reach the newest schema, for every shape a store can be in (pure)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from robust_plugin.store.schema_plan import BASELINE, UnknownRevisionError, plan_upgrade

revision_lists = st.integers(min_value=1, max_value=8).map(lambda n: [f"{i:04d}" for i in range(1, n + 1)])


def _apply(plan, current, has_table):
    """The revision a store ends at, and whether the events table exists, after following ``plan``."""
    if plan.stamp is not None:
        assert has_table and current is None, "only a legacy store is stamped"
        current = plan.stamp
    if plan.upgrade_to is not None:
        current, has_table = plan.upgrade_to, True
    return current, has_table


@given(revisions=revision_lists, data=st.data())
def test_every_known_store_ends_at_the_target_or_newer_without_a_downgrade(revisions, data):
    target = data.draw(st.sampled_from(revisions))
    current = data.draw(st.sampled_from([None, *revisions]))
    has_table = True if current is not None else data.draw(st.booleans())
    plan = plan_upgrade(has_events_table=has_table, current=current, revisions=revisions, target=target)
    final, final_table = _apply(plan, current, has_table)
    assert final_table
    assert revisions.index(final) == max(revisions.index(target), revisions.index(current) if current else -1)
    if current is not None:
        assert plan.stamp is None  # a recorded revision is never overwritten
        assert plan.nothing_to_do == (revisions.index(current) >= revisions.index(target))


@given(revisions=revision_lists, data=st.data())
def test_a_legacy_store_is_adopted_as_the_baseline_and_an_empty_one_is_built_from_nothing(revisions, data):
    target = data.draw(st.sampled_from(revisions))
    legacy = plan_upgrade(has_events_table=True, current=None, revisions=revisions, target=target)
    assert legacy.stamp == BASELINE
    assert legacy.upgrade_to == (None if target == BASELINE else target)
    empty = plan_upgrade(has_events_table=False, current=None, revisions=revisions, target=target)
    assert empty.stamp is None and empty.upgrade_to == target


@given(revisions=revision_lists, stranger=st.text(min_size=1, max_size=12))
def test_a_revision_from_a_newer_plugin_is_refused_with_what_to_do(revisions, stranger):
    assume(stranger not in revisions)
    with pytest.raises(UnknownRevisionError, match="upgrade robust_plugin") as error:
        plan_upgrade(has_events_table=True, current=stranger, revisions=revisions, target=revisions[-1])
    assert repr(stranger) in str(error.value)
