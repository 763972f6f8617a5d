"""The Dockerfile read as data: its stages, and the build stage's files replayed without Docker.

No container engine runs where the tests run. What the image contains is derived from the
Dockerfile itself: :func:`replay_build_context` copies, from the checkout into a folder, exactly
the files the build stage's ``COPY`` instructions take from the build context (minus what
``.dockerignore`` drops), so the wheel the tests build from that folder is the wheel the image
installs. A source folder the Dockerfile forgets is then missing from the wheel, and the
smoke test of tests/test_wheel_install.py fails on the page that needed it.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from newsletter.config import PROJECT_ROOT

DOCKERFILE = PROJECT_ROOT / "Dockerfile"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"


@dataclass
class Stage:
    """One ``FROM`` of the Dockerfile and the instructions that follow it."""

    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def arguments(self, keyword: str) -> list[str]:
        return [arguments for kw, arguments in self.instructions if kw == keyword]


def instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    found, current = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        keyword, _, arguments = (current + line).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        current = ""
    return found


def stages(path: Path = DOCKERFILE) -> list[Stage]:
    result: list[Stage] = []
    for keyword, arguments in instructions(path):
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            result.append(Stage(base=words[0], name=name))
        elif result:
            result[-1].instructions.append((keyword, arguments))
    return result


@dataclass(frozen=True)
class Copy:
    """A ``COPY``: its sources, its destination and the stage it copies from (None: context)."""

    sources: tuple[str, ...]
    destination: str
    from_stage: str | None


def copies(stage: Stage) -> list[Copy]:
    result = []
    for arguments in stage.arguments("COPY"):
        words = shlex.split(arguments)
        options = [word for word in words if word.startswith("--")]
        paths = [word for word in words if not word.startswith("--")]
        from_stage = next(
            (option.split("=", 1)[1] for option in options if option.startswith("--from=")), None
        )
        result.append(Copy(tuple(paths[:-1]), paths[-1], from_stage))
    return result


def _ignore_patterns() -> list[re.Pattern[str]]:
    patterns = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            raise NotImplementedError(f".dockerignore exception {line!r}: not replayed here")
        patterns.append(_pattern(line.strip("/")))
    return patterns


def _pattern(glob: str) -> re.Pattern[str]:
    """Docker's matching: ``*`` and ``?`` stay within one path segment, ``**`` spans any."""
    regex = ""
    index = 0
    while index < len(glob):
        if glob.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif glob.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif glob[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif glob[index] == "?":
            regex, index = regex + "[^/]", index + 1
        elif glob[index] == "[":
            end = glob.index("]", index)
            regex, index = regex + glob[index : end + 1], end + 1
        else:
            regex, index = regex + re.escape(glob[index]), index + 1
    return re.compile(regex + "(?:/.*)?")  # a matched folder drops everything inside it


def ignored(relative: PurePosixPath, patterns: list[re.Pattern[str]]) -> bool:
    return any(pattern.fullmatch(str(relative)) for pattern in patterns)


def replay_build_context(stage: Stage, target: Path, context: Path = PROJECT_ROOT) -> list[str]:
    """Copy what ``stage`` takes from the build context into ``target`` (its WORKDIR).

    Returns the sources copied. Symbolic links are copied as links, as Docker does.
    """
    patterns = _ignore_patterns()
    workdirs = stage.arguments("WORKDIR")
    if len(workdirs) != 1:
        raise NotImplementedError("one WORKDIR per build stage is what this replay knows")
    copied = []
    for copy in copies(stage):
        if copy.from_stage is not None:
            continue
        destination = target / copy.destination.removeprefix(workdirs[0]).lstrip("/")
        for source in copy.sources:
            for path in sorted(context.glob(source.rstrip("/"))):
                relative = PurePosixPath(path.relative_to(context).as_posix())
                if ignored(relative, patterns):
                    continue
                copied.append(str(relative))
                if path.is_dir() and not path.is_symlink():
                    shutil.copytree(
                        path,
                        destination,
                        symlinks=True,
                        dirs_exist_ok=True,
                        ignore=_ignore_under(path, context, patterns),
                    )
                else:
                    into = destination
                    if copy.destination.endswith("/"):
                        into = destination / path.name
                    into.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, into, follow_symlinks=False)
    return copied


def _ignore_under(root: Path, context: Path, patterns: list[re.Pattern[str]]):  # type: ignore[no-untyped-def]
    def ignore(folder: str, names: list[str]) -> set[str]:
        base = Path(folder).relative_to(context)
        return {n for n in names if ignored(PurePosixPath((base / n).as_posix()), patterns)}

    return ignore


def wheel_build(stage: Stage) -> tuple[list[str], str]:
    """The ``pip wheel`` of ``stage``: its arguments (without the wheel folder) and that folder."""
    for arguments in stage.arguments("RUN"):
        for command in re.split(r"&&|;", arguments):
            words = shlex.split(command)
            if words[:2] == ["pip", "wheel"]:
                rest, folder = words[2:], None
                for option in ("--wheel-dir", "-w"):
                    if option in rest:
                        at = rest.index(option)
                        folder = rest[at + 1]
                        del rest[at : at + 2]
                if folder is None:
                    raise AssertionError("the build stage's `pip wheel` names no --wheel-dir")
                return rest, folder
    raise AssertionError("the build stage runs no `pip wheel`")
