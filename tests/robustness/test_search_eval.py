from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.robustness import Defence, Defences
from paretorec.robustness.search_eval import SearchEvaluator
from paretorec.types import Catalog, Dataset, Judgments, Queries


class HashingEncoder:
    """Bag-of-words vectors: shared words make texts close. Fast, no model."""

    dimension = 32
    name = "test-hashing-32"

    def encode_queries(self, texts: Iterable[str | bytes]) -> np.ndarray:
        rows = []
        for text in texts:
            text = text.decode() if isinstance(text, bytes) else text
            vector = np.zeros(self.dimension, dtype=np.float32)
            for token in re.findall(r"[a-z0-9]+", text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=2).digest()
                vector[digest[0] % self.dimension] += 1.0
            vector[0] += 1e-3
            rows.append(vector / np.linalg.norm(vector))
        return np.asarray(rows, dtype=np.float32).reshape(-1, self.dimension)

    encode_items = encode_queries


ITEMS = [
    ("drill", "DeWalt cordless drill kit"),
    ("hose", "garden hose 50 ft"),
    ("towel", "bath towel cotton white"),
    ("saw", "circular saw blade"),
    ("spam", "leaf rake steel cordless cordless cordless cordless drill drill drill drill"),
    ("spam2", "plastic bucket hose hose hose hose garden garden garden garden"),
]
QUERIES = [("q1", "cordless drill", "drill", "test"), ("q2", "garden hose", "hose", "test")]
QUERIES += [("q3", "white towel", "towel", "train"), ("q4", "circular saw", "saw", "train")]


def _dataset() -> Dataset:
    items = pl.DataFrame({"item_id": [i for i, _ in ITEMS], "title": [t for _, t in ITEMS]})
    queries = pl.DataFrame({"query_id": [q[0] for q in QUERIES], "text": [q[1] for q in QUERIES]})
    judgments = pl.DataFrame(
        {
            "query_id": [q[0] for q in QUERIES],
            "item_id": [q[2] for q in QUERIES],
            "grade": [3.0] * len(QUERIES),
            "split": [q[3] for q in QUERIES],
        }
    )
    return Dataset(Catalog(items), queries=Queries(queries), judgments=Judgments(judgments))


def test_the_stuffing_defence_puts_the_honest_items_back_on_top(tmp_path: Path) -> None:
    evaluate = SearchEvaluator(HashingEncoder(), tmp_path / "cache", components=True)
    plain = evaluate(_dataset(), Defences.none())
    guarded = evaluate(_dataset(), Defences.of([Defence.STUFFING]))
    assert plain.units == guarded.units == ("q1", "q2")
    assert plain.values["bm25 ndcg@10"].tolist() == pytest.approx([1 / np.log2(3)] * 2)
    assert guarded.values["bm25 ndcg@10"].tolist() == [1.0, 1.0]
    assert guarded.mean("ndcg@10") >= plain.mean("ndcg@10")
    assert set(plain.objectives) == {"ndcg@10", "recall@100", "bm25 ndcg@10", "dense ndcg@10"}


def test_the_typo_defence_corrects_queries(tmp_path: Path) -> None:
    data = _dataset()
    assert data.queries is not None
    typo = Queries(
        data.queries.frame.with_columns(
            pl.col("text").str.replace("cordless drill", "cordles drll")
        )
    )
    data = Dataset(data.items, queries=typo, judgments=data.judgments)
    evaluate = SearchEvaluator(HashingEncoder(), tmp_path / "cache", components=True)
    plain = evaluate(data, Defences.none())
    fixed = evaluate(data, Defences.of([Defence.FUZZY]))
    assert plain.values["bm25 ndcg@10"][0] == 0.0  # no title has either typo
    assert fixed.values["bm25 ndcg@10"][0] > 0.0
    # BM25 searches the corrected query; the dense side encodes it as typed (as served)
    assert fixed.values["dense ndcg@10"].tolist() == plain.values["dense ndcg@10"].tolist()


