"""`paretorec demo`: the pipeline on the embedded default, end to end, in a few minutes.

A simulated shop and its log, the real Open Bandit Dataset (fetched once into the cache),
both written in the data contract, read back through the validator and described, the
simulator's click-through rate by position beside the real one; then the models: the
shop's catalog encoded, the multi-task ranker trained on its log, the
preference-conditioned policy trained in the simulator, the trade-offs it serves at three
weightings, and the search index, all registered under `OUT/models` for `paretorec serve`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.table import Table

from paretorec.data.datasets import BuiltinDataset, DatasetUnavailableError, load_builtin
from paretorec.data.io import FileFormat, write_dataset
from paretorec.data.plots import plot_stats
from paretorec.data.stats import DatasetStats, ctr_by_position, dataset_stats
from paretorec.data.validate import load_dataset
from paretorec.demo_models import DemoModelSize
from paretorec.simulate import simulate_dataset
from paretorec.types import Dataset

Spinner = Callable[[str], AbstractContextManager[None]]
ProgressBar = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


@dataclass(frozen=True)
class DemoSize:
    """The embedded default shop: big enough to be a shop, small enough for a laptop."""

    items: int = 5_000  # encoded by the text model: about a minute on 2 cores
    users: int = 5_000
    sessions: int = 100_000


def _describe(dataset: Dataset, folder: Path, report: Path, console: Console) -> DatasetStats:
    """Read the written folder back through the validator, then describe and draw it."""
    again = load_dataset(folder)
    stats = dataset_stats(again)
    (report / f"{dataset.name}-stats.json").write_text(
        json.dumps(stats.to_dict(), indent=2, default=str)
    )
    plot_stats(stats, again, report / f"{dataset.name}-stats.png")
    rows = ", ".join(f"{name} {count:,}" for name, count in stats.rows.items())
    console.print(f"  [bold]{dataset.name}[/]: {rows} — valid, written to {folder}")
    return stats


def _calibration(simulated: pl.DataFrame, real: pl.DataFrame) -> pl.DataFrame:
    """CTR by position of the shop beside the real log's, at the positions both have."""
    return (
        simulated.select(
            "position",
            pl.col("ctr").alias("sim CTR"),
            pl.col("impressions").alias("sim shown"),
        )
        .join(
            real.select(
                "position",
                pl.col("ctr").alias("OBD CTR"),
                pl.col("impressions").alias("OBD shown"),
            ),
            on="position",
            how="inner",
        )
        .with_columns((pl.col("sim CTR") / pl.col("OBD CTR")).alias("sim / OBD"))
        .sort("position")
    )


def _cells(frame: pl.DataFrame) -> Iterator[list[str]]:
    for row in frame.iter_rows():
        yield [
            f"{v:.5f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
            for v in row
        ]


