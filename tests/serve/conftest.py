"""A tiny shop, a fast deterministic text encoder, and a service built from a registry."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient

from paretorec.serve import ModelRegistry
from paretorec.serve.app import create_app
from paretorec.serve.changes import ChangeJournal
from paretorec.serve.encoders import EncoderRef
from paretorec.serve.event_log import EventLog
from paretorec.serve.index_version import build_index_version
from paretorec.serve.loading import LoadOptions, apply_journal, load_pipeline, reloader
from paretorec.serve.pipeline import ServingPipeline
from paretorec.types import Catalog

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

ITEMS = [
    ("d1", "Cordless drill 18V lithium", "Tools > Power Tools > Drills", "DeWalt", 129.0, 5, "s1"),
    ("d2", "Hammer drill corded 7 amp", "Tools > Power Tools > Drills", "Makita", 89.0, 0, "s2"),
    ("d3", "Drill bit set titanium 21 piece", "Tools > Accessories", "Bosch", 19.5, 40, "s1"),
    ("s1", "Circular saw 7-1/4 in", "Tools > Power Tools > Saws", "Makita", 99.0, 3, "s2"),
    ("s2", "Hand saw 15 in", "Tools > Hand Tools", "Stanley", 14.0, 12, "s3"),
    ("p1", "Interior paint white gallon", "Paint > Interior", "Behr", 32.0, 50, "s3"),
    ("p2", "Paint roller kit 9 in", "Paint > Supplies", "Wooster", 12.0, 20, "s3"),
    ("l1", "LED light bulb 60W equivalent 4 pack", "Lighting > Bulbs", "Philips", 9.9, 100, "s4"),
    ("l2", "Outdoor wall lantern black", "Lighting > Outdoor", "Hampton", 45.0, 7, "s4"),
    ("g1", "Garden hose 50 ft", "Outdoor > Garden", "Flexzilla", 39.0, 15, "s5"),
    ("g2", "Lawn mower cordless 40V", "Outdoor > Mowers", "Greenworks", 299.0, 2, "s5"),
    ("g3", "Hedge trimmer cordless 20V", "Outdoor > Garden", "DeWalt", 149.0, 4, "s1"),
]


def shop_catalog() -> Catalog:
    columns = ("item_id", "title", "category", "brand", "price", "stock", "seller_id")
    frame = pl.DataFrame([dict(zip(columns, row, strict=True)) for row in ITEMS])
    return Catalog(frame.with_columns(pl.col("stock").cast(pl.Int64)))


class HashingEncoder:
    """Deterministic bag-of-words vectors: shared words make texts close. Fast, no model."""

    dimension = 64

    @property
    def name(self) -> str:
        return "test-hashing-64"

    def _encode(self, texts: Iterable[str | bytes]) -> np.ndarray:
        rows = []
        for text in texts:
            text = text.decode() if isinstance(text, bytes) else text
            vector = np.zeros(self.dimension, dtype=np.float32)
            for token in re.findall(r"[a-z0-9]+", text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                vector[digest[0] % self.dimension] += 1.0 if digest[1] % 2 else -1.0
            if not vector.any():
                vector[0] = 1.0
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32).reshape(-1, self.dimension)

    def encode_queries(self, texts: Iterable[str | bytes]) -> np.ndarray:
        return self._encode(texts)

    def encode_items(self, texts: Iterable[str | bytes]) -> np.ndarray:
        return self._encode(texts)


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry holding one index version of the tiny shop (hashing encoder)."""
    root = tmp_path_factory.mktemp("models")
    registry = ModelRegistry(root)
    encoder = HashingEncoder()
    build_index_version(
        registry,
        shop_catalog(),
        encoder,
        cache=root.parent / "embedding-cache",
        reference=EncoderRef.bundled(item_vectors_by=encoder.name),
    )
    return root


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(models_dir: Path, tmp_path: Path) -> Iterable[AppFactory]:
    """Build a service (a fresh pipeline from the registry) and a TestClient for it."""
    logs: list[EventLog | ChangeJournal] = []

    def make(
        *,
        token: str | None = TOKEN,
        events: Path | None = None,
        models: Path | None = None,
        pipeline: ServingPipeline | None = None,
        verify: bool = True,
        **kwargs: object,
    ) -> TestClient:
        registry = ModelRegistry(models or models_dir)
        options = LoadOptions(encoder=HashingEncoder(), verify=verify)
        pipe = pipeline or load_pipeline(registry, options)
        folder = events if events is not None else tmp_path / "events"
        log = EventLog(folder)
        journal = ChangeJournal(folder)
        logs.extend([log, journal])
        apply_journal(pipe, journal)
        app = create_app(
            pipe,
            admin_token=token,
            event_log=log,
            journal=journal,
            registry=registry,
            reload=reloader(pipe, registry, options, journal=journal),
            **kwargs,  # type: ignore[arg-type]
        )
        return TestClient(app, raise_server_exceptions=False)

    yield make
    for log in logs:
        log.close()


@pytest.fixture(scope="session")
def full_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The index plus a real ranker and recommender trained on a synthetic log."""
    from tests.serve.trained import add_ranker, add_recommender, write_training_data

    root = tmp_path_factory.mktemp("full-models")
    registry = ModelRegistry(root)
    encoder = HashingEncoder()
    build_index_version(
        registry,
        shop_catalog(),
        encoder,
        cache=root.parent / "embedding-cache-full",
        reference=EncoderRef.bundled(item_vectors_by=encoder.name),
    )
    data = root.parent / "training-data"
    dataset = write_training_data(data)
    add_ranker(registry, data, dataset)
    add_recommender(registry, dataset)
    return root


@pytest.fixture
def policy_models(full_models_dir: Path, tmp_path: Path) -> Path:
    """A copy of the full models with a (seeded, untrained) policy of the simulator's shape."""
    import shutil

    from tests.serve.trained import add_policy

    root = tmp_path / "policy-models"
    shutil.copytree(full_models_dir, root)
    add_policy(ModelRegistry(root))
    return root
