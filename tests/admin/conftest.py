"""Staff-console tests: release every app's database connections after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.admin.helpers import CREATED_APPS


@pytest.fixture(autouse=True)
def _dispose_apps() -> Iterator[None]:
    yield
    while CREATED_APPS:
        CREATED_APPS.pop().state.engine.dispose()