def _markdown(frame: pl.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---:|" * len(frame.columns)
    return "\n".join([head, rule, *("| " + " | ".join(row) + " |" for row in _cells(frame))])


def run_demo(
    out: Path,
    *,
    seed: int,
    console: Console,
    spinner: Spinner,
    progress_bar: ProgressBar,
    size: DemoSize = DemoSize(),
    model_size: DemoModelSize | None = None,
) -> None:
    out = Path(out)
    report = out / "report"
    report.mkdir(parents=True, exist_ok=True)
    console.rule("paretorec demo")

    console.print(
        f"1. A simulated shop: {size.items:,} items, {size.users:,} shoppers, {size.sessions:,} sessions (seed {seed})"
    )
    with progress_bar("simulating sessions", size.sessions) as advance:
        shop = simulate_dataset(
            size.items, size.users, size.sessions, seed=seed, on_progress=advance
        )
    shop = Dataset(
        shop.items, shop.users, shop.queries, shop.judgments, shop.events, name="simulated-shop"
    )
    with spinner("writing and validating the shop"):
        write_dataset(shop, out / shop.name, FileFormat.PARQUET)
        shop_stats = _describe(shop, out / shop.name, report, console)

    console.print(
        "2. The Open Bandit Dataset (ZOZOTOWN, uniformly random logging policy, ALL campaign)"
    )
    obd_stats: DatasetStats | None = None
    calibration: pl.DataFrame | None = None
    try:
        with spinner("fetching and converting the Open Bandit Dataset"):
            obd = load_builtin(BuiltinDataset.OBD_RANDOM_ALL)
            write_dataset(obd, out / obd.name, FileFormat.PARQUET)
            obd_stats = _describe(obd, out / obd.name, report, console)
    except DatasetUnavailableError as error:
        console.print(f"  [yellow]skipped[/]: {error}")

    summary: dict[str, object] = {"shop": shop_stats.to_dict()}
    if obd_stats is not None and shop.events is not None:
        console.print(
            "3. Calibration: the simulator's click-through rate by position beside the real one"
        )
        calibration = table = _calibration(
            ctr_by_position(shop.events),
            obd_stats.ctr_by_position if obd_stats.ctr_by_position is not None else pl.DataFrame(),
        )
        view = Table(
            title="CTR by position: simulated shop vs Open Bandit Dataset (random/ALL)",
            title_justify="left",
        )
        for column in table.columns:
            view.add_column(column, justify="right")
        for row in _cells(table):
            view.add_row(*row)
        console.print(view)
        summary["calibration"] = table.to_dicts()
        summary["obd"] = obd_stats.to_dict()
    models = _train_models(
        shop, out, report, seed, console, spinner, progress_bar, model_size or DemoModelSize()
    )
    summary["models"] = models
    (report / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    _write_report_page(report, shop_stats, obd_stats, calibration, models)

    console.print(f"\nReport folder: {report} (statistics as JSON, plots as PNG)")
    query = shop.queries.frame["text"][0] if shop.queries is not None else "shoes"
    console.print("Serve the shop (search and recommendation, any trade-off per request):")
    console.print(
        f"  PARETOREC_ADMIN_TOKEN=change-me .venv/bin/paretorec serve --models {out / 'models'} --port 8000",
        highlight=False,
        soft_wrap=True,
    )
    body = json.dumps(
        {
            "query": query,
            "k": 5,
            "weights": {"clicks": 0.2, "revenue": 0.5, "diversity": 0.1, "relevance": 0.2},
        }
    )
    console.print(
        f"  curl -s localhost:8000/search -H 'content-type: application/json' -d '{body}'",
        highlight=False,
        soft_wrap=True,
    )
    # Written where the explorer (/explorer) looks for the policy's catalog-wide front.
    from paretorec.serve.catalog_front import how_to_make

    policy = models["policy"]
    assert isinstance(policy, dict)
    console.print(
        f"  .venv/bin/{how_to_make(out / 'models', str(policy['version']))}",
        highlight=False,
        soft_wrap=True,
    )
    console.print("  then open http://localhost:8000/explorer", highlight=False, soft_wrap=True)


def _train_models(
    shop: Dataset,
    out: Path,
    report: Path,
    seed: int,
    console: Console,
    spinner: Spinner,
    progress_bar: ProgressBar,
    size: DemoModelSize,
) -> dict[str, object]:
    """Encode the shop, train and register the ranker, the policy, the search index and
    the recommender; show the policy's trade-offs. Returns what the report records."""
    from paretorec.data.locations import cache_dir
    from paretorec.demo_models import (
        build_demo_serving,
        showcase_tradeoffs,
        train_demo_policy,
        train_demo_ranker,
    )
    from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
    from paretorec.serve.registry import ModelRegistry

    registry = ModelRegistry(out / "models")
    encoder = SentenceTransformerEncoder()
    cache = cache_dir() / "embeddings"
    console.print(
        f"4. The text encoder ({encoder.name}) reads the shop's {len(shop.items):,} items"
    )
    with progress_bar("encoding items (cached)", len(shop.items)) as advance:
        vectors = encode_items_cached(encoder, item_text(shop.items), cache, on_progress=advance)

    console.print(
        f"5. The multi-task ranker learns click, cart and purchase from the first {size.ranker_sessions:,} sessions"
    )
    ranker, metrics = train_demo_ranker(
        shop, out / shop.name, registry, encoder=encoder, cache=cache, item_vectors=vectors, size=size, seed=seed,
        progress_bar=progress_bar, spinner=spinner,
    )  # fmt: skip
    console.print(_table(metrics, f"ranker {ranker.version}: held-out sessions"))

    console.print(
        "6. The policy learns every trade-off of clicks, revenue, diversity and relevance at once (PPO, w drawn per session)"
    )
    policy = train_demo_policy(
        registry, size=size, seed=seed, progress_bar=progress_bar, spinner=spinner
    )
    with spinner("serving three weightings from the one policy"):
        tradeoffs = showcase_tradeoffs(registry, size=size, seed=seed)
    console.print(
        _table(
            tradeoffs, f"policy {policy.version}: one model, three trade-offs (expected per list)"
        )
    )

    console.print("7. The search index and the recommender for the service")
    with spinner("building the search index and the recommender"):
        serving = build_demo_serving(
            shop,
            out / shop.name,
            registry,
            encoder=encoder,
            cache=cache,
            vectors=vectors,
            seed=seed,
        )
    for kind, manifest in serving.items():
        console.print(f"  {kind} {manifest.version}")
    return {
        "ranker": {"version": ranker.version, "metrics": metrics.to_dicts()},
        "policy": {"version": policy.version, "tradeoffs": tradeoffs.to_dicts()},
        **{kind: {"version": m.version} for kind, m in serving.items()},
    }


def _table(frame: pl.DataFrame, title: str) -> Table:
    view = Table(title=title, title_justify="left")
    for column in frame.columns:
        view.add_column(column, justify="left" if frame.schema[column] == pl.String else "right")
    for row in _cells(frame):
        view.add_row(*row)
    return view


def _write_report_page(
    report: Path,
    shop: DatasetStats,
    obd: DatasetStats | None,
    calibration: pl.DataFrame | None,
    models: dict[str, object],
) -> None:
    """report/README.md: the figures a person reads first, with the plots inline."""
    lines = ["# paretorec demo report", ""]
    for stats in (shop, obd):
        if stats is None:
            continue
        rows = ", ".join(f"{name} {count:,}" for name, count in stats.rows.items())
        lines += [f"## {stats.name}", "", rows, "", f"![{stats.name}]({stats.name}-stats.png)", ""]
        if stats.ctr_by_position is not None and not stats.ctr_by_position.is_empty():
            lines += ["CTR by position:", "", _markdown(stats.ctr_by_position), ""]
    if calibration is not None:
        table = calibration
        lines += [
            "## Calibration: simulated shop vs Open Bandit Dataset (random/ALL)",
            "",
            _markdown(table),
            "",
        ]
    ranker, policy = models["ranker"], models["policy"]
    assert isinstance(ranker, dict) and isinstance(policy, dict)
    lines += [
        f"## The multi-task ranker ({ranker['version']}), on held-out sessions",
        "",
        _markdown(pl.DataFrame(ranker["metrics"])),
        "",
        f"## The policy ({policy['version']}): one model, three trade-offs",
        "",
        "Expected clicks and revenue per list, list diversity, and relevance (the list's",
        "NDCG against the shopper's true relevance), measured with the simulator's exact",
        "expected feedback on the same sessions for each weighting.",
        "",
        _markdown(pl.DataFrame(policy["tradeoffs"])),
        "",
    ]
    (report / "README.md").write_text("\n".join(lines))
