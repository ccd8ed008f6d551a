"""The exposure controller: groups shown less than they merit rise until the running
exposure follows merit."""

from __future__ import annotations

import numpy as np
import pytest

from paretorec.constraints import ExposureController
from paretorec.objectives.kernels import position_discount


def _serve(
    controller: ExposureController | None, n_requests: int, seed: int = 0
) -> ExposureController:
    """Two sellers with equal merit; seller "big" always scores a little higher, so a plain
    ranking gives it the top of every list."""
    rng = np.random.default_rng(seed)
    tracker = ExposureController(field="seller_id", strength=0.0)
    groups = ["big"] * 5 + ["small"] * 5
    for _ in range(n_requests):
        merit = np.ones(10)
        scores = np.where(np.asarray(groups) == "big", 1.0, 0.9) + rng.normal(0, 0.01, 10)
        if controller is not None:
            scores = scores + controller.bonus(groups, scores)
        order = np.argsort(-scores, kind="stable")[:4]
        listed = [groups[i] for i in order]
        for c in (controller, tracker):
            if c is not None:
                c.record(groups, merit, listed)
    return tracker


def test_without_the_controller_the_stronger_seller_takes_all_the_exposure() -> None:
    assert _serve(None, 200).disparate_exposure() == float("inf")


def test_with_the_controller_exposure_follows_merit() -> None:
    controller = ExposureController(field="seller_id", strength=2.0)
    tracker = _serve(controller, 400)
    shares = {g.group: g for g in tracker.report()}
    assert shares["small"].exposure_share == pytest.approx(0.5, abs=0.05)
    assert tracker.disparate_exposure() < 1.25


def test_the_bonus_is_zero_before_traffic_and_bad_settings_are_refused() -> None:
    controller = ExposureController(field="brand")
    np.testing.assert_array_equal(controller.bonus(["a", "b"], np.array([1.0, 0.5])), [0.0, 0.0])
    with pytest.raises(ValueError, match="strength"):
        ExposureController(field="brand", strength=-1)
    with pytest.raises(ValueError, match="half_life"):
        ExposureController(field="brand", half_life=0)
    np.testing.assert_allclose(position_discount(3), [1.0, 1 / np.log2(3), 0.5])


def test_total_variation_and_disparate_exposure_on_a_hand_made_stream() -> None:
    controller = ExposureController(field="seller_id", strength=0.0)
    # merit 3:1, exposure: "a" takes positions 1 and 2, "b" none
    controller.record(["a", "a", "a", "b"], np.ones(4), ["a", "a"])
    shares = {g.group: g for g in controller.report()}
    assert shares["a"].merit_share == 0.75 and shares["a"].exposure_share == 1.0
    assert controller.total_variation() == pytest.approx(0.25)
    assert controller.disparate_exposure() == float("inf")  # "b" merits exposure, got none
    assert controller.disparate_exposure(top=1) == 1.0
