"""Exit statuses of the command line: 0 a result, 1 infeasible, 2 bad input, and 3 for a bug
in cmperf, which still ends in one line on stderr (the console entry point catches it)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import DECODE, assert_error, assert_infeasible, invoke

from cmperf import cli


def test_ok_infeasible_and_bad_input() -> None:
    assert invoke("estimate", DECODE, "--no-ops").exit_code == 0
    assert_infeasible(invoke("estimate", DECODE, "--set", "decode.batch_per_device=100000"))
    assert_error(invoke("estimate", DECODE, "--set", "decode.kv_len=-1"), "decode.kv_len")


def _crash() -> None:
    raise RuntimeError("boom\nsecond line")


def test_a_bug_is_one_line_with_status_3(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "app", _crash)
    monkeypatch.setattr(cli._State, "debug", False)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert err.startswith("cmperf: internal error: RuntimeError: boom second line (a bug")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_debug_shows_the_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """--debug adds the traceback and keeps the status: still 3 for a bug."""
    monkeypatch.setattr(cli, "app", _crash)
    monkeypatch.setattr(cli._State, "debug", True)
    with pytest.raises(SystemExit) as info:
        cli.main()
    assert info.value.code == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err
    assert err.splitlines()[-1].startswith("cmperf: internal error: RuntimeError: boom")


def test_error_messages_are_one_line() -> None:
    """A message with a line break (here from a key containing one) is folded onto one line."""
    result = invoke("estimate", DECODE, "--set", "decode.batch_per_device=8\n9")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1


def test_a_closed_pipe_is_not_an_error() -> None:
    """`cmperf ... | head`: the reader goes away; no traceback, no internal-error line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "cmperf", "validate", "--format", "markdown"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    assert proc.wait(timeout=60) == 1
    assert proc.stderr.read() == b""
