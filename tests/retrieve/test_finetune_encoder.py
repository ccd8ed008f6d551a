"""`train encoder` on data whose split holds only train and test: it carves its valid
queries out of train (seeded, whole queries), says so, records it, and trains with hard
negatives; too few train queries fail with one line."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from paretorec.cli import app

runner = CliRunner()

ITEMS = """item_id,title
d1,DEWALT 18-Volt cordless drill driver kit
d2,Ryobi 18V cordless hammer drill
s1,Milwaukee circular saw 7-1/4 in.
s2,Hand saw 15 in. fine cut
t1,Bath towel set cotton white
t2,Beach towel striped large
p1,Interior paint eggshell white 1 gal.
p2,Exterior paint flat gray 5 gal.
h1,Claw hammer 16 oz. fiberglass
l1,LED bulb 60-Watt soft white
"""
# eleven train queries (two judgments each), two test queries
TRAIN = {
    "q01": ("cordless drill", "d1", "d2"),
    "q02": ("hammer drill", "d2", "d1"),
    "q03": ("circular saw", "s1", "s2"),
    "q04": ("hand saw", "s2", "s1"),
    "q05": ("white towel", "t1", "t2"),
    "q06": ("beach towel", "t2", "t1"),
    "q07": ("white paint", "p1", "p2"),
    "q08": ("gray paint", "p2", "p1"),
    "q09": ("claw hammer", "h1", "d2"),
    "q10": ("led bulb", "l1", "p1"),
    "q11": ("drill driver", "d1", "h1"),
}
TEST = {"q12": ("saw blade", "s1", "s2"), "q13": ("soft white bulb", "l1", "t1")}


def shop(folder: Path, train: dict[str, tuple[str, str, str]], poor_grade: int = 1) -> Path:
    folder.mkdir()
    (folder / "items.csv").write_text(ITEMS)
    queries = {**train, **TEST}
    lines = ["query_id,text", *(f"{q},{text}" for q, (text, _, _) in queries.items())]
    (folder / "queries.csv").write_text("\n".join(lines) + "\n")
    judged = ["query_id,item_id,grade,split"]
    for split, group in (("train", train), ("test", TEST)):
        for q, (_, good, poor) in group.items():
            judged += [f"{q},{good},3,{split}", f"{q},{poor},{poor_grade},{split}"]
    (folder / "judgments.csv").write_text("\n".join(judged) + "\n")
    return folder


def train(data: Path, out: Path, cache: Path, *extra: str) -> tuple[int, str]:
    args = ["train", "encoder", "--data", str(data), "--out", str(out), "--cache", str(cache)]
    result = runner.invoke(app, [*args, "--steps", "2", "--batch-size", "4", *extra])
    return result.exit_code, result.output


def test_carves_valid_queries_out_of_train(tmp_path: Path) -> None:
    data = shop(tmp_path / "shop", TRAIN)
    hard = ["--hard-negatives", "bm25,dense", "--grade-weighting", "gain"]
    code, output = train(data, tmp_path / "tuned", tmp_path / "cache", "--seed", "3", *hard)
    check = json.loads((tmp_path / "tuned" / "paretorec-finetune.json").read_text())
    assert (code == 0) == check["helped"], output
    assert "carved 1 of the train queries (10%, seed 3)" in " ".join(output.split())
    valid = check["valid_queries"]
    assert valid["source"] == "carved from train" and valid["carved_share"] == 0.1
    carved = set(valid["carved_query_ids"])
    assert len(carved) == valid["n"] == 1 and carved <= set(TRAIN)  # 10% of 11, rounded
    # the carved query gave no training pair: 11 train queries, one good item each, less it
    assert check["n_pairs"] == len(TRAIN) - 1
    training = check["training"]
    assert training["steps"] == 2 and training["config"]["hard_negatives"] == ["bm25", "dense"]
    assert training["hard_negatives"]["pairs"] == len(TRAIN) - 1


def test_the_carve_depends_on_the_seed_only(tmp_path: Path) -> None:
    from paretorec.data.splits import carve_valid_queries
    from paretorec.data.validate import load_dataset

    dataset = load_dataset(shop(tmp_path / "shop", TRAIN))
    assert dataset.judgments is not None

    def carved(seed: int) -> set[str]:
        frame = carve_valid_queries(dataset.judgments, seed=seed)[0].frame  # type: ignore[arg-type]
        return set(frame.filter(pl.col("split") == "valid")["query_id"].to_list())

    assert carved(0) == carved(0)
    assert len({frozenset(carved(s)) for s in range(8)}) > 1


def test_too_few_train_queries_to_carve_fail_in_one_line(tmp_path: Path) -> None:
    two = {q: TRAIN[q] for q in ("q01", "q03")}
    data = shop(tmp_path / "shop", two)
    code, output = train(data, tmp_path / "tuned", tmp_path / "cache")
    assert code == 1
    assert "only 2 train queries: too few to carve valid queries from" in " ".join(output.split())
    assert not (tmp_path / "tuned" / "paretorec-finetune.json").exists()


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (("--hard-negatives", "bm25,clicks"), "unknown source 'clicks'"),
        (("--grade-weighting", "square"), "is not gain or none"),
    ],
)
def test_bad_options_fail_in_one_line(
    tmp_path: Path, option: tuple[str, str], message: str
) -> None:
    data = shop(tmp_path / "shop", TRAIN)
    code, output = train(data, tmp_path / "tuned", tmp_path / "cache", *option)
    assert code == 1 and message in output


def test_defaults_to_hard_negatives_with_gain_weights(tmp_path: Path) -> None:
    """The default is the configuration that won over 3 seeds (encoder_finetune.md): pairs
    graded >= 2.0, BM25 and dense hard negatives, gain weights, known positives masked."""
    data = shop(tmp_path / "shop", TRAIN, poor_grade=2)  # each query: one item at 3, one at 2
    train(data, tmp_path / "tuned", tmp_path / "cache")
    check = json.loads((tmp_path / "tuned" / "paretorec-finetune.json").read_text())
    training, config = check["training"], check["training"]["config"]
    # 10 train queries (one carved out to valid), both items graded >= 2.0 become pairs
    assert check["n_pairs"] == 2 * (len(TRAIN) - 1)
    assert training["min_grade"] == 2.0 and config["negative_max_grade"] == 2.0
    assert config["hard_negatives"] == ["bm25", "dense"]
    assert config["grade_weighting"] == "gain" and config["mask_known_positives"] is True
    assert training["hard_negatives"]["pairs"] == 2 * (len(TRAIN) - 1)


def test_min_grade_is_the_one_threshold(tmp_path: Path) -> None:
    data = shop(tmp_path / "shop", TRAIN, poor_grade=2)
    train(data, tmp_path / "tuned", tmp_path / "cache", "--min-grade", "2.5")
    check = json.loads((tmp_path / "tuned" / "paretorec-finetune.json").read_text())
    assert check["n_pairs"] == len(TRAIN) - 1  # only the items graded 3
    assert check["training"]["config"]["negative_max_grade"] == 2.5


def test_too_few_pairs_name_the_grade_option(tmp_path: Path) -> None:
    data = shop(tmp_path / "shop", TRAIN)
    code, output = train(data, tmp_path / "tuned", tmp_path / "cache", "--min-grade", "4")
    assert code == 1
    assert "only 0 train judgment(s) graded at least 4.0" in " ".join(output.split())
    assert "--min-grade" in output
    assert not (tmp_path / "tuned" / "paretorec-finetune.json").exists()


def test_none_trains_the_plain_in_batch_fine_tuning(tmp_path: Path) -> None:
    data = shop(tmp_path / "shop", TRAIN)
    plain = ["--hard-negatives", "none", "--grade-weighting", "none", "--min-grade", "2.5"]
    train(data, tmp_path / "tuned", tmp_path / "cache", *plain)
    training = json.loads((tmp_path / "tuned" / "paretorec-finetune.json").read_text())["training"]
    assert training["min_grade"] == 2.5 and "hard_negatives" not in training
    assert training["config"]["hard_negatives"] == []
    assert training["config"]["grade_weighting"] == "none"
    assert training["config"]["mask_known_positives"] is False
