"""Rendering staff-written templates safely: the sandbox, bounded in time and in output size.

Invariant `sandbox-and-safe-headers`: staff templates render in Jinja2's sandbox with autoescape. A
sandbox keeps a template away from Python's internals but not from wasting a worker: ``{{ "x" *
10**9 }}`` or a loop nested three deep would stall (or kill) the process that sends everybody's
mail. So a render here is refused, with a clear error, when it

- builds a string or list longer than ``max_output`` in one operation (``*``, ``**`` are
  intercepted before they allocate),
- produces more than ``max_output`` characters in total, or
- runs longer than ``max_seconds`` (a trace function checks the clock while the template's
  code runs, so even a loop that outputs nothing is stopped).
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from types import FrameType
from typing import Any, cast

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    DictLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from newsletter.i18n import install_jinja_i18n

DEFAULT_MAX_OUTPUT = 2_000_000
DEFAULT_MAX_SECONDS = 2.0
MAX_POWER_EXPONENT = 1_000


class RenderLimitExceeded(ValueError):
    """A staff template tried to use more time or output than a message may; str() says which."""


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with ``*`` and ``**`` checked before they run (they allocate in one step)."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, *args: Any, max_output: int = DEFAULT_MAX_OUTPUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_output = max_output

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, count in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | bytes | list | tuple)
                    and isinstance(count, int)
                    and len(sequence) * count > self.max_output
                ):
                    raise RenderLimitExceeded(
                        f"the template builds a value longer than {self.max_output} characters"
                    )
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_POWER_EXPONENT:
            raise RenderLimitExceeded("the template raises a number to a huge power")
        return super().call_binop(context, operator, left, right)


def build_staff_environment(
    templates_dir: Path,
    overrides: tuple[tuple[str, str], ...] = (),
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> BoundedSandbox:
    """A sandbox loading ``templates_dir``; HTML autoescaped (text files are plain text).

    ``overrides`` are (template name, source) pairs that shadow files of the same name: a
    template saved in the console, which still extends the shipped ``email/_base`` layout.
    """
    loader: BaseLoader = FileSystemLoader(str(templates_dir))
    if overrides:
        loader = ChoiceLoader([DictLoader(dict(overrides)), loader])
    environment = BoundedSandbox(
        loader=loader,
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        max_output=max_output,
    )
    install_jinja_i18n(environment)
    return environment


@functools.lru_cache(maxsize=32)
def staff_environment(
    templates_dir: Path,
    max_output: int = DEFAULT_MAX_OUTPUT,
    overrides: tuple[tuple[str, str], ...] = (),
) -> BoundedSandbox:
    """The sending engine's sandbox, cached per process and per template version.

    Compiled templates are reused across batches and campaigns (Jinja reloads a file that
    changed); a newly saved console version is a new ``overrides`` key, hence a new compile.
    """
    return build_staff_environment(templates_dir, overrides, max_output)


class _Deadline:
    """A trace function that raises once the clock passes the deadline (checked every few lines)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.events = 0
        self.armed = True

    def __call__(self, frame: FrameType, event: str, arg: object) -> Callable[..., Any] | None:
        if not self.armed:  # frames keep their tracer: once disarmed, stay silent
            return None
        self.events += 1
        if self.events % 64 == 0 and time.monotonic() > self.deadline:
            self.armed = False
            raise RenderLimitExceeded(f"the template took longer than {self.seconds:g} s to render")
        return self


def render_bounded(
    template: Template,
    context: Mapping[str, Any],
    *,
    max_output: int = DEFAULT_MAX_OUTPUT,
    max_seconds: float = DEFAULT_MAX_SECONDS,
) -> str:
    """Render ``template`` chunk by chunk, refusing too much output or too much time."""
    chunks: list[str] = []
    size = 0
    deadline = _Deadline(max_seconds)
    previous = sys.gettrace()
    sys.settrace(deadline)
    generator = cast(Generator[str, None, None], template.generate(**context))
    try:
        for chunk in generator:
            size += len(chunk)
            if size > max_output:
                raise RenderLimitExceeded(
                    f"the template produced more than {max_output} characters"
                )
            chunks.append(chunk)
    finally:
        # Disarm before anything else runs: a suspended generator frame keeps the tracer,
        # and must not raise later (when garbage-collected somewhere unrelated).
        deadline.armed = False
        sys.settrace(previous)
        generator.close()
    return "".join(chunks)
