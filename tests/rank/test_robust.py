"""Robust training: GCE's exact values and its resistance to flipped clicks; APR's
perturbation and that adversarial training makes the ranker less sensitive to it."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from paretorec.rank import RankerConfig, RankerFeatures, TrainConfig, Weighting, train_ranker
from paretorec.rank.config import LabelLoss
from paretorec.rank.models import MultiTaskModel, build_model
from paretorec.rank.ranker import to_batch
from paretorec.rank.robust import (
    adversarial_loss,
    adversarial_perturbation,
    embedding_perturbation,
    generalized_cross_entropy,
)
from paretorec.rank.train import _train_losses

SMALL = RankerConfig(hidden=(32,), tower=(16,), id_dim=8, n_experts=2, n_levels=1)


def test_gce_matches_its_definition() -> None:
    logits, labels = torch.tensor([0.0, 0.0, 2.0]), torch.tensor([1.0, 0.0, 0.0])
    # q = 1: 1 - p_y; p_y = 0.5, 0.5, 1 - sigmoid(2)
    expected = torch.tensor([0.5, 0.5, float(torch.sigmoid(torch.tensor(2.0)))]).mean()
    assert torch.isclose(generalized_cross_entropy(logits, labels, 1.0), expected)
    # q -> 0: cross-entropy
    ce = F.binary_cross_entropy_with_logits(logits, labels)
    assert torch.isclose(generalized_cross_entropy(logits, labels, 1e-5), ce, atol=1e-4)
    with pytest.raises(ValueError, match="q must be in"):
        generalized_cross_entropy(logits, labels, 0.0)


def fit_line(x: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """A logistic model w x + b fitted by Adam; its decision boundary -b / w."""
    torch.manual_seed(0)
    w, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.Adam([w, b], lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        logits = w * x + b
        if loss == "gce":
            value = generalized_cross_entropy(logits, y, 0.7)
        else:
            value = F.binary_cross_entropy_with_logits(logits, y)
        value.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
    return (-b / w).detach()


def test_gce_keeps_the_boundary_when_a_share_of_clicks_is_flipped() -> None:
    """Clicks on x > 0; 40% of the clicks far from the boundary (x > 1.5) are flipped to
    no-click (a logging fault). Cross-entropy's unbounded gradient on those confident
    mistakes drags the boundary into the clicked region; GCE's stays near 0."""
    x = torch.linspace(-3, 3, 601)
    clean = (x > 0).float()
    noisy = clean.clone()
    tail = torch.nonzero(x > 1.5).flatten()
    noisy[
        tail[torch.randperm(tail.numel(), generator=torch.Generator().manual_seed(0))][
            : int(0.4 * tail.numel())
        ]
    ] = 0.0
    ce_boundary = float(fit_line(x, noisy, "ce"))
    gce_boundary = float(fit_line(x, noisy, "gce"))
    assert abs(float(fit_line(x, clean, "gce"))) < 0.1
    assert ce_boundary > 0.3  # the flipped clicks moved it
    assert abs(gce_boundary) < ce_boundary / 2


def test_adversarial_perturbation_is_the_normalized_gradient_step() -> None:
    z = torch.tensor([[3.0, 4.0], [1.0, 0.0]], requires_grad=True)
    loss = (z * torch.tensor([[3.0, 4.0], [0.0, 2.0]])).sum()
    delta = adversarial_perturbation(loss, z, 0.5)
    assert torch.allclose(delta, torch.tensor([[0.3, 0.4], [0.0, 0.5]]))
    clean, total = adversarial_loss(lambda v: (v**2).sum(), z, eps=0.0, weight=1.0)
    assert torch.equal(clean, total)
    clean, total = adversarial_loss(lambda v: (v**2).sum(), z, eps=0.1, weight=2.0)
    assert float(total.detach()) > 3 * float(clean.detach())  # the worst-case step raises the loss


def test_embedding_perturbation_moves_each_id_vector_alone() -> None:
    encoded = torch.tensor([[3.0, 4.0, 0.0, 2.0, 7.0]], requires_grad=True)
    loss = (encoded * torch.tensor([[3.0, 4.0, 0.0, 2.0, 5.0]])).sum()
    delta = embedding_perturbation(loss, encoded, n_vectors=2, dim=2, eps=0.5)
    assert torch.allclose(delta, torch.tensor([[0.3, 0.4, 0.0, 0.5, 0.0]]))


def test_apr_in_training_perturbs_only_the_id_embeddings(sim_features: RankerFeatures) -> None:
    """The heads see the clean representation, then one whose id-embedding columns moved by
    eps per embedding vector and whose text, position and dense columns did not."""
    model = build_model(sim_features.spec, SMALL, ("click",))
    seen: list[torch.Tensor] = []
    heads = model.heads

    def recording(z: torch.Tensor) -> dict[str, torch.Tensor]:
        seen.append(z.detach())
        return heads(z)

    model.heads = recording  # type: ignore[method-assign]
    y = {"click": torch.from_numpy(sim_features.labels["click"][:64])}
    train = TrainConfig(adversarial_eps=0.5, tasks=("click",))
    _train_losses(model, to_batch(sim_features, slice(0, 64)), y, ("click",), train)
    moved = seen[1] - seen[0]
    width = model.encoder.n_fields * SMALL.id_dim
    assert torch.equal(moved[:, width:], torch.zeros_like(moved[:, width:]))
    norms = moved[:, :width].reshape(64, model.encoder.n_fields, SMALL.id_dim).norm(dim=2)
    assert torch.allclose(norms, torch.full_like(norms, 0.5), atol=1e-4)


def sensitivity(ranker_model: MultiTaskModel, features: RankerFeatures, eps: float) -> float:
    """Mean change of the click logit under APR's worst-case step of size eps on each id
    embedding vector."""
    batch = to_batch(features, slice(0, 2000))
    encoded = ranker_model.encoder(batch).detach().requires_grad_(True)
    out = ranker_model.heads(ranker_model.from_encoded(encoded))["click"]
    labels = torch.from_numpy(features.labels["click"][:2000])
    loss = F.binary_cross_entropy_with_logits(out, labels)
    delta = embedding_perturbation(
        loss, encoded, n_vectors=ranker_model.encoder.n_fields, dim=SMALL.id_dim, eps=eps
    )
    with torch.no_grad():
        after = ranker_model.heads(ranker_model.from_encoded(encoded + delta))["click"]
    return float((after - out.detach()).abs().mean())


def test_adversarial_training_makes_the_ranker_less_sensitive(
    sim_features: RankerFeatures,
) -> None:
    plain = train_ranker(sim_features, config=SMALL, train=TrainConfig(epochs=3, batch_size=512))
    robust = train_ranker(
        sim_features,
        config=SMALL,
        train=TrainConfig(epochs=3, batch_size=512, adversarial_eps=1.0, adversarial_weight=1.0),
    )
    assert sensitivity(robust.model, sim_features, 1.0) < 0.8 * sensitivity(
        plain.model, sim_features, 1.0
    )


def test_robust_options_train_and_bad_values_fail_clearly(sim_features: RankerFeatures) -> None:
    gce = train_ranker(
        sim_features,
        config=SMALL,
        train=TrainConfig(epochs=1, batch_size=1024, label_loss=LabelLoss.GCE),
    )
    assert gce.metadata["train"]["label_loss"] == "gce"
    with pytest.raises(ValueError, match="does not combine with the MGDA"):
        TrainConfig(adversarial_eps=0.1, weighting=Weighting.MGDA)
    with pytest.raises(ValueError, match="gce_q must be in"):
        TrainConfig(gce_q=1.5)
