"""The two kinds of failure a user can meet: bad input, and a configuration that cannot run."""

from __future__ import annotations


class CmperfError(Exception):
    """Base class of every error cmperf reports to users without a traceback."""

    exit_code = 2


class SpecError(CmperfError):
    """Bad input: names the file and the key path, says what was expected."""

    def __init__(self, file: str, path: str, message: str) -> None:
        self.file, self.path, self.message = file, path, message
        where = f"{file}: {path}: " if path else f"{file}: "
        super().__init__(_capped(where + message))


MAX_MESSAGE = 2000  # a last guard: values in messages are already cut to about 100 characters


def _capped(text: str) -> str:
    if len(text) <= MAX_MESSAGE:
        return text
    return text[: MAX_MESSAGE - 25] + " ... (message cut short)"


class InfeasibleError(CmperfError):
    """A well-formed configuration that cannot run (memory exceeded, placement impossible)."""

    exit_code = 1
