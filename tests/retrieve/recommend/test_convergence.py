"""Training to convergence: early stopping keeps the best epoch, the learning-rate schedule's
exact values, the sampled softmax with logQ, training windows, seeds."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from paretorec.retrieve.recommend import Sequential, TrainingData, TwoTower, ValidationSet
from paretorec.retrieve.recommend._neural import (
    LearningRate,
    LRSchedule,
    TrainingConfig,
    TrainingLog,
    ValidationMetric,
    ndcg_at,
    recall_at,
    train_epochs,
)
from paretorec.retrieve.recommend.sequential import mixed_log_q, training_windows
from tests.retrieve.recommend.conftest import chains, text_vectors


class _Marked(nn.Module):
    """One weight, set to the number of the epoch being trained: which epoch's weights
    were kept is readable from it."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1))


def _fabricated_run(
    curve: list[float], patience: int, max_epochs: int
) -> tuple[_Marked, TrainingLog]:
    module = _Marked()
    epochs_started = [0]

    def step_loss(batch: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            module.weight.fill_(float(epochs_started[0]))
        epochs_started[0] += 1
        return module.weight.sum() * 0.0  # no gradient: Adam leaves the mark alone

    values = iter(curve)
    log = train_epochs(
        module,
        TrainingConfig(max_epochs=max_epochs, patience=patience, schedule=LRSchedule.CONSTANT),
        n_rows=1,
        batch_size=1,
        rng=np.random.default_rng(0),
        step_loss=step_loss,
        evaluate=lambda: next(values),
    )
    return module, log


def test_early_stopping_stops_at_the_patience_and_restores_the_best_epoch() -> None:
    curve = [0.1, 0.3, 0.5, 0.5, 0.4, 0.45, 0.9, 0.9]  # best at epoch 2 (0-based)
    module, log = _fabricated_run(curve, patience=3, max_epochs=8)
    assert log.values == [0.1, 0.3, 0.5, 0.5, 0.4, 0.45]  # epochs 3, 4, 5 do not beat 0.5
    assert log.epochs_run == 6 and log.best_epoch == 2 and log.stopped_early
    assert module.weight.item() == 2.0  # epoch 2's weights, not the last epoch's (5)


def test_a_rising_curve_runs_to_the_cap_and_keeps_the_last_epoch() -> None:
    module, log = _fabricated_run([0.1, 0.2, 0.3], patience=1, max_epochs=3)
    assert log.epochs_run == 3 and log.best_epoch == 2 and not log.stopped_early
    assert module.weight.item() == 2.0
    assert "the cap of 3" in log.summary()


def _rates(config: TrainingConfig, steps_per_epoch: int, values: list[float]) -> list[float]:
    weight = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([weight], lr=config.learning_rate)
    rate = LearningRate(optimizer, config, steps_per_epoch)
    seen = [rate.value]
    for epoch in range(config.max_epochs):
        for _ in range(steps_per_epoch):
            optimizer.step()
            rate.after_step()
            seen.append(rate.value)
        rate.after_epoch(values[epoch])
        seen.append(rate.value)
    return seen


def test_warmup_then_cosine_values() -> None:
    config = TrainingConfig(
        max_epochs=3, learning_rate=1.0, schedule=LRSchedule.COSINE, warmup_epochs=1.0
    )
    seen = _rates(config, 2, [0.0, 0.0, 0.0])
    # warm-up over 2 steps from 0.1: 0.1, 0.55, 1.0; then cosine over the other 4 steps
    cosine = [(1 + math.cos(math.pi * s / 4)) / 2 for s in (1, 2, 3, 4)]
    expected = [0.1, 0.55, 1.0, 1.0, cosine[0], cosine[1], cosine[1], cosine[2], cosine[3]]
    expected.append(cosine[3])
    np.testing.assert_allclose(seen, expected, atol=1e-12)


def test_plateau_halves_the_rate_after_an_epoch_without_improvement() -> None:
    config = TrainingConfig(
        max_epochs=4, learning_rate=1.0, schedule=LRSchedule.PLATEAU, warmup_epochs=0.0
    )
    seen = _rates(config, 1, [0.5, 0.4, 0.6, 0.6])
    # epoch ends: 0.5 (best), 0.4 (worse: halve), 0.6 (best), 0.6 (not better: halve)
    assert seen == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]


