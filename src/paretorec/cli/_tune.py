"""`paretorec tune`: search a stage's hyperparameters with Optuna, register the choice."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from paretorec.cli._shared import (
    EmbeddingCache,
    EncoderFolder,
    _embedding_cache,
    _encoder,
    app,
    console,
    fails_cleanly,
    frame_table,
    spinner,
)
from paretorec.tune.options import Backend, Sampler, TunableStage

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from paretorec.serve.registry import ModelRegistry
    from paretorec.tune.study import Tunable

DEFAULT_EPOCHS = {TunableStage.RANKER: 5, TunableStage.RECOMMENDER: 3}  # their train commands'
DEFAULT_POLICY_OBJECTIVES = "clicks,revenue,diversity"  # `paretorec train policy`'s


@dataclass(frozen=True)
class PolicySettings:
    """The simulated shop the policy is tuned in, and each trial's budget."""

    objectives: str
    sessions: int
    batch: int
    items: int
    users: int
    log_sessions: int
    eval_sessions: int

    def label(self, seed: int) -> str:
        """What the study records as its data (a resumed study must match it)."""
        return (
            f"simulator(items={self.items}, users={self.users}, seed={seed}, "
            f"log_sessions={self.log_sessions}, objectives={self.objectives}, "
            f"sessions={self.sessions}, batch={self.batch}, eval_sessions={self.eval_sessions})"
        )


def _policy_tunable(settings: PolicySettings, seed: int) -> Tunable[Any]:
    from paretorec.policy import SimulatorSpec
    from paretorec.policy.rewards import parse_objectives
    from paretorec.policy.simulator import make_task
    from paretorec.tune.policy import PolicyTuning

    names = parse_objectives([n.strip() for n in settings.objectives.split(",") if n.strip()])
    spec = SimulatorSpec(n_items=settings.items, n_users=settings.users, world_seed=seed)
    with spinner("building the shop and fitting the predictor on its random logs"):
        task = make_task(spec, names, log_sessions=settings.log_sessions, seed=seed)
        return PolicyTuning(
            task,
            sessions=settings.sessions,
            batch=settings.batch,
            eval_sessions=settings.eval_sessions,
            seed=seed,
        )


def _tunable(
    stage: TunableStage,
    data: Path,
    *,
    epochs: int,
    seed: int,
    text: bool,
    encoder_model: Path | None,
    cache: Path | None,
) -> Tunable[Any]:
    from paretorec.data.validate import load_dataset

    with spinner(f"reading {data}"):
        dataset = load_dataset(data)
    if stage is TunableStage.SEARCH:
        from paretorec.encode import encode_items_cached, item_text
        from paretorec.tune.search import SearchTuning

        if dataset.queries is None or dataset.judgments is None:
            raise ValueError(f"{data} has no queries or judgments table: search is judged on them")
        encoder = _encoder(encoder_model)
        with spinner("encoding items and queries"):
            vectors = encode_items_cached(
                encoder, item_text(dataset.items), _embedding_cache(cache)
            )
            judged = set(dataset.judgments.frame["query_id"].cast(str).to_list())
            queries = [
                (str(q), str(t))
                for q, t in dataset.queries.frame.select("query_id", "text").iter_rows()
                if str(q) in judged
            ]
            encoded = encoder.encode_queries([t for _, t in queries])
        by_id = {q: encoded[i] for i, (q, _) in enumerate(queries)}
        return SearchTuning(dataset, vectors, by_id, seed=seed)
    if stage is TunableStage.RECOMMENDER:
        from paretorec.encode import encode_items_cached, item_text
        from paretorec.retrieve.recommend import split_sequences
        from paretorec.tune.recommender import RecommenderTuning

        sequences = split_sequences(dataset)
        encoder = _encoder(encoder_model)
        with spinner("encoding items"):
            vectors = encode_items_cached(
                encoder, item_text(dataset.items), _embedding_cache(cache)
            )
        return RecommenderTuning(sequences, vectors, max_epochs=epochs, seed=seed)
    from paretorec.rank import build_ranker_features
    from paretorec.tune.ranker import RankerTuning

    if dataset.events is None:
        raise ValueError(f"{data} has no events table: the ranker learns from logged exposures")
    with spinner("building features"):
        features = build_ranker_features(
            dataset,
            encoder=_encoder(encoder_model) if text else None,
            cache_dir=_embedding_cache(cache) if text else None,
        )
    return RankerTuning(features, max_epochs=epochs, seed=seed)


