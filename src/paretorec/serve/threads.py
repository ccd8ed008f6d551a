"""How many threads the numeric libraries use inside one request.

A service answers many small requests at once; BLAS (numpy's matrix products), OpenMP
(faiss) and PyTorch each start their own pool per call by default, and on a machine with
few cores those pools fight each other and the concurrent requests. Measured on the
2-core development machine under load, one thread each halved the /search latency on
Home Depot (p50 49 ms → 23 ms, sequential requests); concurrency comes from serving
requests side by side instead.
"""

from __future__ import annotations

__all__ = ["limit_compute_threads"]


def limit_compute_threads(threads: int) -> None:
    """Cap BLAS, OpenMP, faiss and PyTorch intra-op threads at `threads`, process-wide."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    import faiss
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
    faiss.omp_set_num_threads(threads)
    import sys

    if "torch" in sys.modules:  # only where a loaded stage already brought it in
        import torch

        torch.set_num_threads(threads)
