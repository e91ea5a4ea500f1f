"""`cmperf list`: the specs cmperf ships and those of the working folder, one line each.

Specs are found where `cmperf.specs.resolve` looks them up by name: the spec folders of the
working folder (hardware_specs/, model_specs/, scenarios/) before cmperf's own. The working
folder's own *.yaml files are listed too where they are specs (named by their file name): a
hardware spec by its `kind:` (device or cluster), a model spec by `kind: model` or its
`attention:` and `hidden:` keys, a scenario by its `hardware:` and `model:` keys. Files are
parsed, not loaded: a file that does not parse is listed with its error; one that parses but
would not load is reported by the command that loads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import SpecError
from .common import csv_text, markdown_table

LIST_SCHEMA = "cmperf.list/1"
LIST_COLUMNS = ("name", "kind", "where", "about")
LIST_CSV_COLUMNS = ("group", "name", "kind", "where", "file", "path", "about", "error")
# `cmperf list` groups and the spec folder of each (cmperf.specs.KINDS names them by kind).
GROUPS = {"hardware": "hardware_specs", "models": "model_specs", "scenarios": "scenarios"}
SHIPPED = "shipped"
WORKING = "working folder"
HIDDEN = "shipped (hidden)"  # a working-folder spec of the same name is used instead
UNKNOWN = "?"  # the group or kind of a file that does not parse and does not say
_KIND_LINE = re.compile(r"^kind:\s*([\w-]+)", re.MULTILINE)


@dataclass(frozen=True)
class Entry:
    group: str  # hardware, models, scenarios; UNKNOWN for an unreadable file that does not say
    name: str  # what a command takes: the file's stem in a spec folder, else its file name
    kind: str  # device, cluster, model, scenario; UNKNOWN where the file does not say
    where: str  # SHIPPED, HIDDEN or WORKING
    file: str  # relative to the working folder (working-folder specs) or to cmperf's folder
    path: str  # absolute
    about: str  # the spec's description, else its source, on one line
    error: str | None = None  # why the file cannot be read as a spec

    @property
    def summary(self) -> str:
        return self.about if self.error is None else f"error: {self.error}"


def find_specs(group: str | None, cwd: Path) -> list[Entry]:
    """Every spec of `group` (hardware, models or scenarios; None: all) shipped with cmperf or
    found in `cwd`, group by group: shipped, then the working folder's spec folders, then its
    own files."""
    from ..specs import PACKAGE_DIR

    groups = list(GROUPS) if group is None else [group]
    loose = [e for e in (_loose(p) for p in _yaml(cwd)) if e is not None]
    out: list[Entry] = []
    for g in groups:
        shipped_dir = PACKAGE_DIR / GROUPS[g]
        shipped = [
            _entry(g, p, p.stem, SHIPPED, p.relative_to(PACKAGE_DIR)) for p in _yaml(shipped_dir)
        ]
        local_dir = cwd / GROUPS[g]
        local = []
        if local_dir.is_dir() and local_dir.resolve() != shipped_dir.resolve():
            local = [_entry(g, p, p.stem, WORKING, p.relative_to(cwd)) for p in _yaml(local_dir)]
        names = {e.name for e in local}
        out += [_hidden(e) if e.name in names else e for e in shipped]
        out += local + [e for e in loose if e.group == g]
    return out + [e for e in loose if e.group == UNKNOWN]  # unreadable: of any group


def _yaml(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.yaml") if not p.name.startswith("."))


def _hidden(entry: Entry) -> Entry:
    from dataclasses import replace

    return replace(entry, where=HIDDEN)


def _parsed(path: Path) -> tuple[Any, str | None]:
    """The file's document, or None and why it cannot be read (without the file name)."""
    from ..specs.reader import load_yaml

    try:
        return load_yaml(path), None
    except SpecError as exc:
        where = f"{exc.path}: " if exc.path else ""
        return None, where + exc.message


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _about(data: dict[str, Any]) -> str:
    for key in ("description", "source"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            return _one_line(value)
    return ""


def _kind(group: str, data: dict[str, Any]) -> tuple[str, str | None]:
    """The spec's kind in its group's folder, or UNKNOWN and the problem."""
    if group == "models":
        return "model", None
    if group == "scenarios":
        return "scenario", None
    kind = data.get("kind")
    if kind in ("device", "cluster"):
        return kind, None
    if kind is None:
        return UNKNOWN, "kind: missing; expected device or cluster"
    return UNKNOWN, f"kind: expected device or cluster, got {_one_line(kind)[:40]!r}"


def _entry(group: str, path: Path, name: str, where: str, shown: Path) -> Entry:
    data, error = _parsed(path)
    kind, about = UNKNOWN, ""
    if error is None and not isinstance(data, dict):
        error = "expected a mapping of keys"
    if error is None:
        kind, error = _kind(group, data)
        about = _about(data)
    return Entry(group, name, kind, where, str(shown), str(path.resolve()), about, error)


def _group_of(data: dict[str, Any]) -> tuple[str, str] | None:
    """(group, kind) of a working-folder file that is a spec, or None."""
    kind = data.get("kind")
    if kind in ("device", "cluster"):
        return "hardware", kind
    if kind == "model" or (kind is None and "attention" in data and "hidden" in data):
        return "models", "model"
    if kind is None and "hardware" in data and "model" in data:
        return "scenarios", "scenario"
    return None


def _group_of_text(path: Path) -> tuple[str, str]:
    """(group, kind) of a file that does not parse, from its lines where they say."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return UNKNOWN, UNKNOWN
    match = _KIND_LINE.search(text)
    if match and match.group(1) in ("device", "cluster"):
        return "hardware", match.group(1)
    if match and match.group(1) == "model":
        return "models", "model"
    if re.search(r"^hardware:", text, re.MULTILINE) and re.search(r"^model:", text, re.MULTILINE):
        return "scenarios", "scenario"
    return UNKNOWN, UNKNOWN


def _loose(path: Path) -> Entry | None:
    """A YAML file of the working folder itself, if it is a spec (or might be one)."""
    data, error = _parsed(path)
    absolute = str(path.resolve())
    if error is not None:
        group, kind = _group_of_text(path)
        return Entry(group, path.name, kind, WORKING, path.name, absolute, "", error)
    found = _group_of(data) if isinstance(data, dict) else None
    if found is None:
        return None  # another tool's YAML
    group, kind = found
    return Entry(group, path.name, kind, WORKING, path.name, absolute, _about(data))


def listing_rows(entries: list[Entry]) -> list[list[str]]:
    return [[e.name, e.kind, e.where, e.summary] for e in entries]


def listing_record(entries: list[Entry]) -> dict[str, Any]:
    return {
        "schema": LIST_SCHEMA,
        "specs": [
            {
                "name": e.name,
                "group": e.group,
                "kind": e.kind,
                "where": e.where,
                "file": e.file,
                "path": e.path,
                "about": e.about if e.error is None else None,
                "error": e.error,
            }
            for e in entries
        ],
    }


def listing_csv(entries: list[Entry]) -> str:
    rows = [
        [
            e.group,
            e.name,
            e.kind,
            e.where,
            e.file,
            e.path,
            e.about if e.error is None else "",
            e.error,
        ]
        for e in entries
    ]
    return csv_text(LIST_CSV_COLUMNS, rows)


def listing_markdown(entries: list[Entry]) -> str:
    return markdown_table(LIST_COLUMNS, listing_rows(entries))


def render_listing(entries: list[Entry], console: Any) -> None:
    """One line per spec: the name, kind, where and file whole; the description cut to fit."""
    from rich import box
    from rich.table import Table

    from .common import esc

    if not entries:
        console.print("no specs found")
        return
    table = Table(
        title="cmperf list: specs by name (shipped with cmperf, and in the working folder)",
        title_justify="left",
        caption=f"Name a spec by the name shown. {HIDDEN}: a working-folder spec of the same "
        "name is used instead.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        expand=True,
    )
    for column in LIST_COLUMNS[:-1]:
        table.add_column(column, no_wrap=True)
    table.add_column(LIST_COLUMNS[-1], no_wrap=True, overflow="ellipsis", ratio=1)
    for row in listing_rows(entries):
        table.add_row(*map(esc, row))
    console.print(table)
