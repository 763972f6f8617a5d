"""Seeing the service run: Prometheus metrics, JSON logs, error reporting, the system view.

Nothing here carries personal data: metric labels are kinds and ids, log lines carry ids, and
error reports are scrubbed of addresses before they leave (see each module).
"""
