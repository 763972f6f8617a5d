"""Where the runtime files are found: inside the installed package, never the checkout.

Templates, static files, Alembic migrations and the translation catalogues are package data:
the wheel carries them under ``newsletter/`` and they are read through
:mod:`importlib.resources`, so an install in any virtualenv, run from any folder, finds its
own copies. In the checkout the folders stay at the top level (``templates/``, ``static/``,
``alembic/``); ``newsletter/templates``, ``newsletter/static`` and ``newsletter/alembic`` are
symbolic links to them, so an editable install reads the same paths the wheel ships.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The folders of package data (pyproject.toml's package-data ships each of them).
RUNTIME_FOLDERS = ("templates", "static", "alembic", "locale")


def package_folder(name: str) -> Path:
    """The folder ``name`` of the installed package, as a real path on disk.

    Jinja, Starlette's static files and Alembic need directories, so a package imported from
    a zip archive (which has none) is refused here, at start-up, with the reason.
    """
    if name not in RUNTIME_FOLDERS:
        raise ValueError(f"not a runtime folder of the package: {name!r}")
    resource = files("newsletter") / name
    if not isinstance(resource, Path) or not resource.is_dir():
        raise RuntimeError(
            f"the newsletter package has no folder {name!r} on disk ({resource}); "
            "install it from its wheel unpacked (pip install), not as a zip archive"
        )
    return resource