def test_validation_metrics_on_a_hand_checked_case() -> None:
    scores = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.4]], dtype=np.float32)
    validation = ValidationSet((np.array([0]), np.array([3])), np.array([2, 0]), k=2)
    # user 0: item 0 is history, so target 2 ranks second; user 1: target 0 ranks third
    assert recall_at(scores, validation) == 0.5
    assert ndcg_at(scores, validation) == pytest.approx(0.5 / math.log2(3))


@pytest.mark.parametrize(
    "bad",
    [
        {"max_epochs": 0},
        {"patience": 0},
        {"learning_rate": 0.0},
        {"plateau_factor": 1.0},
        {"warmup_epochs": -1.0},
        {"schedule": "linear"},
    ],
)
def test_bad_training_configs_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        TrainingConfig(**bad)  # type: ignore[arg-type]


def test_old_flat_configs_still_load() -> None:
    old = TrainingConfig.from_dict({"epochs": 4, "patience": 2, "learning_rate": 0.01})
    assert (old.max_epochs, old.patience, old.schedule, old.metric) == (
        4,
        2,
        LRSchedule.CONSTANT,
        ValidationMetric.RECALL,
    )
    config = TrainingConfig(max_epochs=7, schedule=LRSchedule.COSINE)
    assert TrainingConfig.from_dict(config.as_dict()) == config


def test_mixed_log_q_is_the_expected_draw_count() -> None:
    frequency = torch.tensor([0.5, 0.3, 0.2, 0.0])
    found = mixed_log_q(frequency, torch.tensor([0, 3]), positives=10, uniform=8, n_items=4)
    np.testing.assert_allclose(found.numpy(), np.log([10 * 0.5 + 2.0, 2.0]), rtol=1e-6)


def test_sampled_softmax_with_log_q_follows_the_full_gradient_in_expectation() -> None:
    """Expected gradient (over the sampled candidate sets) of the mixed sampled softmax
    w.r.t. the user state points where the full softmax's does; without logQ it is pulled
    towards the popular items."""
    generator = torch.Generator().manual_seed(0)
    n, dim, positives, uniform = 30, 8, 20, 5
    table = torch.randn(n, dim, generator=generator)
    frequency = 1.0 / torch.arange(1, n + 1, dtype=torch.float32)  # Zipf popularity
    frequency /= frequency.sum()
    target = 7

    def gradient(logits_of: object, candidates: torch.Tensor | None) -> torch.Tensor:
        state = torch.zeros(dim, requires_grad=True)
        items = torch.arange(n) if candidates is None else candidates
        logits = logits_of(state, items)  # type: ignore[operator]
        label = int((items == target).nonzero()[0, 0])
        F.cross_entropy(logits.unsqueeze(0), torch.tensor([label])).backward()  # type: ignore[no-untyped-call]
        assert state.grad is not None
        return state.grad

    full = gradient(lambda s, items: table[items] @ s, None)
    corrected = torch.zeros(dim)
    plain = torch.zeros(dim)
    draws = 2000
    for _ in range(draws):
        popular = torch.multinomial(frequency, positives - 1, True, generator=generator)
        flat = torch.randint(n, (uniform,), generator=generator)
        candidates = torch.unique(torch.cat([torch.tensor([target]), popular, flat]))
        log_q = mixed_log_q(frequency, candidates, positives, uniform, n)
        corrected += gradient(lambda s, items, q=log_q: table[items] @ s - q, candidates)
        plain += gradient(lambda s, items: table[items] @ s, candidates)
    cosine = F.cosine_similarity(full, corrected / draws, dim=0).item()
    uncorrected = F.cosine_similarity(full, plain / draws, dim=0).item()
    assert cosine > 0.97
    assert cosine > uncorrected


