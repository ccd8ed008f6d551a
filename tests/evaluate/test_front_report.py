from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.evaluate.front_report import (
    Choice,
    ObjectiveSpec,
    analyse_front,
    default_reference,
    write_front_report,
)
from paretorec.moo import Direction

TABLE = pl.DataFrame(
    {
        "w_revenue": [0.0, 0.25, 0.5, 0.75, 1.0],
        "ndcg": [0.80, 0.78, 0.72, 0.72, 0.40],
        "revenue": [100.0, 135.0, 160.0, 150.0, 180.0],
    }
)
BOTH_MAX = [ObjectiveSpec("ndcg", Direction.MAXIMIZE), ObjectiveSpec("revenue", Direction.MAXIMIZE)]


def test_parse_objectives() -> None:
    assert ObjectiveSpec.parse("revenue:max") == ObjectiveSpec("revenue", Direction.MAXIMIZE)
    assert ObjectiveSpec.parse("latency:min") == ObjectiveSpec("latency", Direction.MINIMIZE)
    assert ObjectiveSpec.parse("ndcg") == ObjectiveSpec("ndcg", Direction.MAXIMIZE)
    with pytest.raises(ValueError, match="direction must be max or min"):
        ObjectiveSpec.parse("ndcg:up")


def test_front_hypervolume_and_constrained_choice() -> None:
    analysis = analyse_front(
        TABLE,
        BOTH_MAX,
        choice=Choice.CONSTRAINED,
        target="revenue",
        min_fraction_of_best={"ndcg": 0.9},
    )
    # (0.72, 150) is dominated by (0.72, 160); every other row is on the front.
    assert analysis.table["pareto_rank"].to_list() == [0, 0, 0, 1, 0]
    # 0.9 x 0.80 = 0.72: rows with ndcg >= 0.72 are the first four; the most revenue is 160.
    assert analysis.selection.index == 2
    # Reference: worst - 10% of range = (0.40 - 0.04, 100 - 8) = (0.36, 92).
    assert analysis.reference == pytest.approx((0.36, 92.0))
    # Staircase from the reference, by ndcg descending:
    # (0.80-0.36)*(100-92) + (0.78-0.36)*(135-100) + (0.72-0.36)*(160-135) + (0.40-0.36)*(180-160)
    expected = 0.44 * 8 + 0.42 * 35 + 0.36 * 25 + 0.04 * 20
    assert analysis.hypervolume.value == pytest.approx(expected)


def test_minimized_objectives_put_the_reference_on_the_high_side() -> None:
    import numpy as np

    ref = default_reference(
        np.array([[1.0, 10.0], [3.0, 20.0]]), [Direction.MINIMIZE, Direction.MAXIMIZE]
    )
    assert ref == pytest.approx((3.2, 9.0))


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(ValueError, match="at least two objectives"):
        analyse_front(TABLE, BOTH_MAX[:1])
    with pytest.raises(ValueError, match="no column for objective"):
        analyse_front(TABLE, [*BOTH_MAX[:1], ObjectiveSpec("gmv", Direction.MAXIMIZE)])
    with pytest.raises(ValueError, match="needs a target"):
        analyse_front(TABLE, BOTH_MAX, choice=Choice.CONSTRAINED)
    with pytest.raises(ValueError, match="no rows"):
        analyse_front(TABLE.clear(), BOTH_MAX)
    with pytest.raises(ValueError, match="named twice"):
        analyse_front(TABLE, [BOTH_MAX[0], BOTH_MAX[0]])


def test_report_folder(tmp_path: Path) -> None:
    written = write_front_report(analyse_front(TABLE, BOTH_MAX), tmp_path)
    assert {p.name for p in written} == {"front.png", "weights.png", "metrics.md", "metrics.json"}
    summary = json.loads((tmp_path / "metrics.json").read_text())
    assert summary["n_front"] == 4 and summary["n_points"] == 5
    assert "# Trade-off report" in (tmp_path / "metrics.md").read_text()


