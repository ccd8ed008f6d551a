"""share_of_best: first-stage scores as a share of the best, by hand."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from paretorec.objectives.kernels import share_of_best


def test_by_hand() -> None:
    assert share_of_best(np.array([2.0, 1.0, 0.0])).tolist() == [1.0, 0.5, 0.0]
    # a negative score shifts everything up by it: (-1, 1, 3) -> (0, 2, 4) / 4
    assert share_of_best(np.array([-1.0, 1.0, 3.0])).tolist() == [0.0, 0.5, 1.0]
    assert share_of_best(np.array([0.0, 0.0])).tolist() == [1.0, 1.0]
    assert share_of_best(np.array([])).size == 0


@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30))
def test_in_unit_interval_and_order_kept(scores: list[float]) -> None:
    share = share_of_best(np.array(scores))
    assert ((share >= 0) & (share <= 1)).all()
    assert share.max() == 1.0
    order = np.argsort(scores, kind="stable")
    assert (np.diff(share[order]) >= -1e-12).all()