def _trial_line(trial: FrozenTrial, objectives: tuple[str, ...]) -> str:
    seconds = trial.duration.total_seconds() if trial.duration is not None else 0.0
    state = trial.state.name.lower()
    if trial.values is not None and state == "complete":
        outcome = "  ".join(f"{n}={v:.4f}" for n, v in zip(objectives, trial.values, strict=True))
    else:
        outcome = str(trial.user_attrs.get("pruned_at") or trial.user_attrs.get("error") or "")
    params = ", ".join(
        f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items()
    )
    return f"trial {trial.number} {state} ({seconds:.1f} s)  {outcome}  [{params}]"


def _register(
    stage: TunableStage,
    registry: ModelRegistry,
    tunable: Tunable[Any],
    model: Any,
    *,
    data: Path | None,
    config: dict[str, Any],
    metrics: dict[str, float],
    encoder_model: Path | None,
) -> str:
    """Write the chosen configuration's model as a new version of its kind; its version."""
    from paretorec.serve.registry import ModelKind

    if stage is TunableStage.SEARCH:
        from paretorec.encode import BUNDLED_MODEL_NAME
        from paretorec.serve.encoders import EncoderKind, EncoderRef
        from paretorec.serve.index_version import write_index_version
        from paretorec.tune.search import SearchTuning

        assert isinstance(tunable, SearchTuning)
        reference = EncoderRef(
            EncoderKind.SENTENCE_TRANSFORMERS,
            str(encoder_model.resolve()) if encoder_model is not None else BUNDLED_MODEL_NAME,
            _encoder(encoder_model).name,
        )
        manifest = write_index_version(
            registry,
            retriever=model,
            catalog=tunable.dataset.items,
            vectors=tunable.item_vectors,
            encoder=reference,
            data=data,
            config={**config, "test": metrics},  # the index version keeps its own metrics
        )
        return f"{ModelKind.INDEX.value} {manifest.version}"
    kind = {
        TunableStage.RANKER: ModelKind.RANKER,
        TunableStage.RECOMMENDER: ModelKind.RECOMMENDER,
        TunableStage.POLICY: ModelKind.POLICY,
    }[stage]
    with registry.stage(kind, data=data, config=config) as staged:
        model.save(staged.folder)
        staged.metrics.update({f"test/{k}": v for k, v in metrics.items()})
    assert staged.manifest is not None
    return f"{kind.value} {staged.manifest.version}"


