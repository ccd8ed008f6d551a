"""Progress off a terminal: plain lines, at most every ~10 s, plus the first and the last."""

from __future__ import annotations

import pytest

from paretorec.cli import _shared
from paretorec.cli._progress import PlainProgress, duration, plain_progress, plain_spinner


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_counted_work_prints_first_periodic_and_last_lines() -> None:
    clock, lines = FakeClock(), []
    with plain_progress("encoding items", 54_667, clock=clock, write=lines.append) as advance:
        clock.now += 5.0
        advance(2_000)  # 5 s since the first line: quiet
        clock.now += 24.268
        advance(10_000)  # 29.268 s: 12,000 done at 410/s
        clock.now += 3.0
        advance(1_000)  # only 3 s since the last line: quiet
        clock.now += 100.0
        advance(41_667)  # complete: the last line says so, no periodic line before it
    assert lines == [
        "encoding items: 0/54,667 (0%)",
        "encoding items: 12,000/54,667 (21%), 410/s, about 1m44s left",
        "encoding items: 54,667/54,667 (100%), 413/s, done in 2m12s",
    ]


def test_a_line_every_interval_never_more_often() -> None:
    clock, lines = FakeClock(), []
    progress = PlainProgress("steps", 100, clock=clock, write=lines.append, every=10.0)
    for _ in range(100):
        clock.now += 1.0
        progress(1)
    progress.finish()
    assert lines[0] == "steps: 0/100 (0%)"
    assert lines[1] == "steps: 10/100 (10%), 1/s, about 1m30s left"
    assert lines[-2] == "steps: 90/100 (90%), 1/s, about 10s left"
    assert lines[-1] == "steps: 100/100 (100%), 1/s, done in 1m40s"
    assert len(lines) == 1 + 9 + 1


def test_failed_work_says_where_it_stopped() -> None:
    clock, lines = FakeClock(), []
    with (
        pytest.raises(RuntimeError),
        plain_progress("training", 8, clock=clock, write=lines.append),
    ):
        clock.now += 2.5
        raise RuntimeError("boom")
    assert lines == ["training: 0/8 (0%)", "training: stopped at 0/8 (0%) after 2.5s"]


def test_unknown_total_counts_without_percent() -> None:
    clock, lines = FakeClock(), []
    with plain_progress("rows", 0, clock=clock, write=lines.append) as advance:
        clock.now += 12.0
        advance(24)
    assert lines == ["rows: 0", "rows: 24, 2/s", "rows: 24, 2/s, done in 12s"]


def test_spinner_prints_start_and_done_with_elapsed_time() -> None:
    clock, lines = FakeClock(), []
    with plain_spinner("reading data", clock=clock, write=lines.append):
        clock.now += 75.0
    assert lines == ["reading data ...", "reading data: done in 1m15s"]


def test_spinner_says_when_the_work_failed() -> None:
    clock, lines = FakeClock(), []
    with pytest.raises(ValueError), plain_spinner("loading", clock=clock, write=lines.append):
        clock.now += 0.3
        raise ValueError("bad")
    assert lines == ["loading ...", "loading: failed after 0.3s"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0.0s"), (9.94, "9.9s"), (42.4, "42s"), (104.0, "1m44s"), (7500.0, "2h05m")],
)
def test_durations_read_short(seconds: float, text: str) -> None:
    assert duration(seconds) == text


def test_a_nonpositive_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="every must be positive"):
        PlainProgress("x", 1, write=lambda _: None, every=0)


def test_cli_helpers_print_plain_lines_when_stderr_is_not_a_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _shared.spinner("reading folder"):
        pass
    with _shared.progress_bar("encoding items", 3) as advance:
        advance(3)
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "reading folder ..."
    assert err[1].startswith("reading folder: done in ")
    assert err[2] == "encoding items: 0/3 (0%)"
    assert err[3].startswith("encoding items: 3/3 (100%), ")
    assert err[3].split(", done in ")[1].endswith("s")
