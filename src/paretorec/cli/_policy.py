"""`paretorec train policy`: the preference-conditioned policy, in the simulator or from logs."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Any

import typer

from paretorec.cli._shared import console, fails_cleanly, progress_bar, spinner, train_app

DEFAULT_OBJECTIVES = "clicks,revenue,diversity"


@train_app.command("policy")
@fails_cleanly
def train_policy(
    simulator: Annotated[
        bool, typer.Option("--simulator", help="Learn on-policy in the simulated shop.")
    ] = False,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Learn off-policy from this dataset's logged events."),
    ] = None,
    models: Annotated[Path | None, typer.Option("--models", help="Model registry folder.")] = None,
    algorithm: Annotated[
        str, typer.Option(help="reinforce | ppo (simulator) | offpolicy (--data).")
    ] = "",
    sessions: Annotated[
        int, typer.Option(min=2, help="Simulator: training sessions in all.")
    ] = 30_000,
    batch: Annotated[
        int, typer.Option(min=4, help="Simulator: lists per step, a multiple of 4 (4 per context).")
    ] = 256,
    epochs: Annotated[int, typer.Option(min=1, help="--data: passes over the logs.")] = 20,
    variant: Annotated[str, typer.Option(help="plackett_luce | list_aware.")] = "plackett_luce",
    objectives: Annotated[
        str,
        typer.Option(
            help="Simulator: comma-separated objectives, the order of w, of clicks, "
            "purchases, revenue, diversity, exposure_fairness, novelty, relevance."
        ),
    ] = DEFAULT_OBJECTIVES,
    items: Annotated[int, typer.Option(min=10, help="Simulator: catalog size.")] = 2000,
    users: Annotated[int, typer.Option(min=1, help="Simulator: shoppers.")] = 1000,
    log_sessions: Annotated[
        int,
        typer.Option(min=100, help="Simulator: random logged sessions the predictor learns from."),
    ] = 20_000,
    seed: Annotated[int, typer.Option(help="Seed of the world, the logs and training.")] = 0,
    checkpoints: Annotated[
        Path | None,
        typer.Option(help="Checkpoint folder (default: under the registry, per run settings)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the checkpoint folder if it has one.")
    ] = False,
) -> None:
    """Train the preference-conditioned policy and write it as a new registry version."""
    from paretorec.serve.registry import ModelKind, ModelRegistry, default_models_dir

    if simulator == (data is not None):
        raise ValueError("give exactly one of --simulator and --data DIR")
    registry = ModelRegistry(models if models is not None else default_models_dir())
    run = f"{'sim' if simulator else 'data'}-{algorithm or 'default'}-{variant}-seed{seed}"
    folder = checkpoints if checkpoints is not None else registry.root / "policy-checkpoints" / run
    if simulator:
        saved, config, metrics = _simulator(
            algorithm or "reinforce",
            sessions,
            batch,
            variant,
            objectives,
            items,
            users,
            log_sessions,
            seed,
            folder,
            resume,
        )
    else:
        assert data is not None
        saved, config, metrics = _from_logs(
            algorithm or "offpolicy", data, epochs, variant, seed, folder, resume
        )
    with registry.stage(ModelKind.POLICY, data=data, config=config) as staged:
        saved(staged.folder)
        staged.metrics.update(metrics)
    assert staged.manifest is not None
    console.print(f"wrote policy {staged.manifest.version} to {registry.root}")
    for name, value in metrics.items():
        console.print(f"  {name}: {value:.5g}")


def _simulator(
    algorithm: str,
    sessions: int,
    batch: int,
    variant: str,
    objectives: str,
    items: int,
    users: int,
    log_sessions: int,
    seed: int,
    folder: Path,
    resume: bool,
) -> tuple[Any, dict[str, Any], dict[str, float]]:
    from paretorec.policy import Algorithm, PolicyVariant, SimulatorSpec
    from paretorec.policy.recipe import train_in_simulator

    alg = Algorithm(algorithm)
    if alg is Algorithm.OFFPOLICY:
        raise ValueError("--algorithm offpolicy learns from logs: use --data DIR")
    names = [n.strip() for n in objectives.split(",") if n.strip()]
    spec = SimulatorSpec(n_items=items, n_users=users, world_seed=seed)
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            spinner("building the shop and fitting the predictor on its random logs")
        )

        def ready(steps: int) -> None:
            stack.close()  # the spinner ends, the bar starts
            advance.append(
                stack.enter_context(progress_bar(f"training ({alg.value}, steps)", steps))
            )

        advance: list[Any] = []
        run = train_in_simulator(
            spec, names, algorithm=alg, variant=PolicyVariant(variant), sessions=sessions,
            batch=batch, log_sessions=log_sessions, seed=seed, checkpoint_dir=folder,
            resume=resume, on_task_ready=ready, on_step=lambda n: advance[0](n),
        )  # fmt: skip
    return run.save, run.config, run.metrics


def _from_logs(
    algorithm: str, data: Path, epochs: int, variant: str, seed: int, folder: Path, resume: bool
) -> tuple[Any, dict[str, Any], dict[str, float]]:
    import torch

    from paretorec.data.validate import load_dataset
    from paretorec.policy import (
        Algorithm,
        OffPolicyConfig,
        PolicyConfig,
        PolicyVariant,
        PreferencePolicy,
        action_distribution,
        estimate_ctr,
        read_logged_data,
        rounds,
        save_policy,
        smoothed_click_rates,
        split_in_time,
        train_off_policy,
    )  # fmt: skip

    if Algorithm(algorithm) is not Algorithm.OFFPOLICY:
        raise ValueError(f"--data learns off-policy: --algorithm {algorithm} needs --simulator")
    if PolicyVariant(variant) is not PolicyVariant.PLACKETT_LUCE:
        raise ValueError("learning from logs trains the plackett_luce variant")
    with spinner(f"reading {data}"):
        logged = read_logged_data(load_dataset(data))
    fit, held = split_in_time(logged.n_rounds)
    rates = smoothed_click_rates(logged, fit)
    train_rounds, eval_rounds = rounds(logged, fit, rates), rounds(logged, held, rates)
    config = PolicyConfig(
        objectives=("clicks",), prediction_names=("click",),
        context_dim=logged.context.shape[1], item_dim=train_rounds.inputs.item_features.shape[2],
        links=(("clicks", "click"),), hidden=32,
    )  # fmt: skip
    torch.manual_seed(seed)
    policy = PreferencePolicy(config)
    with progress_bar("training off-policy (epochs)", epochs) as advance:
        train_off_policy(
            policy, train_rounds, OffPolicyConfig(epochs=epochs, seed=seed),
            checkpoint_dir=folder, resume=resume, on_progress=lambda e, loss: advance(1),
        )  # fmt: skip
    len_list = int(logged.feedback.len_list)
    with spinner("judging it on the held-out half (SNIPS, DR)"):
        est = estimate_ctr(
            logged,
            held,
            action_distribution(policy, eval_rounds, len_list, greedy=False),
            seed=seed,
        )
    metrics = {
        "snips_ctr": est.snips.mean, "snips_lower": est.snips.lower, "snips_upper": est.snips.upper,
        "dr_ctr": est.dr.mean, "dr_lower": est.dr.lower, "dr_upper": est.dr.upper,
        "logged_ctr_held_out": float(logged.feedback.reward[held].mean()),
    }  # fmt: skip
    run_config = {"mode": "logs", "algorithm": "offpolicy", "epochs": epochs, "seed": seed}

    def saved(out: Path) -> None:
        save_policy(out, policy, extra={"logs": {"click_rates": rates.tolist()}})

    return saved, run_config, metrics
