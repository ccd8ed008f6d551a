"""Open Bandit Dataset: fetching the obp wheel, and converting its logs.

Offline tests use a small wheel written here; the `network` tests fetch the real one once
into the repository's `.cache/obd` (gitignored) and check figures measured in it.
"""

from __future__ import annotations

import re
import sys
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from paretorec.data.datasets import (
    BuiltinDataset,
    DatasetFormatError,
    DatasetUnavailableError,
    ObdCampaign,
    ObdPolicy,
    fetch_obd,
    load_builtin,
    load_obd,
)
from paretorec.data.datasets import obd as obd_module
from paretorec.types import Dataset

REPO_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "obd"
WHEEL = "obp-0.4.1-py3-none-any.whl"
ROOT = "obp/dataset/obd/random/all"
ITEM_CONTEXT = (
    ",item_id,item_feature_0,item_feature_1,item_feature_2,item_feature_3\n"
    "0,0,-0.5,aed790911d0344f149be2fb9470d6f0a,67503f4af781d4037a8bac5e22549edd,5c1e29f9aa\n"
    "1,1,0.25,31af389431e50a8fcd6470aeeb7951f8,67503f4af781d4037a8bac5e22549edd,1ead5eb1bb\n"
)
LOG_HEADER = (
    ",timestamp,item_id,position,click,propensity_score,"
    "user_feature_0,user_feature_1,user_feature_2,user_feature_3,"
    "user-item_affinity_0,user-item_affinity_1\n"
)
LOG_ROWS = (
    "0,2019-11-24 00:00:34.762830+00:00,1,3,0,0.5,u0,u1,u2,u3,0.0,1.0\n"
    "1,2019-11-24 00:00:53.965051+00:00,0,1,1,0.5,v0,v1,v2,v3,2.0,0.0\n"
    "2,2019-11-24 00:01:00+00:00,1,2,0,0.5,w0,w1,w2,w3,0.0,0.0\n"
)


def write_wheel(path: Path, log_rows: str = LOG_ROWS, items: str = ITEM_CONTEXT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{ROOT}/all.csv", LOG_HEADER + log_rows)
        archive.writestr(f"{ROOT}/item_context.csv", items)
    return path


def test_small_wheel_converts_rounds_to_users_impressions_and_clicks(tmp_path: Path) -> None:
    dataset = load_obd(ObdPolicy.RANDOM, ObdCampaign.ALL, wheel=write_wheel(tmp_path / WHEEL))
    assert dataset.name == "obd-random-all"
    assert dataset.users is not None and dataset.events is not None
    assert dataset.items.frame.select("item_id", "title").rows() == [
        ("0", "ZOZOTOWN all-campaign item 0 (feature_1 aed79091, feature_2 67503f4a, "
              "feature_3 5c1e29f9)"),
        ("1", "ZOZOTOWN all-campaign item 1 (feature_1 31af3894, feature_2 67503f4a, "
              "feature_3 1ead5eb1)"),
    ]  # fmt: skip
    assert dataset.items.frame["item_feature_0"].to_list() == [-0.5, 0.25]
    users = dataset.users.frame
    assert users.columns == [
        "user_id",
        "user_feature_0",
        "user_feature_1",
        "user_feature_2",
        "user_feature_3",
        "user-item_affinity_0",
        "user-item_affinity_1",
    ]
    assert users.row(1) == ("r1", "v0", "v1", "v2", "v3", 2.0, 0.0)
    events = dataset.events.frame
    assert events.select("user_id", "item_id", "event", "session_id", "position").rows() == [
        ("r0", "1", "impression", "r0", 3),
        ("r1", "0", "impression", "r1", 1),
        ("r1", "0", "click", "r1", 1),
        ("r2", "1", "impression", "r2", 2),
    ]
    assert events["propensity"].to_list() == [0.5] * 4
    assert events["timestamp"][2] == datetime(2019, 11, 24, 0, 0, 53, 965051, tzinfo=UTC)


def test_load_builtin_takes_the_wheel_as_source(tmp_path: Path) -> None:
    wheel = write_wheel(tmp_path / WHEEL)
    dataset = load_builtin(BuiltinDataset.OBD_RANDOM_ALL, source=wheel)
    assert dataset.events is not None and len(dataset.events) == 4
    with pytest.raises(
        DatasetFormatError, match=re.escape("the wheel lacks obp/dataset/obd/bts/men/men.csv")
    ):
        load_builtin(BuiltinDataset.OBD_BTS_MEN, source=wheel)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (LOG_ROWS.replace(",1,1,0.5,v0", ",1,2,0.5,v0"), "row 2: click is not 0 or 1"),
        (LOG_ROWS.replace(",0.5,w0", ",0.0,w0"), "row 3: propensity_score is outside (0, 1]"),
        (LOG_ROWS.replace(",0,1,1,", ",7,1,1,"), "row 2: item_id is not in item_context.csv"),
        (LOG_ROWS.replace("2019-11-24 00:01:00", "Sunday"), "row 3: timestamp is not a time"),
    ],
    ids=["click", "propensity", "unknown item", "time"],
)
def test_bad_log_rows_are_named(tmp_path: Path, rows: str, expected: str) -> None:
    wheel = write_wheel(tmp_path / WHEEL, log_rows=rows)
    with pytest.raises(DatasetFormatError, match=re.escape(f"all.csv, {expected}")):
        load_obd(ObdPolicy.RANDOM, ObdCampaign.ALL, wheel=wheel)


