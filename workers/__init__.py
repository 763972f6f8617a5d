"""Celery shells around the ``newsletter`` package: configuration and thin tasks."""
