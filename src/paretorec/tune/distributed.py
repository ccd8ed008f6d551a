"""The same trials, run concurrently on Ray (`paretorec tune --backend ray --workers N`).

The study stays the one `open_study` keeps in its journal file: each of `workers` Ray
tasks opens it, draws its configurations from it with its own seeded sampler (Optuna's
samplers read every finished trial from the shared storage, so each worker's draws learn
from the others' results), runs `trial_objective` — the very function the local backend
runs — and writes each trial back. The journal's file lock makes the workers' writes
safe, so resume, the default first trial, median pruning across trials and the report
work as they do in one process. A Ray actor hands out exactly as many trial tickets as
the study lacks, so the study ends with `trials` trials however the workers interleave.

What travels: the prepared stage (`Tunable`: the split data, item vectors, the simulator
task) is put once in Ray's object store and read by every worker (a local cluster maps it
in shared memory; a remote node fetches it once); each worker holds one copy plus its
model under training. On a cluster (`address`), the journal file must sit on a
filesystem every node mounts, as Optuna's journal storage requires.

Ray Tune's `OptunaSearch` was the other way: it keeps its own in-memory study, so the
study would no longer resume from its journal, nor hold the default as trial 0, nor be
what `optuna-dashboard` opens; driving Optuna's storage from plain Ray tasks keeps one
study whichever backend ran it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import FrozenTrial, TrialState

from paretorec.scale.cluster import connect
from paretorec.tune.options import Sampler
from paretorec.tune.study import (
    CAUGHT,
    MedianPruning,
    StudyPlace,
    Tunable,
    make_sampler,
    trial_objective,
    trials_to_run,
)

__all__ = ["run_trials_ray"]

_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)


def _work(
    storage_path: str,
    study_name: str,
    tunable: Tunable[Any],
    tickets: Any,
    sampler: Sampler,
    seed: int,
    pruning: MedianPruning,
    deadline: float | None,
) -> int:
    """One worker: take a ticket, run one trial, until the tickets or the time run out."""
    import ray

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name,
        storage=JournalStorage(JournalFileBackend(storage_path)),
        sampler=make_sampler(sampler, seed),
    )
    objective = trial_objective(study, tunable, pruning)
    ran = 0
    while (deadline is None or time.time() < deadline) and ray.get(tickets.take.remote()):
        study.optimize(objective, n_trials=1, catch=CAUGHT, gc_after_trial=True)
        ran += 1
    return ran


def run_trials_ray(
    study: optuna.Study,
    place: StudyPlace,
    tunable: Tunable[Any],
    *,
    trials: int,
    workers: int,
    sampler: Sampler = Sampler.TPE,
    seed: int = 0,
    timeout: float | None = None,
    pruning: MedianPruning | None = None,
    address: str | None = None,
    on_trial: Callable[[FrozenTrial], None] | None = None,
) -> int:
    """`run_trials` with `workers` trials at a time on Ray: until the study (opened by
    `open_study` at `place`) holds `trials`, or `timeout` seconds pass (no trial starts
    after); how many were run. `on_trial` hears each trial as it finishes."""
    import ray

    if trials < 1 or workers < 1:
        raise ValueError(f"trials and workers must be >= 1, got {trials} and {workers}")
    before = len(study.trials)
    remaining = trials_to_run(study, tunable, trials)
    if remaining <= 0:
        return 0
    connect(workers=workers, address=address)

    @ray.remote(num_cpus=0)
    class Tickets:
        def __init__(self, n: int) -> None:
            self.left = n

        def take(self) -> bool:
            if self.left <= 0:
                return False
            self.left -= 1
            return True

    tickets = Tickets.remote(remaining)  # type: ignore[attr-defined]
    shared = ray.put(tunable)
    deadline = None if timeout is None else time.time() + timeout
    work = ray.remote(num_cpus=1)(_work)
    pending = [
        work.remote(
            str(place.storage_path),
            place.name,
            shared,
            tickets,
            sampler,
            seed + before + 1000 * (w + 1),  # apart from each other and from a local run
            pruning or MedianPruning(),
            deadline,
        )
        for w in range(workers)
    ]
    heard: set[int] = {t.number for t in study.get_trials(deepcopy=False, states=_FINISHED)}
    ran = 0

    def report() -> None:
        for t in study.get_trials(deepcopy=False, states=_FINISHED):
            if t.number not in heard:
                heard.add(t.number)
                if on_trial is not None:
                    on_trial(t)

    while pending:
        done, pending = ray.wait(pending, timeout=2.0)
        ran += sum(int(n) for n in ray.get(done))
        report()
    report()
    return ran
