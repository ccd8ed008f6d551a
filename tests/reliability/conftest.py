"""The standing fault-and-fuzz suite reuses the serving tests' tiny shop and service."""

from __future__ import annotations

from tests.serve.conftest import full_models_dir, make_client, models_dir

__all__ = ["full_models_dir", "make_client", "models_dir"]
