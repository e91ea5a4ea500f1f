"""A strict reader over a parsed YAML mapping: every error names the file and the key path.

Each spec class reads its fields through a `Reader`; `done()` rejects keys nobody asked for,
with a did-you-mean, so a misspelt key is an error rather than a silently ignored default.
"""

from __future__ import annotations

import difflib
import functools
import math
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from ..units import Dimension, UnitError, parse_quantity

try:  # the C loader is several times faster; fall back where libyaml is absent
    YAML_LOADER: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    YAML_LOADER = yaml.SafeLoader


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(str(path), "", "file not found") from None
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(str(path), "", f"malformed YAML: {where}{problem}") from None


def did_you_mean(word: object, choices: list[str] | set[str] | tuple[str, ...]) -> str:
    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(
        word, [c for c in choices if isinstance(c, str)], n=1, cutoff=0.6
    )
    return f" (did you mean {close[0]!r}?)" if close else ""


class Reader:
    """Reads typed fields from one mapping of a spec file, tracking the key path."""

    def __init__(self, data: Any, file: str, path: str = "") -> None:
        self.file, self.path = file, path
        if not isinstance(data, dict):
            raise SpecError(file, path, f"expected a mapping of keys, got {_kind(data)}")
        for key in data:
            if not isinstance(key, str):
                raise SpecError(file, path, f"key {key!r} is not a name: keys are text")
        self.data: dict[str, Any] = data
        self._used: set[str] = set()

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> SpecError:
        return SpecError(self.file, self.key_path(key), message)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = ...) -> Any:
        self._used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self.error(key, "missing required key")
            return default
        return self.data[key]

    def sub(self, key: str, default: Any = ...) -> Reader:
        return Reader(self.raw(key, default), self.file, self.key_path(key))

    def quantity(self, key: str, dimension: Dimension, default: Any = ...) -> float:
        value = self.raw(key, default)
        if value is default and default is not ...:
            return value
        try:
            result = parse_quantity(value, dimension)
        except UnitError as exc:
            raise self.error(key, str(exc)) from None
        if result <= 0:
            raise self.error(key, f"must be positive, got {value!r}")
        return result

    def number(
        self,
        key: str,
        default: Any = ...,
        *,
        low: float = 0.0,
        high: float = math.inf,
        low_open: bool = False,
    ) -> float:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            bound = "(" if low_open else "["
            raise self.error(key, f"expected a number in {bound}{low:g}, {high:g}], got {value!r}")
        return value

    def integer(
        self, key: str, default: Any = ..., *, low: int = 1, high: int | None = None
    ) -> int:
        value = self.raw(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected a whole number, got {value!r}")
        if value < low or (high is not None and value > high):
            top = "" if high is None else f" and at most {high}"
            raise self.error(key, f"expected a whole number of at least {low}{top}, got {value}")
        return value

    def string(
        self, key: str, default: Any = ..., *, choices: list[str] | None = None
    ) -> str | None:
        value = self.raw(key, default)
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {value!r}")
        if choices is not None and value not in choices:
            hint = did_you_mean(value, choices)
            raise self.error(key, f"expected one of {', '.join(choices)}; got {value!r}{hint}")
        return value

    def names(self) -> list[str]:
        self._used.update(self.data)
        return list(self.data)

    def done(self, known: list[str] | None = None) -> None:
        """Reject any key that was not read."""
        for key in self.data:
            if key not in self._used:
                choices = known if known is not None else sorted(self._used)
                raise self.error(
                    key,
                    f"unknown key{did_you_mean(key, choices)}; "
                    f"expected one of: {', '.join(sorted(choices))}",
                )


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (empty)"
    if isinstance(value, list):
        return "a list"
    return f"{value!r}"


@functools.lru_cache(maxsize=64)
def shown_path(path: str) -> str:
    """A spec file as users know it: relative to the working directory where it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path
