"""Fixtures of the discreet-edition tests: worker fleets, and the service over real HTTP."""

from tests.journey.conftest import start_service
from tests.sending.workers import fleet_factory

__all__ = ["fleet_factory", "start_service"]
