"""Retry policy as small composable parts (stop, wait, retry-if), in the spirit of tenacity.

The plugin never sleeps: a wait is the number of seconds during which the exit signal is withheld
(and any exit freqtrade attempts is denied in ``confirm_trade_exit``), counted on freqtrade's loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from robust_plugin.core.failures import Failure, FailureClass, FailurePolicy

Wait = Callable[[int, Failure], float]
Stop = Callable[[int], bool]
RetryIf = Callable[[Failure], bool]


def wait_exponential(initial: float = 2.0, multiplier: float = 2.0, maximum: float = 300.0) -> Wait:
    """``initial`` after the first failure, times ``multiplier`` per further failure, capped."""
    if initial < 0 or multiplier < 1 or maximum < initial:
        raise ValueError("wait_exponential needs 0 <= initial <= maximum and multiplier >= 1")

    def wait(attempt: int, failure: Failure) -> float:
        try:
            return min(maximum, initial * multiplier ** max(0, attempt - 1))
        except OverflowError:  # far past the cap
            return maximum

    return wait


def wait_retry_after(fallback: Wait) -> Wait:
    """The exchange's ``Retry-After`` when it gave one (never less), else ``fallback``."""

    def wait(attempt: int, failure: Failure) -> float:
        base = fallback(attempt, failure)
        return max(base, failure.retry_after) if failure.retry_after is not None else base

    return wait


def wait_max(*waits: Wait) -> Wait:
    def wait(attempt: int, failure: Failure) -> float:
        return max(w(attempt, failure) for w in waits)

    return wait


def stop_after_attempt(attempts: int) -> Stop:
    def stop(done: int) -> bool:
        return done >= attempts

    return stop


def retry_if_class(*classes: FailureClass) -> RetryIf:
    def retry_if(failure: Failure) -> bool:
        return failure.failure_class in classes

    return retry_if


def retry_if_policy(*policies: FailurePolicy) -> RetryIf:
    def retry_if(failure: Failure) -> bool:
        return failure.policy in policies

    return retry_if


@dataclass(frozen=True)
class RetryPolicy:
    stop: Stop
    wait: Wait
    retry_if: RetryIf
    attempts: int | None = None  # the attempt count ``stop`` stops at, when it is a plain count

    def next_delay(self, attempts: int, failure: Failure) -> float | None:
        """Seconds to wait before the next attempt, or None when the policy gives up."""
        if not self.retry_if(failure) or self.stop(attempts):
            return None
        return self.wait(attempts, failure)


def default_policy(max_attempts: int = 10, initial: float = 2.0, maximum: float = 300.0) -> RetryPolicy:
    return RetryPolicy(
        stop=stop_after_attempt(max_attempts),
        attempts=max_attempts,
        wait=wait_retry_after(wait_exponential(initial, 2.0, maximum)),
        retry_if=retry_if_policy(FailurePolicy.RETRY, FailurePolicy.VERIFY_THEN_DECIDE),
    )
