"""Fixtures of the bounce tests: a real Dovecot IMAP server (tests/bounces/dovecot.py)."""

from tests.bounces.dovecot import dovecot

__all__ = ["dovecot"]
