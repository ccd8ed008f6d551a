"""Open Icecat product catalog (as published by o19s/chorus-opensearch-edition), from the
shared data folder: `icecat/N.json.zip`, each a zip of one JSON array of products.

Items, one per product, in file order (1, 2, ...) then array order:

- item_id ← `id`; title ← `title`; description ← `short_description` (null where
  absent; HTML character references such as ``&deg;`` decoded and runs of whitespace
  collapsed in both, otherwise kept as published, including a few ``<br />`` tags);
  brand ← `supplier`;
  price ← `price` in cents / 100 (absent stays null; negative is an error);
  created_at ← `date_released` (UTC).
- Extra columns: `product_code` ← `name` (the maker's part number), `ean` ← the `ean`
  list joined by spaces, `image_url` ← `img_500x500` (the other image sizes are the same
  picture), and `attributes`: the product's many ``attr_*`` fields (text ``attr_t_``,
  number ``attr_n_``, yes/no ``attr_b_``; 5,366 different names in all) as one JSON
  object string, so the table stays narrow.
- The data has no category field, so there is no `category` column.

A record that is not an object, lacks an id or title, repeats an id, or has a bad price
or date is an error naming the file, the record's index and its id.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import polars as pl

from paretorec.data.datasets._common import clean_text, dataset_folder
from paretorec.data.datasets.errors import DatasetFormatError, DatasetUnavailableError
from paretorec.data.locations import SHARED_DATA_ENV
from paretorec.data.schema import conform
from paretorec.types import Catalog, Dataset, TableName

FOLDER = "icecat"
ATTRIBUTE_PREFIX = "attr_"
CENTS_PER_UNIT = 100.0


def load_icecat(source: Path | None = None) -> Dataset:
    """The Icecat catalog; `source` is the folder of the ``N.json.zip`` files (default:
    ``icecat/`` in the shared data folder)."""
    folder = dataset_folder(source, FOLDER)
    files = sorted(folder.glob("*.json.zip"), key=_file_number) if folder.is_dir() else []
    if not files:
        raise DatasetUnavailableError(
            f"no *.json.zip files in {folder}: the Icecat data set is read from there "
            f"(pass source=<its folder>, or set ${SHARED_DATA_ENV} to the shared data folder)"
        )
    frames = [_read_file(path) for path in files]
    items = pl.concat(frames, how="vertical")
    repeats = items.filter(~pl.col("item_id").is_first_distinct())
    if repeats.height:
        second = repeats.row(0, named=True)
        first = items.filter(pl.col("item_id") == second["item_id"]).row(0, named=True)
        raise DatasetFormatError(
            str(folder / second["file"]),
            f"record {second['record']}",
            f"product id {second['item_id']!r} repeats {first['file']} record {first['record']}"
            f" ({repeats.height} repeated ids in all)",
        )
    return Dataset(
        items=Catalog(conform(items.drop("file", "record"), TableName.ITEMS)), name="icecat"
    )


def _file_number(path: Path) -> tuple[int, str]:
    """Sort key: ``2.json.zip`` before ``10.json.zip``; other names after, by name."""
    stem = path.name.removesuffix(".json.zip")
    return (int(stem), "") if stem.isdigit() else (1 << 62, stem)


def _read_file(path: Path) -> pl.DataFrame:
    """The products of one zip file, with `file` and `record` columns for error messages."""
    source = str(path)
    records = _records(path)
    # json.loads already built one dict per product; taking fields from them is the
    # cheapest route (19,406 records), and each record's attributes become one string.
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            raise DatasetFormatError(source, f"record {index}", "not a JSON object")
    frame = pl.DataFrame(
        {
            "item_id": [_text(r.get("id")) for r in records],
            "title": [_text(r.get("title")) for r in records],
            "description": [_text(r.get("short_description")) for r in records],
            "brand": [_text(r.get("supplier")) for r in records],
            "price_raw": [_text(r.get("price")) for r in records],
            "date_raw": [_text(r.get("date_released")) for r in records],
            "product_code": [_text(r.get("name")) for r in records],
            "ean": [_eans(r.get("ean")) for r in records],
            "image_url": [_text(r.get("img_500x500")) for r in records],
            "attributes": [_attributes(r) for r in records],
        },
        schema={
            "item_id": pl.String,
            "title": pl.String,
            "description": pl.String,
            "brand": pl.String,
            "price_raw": pl.String,
            "date_raw": pl.String,
            "product_code": pl.String,
            "ean": pl.String,
            "image_url": pl.String,
            "attributes": pl.String,
        },
    )
    frame = frame.with_columns(clean_text(frame["title"]), clean_text(frame["description"]))
    _check(frame, source)
    cents = pl.col("price_raw").cast(pl.Int64, strict=False)
    released = pl.col("date_raw").str.to_datetime(
        "%Y-%m-%dT%H:%M:%SZ", time_unit="us", time_zone="UTC", strict=False
    )
    return frame.select(
        "item_id",
        "title",
        "description",
        "brand",
        # Whole cents / 100, rounded so 95 cents reads 0.95, not 0.9500000000000001.
        price=(cents.cast(pl.Float64) / CENTS_PER_UNIT).round(2),
        created_at=released,
        product_code="product_code",
        ean="ean",
        image_url="image_url",
        attributes="attributes",
        file=pl.lit(path.name),
        record=pl.int_range(pl.len(), dtype=pl.Int64),
    )


def _records(path: Path) -> list[Any]:
    source = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise DatasetFormatError(
                    source, None, f"expected one JSON file in the zip, found {len(members)}"
                )
            data = archive.read(members[0])
    except zipfile.BadZipFile as error:
        raise DatasetFormatError(source, None, f"not a readable zip file ({error})") from error
    try:
        records = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetFormatError(source, members[0], f"not valid JSON ({error})") from error
    if not isinstance(records, list):
        raise DatasetFormatError(source, members[0], "expected a JSON array of products")
    return records


def _check(frame: pl.DataFrame, source: str) -> None:
    """Required fields present; price a non-negative whole number of cents; dates parse."""
    for column in ("item_id", "title"):
        blank = pl.col(column).is_null() | (pl.col(column).str.strip_chars() == "")
        _fail(frame, blank, source, f"{column} is missing or empty")
    cents = pl.col("price_raw").cast(pl.Int64, strict=False)
    not_cents = pl.col("price_raw").is_not_null() & cents.is_null()
    _fail(frame, not_cents, source, "price is not a whole number of cents", show="price_raw")
    _fail(frame, cents < 0, source, "price is negative", show="price_raw")
    released = pl.col("date_raw").str.to_datetime(
        "%Y-%m-%dT%H:%M:%SZ", time_unit="us", strict=False
    )
    bad_date = pl.col("date_raw").is_not_null() & released.is_null()
    _fail(frame, bad_date, source, "date_released is not YYYY-MM-DDTHH:MM:SSZ", show="date_raw")


def _fail(
    frame: pl.DataFrame, bad: pl.Expr, source: str, reason: str, *, show: str | None = None
) -> None:
    """Raise for the first record where `bad` holds; records count from 0, named by id."""
    hits = frame.with_row_index("record").filter(bad.fill_null(False))
    if hits.height:
        first = hits.row(0, named=True)
        value = f" ({first[show]!r})" if show is not None else ""
        more = f"; {hits.height} records like this" if hits.height > 1 else ""
        raise DatasetFormatError(
            source, f"record {first['record']} (id {first['item_id']!r})", f"{reason}{value}{more}"
        )


def _text(value: object) -> str | None:
    """A JSON scalar as text (None stays None); ints stay exact, not float-formatted."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _eans(value: object) -> str | None:
    if isinstance(value, list):
        return " ".join(str(v) for v in value) or None
    return _text(value)


def _attributes(record: dict[str, Any]) -> str:
    attributes = {k: v for k, v in record.items() if k.startswith(ATTRIBUTE_PREFIX)}
    return json.dumps(attributes, ensure_ascii=False)
