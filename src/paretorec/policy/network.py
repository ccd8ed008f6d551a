"""The preference-conditioned policy network pi(list | context, candidates, w; theta).

Each candidate j is encoded by an MLP whose every layer reads [previous layer, w, context]
(w concatenated to every layer's input, so the weights change the scoring itself, not a
final mix), starting from the candidate's features and its per-request standardized
predictions z_j (one column per named prediction). Its score is

    s_j = sum_l w_{o(l)} * alpha_l * z_{j, p(l)}  +  r_theta(h_j, w[, list so far])

a linked part, one term per (objective, prediction) link (clicks <- the click prediction,
...), with learned scales alpha_l >= 0, plus a learned w-conditioned remainder
r_theta = sum_k w_k r_k(h_j, w[, ...]), one output per objective, each weighed by its
objective's weight (`PolicyConfig.objective_heads`; without it, one output r). The
weighted heads matter: with a single head, training in the simulator learned one
w-independent direction (the same lists for every w), because nothing ties the part of
the remainder that serves an objective to that objective's weight; with them an
objective whose weight is 0 cannot move the score through its head. An item's
explanation gives each objective k its linked terms plus its head's part w_k r_k, so the
parts sum to the score exactly and every part is an objective's; only a policy with one
head (`objective_heads=False`) reports its remainder as "interaction".

Two variants (`PolicyVariant`): PLACKETT_LUCE scores every candidate once and ranks by
Plackett-Luce over the scores; LIST_AWARE scores the next position given the items already
placed (the candidate's mean and largest cosine similarity of encodings to them, how many
of them share each of its group labels, and the position), so it can learn diversity and
avoid near-repeats. Both decode greedily for serving and by sampling for training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from paretorec.policy.inputs import PolicyInput
from paretorec.policy.plackett_luce import (
    check_list_size,
    gumbel,
    pl_greedy,
    pl_log_prob,
    pl_sample,
    step_log_prob,
)
from paretorec.preference import check_simplex

INTERACTION = "interaction"
N_LIST_FEATURES = 3  # mean and largest similarity to the placed items, the position  # the name of the learned remainder in explanations


class PolicyVariant(StrEnum):
    PLACKETT_LUCE = "plackett_luce"  # one score per candidate, Plackett-Luce over them
    LIST_AWARE = "list_aware"  # the next position's scores given the items placed


@dataclass(frozen=True)
class PolicyConfig:
    """The shape of a policy: its objectives (the order of w), the prediction columns
    and feature sizes it reads, which objective each prediction explains, and its size."""

    objectives: tuple[str, ...]
    prediction_names: tuple[str, ...]
    context_dim: int
    item_dim: int
    links: tuple[tuple[str, str], ...] = ()  # (objective, prediction name)
    n_groups: int = 0
    variant: PolicyVariant = PolicyVariant.PLACKETT_LUCE
    hidden: int = 64
    layers: int = 2
    prior_scale: float = 1.0  # initial alpha of every link
    # the remainder as sum_k w_k r_k (one learned head per objective), not one head r
    objective_heads: bool = True

    def __post_init__(self) -> None:
        if not self.objectives:
            raise ValueError("a policy needs at least one objective")
        if len(set(self.objectives)) != len(self.objectives):
            raise ValueError(f"objectives repeat: {self.objectives}")
        for objective, prediction in self.links:
            if objective not in self.objectives:
                raise ValueError(f"link to unknown objective {objective!r}")
            if prediction not in self.prediction_names:
                raise ValueError(f"link to unknown prediction {prediction!r}")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError("hidden and layers must be at least 1")
        if self.prior_scale <= 0:
            raise ValueError("prior_scale must be positive")
        object.__setattr__(self, "variant", PolicyVariant(self.variant))

    @property
    def n_objectives(self) -> int:
        return len(self.objectives)

    def to_json(self) -> dict[str, object]:
        return {
            "objectives": list(self.objectives),
            "prediction_names": list(self.prediction_names),
            "context_dim": self.context_dim,
            "item_dim": self.item_dim,
            "links": [list(link) for link in self.links],
            "n_groups": self.n_groups,
            "variant": self.variant.value,
            "hidden": self.hidden,
            "layers": self.layers,
            "prior_scale": self.prior_scale,
            "objective_heads": self.objective_heads,
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> PolicyConfig:
        def strings(key: str) -> tuple[str, ...]:
            value = data[key]
            assert isinstance(value, list)
            return tuple(str(v) for v in value)

        links = data.get("links", [])
        assert isinstance(links, list)
        return cls(
            objectives=strings("objectives"),
            prediction_names=strings("prediction_names"),
            context_dim=int(str(data["context_dim"])),
            item_dim=int(str(data["item_dim"])),
            links=tuple((str(a), str(b)) for a, b in links),
            n_groups=int(str(data.get("n_groups", 0))),
            variant=PolicyVariant(str(data.get("variant", PolicyVariant.PLACKETT_LUCE))),
            hidden=int(str(data.get("hidden", 64))),
            layers=int(str(data.get("layers", 2))),
            prior_scale=float(str(data.get("prior_scale", 1.0))),
            objective_heads=bool(data.get("objective_heads", False)),  # absent: older files
        )


@dataclass(frozen=True)
class Batch:
    """A `PolicyInput` and its weights as tensors (float32)."""

    context: Tensor  # (n, d_context)
    items: Tensor  # (n, c, d_item)
    z: Tensor  # (n, c, n_predictions) predictions standardized within each request
    same_group: Tensor | None  # (n, c, c, g) bool: candidates share a group label
    w: Tensor  # (n, m)
    # training only: per-objective credit (n, m) that scales the gradient reaching each
    # objective's head and links (see `route_credit`); None: gradients pass unchanged
    credit: Tensor | None = None

    @property
    def n(self) -> int:
        return int(self.items.shape[0])

    @property
    def c(self) -> int:
        return int(self.items.shape[1])


def standardize_predictions(predictions: np.ndarray) -> np.ndarray:
    """Each prediction column z-scored within each request (n, c, p); 0 where constant."""
    mean = predictions.mean(axis=1, keepdims=True)
    std = predictions.std(axis=1, keepdims=True)
    out: np.ndarray = np.where(std > 1e-12, (predictions - mean) / np.maximum(std, 1e-12), 0.0)
    return out


class _RouteCredit(torch.autograd.Function):
    """Identity forward; backward multiplies the gradient of x (n, c, m) by credit (n, m)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, credit: Tensor) -> Tensor:
        ctx.save_for_backward(credit)
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        (credit,) = ctx.saved_tensors
        return grad * credit[:, None, :], None


