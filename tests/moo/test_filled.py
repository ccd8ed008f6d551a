"""Honest inputs: figures resting on filled-in data are announced; revenue on a dataset
without prices is refused unless simulated prices are asked for."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.moo.filled import (
    FilledColumn,
    MissingPricesError,
    filled_columns,
    filled_notes,
    require_prices,
)
from paretorec.moo.pipeline import MethodSettings, ParetoMethod, pareto_report
from paretorec.moo.sources import SourceConfig
from paretorec.types import Catalog

runner = CliRunner()
Folder = Callable[[dict[str, str]], Path]
WORDS = ["drill", "saw", "hammer", "paint", "ladder"]
SMALL = SourceConfig(n_requests=5, n_candidates=8, k=4, seed=0)


def search_files(*, priced: bool) -> dict[str, str]:
    """30 items over five words, five one-word queries with four judged items each."""
    items = ["item_id,title" + (",price" if priced else "")]
    for i in range(30):
        items.append(f"i{i},{WORDS[i % 5]} model {i}" + (f",{5 + i}" if priced else ""))
    queries = ["query_id,text"] + [f"q{j},{w}" for j, w in enumerate(WORDS)]
    judgments = ["query_id,item_id,grade"]
    for j in range(5):
        judgments += [f"q{j},i{i},2" for i in range(j, 30, 5)[:4]]
    return {
        "items.csv": "\n".join(items) + "\n",
        "queries.csv": "\n".join(queries) + "\n",
        "judgments.csv": "\n".join(judgments) + "\n",
    }


def test_filled_columns_counts_absent_null_and_blank() -> None:
    frame = pl.DataFrame(
        {
            "item_id": ["a", "b", "c", "d"],
            "title": ["x", "y", "z", "w"],
            "price": [1.0, None, 3.0, None],
            "category": ["A>B", " ", None, "A"],
            "seller_id": ["s1", "s2", "s3", "s4"],
        }
    )
    found = filled_columns(Catalog(frame))
    assert found == (
        FilledColumn("price", 2, 4),
        FilledColumn("cost", 4, 4),
        FilledColumn("category", 2, 4),
    )
    assert not found[0].everywhere and found[1].everywhere


def test_notes_name_only_the_objectives_and_rules_that_read_a_filled_column() -> None:
    filled = (FilledColumn("price", 10, 10), FilledColumn("seller_id", 3, 10))
    assert filled_notes(filled, ["ndcg", "embedding_diversity"]) == ()
    notes = filled_notes(filled, ["ndcg", "expected_revenue"], rule_fields=["seller_id"])
    assert len(notes) == 2
    assert notes[0].startswith("simulated price: expected_revenue rest(s) on filled-in data")
    assert "no price for any of its 10 items" in notes[0]
    assert "the shop's rules on seller_id" in notes[1] and "3 of 10 items" in notes[1]


def test_require_prices_refuses_money_without_any_price_unless_opted_in() -> None:
    none = (FilledColumn("price", 5, 5),)
    some = (FilledColumn("price", 2, 5),)
    with pytest.raises(MissingPricesError, match="--simulated-prices"):
        require_prices(none, ["ndcg", "expected_margin"], simulated_prices=False)
    require_prices(none, ["ndcg", "expected_margin"], simulated_prices=True)
    require_prices(none, ["ndcg", "embedding_diversity"], simulated_prices=False)
    require_prices(some, ["expected_revenue"], simulated_prices=False)  # partly priced: noted


def test_report_refuses_then_announces_simulated_prices(
    write_folder: Folder, tmp_path: Path
) -> None:
    folder = write_folder(search_files(priced=False))
    report = partial(
        pareto_report,
        method=ParetoMethod.WEIGHTED_SUM,
        settings=MethodSettings(budget=4),
        source=SMALL,
        out=tmp_path / "r",
    )
    with pytest.raises(MissingPricesError, match="expected_revenue need prices"):
        report(folder, "ndcg,revenue")
    run = report(folder, "ndcg,revenue", simulated_prices=True)
    assert len(run.summary.notes) == 1 and "simulated price" in run.summary.notes[0]
    page = (tmp_path / "r" / "metrics.md").read_text()
    assert "## Filled-in data" in page and "expected_revenue rest(s) on filled-in data" in page
    saved = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert saved["filled_in_data"] == list(run.summary.notes)


def test_report_on_real_prices_says_nothing_but_announces_filled_categories(
    write_folder: Folder, tmp_path: Path
) -> None:
    folder = write_folder(search_files(priced=True))
    report = partial(
        pareto_report,
        method=ParetoMethod.WEIGHTED_SUM,
        settings=MethodSettings(budget=4),
        source=SMALL,
    )
    priced = report(folder, "ndcg,revenue", out=tmp_path / "a")
    assert priced.summary.notes == ()
    assert "Filled-in data" not in (tmp_path / "a" / "metrics.md").read_text()
    spread = report(folder, "ndcg,category_diversity", out=tmp_path / "b")
    assert [n.split(":")[0] for n in spread.summary.notes] == ["simulated category"]


def test_cli_names_the_flag_and_prints_the_note(write_folder: Folder, tmp_path: Path) -> None:
    folder = write_folder(search_files(priced=False))
    args = ["pareto", "--data", str(folder), "--objectives", "ndcg,margin", "--budget", "4"]
    small = ["--requests", "5", "--candidates", "8", "--k", "4", "--out", str(tmp_path / "c")]
    refused = runner.invoke(app, [*args, *small])
    assert refused.exit_code == 1
    text = " ".join(refused.output.split())
    assert "expected_margin need prices and the dataset has none: pass --simulated-prices" in text
    allowed = runner.invoke(app, [*args, *small, "--simulated-prices"])
    assert allowed.exit_code == 0, allowed.output
    said = " ".join(allowed.output.split())
    assert "note: simulated price: expected_margin" in said
    assert "note: simulated cost: expected_margin" in said
