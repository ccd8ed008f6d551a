"""The `paretorec` command: parses arguments, calls the library, prints results.

Every command fails with exit code 1 and one line that says why; `--help` works on all.
Each command group lives in its own module, which registers its commands on import.
"""

from paretorec.cli import (  # noqa: F401  (registers commands)
    _audit,
    _data,
    _evaluate,
    _models,
    _pareto,
    _policy,
    _rank,
    _recommend,
    _retrain,
    _robustness,
    _scale,
    _search,
    _serve,
    _simulate,
    _tune,
)
from paretorec.cli._shared import app, console, errors, fails_cleanly, progress_bar, spinner

__all__ = ["app", "console", "errors", "fails_cleanly", "main", "progress_bar", "spinner"]


def main() -> None:
    app()
