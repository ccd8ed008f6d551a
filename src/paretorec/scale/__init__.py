"""Batch work over a large catalog or user base, in one process or as Ray Data pipelines.

- `backend`: where the work runs (`Backend.LOCAL`, `Backend.RAY`); light, no Ray import.
- `batch`: encoding a catalog, every user's full-catalog top K from a recommender, and
  the full-catalog evaluation built on it. With `Backend.RAY` the rows flow through Ray
  Data's `map_batches` in blocks to a pool of actors that each load the model once; the
  results are the single-process path's (the same functions compute each block), so Ray
  is a choice of where to run, not a second implementation.
"""

from paretorec.scale.backend import Backend

__all__ = ["Backend"]
