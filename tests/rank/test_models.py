from __future__ import annotations

import pytest
import torch

from paretorec.rank import (
    ESMM,
    Architecture,
    Batch,
    FeatureSpec,
    MMoE,
    RankerConfig,
    build_model,
)
from paretorec.rank.models import chain_logits, conditional_name

TASKS = ("click", "cart", "purchase")
SPEC = FeatureSpec(
    n_buckets=64,
    text_dimension=8,
    dense_names=("a", "b", "c"),
    max_position=5,
    serving_position=1,
    base_event="impression",
)


def batch(n: int = 7, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch(
        ids=torch.randint(0, SPEC.n_buckets, (n, len(SPEC.id_fields)), generator=g),
        dense=torch.randn(n, 3, generator=g),
        position=torch.randint(0, 6, (n,), generator=g),
        text=torch.randn(n, len(SPEC.text_fields), 8, generator=g),
    )


SMALL = {"hidden": (16,), "tower": (8,), "id_dim": 4, "text_dim": 4}


@pytest.mark.parametrize("architecture", list(Architecture), ids=str)
def test_outputs_are_named_logits_of_batch_shape(architecture: Architecture) -> None:
    model = build_model(SPEC, RankerConfig(architecture=architecture, **SMALL), TASKS)
    out = model(batch())
    expected = set(TASKS)
    if architecture is Architecture.ESMM:
        expected |= {"cart|click", "purchase|cart"}
    assert set(out) == expected
    for logits in out.values():
        assert logits.shape == (7,) and logits.dtype == torch.float32
        assert torch.isfinite(logits).all()
    assert model.tasks == TASKS
    assert model.represent(batch()).shape[1] == model.representation_dim


@pytest.mark.parametrize("architecture", list(Architecture), ids=str)
def test_single_task_and_gradients_reach_every_parameter(architecture: Architecture) -> None:
    model = build_model(SPEC, RankerConfig(architecture=architecture, **SMALL), ("click",))
    out = model(batch())
    assert set(out) == {"click"}
    out["click"].sum().backward()
    used = [n for n, p in model.named_parameters() if p.grad is not None]
    assert "encoder.ids.weight" in used


def test_esmm_ctcvr_is_ctr_times_cvr() -> None:
    model = ESMM(SPEC, RankerConfig(architecture=Architecture.ESMM, **SMALL), TASKS)
    with torch.no_grad():
        out = model(batch(50))
    p = {k: torch.sigmoid(v.double()) for k, v in out.items()}
    torch.testing.assert_close(p["cart"], p["click"] * p["cart|click"], rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(
        p["purchase"], p["click"] * p["cart|click"] * p["purchase|cart"], rtol=1e-5, atol=1e-7
    )
    assert (p["purchase"] <= p["cart"] + 1e-7).all() and (p["cart"] <= p["click"] + 1e-7).all()


def test_chain_logits_by_hand() -> None:
    c = [torch.tensor([0.0]), torch.tensor([0.0])]  # 1/2 and 1/2 -> 1/4: logit log(1/3)
    first, second = chain_logits(c)
    assert first.item() == pytest.approx(0.0, abs=1e-6)
    assert second.item() == pytest.approx(torch.log(torch.tensor(1 / 3)).item(), abs=1e-6)
    assert conditional_name("purchase", "click") == "purchase|click"


def test_mmoe_gates_are_mixtures() -> None:
    model = MMoE(SPEC, RankerConfig(architecture=Architecture.MMOE, n_experts=3, **SMALL), TASKS)
    gates = model.gate_weights(model.represent(batch()))
    for g in gates.values():
        assert g.shape == (7, 3)
        torch.testing.assert_close(g.sum(dim=1), torch.ones(7))


def test_bad_task_lists_and_configs_fail_clearly() -> None:
    with pytest.raises(ValueError, match="at least one task"):
        build_model(SPEC, RankerConfig(), ())
    with pytest.raises(ValueError, match="distinct"):
        build_model(SPEC, RankerConfig(), ("click", "click"))
    with pytest.raises(ValueError, match="hidden"):
        RankerConfig(hidden=())
    with pytest.raises(ValueError, match="dropout"):
        RankerConfig(dropout=1.0)
    with pytest.raises(ValueError, match="'lstm' is not a valid Architecture"):
        RankerConfig(architecture="lstm")  # type: ignore[arg-type]


def test_output_biases_start_at_the_base_rates() -> None:
    rates = {"click": 0.1, "cart": 0.02, "purchase": 0.01}
    mmoe = build_model(SPEC, RankerConfig(architecture=Architecture.MMOE, **SMALL), TASKS)
    mmoe.set_priors(rates)
    bias = mmoe.towers["cart"].out.bias  # type: ignore[index, union-attr]
    assert torch.sigmoid(bias).item() == pytest.approx(0.02)
    esmm = ESMM(SPEC, RankerConfig(architecture=Architecture.ESMM, **SMALL), TASKS)
    assert esmm.output_priors(rates) == pytest.approx({"click": 0.1, "cart": 0.2, "purchase": 0.5})
