"""Where batch work and tuning trials run (no heavy imports)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Backend"]


class Backend(StrEnum):
    LOCAL = "local"  # in this process
    RAY = "ray"  # on a Ray cluster: a local one, or one at an address