def route_credit(x: Tensor, credit: Tensor) -> Tensor:
    """x (n, c, m) unchanged, its gradient scaled per request and objective by `credit`
    (n, m): with credit = each objective's advantage and the loss -mean(log pi), head k
    and the links of objective k ascend objective k alone (w_k A_k grad log pi), instead
    of every head ascending the weighted sum (w_k sum_j w_j A_j grad log pi), whose cross
    terms teach the clicks head diversity wherever both weights are positive and so leak
    into the lists of w = (1, 0, 0). (`OnPolicyConfig.credit_per_objective`, off by
    default: the heads' relative scales then follow each objective's signal-to-noise,
    not the trade-off.)"""
    out: Tensor = _RouteCredit.apply(x, credit)  # type: ignore[no-untyped-call]
    return out


@dataclass(frozen=True)
class ListState:
    """The list-aware scores' per-list constants: the static part of the hidden layer
    (n, c, hidden), the candidates' cosine similarities (n, c, c), shared labels."""

    static: Tensor
    similarity: Tensor
    same_group: Tensor | None  # (n, c * g, c): [j * g + l, i] item i shares label l of j


@dataclass(frozen=True)
class Decoded:
    """Lists chosen for a batch, with their log-probabilities and per-position scores
    split into the linked contributions and the remainder."""

    lists: Tensor  # (n, k) candidate indices, best first
    log_prob: Tensor  # (n,)
    scores: Tensor  # (n, k) score of each placed item when it was placed
    contributions: Tensor  # (n, k, n_links)
    interaction: Tensor  # (n, k)
    # (n, k, m): each objective's share of the remainder, w_k r_k; None with one head
    head_parts: Tensor | None = None
    # (n, c): each candidate's rank had objective k's part (linked + head) been left out of
    # every score, (n, c, m); Plackett-Luce policies with one head per objective only
    ranks_without: Tensor | None = None


