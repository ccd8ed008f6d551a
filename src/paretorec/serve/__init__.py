"""Serving: the model registry and the HTTP service.

The registry (`paretorec.serve.registry`) is light and imported by the CLI's training
commands; the service (FastAPI) is imported only where it runs:

- `app.create_app`: the FastAPI app (/search, /recommend, /items, /events, /healthz,
  /metrics, /admin/promote, /admin/rollback) around a `pipeline.ServingPipeline`;
- `loading.load_pipeline`: the pipeline from a registry's promoted versions (index
  required; ranker, policy, recommender when present, through `adapters`);
- `index_version`: writing and reading INDEX versions (`paretorec serve build-index`);
- `event_log` (feedback, fsync'd CSV in the contract's events columns) and `changes`
  (the catalog-change journal replayed at start);
- `schemas` (the HTTP boundary, with its size limits), `auth`, `metrics`, `stages`.
"""

from paretorec.serve.registry import (
    Manifest,
    ModelKind,
    ModelRegistry,
    RegistryError,
    default_models_dir,
)

__all__ = ["Manifest", "ModelKind", "ModelRegistry", "RegistryError", "default_models_dir"]
