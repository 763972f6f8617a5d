"""Fixtures of the bounce tests: a real Dovecot IMAP server (tests/bounces/dovecot.py) and the
sending engine's worker fleets (for the end-to-end acceptance test)."""

from tests.bounces.dovecot import dovecot
from tests.sending.workers import fleet_factory

__all__ = ["dovecot", "fleet_factory"]