@pytest.mark.parametrize("negatives", ["mixed", "in-batch"])
def test_sampled_sequential_ranks_the_planted_next_item_first(negatives: str) -> None:
    data = TrainingData(text_vectors(), chains(12))
    model = Sequential(
        dim=16, max_length=4, layers=1, heads=2, dropout=0.0, epochs=40, batch_size=32,
        learning_rate=1e-2, negatives=negatives, uniform_negatives=4, seed=0,
    ).fit(data)  # fmt: skip
    histories = [np.array([0, 1]), np.array([3, 4])]
    scores = model.score(histories, text_vectors())
    for row, history in enumerate(histories):
        scores[row, history] = -np.inf
    assert scores.argmax(axis=1).tolist() == [2, 5]


def test_training_windows_cover_every_pair_once() -> None:
    windows = training_windows([np.arange(7), np.array([9]), np.array([4, 5])], 3)
    assert [w.tolist() for w in windows] == [[3, 4, 5, 6], [0, 1, 2, 3], [4, 5]]


@given(
    st.lists(st.lists(st.integers(0, 50), max_size=30), max_size=6),
    st.integers(1, 8),
)
def test_training_windows_keep_each_next_item_pair(sequences: list[list[int]], length: int) -> None:
    arrays = [np.array(s, dtype=np.int64) for s in sequences]
    windows = training_windows(arrays, length)
    assert all(2 <= w.size <= length + 1 for w in windows)
    pairs = sorted(p for w in windows for p in itertools.pairwise(w.tolist()))
    expected = sorted(p for s in sequences for p in itertools.pairwise(s))
    assert pairs == expected


def _validation() -> ValidationSet:
    return ValidationSet(
        (np.array([0]), np.array([0, 1]), np.array([3]), np.array([3, 4])),
        np.array([1, 2, 4, 5]),
    )


@pytest.mark.parametrize("build", ["two-tower", "sequential"])
def test_fits_are_deterministic_per_seed_and_log_their_curve(build: str) -> None:
    def fit(seed: int) -> TwoTower | Sequential:
        model: TwoTower | Sequential
        if build == "two-tower":
            model = TwoTower(dim=16, epochs=6, batch_size=16, learning_rate=1e-2, seed=seed)
        else:
            model = Sequential(
                dim=16, max_length=4, layers=1, heads=2, epochs=6, batch_size=16,
                learning_rate=1e-2, uniform_negatives=4, seed=seed,
            )  # fmt: skip
        return model.fit(TrainingData(text_vectors(), chains(6)), validation=_validation())

    histories = [np.array([0]), np.array([3, 4])]
    first, again, other = fit(0), fit(0), fit(1)
    np.testing.assert_array_equal(
        first.score(histories, text_vectors()), again.score(histories, text_vectors())
    )
    assert not np.array_equal(
        first.score(histories, text_vectors()), other.score(histories, text_vectors())
    )
    log = first.training_log
    assert log is not None and log.metric == "ndcg" and log.k == 10
    assert len(log.values) == log.epochs_run == len(log.learning_rates) <= 6
    assert log.best_epoch == int(np.argmax(log.values))
    assert first.validation_curve == log.values


def test_the_training_log_survives_save_and_load(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    model = Sequential(
        dim=16, max_length=4, layers=1, heads=2, epochs=3, batch_size=16, uniform_negatives=4,
        schedule="cosine", seed=0,
    ).fit(TrainingData(text_vectors(), chains(4)), validation=_validation())  # fmt: skip
    model.save(folder)
    loaded = Sequential.load(folder)
    assert loaded.training == model.training and loaded.training.schedule is LRSchedule.COSINE
    assert loaded.training_log == model.training_log
    np.testing.assert_allclose(
        loaded.score([np.array([0])], text_vectors()), model.score([np.array([0])], text_vectors())
    )
