"""`paretorec search` for many queries at one load: batch files, JSON lines, the prompt,
and duplicate products collapsed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paretorec.cli import _batch, app
from paretorec.cli._batch import BatchQuery, parse_batch, prompt_lines

runner = CliRunner()

ITEMS = """item_id,title,price
d1,DEWALT 18-Volt cordless drill driver kit,129.0
d3,Dewalt 18 Volt Cordless Drill-Driver Kit,125.0
d2,Ryobi 18V cordless hammer drill,99.0
s1,Milwaukee circular saw 7-1/4 in.,149.0
t1,Bath towel set cotton white,24.0
p1,Interior paint eggshell white 1 gal.,34.0
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("shop")
    (folder / "items.csv").write_text(ITEMS)
    index = folder / "index"
    built = runner.invoke(
        app, ["index", str(folder), "--out", str(index), "--cache", str(folder / "cache")]
    )
    assert built.exit_code == 0, built.output
    return folder, index


def _answers(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def test_a_batch_file_answers_every_query_once_loaded(
    shop: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, index = shop
    batch = tmp_path / "queries.txt"
    batch.write_text('cordless drill\n\n# a comment\n{"query": "circular saw", "k": 1}\n')
    result = runner.invoke(
        app, ["search", str(folder), "--batch", str(batch), "--index", str(index), "--json",
              "--k", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.count("loading") <= 2  # one load (its start and done lines)
    drill, saw = _answers(result.output)
    assert drill["query"] == "cordless drill" and drill["k"] == 3
    ids = [item["item_id"] for item in drill["items"]]  # type: ignore[attr-defined]
    assert len(ids) == 3 and len({"d1", "d3"} & set(ids)) == 1  # one DEWALT kit, not two
    assert drill["duplicates_collapsed"] == 1
    assert [item["item_id"] for item in saw["items"]] == ["s1"]  # type: ignore[attr-defined]


def test_keep_duplicates_shows_both_listings(shop: tuple[Path, Path]) -> None:
    folder, index = shop
    result = runner.invoke(
        app, ["search", str(folder), "dewalt cordless drill driver kit", "--index", str(index),
              "--json", "--k", "2", "--keep-duplicates"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    (answer,) = _answers(result.output)
    assert {item["item_id"] for item in answer["items"]} == {"d1", "d3"}  # type: ignore[attr-defined]


def test_queries_from_standard_input_and_the_prompt(
    shop: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, index = shop
    piped = runner.invoke(
        app, ["search", str(folder), "--index", str(index), "--json"], input="towel\npaint\n"
    )
    assert piped.exit_code == 0, piped.output
    assert [a["query"] for a in _answers(piped.output)] == ["towel", "paint"]
    monkeypatch.setattr(_batch, "is_terminal", lambda: True)
    asked = runner.invoke(
        app, ["search", str(folder), "--index", str(index), "--k", "1"], input="towel\n\n"
    )
    assert asked.exit_code == 0, asked.output
    assert "'towel': 1 result(s)" in asked.output and "t1" in asked.output


def test_bad_batches_fail_in_one_line_before_loading(
    shop: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, index = shop
    batch = tmp_path / "bad.jsonl"
    batch.write_text('drill\n{"query": "saw", "k": 0}\n')
    result = runner.invoke(
        app, ["search", str(folder), "--batch", str(batch), "--index", str(index)]
    )
    assert result.exit_code == 1
    assert f"{batch} line 2: k must be an integer from 1 to 1000, got 0" in result.output
    assert "loading" not in result.output
    both = runner.invoke(
        app, ["search", str(folder), "drill", "--batch", str(batch), "--index", str(index)]
    )
    assert both.exit_code == 1 and "a query or --batch, not both" in both.output
    missing = runner.invoke(
        app, ["search", str(folder), "--batch", str(tmp_path / "no"), "--index", str(index)]
    )
    assert missing.exit_code == 1 and "no such batch file" in missing.output


def test_parse_batch_by_hand() -> None:
    lines = ["drill", "  ", "#x", '{"query": " saw ", "k": 4}', '{"query": "tile"}']
    assert parse_batch(lines, default_k=10, source="f") == [
        BatchQuery("drill", 10),
        BatchQuery("saw", 4),
        BatchQuery("tile", 10),
    ]
    for line, message in [
        ("{not json", "f line 1: not valid JSON"),
        ('{"query": ""}', 'f line 1: "query" must be a non-empty string'),
        ('{"query": "a", "size": 3}', "f line 1: unknown field(s) size"),
        ('{"query": "a", "k": true}', "f line 1: k must be an integer"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            parse_batch([line], default_k=10, source="f")


def test_the_prompt_stops_at_an_empty_line_quit_or_end_of_input() -> None:
    answers = iter(["drill ", "saw", "quit", "never"])
    assert list(prompt_lines(lambda: next(answers))) == ["drill", "saw"]

    def end() -> str:
        raise EOFError

    assert list(prompt_lines(end)) == []
