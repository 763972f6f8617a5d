"""Fixtures of the registration tests: worker fleets with per-test settings (clock included)."""

from tests.sending.workers import fleet_factory

__all__ = ["fleet_factory"]
