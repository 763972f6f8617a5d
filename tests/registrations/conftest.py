"""Fixtures of the registration tests: worker fleets with per-test settings (clock included)."""

from collections.abc import Iterator

import pytest

from newsletter import clock
from tests.sending.workers import fleet_factory

__all__ = ["fleet_factory"]


@pytest.fixture(autouse=True)
def _real_clock_afterwards() -> Iterator[None]:
    """An app created with a clock offset moves this process's clock; put it back."""
    yield
    clock.set_offset(0)
