"""Shared test settings."""

from hypothesis import HealthCheck, settings

# Timing varies on shared CI machines; properties are about behaviour, not speed.
settings.register_profile(
    "robust", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], max_examples=200
)
settings.load_profile("robust")
