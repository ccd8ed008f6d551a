"""Multiple-negatives ranking loss with graded positives and masked known positives.

sentence-transformers' `MultipleNegativesRankingLoss` (InfoNCE) scores each query against
every candidate of the batch (its own positive, the other queries' positives, and every
hard negative) and takes the softmax cross-entropy of its own positive. It averages the
rows uniformly and treats every other candidate as a negative. Two things differ here:

- each row carries a weight (the positive's graded gain), and the loss is the weighted
  mean of the rows' cross-entropies, so a product judged "exactly it" pulls harder than
  one judged "mostly relevant";
- a candidate known to be relevant to a row's query (another row's positive that the
  judgments also pair with this query) is masked out of that row's softmax, instead of
  being taught as a negative.

With equal weights, nothing masked and rows of one positive and k negatives each, the
value is exactly the library's (the tests check it), so this is the library's loss with two
documented extensions, not a reimplementation of another objective. The embeddings come
from the library's own `embed_columns`, the similarity and scale from the parent class.
"""

from __future__ import annotations

import torch
from sentence_transformers.base.losses.merged_forward import embed_columns
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from torch import Tensor

__all__ = ["GradedMultipleNegativesRankingLoss"]


class GradedMultipleNegativesRankingLoss(MultipleNegativesRankingLoss):
    """`MultipleNegativesRankingLoss` (query_to_doc, joint softmax) with row weights and a
    mask of candidates that are not negatives of a row."""

    def graded(
        self,
        query_features: dict[str, Tensor],
        candidate_features: dict[str, Tensor],
        weights: Tensor,
        blocked: Tensor,
    ) -> Tensor:
        """Rows: n queries; candidates: their n positives (row i's is candidate i), then any
        hard negatives. `weights` (n,) > 0; `blocked` (n, n_candidates) bool, True where a
        candidate is left out of the row's softmax (never on the row's own positive)."""
        queries, candidates = embed_columns(self.model, [query_features, candidate_features])
        return self.loss_from_embeddings(queries, candidates, weights, blocked)

    def loss_from_embeddings(
        self, queries: Tensor, candidates: Tensor, weights: Tensor, blocked: Tensor
    ) -> Tensor:
        n = queries.size(0)
        if candidates.size(0) < n or blocked.shape != (n, candidates.size(0)):
            raise ValueError(
                f"{n} queries need at least {n} candidates and a ({n}, candidates) mask, "
                f"got {candidates.size(0)} candidates and a mask of shape {tuple(blocked.shape)}"
            )
        rows = torch.arange(n, device=queries.device)
        if bool(blocked[rows, rows].any()):
            raise ValueError("a row's own positive cannot be masked")
        if bool((weights <= 0).any()):
            raise ValueError("row weights must be positive")
        scores = self.similarity_fct(queries, candidates) * self.scale
        scores = scores.masked_fill(blocked, float("-inf"))
        per_row = torch.logsumexp(scores, dim=1) - scores[rows, rows]
        return (weights * per_row).sum() / weights.sum()
