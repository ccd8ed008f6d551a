"""Multi-task networks: each maps a `Batch` to a dict from task name to logits."""

from __future__ import annotations

from paretorec.rank.config import Architecture, RankerConfig
from paretorec.rank.features import FeatureSpec
from paretorec.rank.models.base import Batch, FeatureEncoder, MultiTaskModel
from paretorec.rank.models.esmm import ESMM, chain_logits, conditional_name
from paretorec.rank.models.mmoe import MMoE
from paretorec.rank.models.ple import PLE
from paretorec.rank.models.shared_bottom import SharedBottom

MODEL_CLASSES: dict[Architecture, type[MultiTaskModel]] = {
    Architecture.SHARED_BOTTOM: SharedBottom,
    Architecture.MMOE: MMoE,
    Architecture.PLE: PLE,
    Architecture.ESMM: ESMM,
}


def build_model(spec: FeatureSpec, config: RankerConfig, tasks: tuple[str, ...]) -> MultiTaskModel:
    """The network of `config.architecture` for features of `spec` and these tasks."""
    return MODEL_CLASSES[config.architecture](spec, config, tasks)


__all__ = [
    "ESMM",
    "PLE",
    "Batch",
    "FeatureEncoder",
    "MMoE",
    "MultiTaskModel",
    "SharedBottom",
    "build_model",
    "chain_logits",
    "conditional_name",
]
