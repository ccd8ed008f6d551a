"""Hyperparameters of the ranker: its architecture (`RankerConfig`) and its training
(`TrainConfig`), each a frozen dataclass that checks its values when built."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Architecture(StrEnum):
    """The multi-task network."""

    SHARED_BOTTOM = "shared-bottom"  # one shared MLP, a tower per task
    MMOE = "mmoe"  # mixture of experts, a softmax gate per task (Ma et al., 2018)
    PLE = "ple"  # shared and task-specific experts, stacked (Tang et al., 2020)
    ESMM = "esmm"  # funnel chain over the whole impression space (Ma et al., 2018)


class Weighting(StrEnum):
    """How the per-task losses are combined."""

    FIXED = "fixed"  # sum of w_t * loss_t with given weights
    UNCERTAINTY = "uncertainty"  # learned homoscedastic uncertainty (Kendall et al., 2018)
    MGDA = "mgda"  # min-norm point of the task gradients on the shared representation


class LabelLoss(StrEnum):
    """The per-task loss on the click (and other) labels."""

    CROSS_ENTROPY = "cross-entropy"
    #: generalized cross-entropy (Zhang & Sabuncu, 2018), robust to noisy labels
    GCE = "gce"


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")


def _sizes(name: str, sizes: tuple[int, ...]) -> None:
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"{name} must be a non-empty tuple of positive layer sizes, got {sizes}")


@dataclass(frozen=True)
class RankerConfig:
    """The network: `architecture` and its sizes.

    `hidden` is the shared bottom (Shared-Bottom), each expert (MMoE, PLE) or each
    funnel stage's MLP (ESMM); `tower` the per-task MLP on top.
    """

    architecture: Architecture = Architecture.MMOE
    id_dim: int = 16  # per hashed id field
    text_dim: int = 32  # each text vector (item, user, query) is projected to this
    position_dim: int = 4
    hidden: tuple[int, ...] = (128, 64)
    tower: tuple[int, ...] = (32,)
    n_experts: int = 4  # MMoE
    n_shared_experts: int = 2  # PLE
    n_task_experts: int = 1  # PLE, per task
    n_levels: int = 2  # PLE extraction layers
    dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "architecture", Architecture(self.architecture))
        object.__setattr__(self, "hidden", tuple(self.hidden))
        object.__setattr__(self, "tower", tuple(self.tower))
        for name in ("id_dim", "text_dim", "position_dim", "n_experts", "n_shared_experts"):
            _positive(name, getattr(self, name))
        _positive("n_levels", self.n_levels)
        if self.n_task_experts < 0:
            raise ValueError(f"n_task_experts must not be negative, got {self.n_task_experts}")
        _sizes("hidden", self.hidden)
        _sizes("tower", self.tower)
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")

    def to_json(self) -> dict[str, Any]:
        return {
            "architecture": self.architecture.value,
            "id_dim": self.id_dim,
            "text_dim": self.text_dim,
            "position_dim": self.position_dim,
            "hidden": list(self.hidden),
            "tower": list(self.tower),
            "n_experts": self.n_experts,
            "n_shared_experts": self.n_shared_experts,
            "n_task_experts": self.n_task_experts,
            "n_levels": self.n_levels,
            "dropout": self.dropout,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RankerConfig:
        return cls(
            architecture=Architecture(raw["architecture"]),
            id_dim=int(raw["id_dim"]),
            text_dim=int(raw["text_dim"]),
            position_dim=int(raw["position_dim"]),
            hidden=tuple(int(x) for x in raw["hidden"]),
            tower=tuple(int(x) for x in raw["tower"]),
            n_experts=int(raw["n_experts"]),
            n_shared_experts=int(raw["n_shared_experts"]),
            n_task_experts=int(raw["n_task_experts"]),
            n_levels=int(raw["n_levels"]),
            dropout=float(raw["dropout"]),
        )


@dataclass(frozen=True)
class TrainConfig:
    """Training: loss weighting, optimizer, epochs with early stopping on the valid rows.

    `tasks` restricts training to some of the data's tasks (one task: a single-task
    model); `task_weights` (same order as the tasks trained) are for `Weighting.FIXED`.
    """

    weighting: Weighting = Weighting.FIXED
    task_weights: tuple[float, ...] | None = None
    tasks: tuple[str, ...] | None = None
    epochs: int = 5
    batch_size: int = 1024
    learning_rate: float = 2e-3
    weight_decay: float = 1e-6
    patience: int = 2  # epochs without a better valid loss before stopping
    seed: int = 0
    # robustness (paretorec.rank.robust): APR's perturbation of each id embedding vector
    # (0: off) and its loss weight; the label loss and GCE's q
    adversarial_eps: float = 0.0
    adversarial_weight: float = 1.0
    label_loss: LabelLoss = LabelLoss.CROSS_ENTROPY
    gce_q: float = 0.7

    def __post_init__(self) -> None:
        object.__setattr__(self, "weighting", Weighting(self.weighting))
        object.__setattr__(self, "label_loss", LabelLoss(self.label_loss))
        if not (self.adversarial_eps >= 0 and self.adversarial_weight >= 0):
            raise ValueError("adversarial_eps and adversarial_weight must be >= 0")
        if self.adversarial_eps > 0 and self.weighting is Weighting.MGDA:
            raise ValueError("adversarial training does not combine with the MGDA weighting")
        if not 0 < self.gce_q <= 1:
            raise ValueError(f"gce_q must be in (0, 1], got {self.gce_q}")
        for name in ("epochs", "batch_size", "learning_rate"):
            _positive(name, getattr(self, name))
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must not be negative, got {self.weight_decay}")
        if self.patience < 1:
            raise ValueError(f"patience must be at least 1, got {self.patience}")
        if self.tasks is not None and len(self.tasks) == 0:
            raise ValueError("tasks must name at least one task (or be None for all)")
        if self.task_weights is not None:
            if any(not w >= 0 for w in self.task_weights) or sum(self.task_weights) <= 0:
                raise ValueError(
                    f"task_weights must be non-negative and not all zero, got {self.task_weights}"
                )
            if self.weighting is not Weighting.FIXED:
                raise ValueError("task_weights apply to the fixed weighting only")
