"""The standing fault-and-fuzz suite reuses the serving tests' tiny shop and service."""

from __future__ import annotations

from tests.serve.conftest import make_client, models_dir

__all__ = ["make_client", "models_dir"]
