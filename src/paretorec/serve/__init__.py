"""Serving: the model registry and the HTTP service.

The registry (`paretorec.serve.registry`) is light and imported by the CLI's training
commands; the service (FastAPI) is imported only where it runs.
"""

from paretorec.serve.registry import (
    Manifest,
    ModelKind,
    ModelRegistry,
    RegistryError,
    default_models_dir,
)

__all__ = ["Manifest", "ModelKind", "ModelRegistry", "RegistryError", "default_models_dir"]
