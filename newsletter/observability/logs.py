"""JSON log lines that carry ids, never personal data.

Every process (web, worker, beat, inbound, CLI) logs one JSON object per line with the ids of
the work at hand (``campaign_id``, ``delivery_id``, ``batch``, ``task_id``, ``task``) bound with
`log_context`. Code logs ids, codes and counts, not addresses, names or tokens; as a safety net
the formatter also replaces anything shaped like an email address in the message and traceback,
so a library that echoes one (a relay's reply in an exception) cannot leak it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Iterator
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

_EMPTY: dict[str, Any] = {}  # never mutated: bind() always sets a new dict
_CONTEXT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("log_ids", default=_EMPTY)
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
CONTEXT_KEYS = ("campaign_id", "delivery_id", "batch", "task_id", "task", "request_id")


@contextlib.contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Within the block, every log line of this thread or task carries ``ids``."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def bind(**ids: Any) -> contextvars.Token[dict[str, Any]]:
    """Bind ids until `unbind` (for signal pairs such as Celery's task_prerun/postrun)."""
    return _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in ids.items() if v is not None}})


def unbind(token: contextvars.Token[dict[str, Any]]) -> None:
    with contextlib.suppress(ValueError):
        _CONTEXT.reset(token)


def current_ids() -> dict[str, Any]:
    return dict(_CONTEXT.get())


def redact(text: str) -> str:
    return _ADDRESS.sub("[address]", text)


class ContextFilter(logging.Filter):
    """Copies the bound ids onto each record (so the formatter writes them as fields)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _CONTEXT.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines with the message and traceback cleared of email addresses."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingTextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ids = " ".join(f"{key}={getattr(record, key)}" for key in CONTEXT_KEYS
                       if getattr(record, key, None) is not None)  # fmt: skip
        return redact(super().format(record) + (f" [{ids}]" if ids else ""))


def make_handler(log_format: str = "json", stream: IO[str] | None = None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    if log_format == "json":
        handler.setFormatter(
            RedactingJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(process)d %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                timestamp=False,
            )
        )
    else:
        handler.setFormatter(
            RedactingTextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(log_format: str = "json", level: str = "INFO") -> None:
    """Root logger to stderr in ``log_format``; replaces handlers set up before (idempotent)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_newsletter", False):
            root.removeHandler(handler)
    handler = make_handler(log_format)
    handler._newsletter = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's access log writes the full path (tokens) and the client IP: off, see web/app.py
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error", "celery", "celery.app.trace"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
