"""Supporters: who they are, what they agreed to, which lists they follow."""
