"""`paretorec retrain`: the learning loop's scheduled step (see `paretorec.loop.retrain`)."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from paretorec.cli._shared import app, console, fails_cleanly, spinner

if TYPE_CHECKING:
    from paretorec.types import Dataset


def parse_weights(text: str) -> dict[str, float]:
    """`clicks=0.5,purchases=0.3,revenue=0.2` as a mapping; a one-line error otherwise."""
    out: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"--weights: {part!r} is not NAME=VALUE")
        try:
            out[name.strip()] = float(value)
        except ValueError as error:
            raise ValueError(f"--weights: {value!r} is not a number") from error
    return out


STAGES = ("policy", "ranker")


def parse_stages(text: str) -> tuple[str, ...]:
    """`policy,ranker` as the stages to retrain, in that order; a one-line error otherwise."""
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in STAGES]
    if unknown or not names:
        raise ValueError(
            f"--stages: {', '.join(unknown) or 'none given'}; choose from {', '.join(STAGES)}"
        )
    return tuple(s for s in STAGES if s in names)


def parse_since(text: str) -> datetime:
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError as error:
        raise ValueError(f"--since: {text!r} is not an ISO 8601 date or date-time") from error
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)


def read_shop(data: Path, events: Path | None) -> Dataset:
    """The dataset at `data`, its events replaced by `events/events.csv` (the service's log)
    where given; read and checked by the data contract's reader."""
    from paretorec.data.io import table_file
    from paretorec.data.validate import load_dataset
    from paretorec.types import TableName

    if events is None:
        return load_dataset(data)
    log = events / "events.csv"
    if not log.is_file():
        raise FileNotFoundError(f"{events}: no events.csv (the service's --events folder)")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for table in (TableName.ITEMS, TableName.USERS):
            found = table_file(data, table)
            if found is not None:
                (folder / found.name).symlink_to(found.resolve())
        (folder / "events.csv").symlink_to(log.resolve())
        return load_dataset(folder)


@app.command("retrain")
@fails_cleanly
def retrain_command(
    data: Annotated[
        Path, typer.Option("--data", help="The shop's dataset folder (items, users; events).")
    ],
    models: Annotated[
        Path | None, typer.Option("--models", help="Registry of the loop's policies and rankers.")
    ] = None,
    events: Annotated[
        Path | None,
        typer.Option(help="The service's --events folder: its events.csv is the log read."),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(
            help="Read events after this time (ISO 8601); default: after the promoted "
            "version's last trained event."
        ),
    ] = None,
    weights: Annotated[
        str, typer.Option(help="Weights of the objectives in the gate's weighted objective.")
    ] = "clicks=0.5,purchases=0.3,revenue=0.2",
    holdout: Annotated[
        float,
        typer.Option(min=0.05, max=0.95, help="Latest share of the rounds held back to judge."),
    ] = 0.3,
    epochs: Annotated[int, typer.Option(min=1, help="Passes over the training rounds.")] = 20,
    temperature: Annotated[
        float, typer.Option(min=0.01, help="The candidate is served as Plackett-Luce(scores / T).")
    ] = 1.0,
    tolerance: Annotated[
        float,
        typer.Option(min=0.0, max=0.99, help="Share of the promoted value an objective may lose."),
    ] = 0.02,
    bootstrap: Annotated[
        int, typer.Option(min=10, help="Bootstrap replicates per interval.")
    ] = 500,
    seed: Annotated[int, typer.Option(help="Seed of training and of the bootstrap.")] = 0,
    report: Annotated[
        Path | None,
        typer.Option(help="Report folder (default: MODELS/loop-reports/VERSION)."),
    ] = None,
    recommender_models: Annotated[
        Path | None,
        typer.Option(
            help="Also refresh the promoted recommender of this registry (e.g. the service's "
            "--models) with the window's interactions, judged and promoted by the same gate.",
        ),
    ] = None,
    shuffle_rewards: Annotated[
        bool,
        typer.Option(
            "--shuffle-rewards",
            help="Check the gate: train the candidate on rewards shuffled across rounds.",
        ),
    ] = False,
    stages: Annotated[
        str,
        typer.Option(
            help="What to retrain, comma-separated: policy (the loop policy), ranker (the "
            "multi-task ranker, judged as the list PL(log expected weighted reward / T))."
        ),
    ] = "policy",
) -> None:
    """Train candidate versions (--stages: the policy, the ranker) on the log since the
    last version, judge each off-policy against the promoted one, promote only what the
    gate approves; write a report per candidate."""
    from paretorec.loop import GateRule, RetrainConfig, retrain, write_report
    from paretorec.serve.registry import ModelRegistry, default_models_dir

    config = RetrainConfig(
        weights=parse_weights(weights),
        holdout=holdout,
        epochs=epochs,
        temperature=temperature,
        gate=GateRule(tolerance=tolerance, n_bootstrap=bootstrap, seed=seed),
        seed=seed,
        shuffle_rewards=shuffle_rewards,
    )
    chosen = parse_stages(stages)
    start = parse_since(since) if since is not None else None
    registry = ModelRegistry(models if models is not None else default_models_dir())
    with spinner(f"reading {events or data}"):
        shop = read_shop(data, events)
    if "policy" in chosen:
        with spinner("training the candidate policy and judging it"):
            result = retrain(shop, registry, config, since=start, data=data.resolve())
        md, js = write_report(result, report or registry.root / "loop-reports" / result.version)
        verdict = "promoted" if result.promoted else "registered, not promoted"
        console.print(f"policy {result.version} {verdict} (against {result.baseline})")
        console.print(f"  {result.decision.reason}")
        console.print(f"report: {md} and {js}")
    if "ranker" in chosen:
        from paretorec.loop.ranker import retrain_ranker

        with spinner("training the candidate ranker and judging it"):
            ranked = retrain_ranker(shop, registry, config, since=start, data=data.resolve())
        folder = f"ranker-{ranked.version}"
        md, js = write_report(
            ranked,
            report / folder if report else registry.root / "loop-reports" / folder,
            kind="ranker",
        )
        verdict = "promoted" if ranked.promoted else "registered, not promoted"
        console.print(f"ranker {ranked.version} {verdict} (against {ranked.baseline})")
        console.print(f"  {ranked.decision.reason}")
        console.print(f"report: {md} and {js}")
    if recommender_models is not None:
        from paretorec.loop.recommender import retrain_recommender

        served = ModelRegistry(recommender_models)
        with spinner("refreshing the recommender's counts and judging them"):
            refreshed = retrain_recommender(shop, served, config, since=start)
        md, js = write_report(
            refreshed,
            served.root / "loop-reports" / f"recommender-{refreshed.version}",
            kind="recommender",
        )
        verdict = "promoted" if refreshed.promoted else "registered, not promoted"
        console.print(f"recommender {refreshed.version} {verdict} (against {refreshed.baseline})")
        console.print(f"  {refreshed.decision.reason}")
        console.print(f"report: {md} and {js}")
