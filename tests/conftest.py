"""Shared test settings."""

import os
import shutil

import pytest
from hypothesis import HealthCheck, settings

# Timing varies on shared CI machines; properties are about behaviour, not speed.
settings.register_profile(
    "robust", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], max_examples=200
)
settings.load_profile("robust")


def require_binary(*names: str) -> str:
    """The path of the first of ``names`` found on PATH (or given as an absolute path).

    A missing binary skips the test on a developer's machine, but fails it in CI (``CI=true``),
    where ``.ci/system-packages`` installs every binary the suite uses.
    """
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = f"none of {', '.join(names)} is installed (Debian packages: see .ci/system-packages)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
