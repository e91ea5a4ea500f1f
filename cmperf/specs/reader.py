"""A strict reader over a parsed YAML mapping: every error names the file and the key path.

Each spec class reads its fields through a `Reader`; `done()` rejects keys nobody asked for,
with a did-you-mean, so a misspelt key is an error rather than a silently ignored default.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from pathlib import Path
from typing import Any

import yaml

from ..errors import SpecError
from ..units import EXAMPLES, Dimension, UnitError, check_range, parse_quantity, shown

try:  # the C loader is several times faster; fall back where libyaml is absent
    _BASE_LOADER: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _BASE_LOADER = yaml.SafeLoader

MAX_BYTES = 1_000_000  # a spec is a few kB; a 1 MB document is not one
MAX_NODES = 200_000  # values once aliases are expanded (an alias bomb expands exponentially)
MAX_DEPTH = 64  # nesting of mappings and lists
_MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.YAMLError):
    """A document that is too large, too deep or expands too far to be a spec."""

    def __init__(self, problem: str, kind: str = "refused") -> None:
        super().__init__(problem)
        self.problem, self.kind = problem, kind


class StrictLoader(_BASE_LOADER):  # type: ignore[misc, valid-type]
    """The safe loader, refusing duplicate keys and documents that expand beyond the limits
    (checked on the composed nodes, before anything is constructed)."""

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_size(node)
        return self.construct_document(node)


YAML_LOADER: type = StrictLoader


def _check_duplicates(node: Any) -> None:
    """Refuse a key given twice in one mapping (YAML would keep the last one silently)."""
    seen: dict[tuple[str, str], int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        line, key = key_node.start_mark.line + 1, (key_node.tag, key_node.value)
        if key in seen:
            raise YamlLimitError(
                f"duplicate key {shown(key_node.value)} on line {seen[key]} and line {line}"
                " (YAML would silently keep the last)",
                kind="malformed",
            )
        seen[key] = line


def _check_size(root: Any) -> None:
    """Count the nodes of the document with aliases expanded, and its depth, refusing it past
    the limits; shared nodes are counted once per use but walked once."""
    if isinstance(root, yaml.ScalarNode):
        return
    total = _expanded(root, {}, 0)
    if total > MAX_NODES:
        raise YamlLimitError(
            f"the document expands to more than {MAX_NODES} values once its aliases are "
            "expanded (an alias bomb?)"
        )


def _expanded(node: Any, sizes: dict[int, int], depth: int) -> int:
    known = sizes.get(id(node))
    if known is not None:
        if known < 0:
            raise YamlLimitError("an alias refers to a mapping or list that contains it")
        return known
    if depth > MAX_DEPTH:
        line = node.start_mark.line + 1
        raise YamlLimitError(f"nested more than {MAX_DEPTH} levels deep (at line {line})")
    sizes[id(node)] = -1  # being walked: meeting it again is a cycle
    if isinstance(node, yaml.MappingNode):
        _check_duplicates(node)
        children = [n for pair in node.value for n in pair]
    else:
        children = node.value
    total = 1
    for child in children:
        total += 1 if isinstance(child, yaml.ScalarNode) else _expanded(child, sizes, depth + 1)
        if total > MAX_NODES:
            break  # no need to count further: the caller refuses it
    sizes[id(node)] = total
    return total


def parse_yaml(text: str, file: str, what: str = "YAML") -> Any:
    """A document parsed with the strict loader; errors are SpecErrors naming `file`."""
    if len(text) > MAX_BYTES:
        raise SpecError(file, "", f"{what} is {len(text)} characters, more than {MAX_BYTES}")
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except YamlLimitError as exc:
        raise SpecError(file, "", f"{exc.kind} {what}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise SpecError(file, "", f"malformed {what}: {_yaml_problem(exc)}") from None
    except RecursionError:
        raise SpecError(file, "", f"malformed {what}: nested too deeply") from None


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return f"{where}{problem}"


def load_yaml(path: Path) -> Any:
    _check_file(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise SpecError(str(path), "", "file not found") from None
    except OSError as exc:
        raise SpecError(str(path), "", f"cannot read: {exc.strerror}") from None
    if len(raw) > MAX_BYTES:
        raise SpecError(str(path), "", f"file is larger than {MAX_BYTES} bytes: not a spec")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(str(path), "", f"not UTF-8 text (byte {exc.start})") from None
    return parse_yaml(text, str(path))


def not_a_file(path: Path) -> str | None:
    """What a path given as a file is instead (a folder, a device), or None."""
    if path.is_dir():
        return "a folder, not a spec file"
    if path.exists() and not path.is_file():
        return "not a regular file (a device or a pipe?)"
    return None


def _check_file(path: Path) -> None:
    problem = not_a_file(path)
    if problem is not None:
        raise SpecError(str(path), "", f"is {problem}")


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
                raise SpecError(file, path, f"key {shown(key)} is not a name: keys are text")
        self.data: dict[str, Any] = data
        self._used: set[str] = set()
        self._optional: set[str] = set()  # keys asked about with has(): allowed, maybe absent

    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, message: str) -> SpecError:
        return SpecError(self.file, self.key_path(key), message)

    def has(self, key: str) -> bool:
        self._optional.add(key)
        return key in self.data

    def raw(self, key: str, default: Any = ..., *, expected: str = "") -> Any:
        """The key's value as parsed; `expected` describes it for the error when it is
        required and absent."""
        self._used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is ...:
                raise self._missing(key, expected)
            return default
        return self.data[key]

    def _missing(self, key: str, expected: str) -> SpecError:
        """A required key is absent or empty. Where an unread key is a near miss of it
        (`kv_lén` for `kv_len`), that misspelling is the error to show."""
        wanted = f"; expected {expected}" if expected else ""
        if key in self.data:  # `key:` with nothing after it, or `--set key=`
            return self.error(key, f"the value is empty, but this key is required{wanted}")
        for other in self.data:
            if other not in self._used and _near_miss(other, key):
                return self.error(other, f"unknown key (did you mean {key!r}?)")
        return self.error(key, "missing required key")

    def sub(self, key: str, default: Any = ...) -> Reader:
        value = self.raw(key, default, expected="a mapping of keys")
        return Reader(value, self.file, self.key_path(key))

    def quantity(self, key: str, dimension: Dimension, default: Any = ...) -> float:
        dim = Dimension(dimension)
        like = f'a {dim.value.replace("_", " ")} like "{EXAMPLES[dim]}"'
        value = self.raw(key, default, expected=like)
        if value is default and default is not ...:
            return value
        try:
            result = check_range(parse_quantity(value, dimension), dimension, value)
        except UnitError as exc:
            raise self.error(key, str(exc)) from None
        if result <= 0:
            raise self.error(key, f"must be positive, got {shown(value)}")
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
        value = _numeric(self.raw(key, default, expected="a number"))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"expected a number, got {shown(value)}")
        value = float(value)
        if not math.isfinite(value) or value < low or value > high or (low_open and value == low):
            bound = "(" if low_open else "["
            raise self.error(key, f"expected a number in {bound}{low:g}, {high:g}], got {value!r}")
        return value

    def integer(
        self, key: str, default: Any = ..., *, low: int = 1, high: int | None = None
    ) -> int:
        value = _numeric(self.raw(key, default, expected="a whole number"), whole=True)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected a whole number, got {shown(value)}")
        if value < low or (high is not None and value > high):
            top = "" if high is None else f" and at most {high}"
            raise self.error(key, f"expected a whole number of at least {low}{top}, got {value}")
        return value

    def string(
        self, key: str, default: Any = ..., *, choices: list[str] | None = None
    ) -> str | None:
        expected = f"one of {', '.join(choices)}" if choices else "a string"
        value = self.raw(key, default, expected=expected)
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {shown(value)}")
        if choices is not None and value not in choices:
            hint = did_you_mean(value, choices)
            raise self.error(key, f"expected one of {', '.join(choices)}; got {shown(value)}{hint}")
        return value

    def names(self) -> list[str]:
        self._used.update(self.data)
        return list(self.data)

    def done(self, known: list[str] | None = None) -> None:
        """Reject any key that was not read, naming the allowed keys: `known`, else those
        read and those asked about (optional keys such as `kernels`, read only if present)."""
        for key in self.data:
            if key not in self._used:
                choices = known if known is not None else sorted(self._used | self._optional)
                raise self.error(
                    key,
                    f"unknown key{did_you_mean(key, choices)}; "
                    f"expected one of: {', '.join(sorted(choices))}",
                )


# YAML 1.1 reads `1e9` and `1e-9` (an exponent without a dot) as strings; they are numbers.
_EXPONENT = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _numeric(value: Any, whole: bool = False) -> Any:
    """`1e-9` as a number; with `whole`, `1e3` as an int (and `1.5e0` left as a float)."""
    if not isinstance(value, str) or not _EXPONENT.match(value.strip()):
        return value
    number = float(value)
    if whole and number.is_integer() and abs(number) < 2.0**53:
        return int(number)
    return number


def _near_miss(word: str, key: str) -> bool:
    """A slip of one or two letters (`kv_lén`, `kvlen` for `kv_len`), not a longer key that
    merely shares most of its name (`memory_capacity_bytes` is no typo of `memory_bytes`)."""
    allowed = 1 if len(key) < 8 else 2
    if abs(len(word) - len(key)) > allowed:
        return False
    previous = list(range(len(key) + 1))
    for i, a in enumerate(word, 1):
        current = [i]
        for j, b in enumerate(key, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a != b)))
        previous = current
    return previous[-1] <= allowed


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (empty)"
    if isinstance(value, list):
        return "a list"
    return shown(value)


@functools.lru_cache(maxsize=64)
def shown_path(path: str) -> str:
    """A spec file as users know it: relative to the working directory where it is below it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path
