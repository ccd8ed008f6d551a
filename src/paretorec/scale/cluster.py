"""Joining a Ray cluster, or starting a local one."""

from __future__ import annotations

__all__ = ["connect"]


def connect(*, workers: int, address: str | None = None) -> None:
    """Join the Ray cluster at `address`, or start a local one with `workers` CPUs (a
    running one, for instance the tests', is used as it is)."""
    import ray

    if ray.is_initialized():
        return
    if address is not None:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
