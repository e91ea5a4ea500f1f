"""Notes a spec reader leaves for the user: a setting it adjusted to the model, and why.

A note is not an error: the run goes on with the adjusted setting, and the command line prints
each note once on stderr (`cmperf: note: ...`) so that the adjustment is never silent.
"""

from __future__ import annotations

_NOTES: list[str] = []


def note(text: str) -> None:
    if text not in _NOTES:
        _NOTES.append(text)


def take() -> list[str]:
    """The notes left since the last call, cleared."""
    out = list(_NOTES)
    _NOTES.clear()
    return out
