"""Fixtures of the content tests: worker fleets with per-test settings (from the sending tests)."""

from tests.sending.workers import fleet_factory

__all__ = ["fleet_factory"]