@app.command("tune")
@fails_cleanly
def tune_command(
    stage: Annotated[TunableStage, typer.Argument(help="The stage to tune.")],
    trials: Annotated[
        int,
        typer.Option(
            "--trials", min=1, help="Trials the study holds in the end (earlier runs' count)."
        ),
    ],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Dataset folder (train/valid/test); not for policy."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1, help="Start no trial after this many seconds."),
    ] = None,
    models: Annotated[
        Path | None,
        typer.Option("--models", help="Registry folder (default: $PARETOREC_MODELS or ./models)."),
    ] = None,
    study_name: Annotated[
        str | None,
        typer.Option("--study", help="Study name (default: the stage); an existing one resumes."),
    ] = None,
    sampler: Annotated[Sampler, typer.Option("--sampler", help="Optuna's sampler.")] = Sampler.TPE,
    backend: Annotated[
        Backend, typer.Option("--backend", help="local: one trial at a time; ray: --workers.")
    ] = Backend.LOCAL,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Ray: trials at a time (one CPU each).")
    ] = 2,
    address: Annotated[
        str | None,
        typer.Option("--address", help="Ray: a running cluster (ray://host:10001, auto)."),
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(min=1, help="Most epochs of a trial's neural models (default: as train)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sampler and of training.")] = 0,
    text: Annotated[
        bool, typer.Option("--text/--no-text", help="Ranker: use text-encoder vectors.")
    ] = True,
    objectives: Annotated[
        str, typer.Option(help="Policy: comma-separated objectives, the order of w.")
    ] = DEFAULT_POLICY_OBJECTIVES,
    sessions: Annotated[
        int, typer.Option(min=8, help="Policy: training sessions of a trial.")
    ] = 30_000,
    batch: Annotated[
        int, typer.Option(min=8, help="Policy: lists per PPO step, a multiple of 4.")
    ] = 256,
    items: Annotated[
        int, typer.Option(min=10, help="Policy: the simulated catalog's size.")
    ] = 2000,
    users: Annotated[int, typer.Option(min=1, help="Policy: simulated shoppers.")] = 1000,
    log_sessions: Annotated[
        int, typer.Option(min=100, help="Policy: random logged sessions for the predictor.")
    ] = 20_000,
    eval_sessions: Annotated[
        int, typer.Option(min=10, help="Policy: valid (and test) sessions the front is served on.")
    ] = 1000,
    encoder_model: EncoderFolder = None,
    cache: EmbeddingCache = None,
) -> None:
    """Search STAGE's hyperparameters with Optuna: each trial trains on the train split
    (policy: in the simulated shop) and is judged on valid (several objectives: the knee
    of their front is chosen). The study is kept in MODELS/tune/STUDY/study.journal, so a
    stopped run resumes; the chosen configuration is trained, measured once on test beside
    the default configuration, registered as a new model version, and reported in
    MODELS/tune/STUDY/report/. --backend ray runs --workers trials at a time on Ray."""
    import optuna
    import polars as pl

    from paretorec.serve.registry import ModelRegistry, default_models_dir
    from paretorec.tune.report import write_report
    from paretorec.tune.study import StudyPlace, choose, final_figures, open_study, run_trials

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if (stage is TunableStage.POLICY) != (data is None):
        raise ValueError(
            "tune policy learns in the simulator (no --data)"
            if stage is TunableStage.POLICY
            else f"tune {stage.value} needs --data DIR"
        )
    root = models if models is not None else default_models_dir()
    place = StudyPlace.under(root, study_name or stage.value)
    max_epochs = epochs if epochs is not None else DEFAULT_EPOCHS.get(stage, 1)
    study_data: Path | str
    if stage is TunableStage.POLICY:
        settings = PolicySettings(
            objectives, sessions, batch, items, users, log_sessions, eval_sessions
        )
        tunable = _policy_tunable(settings, seed)
        study_data = settings.label(seed)
    else:
        assert data is not None
        tunable = _tunable(
            stage,
            data,
            epochs=max_epochs,
            seed=seed,
            text=text,
            encoder_model=encoder_model,
            cache=cache,
        )
        study_data = data
    names = tunable.objectives
    study = open_study(
        place, stage=stage, data=study_data, objectives=names, sampler=sampler, seed=seed
    )
    earlier = len(study.trials)
    if earlier:
        console.print(f"resuming study {place.name!r}: {earlier} trial(s) in {place.storage_path}")
    console.print(f"objectives (valid, maximized): {', '.join(names)}")

    def heard(t: FrozenTrial) -> None:
        console.print(_trial_line(t, names), markup=False, highlight=False)

    if backend is Backend.RAY:
        from paretorec.tune.distributed import run_trials_ray

        console.print(f"running {workers} trial(s) at a time on Ray")
        ran = run_trials_ray(
            study, place, tunable, trials=trials, workers=workers, sampler=sampler, seed=seed,
            timeout=timeout, address=address, on_trial=heard,
        )  # fmt: skip
    else:
        ran = run_trials(study, tunable, trials=trials, timeout=timeout, on_trial=heard)
    if ran == 0:
        console.print(f"the study already holds {earlier} trial(s) (--trials {trials})")
    choice = choose(study)
    console.print(
        f"chosen: trial {choice.trial.number} ({choice.method} of {len(choice.front)} on the front)"
    )
    with spinner("training the chosen and the default configurations, measuring on test"):
        final = final_figures(tunable, choice.trial)
    registry = ModelRegistry(root)
    config: dict[str, Any] = {
        "tuned": True,
        "params": choice.trial.params,
        "seed": seed,
        "study": {
            "name": place.name,
            "storage": str(place.storage_path),
            "trial": choice.trial.number,
            "method": choice.method,
            "sampler": sampler.value,
            "backend": backend.value,
            "trials": len(study.trials),
            "objectives": dict(zip(names, choice.trial.values, strict=True)),
        },
    }
    if stage in DEFAULT_EPOCHS:
        config["epochs"] = max_epochs
    if stage is TunableStage.RANKER:
        config["text"] = text
    if stage is TunableStage.POLICY:
        config["simulator"] = study_data
    registered = _register(
        stage, registry, tunable, final.model, data=data, config=config, metrics=final.tuned,
        encoder_model=encoder_model,
    )  # fmt: skip
    write_report(
        study,
        place,
        names,
        choice,
        test={"tuned": final.tuned, "default": final.default},
        registered=registered,
    )
    table = pl.DataFrame(
        [
            {"configuration": name, **figures}
            for name, figures in (("default", final.default), ("tuned", final.tuned))
        ]
    )
    console.print(frame_table(table, "test split (measured once)"))
    console.print(f"registered {registered} in {registry.root}")
    console.print(f"report in {place.report_dir}")
