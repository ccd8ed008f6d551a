"""Small real models for the tiny shop: a ranker (`paretorec.rank`) and a recommender
(`paretorec.retrieve.recommend`), trained in seconds on a seeded synthetic log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from paretorec.encode import item_text
from paretorec.rank import RankerConfig, TrainConfig, build_ranker_features, train_ranker
from paretorec.retrieve.recommend import CoVisitation, Popularity, Quotas, Recommender, Source
from paretorec.serve import ModelKind, ModelRegistry
from paretorec.types import Catalog, Dataset, Events
from tests.serve.conftest import HashingEncoder, shop_catalog


def shop_log(catalog: Catalog, *, seed: int = 0, n_users: int = 40) -> Events:
    """Sessions of 4 impressions; cheaper items are clicked and bought more often."""
    rng = np.random.default_rng(seed)
    ids = catalog.frame["item_id"].to_list()
    prices = catalog.frame["price"].to_numpy()
    rows = []
    second = 0
    for user in range(n_users):
        for session in range(3):
            shown = rng.choice(len(ids), size=4, replace=False)
            for position, item in enumerate(shown, start=1):
                second += 1
                base = {
                    "user_id": f"u{user}",
                    "item_id": ids[item],
                    "session_id": f"u{user}-{session}",
                    "position": position,
                }
                rows.append({**base, "event": "impression", "timestamp": second})
                attraction = 0.6 / (1.0 + prices[item] / 60.0) / position**0.5
                if rng.random() < attraction:
                    rows.append({**base, "event": "click", "timestamp": second})
                    if rng.random() < 0.5:
                        rows.append({**base, "event": "purchase", "timestamp": second})
    frame = pl.DataFrame(rows).with_columns(
        pl.from_epoch(pl.col("timestamp") + 1_700_000_000, time_unit="s").dt.replace_time_zone(
            "UTC"
        )
    )
    return Events(frame)


def write_training_data(folder: Path) -> Dataset:
    catalog = shop_catalog()
    dataset = Dataset(items=catalog, events=shop_log(catalog), name="tiny-shop")
    folder.mkdir(parents=True, exist_ok=True)
    catalog.frame.write_csv(folder / "items.csv")
    dataset.events.frame.write_csv(folder / "events.csv")  # type: ignore[union-attr]
    return dataset


def add_ranker(registry: ModelRegistry, data: Path, dataset: Dataset) -> str:
    encoder = HashingEncoder()  # queries (none in this log) and the encoder's name
    vectors = encoder.encode_items(item_text(dataset.items))
    features = build_ranker_features(
        dataset, encoder=encoder, item_vectors=vectors, check_leakage=False
    )
    ranker = train_ranker(
        features,
        config=RankerConfig(hidden=(16,), tower=(8,), id_dim=4, text_dim=8, n_experts=2),
        train=TrainConfig(epochs=2, batch_size=128, seed=0),
    )
    config = {"default_weights": {"click": 0.75, "revenue": 0.25}}
    with registry.stage(ModelKind.RANKER, data=data, config=config) as staged:
        ranker.save(staged.folder)
    assert staged.manifest is not None
    return staged.manifest.version


def add_recommender(registry: ModelRegistry, dataset: Dataset) -> str:
    ids = dataset.items.frame["item_id"].to_list()
    position = {item: n for n, item in enumerate(ids)}
    assert dataset.events is not None
    clicks = dataset.events.frame.filter(pl.col("event") == "click")
    users, sequences = [], []
    for user, items in clicks.group_by("user_id", maintain_order=True).agg("item_id").iter_rows():
        users.append(user)
        sequences.append(np.asarray([position[i] for i in items], dtype=np.int64))
    vectors = HashingEncoder().encode_items(item_text(dataset.items))
    recommender = Recommender.fit(
        ids,
        vectors,
        sequences,
        generators=[Popularity(), CoVisitation()],
        quotas=Quotas({Source.COVISITATION: 1.0}),
        user_ids=users,
    )
    with registry.stage(ModelKind.RECOMMENDER) as staged:
        recommender.save(staged.folder)
    assert staged.manifest is not None
    return staged.manifest.version


def add_policy(registry: ModelRegistry, *, item_dim: int = 11, seed: int = 0) -> str:
    """An (untrained, seeded) preference-conditioned policy of the simulator's shape."""
    import torch

    from paretorec.policy import PolicyConfig, PreferencePolicy, save_policy

    torch.manual_seed(seed)
    config = PolicyConfig(
        objectives=("clicks", "purchases", "revenue"),
        prediction_names=("click", "purchase", "revenue"),
        context_dim=3,
        item_dim=item_dim,
        links=(("clicks", "click"), ("purchases", "purchase"), ("revenue", "revenue")),
        n_groups=3,
        hidden=8,
        layers=1,
    )
    defaults = {"default_weights": {"clicks": 0.5, "purchases": 0.25, "revenue": 0.25}}
    with registry.stage(ModelKind.POLICY, config=defaults) as staged:
        save_policy(staged.folder, PreferencePolicy(config), extra={})
    assert staged.manifest is not None
    return staged.manifest.version