def test_three_objectives_draw_a_scatter_matrix(tmp_path: Path) -> None:
    table = TABLE.with_columns(coverage=pl.Series([0.3, 0.2, 0.4, 0.1, 0.25]))
    objectives = [*BOTH_MAX, ObjectiveSpec("coverage", Direction.MAXIMIZE)]
    write_front_report(analyse_front(table, objectives, choice=Choice.COMPROMISE), tmp_path)
    assert (tmp_path / "front.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_evaluate_front(tmp_path: Path) -> None:
    source = tmp_path / "tradeoffs.csv"
    TABLE.write_csv(source)
    args = [
        "evaluate",
        "front",
        str(source),
        "-o",
        "ndcg:max",
        "-o",
        "revenue:max",
        "--out",
        str(tmp_path / "r"),
    ]
    result = CliRunner().invoke(
        app, [*args, "--choose", "constrained", "--target", "revenue", "--at-least", "ndcg=0.9"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["chosen"]["revenue"] == 160.0
    bad = CliRunner().invoke(app, [*args, "--choose", "best"])
    assert bad.exit_code == 1 and "--choose must be one of" in bad.output


def test_the_report_reads_as_a_decision(tmp_path: Path) -> None:
    from paretorec.evaluate.front_report import plain_summary, row_label, versus_best

    analysis = analyse_front(TABLE, BOTH_MAX)  # the knee: row 2, (0.72, 160)
    assert analysis.selection.index == 2
    ndcg, revenue = versus_best(analysis)
    assert (ndcg.chosen, ndcg.best, ndcg.best_row) == (0.72, 0.80, "row #0 (w_revenue 0)")
    assert ndcg.change == pytest.approx(-0.1) and revenue.change == pytest.approx(-20 / 180)
    assert ndcg.sentence() == "ndcg: 0.72, 10% less than the best, 0.8 of row #0 (w_revenue 0)"
    text = "\n".join(plain_summary(analysis))
    assert "**4 of 5 rows are worth considering**" in text
    assert "The other 1 is beaten on every count by some front row: never pick it." in text
    assert "**Take row #2 (w_revenue 0.5).** It is the knee" in text
    assert "most revenue: row #4 (w_revenue 1), with revenue 180, ndcg 0.4 (-44% against" in text
    named = TABLE.with_columns(model=pl.Series(["a", "b", "c", "d", "e"]))
    assert row_label(named, 1) == "row #1 (model b)"
    write_front_report(analysis, tmp_path)
    page = (tmp_path / "metrics.md").read_text()
    assert page.index("## In plain words") < page.index("![front](front.png)")
    assert "*front.png*:" in page and "*weights.png*:" in page
    assert page.index("*weights.png*:") < page.index("## For analysts")


def test_minimized_objectives_read_less_is_better() -> None:
    from paretorec.evaluate.front_report import plain_summary, versus_best

    table = pl.DataFrame({"ndcg": [0.8, 0.7, 0.5], "latency": [30.0, 12.0, 10.0]})
    objectives = [
        ObjectiveSpec("ndcg", Direction.MAXIMIZE),
        ObjectiveSpec("latency", Direction.MINIMIZE),
    ]
    analysis = analyse_front(
        table, objectives, choice=Choice.CONSTRAINED, target="latency",
        min_fraction_of_best={"ndcg": 0.85},
    )  # fmt: skip
    assert analysis.selection.index == 1  # 0.7 >= 0.85 x 0.8 = 0.68, and the lower latency
    _, latency = versus_best(analysis)
    assert latency.sentence() == "latency: 12, 20% more than the best, 10 of row #2"
    text = "\n".join(plain_summary(analysis))
    assert "latency (less is better)" in text and "the rule you set" in text
    assert "least latency: row #2, with latency 10, ndcg 0.5 (-29% against the chosen row)" in text
