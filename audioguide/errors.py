"""One error hierarchy. Every problem a user can fix is an AudioguideError that knows its file and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


def display_path(path: Path | str) -> str:
    """A path as the user would type it: relative to the working directory when it is below it."""
    p = Path(path)
    if not p.is_absolute():
        return str(p)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def listed(names: list[str], shown: int = 3) -> str:
    """`a, b, c and 2 more`: the first few of a list of names, for a one-line message."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: `path:line: message`."""

    path: Path | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = display_path(self.path)
        if self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.message}"


class AudioguideError(Exception):
    """A problem the user can fix; the CLI prints it as one line, without a traceback."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        self.problem = Problem(path, message, line)
        super().__init__(str(self.problem))

    @property
    def problems(self) -> list[Problem]:
        return [self.problem]


class _Several(AudioguideError):
    """Several problems at once, each printed on its own line; the summary says how many."""

    summary = "{n} {problems}"

    def __init__(self, problems: list[Problem]) -> None:
        self._problems = problems
        n = len(problems)
        super().__init__(self.summary.format(n=n, problems="problem" if n == 1 else "problems",
                                             tracks="track" if n == 1 else "tracks"))

    @property
    def problems(self) -> list[Problem]:
        return self._problems


class GuideInvalid(_Several):
    """The guide (configuration or scripts) has one or more problems; nothing was built."""

    summary = "{n} {problems} in the guide"


class EngineError(AudioguideError):
    """A speech engine failed for a track."""


class EngineUnreachable(EngineError):
    """A network engine cannot reach its service at all; the next engine in the list takes over."""


class BuildError(_Several):
    """Some tracks failed; the rest were built."""

    summary = "{n} {tracks} failed"