class PreferencePolicy(nn.Module):
    """pi(list | context, candidates, w; theta): see the module's notes."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config
        m, p, h = config.n_objectives, len(config.prediction_names), config.hidden
        sizes = [config.item_dim + p] + [h] * config.layers
        self.encoder = nn.ModuleList(
            nn.Linear(sizes[i] + m + config.context_dim, sizes[i + 1]) for i in range(config.layers)
        )
        outputs = m if config.objective_heads else 1
        self.head = nn.Linear(h + m, outputs)
        if config.variant is PolicyVariant.LIST_AWARE:
            self.list_static = nn.Linear(h + m, h)
            self.list_dynamic = nn.Linear(N_LIST_FEATURES + config.n_groups, h, bias=False)
            self.list_out = nn.Linear(h + m, outputs)
        start = math.log(math.expm1(config.prior_scale))  # softplus^-1
        self.prior_raw = nn.Parameter(torch.full((len(config.links),), start))
        self.link_objective = torch.tensor(
            [config.objectives.index(o) for o, _ in config.links], dtype=torch.long
        )
        self.link_prediction = torch.tensor(
            [config.prediction_names.index(q) for _, q in config.links], dtype=torch.long
        )

    # ------------------------------------------------------------------ inputs
    def batch(self, inputs: PolicyInput, weights: np.ndarray) -> Batch:
        """Checks `inputs` against the config and `weights` against the simplex."""
        cfg = self.config
        if inputs.prediction_names != cfg.prediction_names:
            raise ValueError(
                f"the policy reads predictions {cfg.prediction_names}, got {inputs.prediction_names}"
            )
        if inputs.context.shape[1] != cfg.context_dim:
            raise ValueError(
                f"context must have {cfg.context_dim} features, got {inputs.context.shape[1]}"
            )
        if inputs.item_features.shape[2] != cfg.item_dim:
            raise ValueError(
                f"item_features must have {cfg.item_dim} features, got "
                f"{inputs.item_features.shape[2]}"
            )
        if inputs.n_groups != cfg.n_groups:
            raise ValueError(f"the policy reads {cfg.n_groups} group labels, got {inputs.n_groups}")
        w = check_simplex(weights, cfg.n_objectives, n_requests=inputs.n_requests)
        same: Tensor | None = None
        if cfg.variant is PolicyVariant.LIST_AWARE and inputs.groups is not None and cfg.n_groups:
            g = torch.from_numpy(inputs.groups)
            same = (g[:, :, None, :] == g[:, None, :, :]) & (g >= 0)[:, :, None, :]
        return Batch(
            context=torch.from_numpy(inputs.context).float(),
            items=torch.from_numpy(inputs.item_features).float(),
            z=torch.from_numpy(standardize_predictions(inputs.prediction_matrix())).float(),
            same_group=same,
            w=torch.from_numpy(w).float(),
        )

    # ------------------------------------------------------------------ scoring
    def alpha(self) -> Tensor:
        """The learned scale of each link, >= 0."""
        return nn.functional.softplus(self.prior_raw)

    def encode(self, b: Batch) -> Tensor:
        """h_j: (n, c, hidden); every layer reads [previous, w, context]."""
        cond = torch.cat([b.w, b.context], dim=1)[:, None, :].expand(b.n, b.c, -1)
        x = torch.cat([b.items, b.z], dim=2)
        for layer in self.encoder:
            x = torch.relu(layer(torch.cat([x, cond], dim=2)))
        return x

    def linked(self, b: Batch) -> Tensor:
        """The linked contributions w_o * alpha_l * z_{j, p}: (n, c, n_links)."""
        w = b.w[:, self.link_objective][:, None, :]
        z = b.z[:, :, self.link_prediction]
        out: Tensor = w * self.alpha()[None, None, :] * z
        if b.credit is not None:
            out = route_credit(out, b.credit[:, self.link_objective])
        return out

    def remainder(self, b: Batch, h: Tensor) -> Tensor:
        """The learned w-conditioned part of each candidate's score, (n, c): for the
        list-aware variant, its value at the first position (nothing placed)."""
        return self.remainder_parts(b, h).sum(dim=2)

    def remainder_parts(self, b: Batch, h: Tensor) -> Tensor:
        """The remainder by objective, w_k r_k: (n, c, m), or (n, c, 1) with one head."""
        wide = b.w[:, None, :].expand(b.n, b.c, -1)
        if self.config.variant is PolicyVariant.PLACKETT_LUCE:
            return self.weigh_parts(b, self.head(torch.cat([h, wide], dim=2)))
        state = self.list_state(b, h)
        return self.list_remainder_parts(b, state, torch.zeros(b.n, b.c, dtype=torch.bool), 0, 1)

    def list_state(self, b: Batch, h: Tensor) -> ListState:
        """What the list-aware scores reuse at every position of a list."""
        wide = b.w[:, None, :].expand(b.n, b.c, -1)
        unit = h / h.norm(dim=2, keepdim=True).clamp(min=1e-6)
        return ListState(
            static=self.list_static(torch.cat([h, wide], dim=2)),
            similarity=torch.bmm(unit, unit.transpose(1, 2)),
            same_group=None
            if b.same_group is None
            else b.same_group.permute(0, 1, 3, 2).reshape(b.n, -1, b.c).float(),
        )

    def list_remainder(
        self, b: Batch, state: ListState, placed: Tensor, position: int, k: int
    ) -> Tensor:
        """The list-aware remainder given the items `placed` (n, c) so far: it reads the
        candidate's mean and largest similarity to them, how many of them share each of
        its group labels, and the position."""
        return self.list_remainder_parts(b, state, placed, position, k).sum(dim=2)

    def list_remainder_parts(
        self, b: Batch, state: ListState, placed: Tensor, position: int, k: int
    ) -> Tensor:
        """`list_remainder` by objective: (n, c, m), or (n, c, 1) with one head."""
        count = placed.sum(dim=1, keepdim=True).clamp(min=1).float()
        placed_f = placed.float()
        sim = state.similarity
        mean_sim = torch.bmm(sim, placed_f[:, :, None]).squeeze(2) / count
        any_placed = placed.any(dim=1, keepdim=True)
        max_sim = sim.masked_fill(~placed[:, None, :], -1.0).max(dim=2).values
        max_sim = torch.where(any_placed, max_sim, torch.zeros_like(max_sim))
        parts = [mean_sim[:, :, None], max_sim[:, :, None]]
        parts.append(mean_sim.new_full((b.n, b.c, 1), position / max(k, 1)))
        if self.config.n_groups:
            if state.same_group is None:
                overlap = mean_sim.new_zeros(b.n, b.c, self.config.n_groups)
            else:
                overlap = torch.bmm(state.same_group, placed_f[:, :, None]).view(
                    b.n, b.c, self.config.n_groups
                )
            parts.append(torch.log1p(overlap))
        x = torch.relu(state.static + self.list_dynamic(torch.cat(parts, dim=2)))
        wide = b.w[:, None, :].expand(b.n, b.c, -1)
        return self.weigh_parts(b, self.list_out(torch.cat([x, wide], dim=2)))

    def weigh_parts(self, b: Batch, heads: Tensor) -> Tensor:
        """Each head's output (n, c, m) times its objective's weight, w_k r_k; one head's
        output (n, c, 1) as it is."""
        if not self.config.objective_heads:
            return heads
        if b.credit is not None:
            heads = route_credit(heads, b.credit)
        out: Tensor = heads * b.w[:, None, :]
        return out

    def first_scores(self, b: Batch) -> Tensor:
        """The scores of the first position (every position, for Plackett-Luce): (n, c)."""
        h = self.encode(b)
        return self.linked(b).sum(dim=2) + self.remainder(b, h)

    # ------------------------------------------------------------------ decoding
    def decode(
        self,
        b: Batch,
        k: int,
        *,
        greedy: bool = False,
        generator: torch.Generator | None = None,
        lists: Tensor | None = None,
    ) -> Decoded:
        """Greedy lists, sampled lists, or (with `lists`) the given lists scored."""
        check_list_size(k, b.c)
        if lists is not None and tuple(lists.shape) != (b.n, k):
            raise ValueError(f"lists must have shape ({b.n}, {k}), got {tuple(lists.shape)}")
        h = self.encode(b)
        linked = self.linked(b)
        base = linked.sum(dim=2)
        rows = torch.arange(b.n)
        by_head = self.config.objective_heads
        if self.config.variant is PolicyVariant.PLACKETT_LUCE:
            parts = self.remainder_parts(b, h)
            rest = parts.sum(dim=2)
            scores = base + rest
            if lists is None:
                lists = pl_greedy(scores, k) if greedy else pl_sample(scores, k, generator)
            return Decoded(
                lists=lists,
                log_prob=pl_log_prob(scores, lists),
                scores=scores.gather(1, lists),
                contributions=linked[rows[:, None], lists],
                interaction=rest.gather(1, lists),
                head_parts=parts[rows[:, None], lists] if by_head else None,
                ranks_without=self._ranks_without(scores, linked, parts) if by_head else None,
            )
        state = self.list_state(b, h)
        placed = torch.zeros(b.n, b.c, dtype=torch.bool)
        chosen_all, logp, step_scores, step_rest, step_parts = [], b.w.new_zeros(b.n), [], [], []
        for t in range(k):
            parts = self.list_remainder_parts(b, state, placed, t, k)
            rest = parts.sum(dim=2)
            scores = base + rest
            if lists is not None:
                chosen = lists[:, t]
            else:
                pick = scores.detach().masked_fill(placed, float("-inf"))
                if not greedy:
                    pick = pick + gumbel(tuple(pick.shape), generator, pick.dtype)
                chosen = torch.argmax(pick, dim=1)
            logp = logp + step_log_prob(scores, placed, chosen)
            step_scores.append(scores[rows, chosen])
            step_rest.append(rest[rows, chosen])
            step_parts.append(parts[rows, chosen])
            chosen_all.append(chosen)
            placed = placed.clone()
            placed[rows, chosen] = True
        out_lists = torch.stack(chosen_all, dim=1)
        return Decoded(
            lists=out_lists,
            log_prob=logp,
            scores=torch.stack(step_scores, dim=1),
            contributions=linked[rows[:, None], out_lists],
            interaction=torch.stack(step_rest, dim=1),
            head_parts=torch.stack(step_parts, dim=1) if by_head else None,
        )

    def _ranks_without(self, scores: Tensor, linked: Tensor, parts: Tensor) -> Tensor:
        """(n, c, m): every candidate's rank (0 first) by the scores less objective k's
        part, for each k: where the list would have put it without that objective."""
        by_objective = parts.clone()
        by_objective.index_add_(2, self.link_objective, linked)
        without = scores[:, :, None] - by_objective
        order = torch.argsort(-without, dim=1, stable=True)
        ranks = torch.empty_like(order)
        positions = torch.arange(order.shape[1])[None, :, None].expand_as(order)
        ranks.scatter_(1, order, positions)
        return ranks

    def log_prob(self, b: Batch, lists: Tensor) -> Tensor:
        """log pi(list | ...) of given lists (n, k): (n,), differentiable."""
        return self.decode(b, int(lists.shape[1]), lists=lists).log_prob


class Baseline(nn.Module):
    """b(context, candidates, w): the expected reward of a request, a learned baseline for
    REINFORCE and the value function of PPO. Reads the context, w, and the candidates'
    features and standardized predictions pooled (mean and max) over the candidates."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        d = 2 * (config.item_dim + len(config.prediction_names)) + config.context_dim
        m, h = config.n_objectives, config.hidden
        self.first = nn.Linear(d + m, h)
        self.second = nn.Linear(h + m, h)
        self.out = nn.Linear(h + m, 1)

    def forward(self, b: Batch) -> Tensor:
        x = torch.cat([b.items, b.z], dim=2)
        pooled = torch.cat([x.mean(dim=1), x.max(dim=1).values, b.context], dim=1)
        y = torch.relu(self.first(torch.cat([pooled, b.w], dim=1)))
        y = torch.relu(self.second(torch.cat([y, b.w], dim=1)))
        out: Tensor = self.out(torch.cat([y, b.w], dim=1)).squeeze(1)
        return out


def select_rows(b: Batch, rows: Tensor) -> Batch:
    """The requests at `rows` of a batch."""
    return Batch(
        context=b.context[rows],
        items=b.items[rows],
        z=b.z[rows],
        same_group=None if b.same_group is None else b.same_group[rows],
        w=b.w[rows],
        credit=None if b.credit is None else b.credit[rows],
    )