def test_the_abbreviation_defence_expands_skeletons(tmp_path: Path) -> None:
    data = _dataset()
    assert data.queries is not None
    # "crdls" is 3 edits from "cordless" and "drl" too short: the typo defence leaves them
    short = Queries(
        data.queries.frame.with_columns(pl.col("text").str.replace("cordless drill", "crdls drl"))
    )
    data = Dataset(data.items, queries=short, judgments=data.judgments)
    evaluate = SearchEvaluator(HashingEncoder(), tmp_path / "cache", components=True)
    plain = evaluate(data, Defences.none())
    typos = evaluate(data, Defences.of([Defence.FUZZY]))
    expanded = evaluate(data, Defences.of([Defence.ABBREVIATIONS]))
    assert typos.values["bm25 ndcg@10"][0] == plain.values["bm25 ndcg@10"][0] == 0.0
    assert expanded.values["bm25 ndcg@10"][0] > 0.0
    assert expanded.values["dense ndcg@10"].tolist() == plain.values["dense ndcg@10"].tolist()
    both = evaluate(data, Defences.of([Defence.FUZZY, Defence.ABBREVIATIONS]))
    assert both.values["bm25 ndcg@10"].tolist() == expanded.values["bm25 ndcg@10"].tolist()


SHOP_ITEMS = """item_id,title
d1,DEWALT 18-Volt cordless drill driver kit
d2,Ryobi 18V cordless hammer drill
s1,Milwaukee circular saw 7-1/4 in.
s2,Hand saw 15 in. fine cut
t1,Bath towel set cotton white
t2,Beach towel striped large
"""
SHOP_QUERIES = "query_id,text\nq1,cordless drill\nq2,white towel\nq3,circular saw\nq4,beach towel\n"
SHOP_JUDGMENTS = """query_id,item_id,grade,split
q1,d1,3,train
q2,t1,3,train
q3,s1,3,test
q4,t2,3,test
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "items.csv").write_text(SHOP_ITEMS)
    (folder / "queries.csv").write_text(SHOP_QUERIES)
    (folder / "judgments.csv").write_text(SHOP_JUDGMENTS)
    return folder


def test_the_command_writes_the_report(
    shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("paretorec.cli._robustness._encoder", lambda model: HashingEncoder())
    out = tmp_path / "report"
    args = ["robustness", "--data", str(shop), "--scenarios", "stuffing", "--out", str(out)]
    done = CliRunner().invoke(
        app, [*args, "--strengths", "0.5", "--defences", "stuffing", "--cache", str(tmp_path / "c")]
    )
    assert done.exit_code == 0, done.output
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "stuffing.png"}
    assert "stuffing [none] ndcg@10: 10% lost" in done.output
    assert "stuffing [stuffing] recall@100: 10% lost" in done.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenarios", "typo"], "unknown scenario 'typo'"),
        (["--scenarios", "typos", "--defended", "--defences", "none"], "at least one defence"),
        (["--scenarios", "typos", "--defences", "armour"], "unknown defence 'armour'"),
        (["--scenarios", "typos", "--strengths", "0.1,x"], "--strengths must be numbers"),
        (["--scenarios", "click-spam"], "has no events to learn recommendations from"),
        (
            ["--scenarios", "click-spam", "--defences", "stuffing"],
            "defence stuffing not honoured by the recommend scenarios (recommend honours "
            "actor-caps)",
        ),
        (
            ["--scenarios", "typos", "--defences", "fuzzy,adversarial,robust-loss"],
            "defence adversarial, robust-loss not honoured by the search scenarios (search "
            "honours abbreviations, fuzzy, stuffing)",
        ),
        (
            ["--scenarios", "typos,click-spam"],
            "no defence is honoured by every target here",
        ),
    ],
)
def test_the_command_says_what_is_wrong(
    shop: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    done = CliRunner().invoke(
        app, ["robustness", "--data", str(shop), "--out", str(tmp_path / "r"), *extra]
    )
    assert done.exit_code == 1
    assert message in " ".join(done.output.split())
