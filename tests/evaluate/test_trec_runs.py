"""TREC run files: exact lines, ranks 1..k, ties kept in the evaluated order, bad ids."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paretorec.evaluate.trec_runs import RankedList, format_run, run_file_name, write_run


def parse(text: str) -> list[list[str]]:
    return [line.split(" ") for line in text.splitlines()]


def test_exact_lines_of_a_small_run() -> None:
    text = format_run(
        [
            RankedList("q1", ["b", "a", "c"], [2.5, 1.0, 0.25]),
            RankedList("q2", ["c"], [3.0]),
        ],
        method="bm25",
    )
    assert text == (
        "q1 Q0 b 1 2.5 bm25\nq1 Q0 a 2 1.0 bm25\nq1 Q0 c 3 0.25 bm25\nq2 Q0 c 1 3.0 bm25\n"
    )


def test_scores_that_fall_clearly_are_written_as_they_are() -> None:
    scores = [3.25, 1.0000001, -0.5, -0.5000001, -7.0]
    rows = parse(format_run([RankedList("q", list("abcde"), scores)], method="m"))
    written = [float(r[4]) for r in rows]
    assert written[:3] == [3.25, 1.0000001, -0.5]
    assert written[3] == -0.5 - 0.5 * 2**-20  # 1e-7 below: too close, lowered a little
    assert written[4] == -7.0


def test_ties_at_zero_step_down_by_normal_floats() -> None:
    rows = parse(format_run([RankedList("q", ["a", "b", "c"], [0.0, 0.0, 0.0])], method="m"))
    assert [float(r[4]) for r in rows] == [0.0, -(2.0**-100), -(2.0**-99)]


def test_depth_cuts_each_list() -> None:
    text = format_run([RankedList("q", ["a", "b", "c"], [3.0, 2.0, 1.0])], method="m", depth=2)
    assert [r[2] for r in parse(text)] == ["a", "b"]


def test_a_list_without_scores_gets_k_plus_1_minus_rank() -> None:
    text = format_run([RankedList("u7", ["x", "y", "z"])], method="merge")
    assert text == "u7 Q0 x 1 3.0 merge\nu7 Q0 y 2 2.0 merge\nu7 Q0 z 3 1.0 merge\n"


def test_ties_are_written_strictly_decreasing_in_the_list_order() -> None:
    # The list's order (ties broken by catalog row, as the evaluation does) is a, z, b;
    # trec_eval would put z first on equal scores (by item id), so the written scores
    # keep the list's order instead.
    text = format_run([RankedList("q", ["a", "z", "b"], [1.0, 1.0, 1.0])], method="m")
    rows = parse(text)
    scores = [float(r[4]) for r in rows]
    assert [r[2] for r in rows] == ["a", "z", "b"]
    assert scores == [1.0, 1.0 - 2**-20, (1.0 - 2**-20) ** 2]
    # a judge that sorts by score, ties by item id descending, reads the same order back
    judged = sorted(rows, key=lambda r: (-float(r[4]), [-ord(c) for c in r[2]]))
    assert [r[2] for r in judged] == ["a", "z", "b"]


scores_best_first = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=40
).map(lambda xs: sorted(xs, reverse=True))


@given(scores_best_first)
def test_ranks_run_1_to_k_and_written_scores_fall_strictly(scores: list[float]) -> None:
    items = [f"i{n}" for n in range(len(scores))]
    rows = parse(format_run([RankedList("q", items, scores)], method="m"))
    assert [int(r[3]) for r in rows] == list(range(1, len(scores) + 1))
    assert [r[2] for r in rows] == items
    written = [float(r[4]) for r in rows]
    # strictly falling even in single precision, as pytrec_eval compares them
    single = np.asarray(written, dtype=np.float32)
    assert all(a > b for a, b in itertools.pairwise(single.tolist()))
    assert all(w <= s for w, s in zip(written, scores, strict=True))  # never raised
    assert written[0] == scores[0]


@pytest.mark.parametrize(
    ("lists", "method", "message"),
    [
        ([RankedList("q1", ["air filter", "b"], [2.0, 1.0])], "m", "'air filter' holds whitespace"),
        ([RankedList("q 1", ["a"], [1.0])], "m", "query id 'q 1' holds whitespace"),
        ([RankedList("q1", ["a"], [1.0])], "hybrid score", "method 'hybrid score' holds"),
        ([RankedList("q1", [""], [1.0])], "m", "must be a non-empty string"),
        ([RankedList("q1", ["a", "a"], [2.0, 1.0])], "m", "lists item 'a' twice"),
        ([RankedList("q1", ["a"]), RankedList("q1", ["b"])], "m", "query 'q1' has two lists"),
        ([RankedList("q1", ["a", "b"], [1.0, 2.0])], "m", "scores rise at rank 2"),
        ([RankedList("q1", ["a"], [math.nan])], "m", "the score at rank 1 is nan"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(
    lists: list[RankedList], method: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        format_run(lists, method=method)


def test_scores_and_items_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="2 items but 1 scores"):
        RankedList("q", ["a", "b"], [1.0])


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="depth must be an integer >= 1"):
        format_run([], method="m", depth=0)


def test_write_run_names_the_file_after_the_method(tmp_path: Path) -> None:
    path = write_run(tmp_path / "runs", [RankedList("q", ["a"], [1.0])], method="BM25")
    assert path == tmp_path / "runs" / "bm25.run"
    assert path.read_text() == "q Q0 a 1 1.0 BM25\n"
    assert run_file_name("two-tower") == "two-tower.run"
    assert run_file_name("hybrid+fuzzy") == "hybrid-fuzzy.run"
