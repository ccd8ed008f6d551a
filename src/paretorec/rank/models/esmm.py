"""ESMM: the entire-space multi-task model (Ma et al., SIGIR 2018), along the funnel.

Each stage k of the funnel (e.g. click, cart, purchase) has a tower giving the
conditional logit of reaching stage k given stage k-1 (CTR for the first stage, CVR
given a click, ...). The trained outputs are the unconditional probabilities over the
whole exposure space, products of the conditionals:

    p(click) = CTR,   p(purchase) = p(click) x p(purchase | click)   (CTCVR = CTR x CVR)

so the conditional towers learn from every exposure, not only from the clicked ones,
which removes the sample selection bias of a CVR model trained on clicks and helps
with the sparse deep stages. The embedding layer is shared by all towers.

Outputs: the tasks (unconditional, as logits) and, for k >= 2, the conditional
`"<stage k>|<stage k-1>"` (as logits).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from paretorec.rank.config import RankerConfig
from paretorec.rank.features import FeatureSpec
from paretorec.rank.models.base import MultiTaskModel, Tower

LOG_P_MAX = -1e-7  # keeps log(1 - p) finite


def conditional_name(task: str, previous: str) -> str:
    return f"{task}|{previous}"


def chain_logits(conditional: list[Tensor]) -> list[Tensor]:
    """Logits of the running products of sigmoid(conditional[0]), sigmoid(conditional[1]),
    ... computed in log space: log p_k = sum_{j<=k} log sigmoid(c_j), and
    logit(p) = log p - log(1 - p)."""
    out: list[Tensor] = []
    log_p = torch.zeros_like(conditional[0])
    for c in conditional:
        log_p = log_p + nn.functional.logsigmoid(c)
        clamped = torch.clamp(log_p, max=LOG_P_MAX)
        out.append(clamped - torch.log(-torch.expm1(clamped)))
    return out


class ESMM(MultiTaskModel):
    """`tasks` must be in funnel order (each stage implies the one before)."""

    def __init__(self, spec: FeatureSpec, config: RankerConfig, tasks: tuple[str, ...]) -> None:
        super().__init__(spec, config, tasks)
        self.towers = nn.ModuleDict(
            {
                t: Tower(config.hidden + config.tower, self.encoder.out_dim, config.dropout)
                for t in self.tasks
            }
        )

    def output_priors(self, rates: dict[str, float]) -> dict[str, float]:
        """Each tower gives a conditional: its prior is rate_k / rate_(k-1)."""
        out = {self.tasks[0]: rates[self.tasks[0]]}
        for k in range(1, len(self.tasks)):
            previous = rates[self.tasks[k - 1]]
            out[self.tasks[k]] = rates[self.tasks[k]] / previous if previous > 0 else 0.5
        return out

    def heads(self, z: Tensor) -> dict[str, Tensor]:
        conditional = [self.towers[t](z) for t in self.tasks]
        out = dict(zip(self.tasks, chain_logits(conditional), strict=True))
        for k in range(1, len(self.tasks)):
            out[conditional_name(self.tasks[k], self.tasks[k - 1])] = conditional[k]
        return out
