"""A small shop whose shoppers each buy items of one theme in order: a dataset where a
sequence model has something exact to learn, shared by the tuning and scale tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl


def write_theme_chains(
    folder: Path, themes: Sequence[str], *, n_items: int, n_users: int, length: int, seed: int
) -> Path:
    """`n_items` items titled by theme (item n has theme n % len(themes)); shopper u buys
    `length` distinct items of theme u % len(themes), one a time step (purchases)."""
    m = len(themes)
    ids = [f"i{n}" for n in range(n_items)]
    titles = [f"{themes[n % m]} model {n}" for n in range(n_items)]
    pl.DataFrame({"item_id": ids, "title": titles}).write_csv(folder / "items.csv")
    rng = np.random.default_rng(seed)
    users, items, times = [], [], []
    for user in range(n_users):
        chain = rng.choice(np.arange(user % m, n_items, m), size=length, replace=False)
        users += [f"u{user}"] * length
        items += [ids[i] for i in chain]
        times += list(range(length))
    pl.DataFrame(
        {"user_id": users, "item_id": items, "event": ["purchase"] * len(items), "timestamp": times}
    ).write_csv(folder / "events.csv")
    return folder
