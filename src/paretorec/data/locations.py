"""Where paretorec finds the shared real data and keeps its download cache.

Only the data readers and the CLI read environment variables; every other module takes
paths as arguments.
"""

from __future__ import annotations

import os
from pathlib import Path

SHARED_DATA_ENV = "PARETOREC_SHARED_DATA"
CACHE_ENV = "PARETOREC_CACHE"


def shared_data_dir() -> Path:
    """The folder of real data sets (`../shared/data` beside the repository by default).

    `$PARETOREC_SHARED_DATA` wins; otherwise the first `shared/data` found beside the
    current folder or one of its parents, which covers a clone with `../shared` next to it.
    """
    if env := os.environ.get(SHARED_DATA_ENV):
        return Path(env)
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        candidate = folder.parent / "shared" / "data"
        if candidate.is_dir():
            return candidate
    source_root = Path(__file__).resolve().parents[3]  # src/paretorec/data -> repository
    return source_root.parent / "shared" / "data"


def cache_dir() -> Path:
    """Where downloads (the Open Bandit Dataset wheel) are kept: `$PARETOREC_CACHE` or
    `~/.cache/paretorec`."""
    if env := os.environ.get(CACHE_ENV):
        return Path(env)
    return Path.home() / ".cache" / "paretorec"
