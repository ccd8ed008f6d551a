from __future__ import annotations

import numpy as np
import pytest
import torch

from paretorec.rank import TrainConfig, UncertaintyWeights, mgda_weights, min_norm_weights


def gram(*vectors: list[float]) -> np.ndarray:
    g = np.asarray(vectors, dtype=np.float64)
    return g @ g.T


def test_two_tasks_by_hand() -> None:
    np.testing.assert_allclose(min_norm_weights(gram([1, 0], [0, 1])), [0.5, 0.5])
    # g1 = (1, 0) lies below g2 = (1, 1): the min-norm point is g1 itself
    np.testing.assert_allclose(min_norm_weights(gram([1, 0], [1, 1])), [1.0, 0.0])
    # opposed gradients: the zero vector, halfway
    np.testing.assert_allclose(min_norm_weights(gram([2, 0], [-2, 0])), [0.5, 0.5])
    np.testing.assert_allclose(min_norm_weights(gram([3.0])), [1.0])


def test_three_orthonormal_tasks_share_equally() -> None:
    w = min_norm_weights(gram([1, 0, 0], [0, 1, 0], [0, 0, 1]))
    np.testing.assert_allclose(w, [1 / 3] * 3, atol=1e-3)


def test_min_norm_point_is_optimal_on_random_gradients() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        g = rng.normal(size=(4, 6))
        w = min_norm_weights(g @ g.T)
        assert w.min() >= 0 and w.sum() == pytest.approx(1.0)
        v = w @ g
        # optimality on the simplex: no vertex lowers the norm, v . g_t >= |v|^2
        assert (g @ v >= v @ v - 1e-4).all()


def test_mgda_weights_normalize_the_gradients() -> None:
    w = mgda_weights({"click": torch.tensor([100.0, 0.0]), "buy": torch.tensor([0.0, 0.01])})
    assert w == pytest.approx({"click": 0.5, "buy": 0.5})


def test_bad_gram_fails_clearly() -> None:
    with pytest.raises(ValueError, match="square"):
        min_norm_weights(np.ones((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        min_norm_weights(np.array([[np.inf, 0], [0, 1.0]]))


def test_uncertainty_loss_by_hand() -> None:
    u = UncertaintyWeights(("a", "b"))
    with torch.no_grad():
        u.log_vars.copy_(torch.tensor([0.0, np.log(4.0)]))
    total = u({"a": torch.tensor(2.0), "b": torch.tensor(8.0)})
    # exp(0) * 2 + 0 + exp(-log 4) * 8 + log(4) / 2
    assert total.item() == pytest.approx(2 + 2 + np.log(4) / 2)
    assert u.weights() == pytest.approx({"a": 1.0, "b": 0.25})


def test_train_config_checks_its_values() -> None:
    with pytest.raises(ValueError, match="fixed weighting only"):
        TrainConfig(weighting="mgda", task_weights=(1.0, 2.0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-negative"):
        TrainConfig(task_weights=(-1.0, 2.0))
    with pytest.raises(ValueError, match="epochs"):
        TrainConfig(epochs=0)