def test_broken_wheel_says_fetch_again(tmp_path: Path) -> None:
    (tmp_path / WHEEL).write_bytes(b"half a download")
    with pytest.raises(DatasetFormatError, match=r"not a readable wheel.*fetch it again"):
        load_obd(ObdPolicy.RANDOM, ObdCampaign.ALL, cache=tmp_path)


def test_fetch_uses_the_cached_wheel_without_pip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel = write_wheel(tmp_path / WHEEL)

    def no_pip(folder: Path) -> list[str]:
        raise AssertionError("pip must not run when the wheel is cached")

    monkeypatch.setattr(obd_module, "_pip_download_command", no_pip)
    assert fetch_obd(tmp_path) == wheel


def test_fetch_failure_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    failing = "import sys; print('ERROR: No matching distribution found', file=sys.stderr); exit(1)"
    monkeypatch.setattr(
        obd_module, "_pip_download_command", lambda folder: [sys.executable, "-c", failing]
    )
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailableError) as caught:
        fetch_obd(cache)
    message = str(caught.value)
    assert "No matching distribution found" in message
    assert f"download {WHEEL} by hand" in message and str(cache) in message
    assert "\n" not in message


# --- the real wheel (downloaded once per clone) ------------------------------------


@pytest.fixture(scope="module")
def real_wheel() -> Path:
    return fetch_obd(REPO_CACHE)


@pytest.fixture(scope="module")
def random_all(real_wheel: Path) -> Dataset:
    return load_obd(ObdPolicy.RANDOM, ObdCampaign.ALL, wheel=real_wheel)


def click_rates(dataset: Dataset) -> tuple[float, list[float]]:
    assert dataset.events is not None
    events = dataset.events.frame
    clicks = pl.col("event") == "click"
    overall = events.select(clicks.sum() / (~clicks).sum()).item()
    by_position = (
        events.group_by("position")
        .agg(clicks.sum() / (~clicks).sum())
        .sort("position")["event"]
        .round(5)
        .to_list()
    )
    return overall, by_position


@pytest.mark.network
def test_real_random_all_matches_measured_figures(random_all: Dataset) -> None:
    assert random_all.users is not None and random_all.events is not None
    assert (len(random_all.items), len(random_all.users)) == (80, 10_000)
    impressions = random_all.events.frame.filter(pl.col("event") == "impression")
    assert len(impressions) == 10_000
    assert impressions["propensity"].unique().to_list() == [0.0125]  # uniform over 80 items
    overall, by_position = click_rates(random_all)
    assert overall == pytest.approx(0.0038)
    assert by_position == [0.00391, 0.0041, 0.00337]
    assert random_all.events.frame.row(0) == (
        "r0",
        "14",
        "impression",
        datetime(2019, 11, 24, 0, 0, 34, 762830, tzinfo=UTC),
        "r0",
        3,
        0.0125,
    )


@pytest.mark.network
@pytest.mark.parametrize("name", [d for d in BuiltinDataset if d.value.startswith("obd-")], ids=str)
def test_real_logs_have_ten_thousand_rounds(name: BuiltinDataset, real_wheel: Path) -> None:
    dataset = load_builtin(name, source=real_wheel)
    assert dataset.users is not None and dataset.events is not None
    assert len(dataset.users) == 10_000
    assert (dataset.events.frame["event"] == "impression").sum() == 10_000
    n_items = {"all": 80, "men": 34, "women": 46}[name.value.rsplit("-", 1)[1]]
    assert len(dataset.items) == n_items
    if name is BuiltinDataset.OBD_BTS_ALL:
        assert click_rates(dataset)[0] == pytest.approx(0.0042)
