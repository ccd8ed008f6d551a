"""`--runs DIR` of `eval search` and `eval recommend`: each method's ranked lists of the
test queries (users) as TREC run files (`paretorec.evaluate.trec_runs`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from paretorec.evaluate.trec_runs import DEFAULT_DEPTH, RankedList, write_run

if TYPE_CHECKING:
    from paretorec.retrieve.candidates import Candidates
    from paretorec.retrieve.recommend import Recommender, SplitSequences


def run_tag(method: str) -> str:
    """A method's name as a run's tag, without whitespace: ``hybrid + LTR`` → ``hybrid+LTR``,
    ``char n-grams`` → ``char_n-grams``."""
    return re.sub(r"\s+", "_", re.sub(r"\s*\+\s*", "+", method.strip()))


def write_search_runs(
    runs: Mapping[str, Mapping[str, Candidates]], folder: Path, *, depth: int = DEFAULT_DEPTH
) -> list[Path]:
    """One run file per method, each test query's list cut to `depth`, scores as ranked."""
    return [
        write_run(
            folder,
            [RankedList(q, c.item_ids, c.scores.tolist()) for q, c in lists.items()],
            method=run_tag(method),
            depth=depth,
        )
        for method, lists in runs.items()
    ]


def write_recommend_runs(
    recommender: Recommender,
    sequences: SplitSequences,
    folder: Path,
    *,
    depth: int = DEFAULT_DEPTH,
) -> list[Path]:
    """Each generator's and the merge's top `depth` (fewer where the catalog leaves less
    room) for every user with a test item, from her history before the test, that history
    excluded, as `evaluate_recommender` ranks them; the lists carry no scores, so the file's
    score is ``k + 1 - rank``."""
    import numpy as np

    from paretorec.retrieve.recommend.evaluation import MERGE

    users = np.flatnonzero([t.size > 0 for t in sequences.test])
    if users.size == 0:
        raise ValueError("no user has a test item: no runs to write")
    held = sequences.held_out_test(users)
    k = min(depth, held.room)
    ranked = {s: recommender.rank(s, held.histories, k=k) for s in recommender.generators}
    merged, _ = recommender.rank_many(held.histories, k=k, ranked=ranked)
    lists = {**{s.value: r[0] for s, r in ranked.items()}, MERGE: merged}
    user_ids = [sequences.user_ids[u] for u in users.tolist()]
    item_ids = sequences.item_ids
    return [
        write_run(
            folder,
            (
                RankedList(u, [item_ids[i] for i in row])
                for u, row in zip(user_ids, items.tolist(), strict=True)
            ),
            method=run_tag(method),
            depth=k,
        )
        for method, items in lists.items()
    ]
