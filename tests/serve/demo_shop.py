"""The demo's own models at a test's size, built as `paretorec demo` builds them.

A simulated shop and its log (uniform logging policy, so every impression carries its
propensity) written in the data contract; the MMoE ranker trained on the shop's first
sessions, the PPO policy over clicks, revenue, diversity and relevance, the search index
and the co-visitation recommender, all through `paretorec.demo_models`; then the policy's
catalog-wide front written where the explorer looks for it, by `paretorec pareto
--policy`. The one difference: the hashing encoder instead of the bundled MiniLM, so
the build takes seconds and needs no model files.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from typer.testing import CliRunner

from paretorec.data.io import FileFormat, write_dataset
from paretorec.demo_models import (
    DemoModelSize,
    build_demo_serving,
    train_demo_policy,
    train_demo_ranker,
)
from paretorec.encode import item_text
from paretorec.serve import ModelRegistry
from paretorec.serve.catalog_front import FRONTS_FOLDER
from paretorec.simulate import simulate_dataset
from paretorec.types import Dataset
from tests.serve.conftest import HashingEncoder

SEED = 3
SIZE = DemoModelSize(
    ranker_sessions=1_000,
    ranker_epochs=1,
    policy_items=300,
    policy_users=100,
    policy_sessions=512,
    policy_log_sessions=1_000,
    front_sessions=100,
)


@contextmanager
def _quiet_bar(name: str, total: int) -> Iterator[Callable[[int], None]]:
    yield lambda n: None


@contextmanager
def _quiet_spinner(name: str) -> Iterator[None]:
    yield


def build_demo_models(out: Path) -> tuple[Path, Dataset]:
    """`out/models` (ranker, policy, index, recommender, the policy's pareto report) and
    the shop they were built from, written in `out/simulated-shop`."""
    shop = simulate_dataset(300, 100, 3_000, seed=SEED)
    shop = Dataset(
        shop.items, shop.users, shop.queries, shop.judgments, shop.events, name="simulated-shop"
    )
    data = out / shop.name
    write_dataset(shop, data, FileFormat.PARQUET)
    encoder = HashingEncoder()
    vectors = encoder.encode_items(item_text(shop.items))
    registry = ModelRegistry(out / "models")
    train_demo_ranker(
        shop, data, registry, encoder=encoder, cache=out / "cache", item_vectors=vectors,
        size=SIZE, seed=SEED, progress_bar=_quiet_bar, spinner=_quiet_spinner,
    )  # fmt: skip
    policy = train_demo_policy(
        registry, size=SIZE, seed=SEED, progress_bar=_quiet_bar, spinner=_quiet_spinner
    )
    build_demo_serving(
        shop, data, registry, encoder=encoder, cache=out / "cache", vectors=vectors, seed=SEED
    )
    from paretorec.cli import app

    report = registry.root / FRONTS_FOLDER / policy.version
    result = CliRunner().invoke(
        app,
        ["pareto", "--policy", "promoted", "--models", str(registry.root), "--out", str(report),
         "--divisions", "4", "--sessions", "200", "--seed", str(SEED)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return registry.root, shop
