"""Jinja2 environments.

System emails and pages are written by developers and load from ``templates/``; they get a
normal environment with autoescape for HTML. Staff-written templates (a later issue) get the
sandboxed environment (invariant `sandbox-and-safe-headers`). Both are built once per process and
cached.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from newsletter.i18n import install_jinja_i18n


@functools.cache
def system_environment(templates_dir: Path) -> Environment:
    """The environment for the project's own templates (email and web)."""
    environment = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=select_autoescape(["html", "htm", "xml"], default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    install_jinja_i18n(environment)
    return environment


def sandboxed_environment() -> ImmutableSandboxedEnvironment:
    """A fresh sandbox for staff-authored templates: no Python internals, autoescape on."""
    return ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
