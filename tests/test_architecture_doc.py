"""docs/architecture.md stays the map of the code.

The invariants the code names are the ones the map defines, each kept by at least one module;
every package the map names exists; no code or doc points at an issue number instead of a domain.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "architecture.md"
CODE_DIRS = ("newsletter", "workers")
NAMED = re.compile(r"[Ii]nvariants? ((?:`[a-z-]+`(?:, | and )?)+)")


def _code_files() -> list[Path]:
    return [path for folder in CODE_DIRS for path in (ROOT / folder).rglob("*.py")]


def _defined() -> set[str]:
    return set(re.findall(r"^- `([a-z-]+)`:", MAP.read_text("utf-8"), flags=re.MULTILINE))


def _named_in_code() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in _code_files():
        text = " ".join(path.read_text("utf-8").split())  # docstrings wrap mid-phrase
        for group in NAMED.findall(text):
            for name in re.findall(r"`([a-z-]+)`", group):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_invariant_the_code_names_is_defined_in_the_map() -> None:
    defined = _defined()
    assert len(defined) >= 10
    unknown = {name: files for name, files in _named_in_code().items() if name not in defined}
    assert not unknown


def test_every_invariant_in_the_map_is_kept_by_a_module_that_says_so() -> None:
    named = _named_in_code()
    assert not [name for name in _defined() if name not in named]


def test_no_numbered_invariants_remain_in_the_code() -> None:
    numbered = re.compile(r"[Ii]nvariants? \d")
    assert not [str(p) for p in _code_files() if numbered.search(p.read_text("utf-8"))]


def test_every_package_the_map_names_exists() -> None:
    paths = set(re.findall(r"`((?:newsletter|workers|templates|static|alembic)/[\w/.]*)`",
                           MAP.read_text("utf-8")))  # fmt: skip
    assert paths
    missing = [path for path in paths if not (ROOT / path.split("<")[0]).exists()]
    assert not missing


def test_no_issue_numbers_in_code_or_docs() -> None:
    pattern = re.compile(r"\b[Ii]ssues? #?\d+")
    files = _code_files() + list((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]
    files += list((ROOT / "alembic").rglob("*.py")) + list((ROOT / "templates").rglob("*.*"))
    for folder in ("tests", "benchmarks"):
        files += list((ROOT / folder).rglob("*.py"))
    files += [path for path in (ROOT / "scripts").iterdir() if path.is_file()]
    files += [ROOT / ".env.example", ROOT / "docker-compose.yml", ROOT / "pyproject.toml"]
    assert len(files) > 300
    assert not [str(p) for p in files if pattern.search(p.read_text("utf-8", errors="replace"))]
