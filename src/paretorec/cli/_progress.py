"""Progress as plain lines, for logs, pipes, nohup, CI and containers.

On a terminal the CLI draws rich bars and spinners (see `_shared.py`); elsewhere a bar
would print nothing at all, so a long `paretorec index` would look hung. These reporters
print one line at the start, one at most every `every` seconds while work goes on, and
one at the end:

    encoding items: 0/54,667 (0%)
    encoding items: 12,000/54,667 (22%), 410/s, about 1m44s left
    encoding items: 54,667/54,667 (100%), 410/s, done in 2m13s

The clock and the line writer are injected, so tests can drive them exactly.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Clock = Callable[[], float]
WriteLine = Callable[[str], None]

DEFAULT_EVERY_S = 10.0


def stderr_line(text: str) -> None:
    """Write one line to the current stderr and flush it (so `tail -f` sees it now)."""
    stream = sys.stderr
    stream.write(text + "\n")
    stream.flush()


def duration(seconds: float) -> str:
    """A short human duration: `0.4s`, `42s`, `1m44s`, `2h05m`."""
    seconds = max(seconds, 0.0)
    if seconds < 10:
        return f"{seconds:.1f}s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def rate(per_second: float) -> str:
    """Items per second: `410/s`, `12.5/s`, `0.25/s`."""
    if per_second >= 100:
        return f"{per_second:,.0f}/s"
    return f"{per_second:.3g}/s"


class PlainProgress:
    """Counted work reported as lines; call it with each increment, `finish` at the end."""

    def __init__(
        self,
        description: str,
        total: int,
        *,
        clock: Clock = time.monotonic,
        write: WriteLine = stderr_line,
        every: float = DEFAULT_EVERY_S,
    ) -> None:
        if every <= 0:
            raise ValueError(f"every must be positive seconds, got {every}")
        self.description = description
        self.total = max(int(total), 0)
        self.done = 0
        self._clock = clock
        self._write = write
        self._every = every
        self._start = clock()
        self._last_line = self._start
        self._write(f"{description}: {self._count()}")

    def __call__(self, n: int) -> None:
        self.done += n
        if self.done == self.total:
            return  # complete: `finish` prints the last line
        now = self._clock()
        if now - self._last_line >= self._every:
            self._last_line = now
            self._write(f"{self.description}: {self._count()}{self._pace(now)}")

    def finish(self, *, failed: bool = False) -> None:
        now = self._clock()
        elapsed = now - self._start
        if failed:
            self._write(f"{self.description}: stopped at {self._count()} after {duration(elapsed)}")
            return
        speed = f", {rate(self.done / elapsed)}" if elapsed > 0 and self.done > 0 else ""
        self._write(f"{self.description}: {self._count()}{speed}, done in {duration(elapsed)}")

    def _count(self) -> str:
        if self.total == 0:
            return f"{self.done:,}"
        percent = min(100 * self.done // self.total, 100)
        return f"{self.done:,}/{self.total:,} ({percent}%)"

    def _pace(self, now: float) -> str:
        elapsed = now - self._start
        if elapsed <= 0 or self.done <= 0:
            return ""
        per_second = self.done / elapsed
        text = f", {rate(per_second)}"
        if self.total > self.done:
            text += f", about {duration((self.total - self.done) / per_second)} left"
        return text


@contextmanager
def plain_progress(
    description: str,
    total: int,
    *,
    clock: Clock = time.monotonic,
    write: WriteLine = stderr_line,
    every: float = DEFAULT_EVERY_S,
) -> Iterator[Callable[[int], None]]:
    """`PlainProgress` as a context: the last line says done, or where the work stopped."""
    progress = PlainProgress(description, total, clock=clock, write=write, every=every)
    try:
        yield progress
    except BaseException:
        progress.finish(failed=True)
        raise
    progress.finish()


@contextmanager
def plain_spinner(
    description: str, *, clock: Clock = time.monotonic, write: WriteLine = stderr_line
) -> Iterator[None]:
    """Work of unknown length: a line when it starts, one with the elapsed time when it ends."""
    start = clock()
    write(f"{description} ...")
    try:
        yield
    except BaseException:
        write(f"{description}: failed after {duration(clock() - start)}")
        raise
    write(f"{description}: done in {duration(clock() - start)}")
