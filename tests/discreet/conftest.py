"""Fixtures of the discreet-edition tests: worker fleets with per-test settings."""

from tests.sending.workers import fleet_factory

__all__ = ["fleet_factory"]
