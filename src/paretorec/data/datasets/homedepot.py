"""Home Depot product search relevance (Kaggle), as kept in the shared data folder.

- `products.csv` (product_uid, product_title) → items (item_id, title), one per product;
  HTML character references in titles (``Contractor&#39;s Choice``) are decoded and runs
  of whitespace collapsed.
- `judgments_dev.csv` (id, product_uid, search_term, relevance) → queries and judgments.
  Each distinct `search_term` (exact text, case kept) becomes a query with id ``q00001``,
  ``q00002``, ... in order of first appearance in the file, so ids are stable for the
  same file.  Each row becomes a judgment (query_id, item_id, grade = relevance, the mean
  of three human ratings on 1–3); the Kaggle row `id` stays as the extra column
  `judgment_id`.

Bad rows are errors, never dropped: a judgment that names a product missing from
`products.csv`, a (query, product) pair judged twice (the published file has neither;
averaging or picking one would be a guess), a grade outside 1–3, an empty field.
Titles keep the published file's mis-encoded symbols (such as ``å¡`` for a degree sign).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from paretorec.data.datasets._common import (
    as_float,
    clean_text,
    dataset_folder,
    fail_duplicates,
    fail_where,
    parse_column,
    read_delimited,
    require_file,
    require_values,
)
from paretorec.data.schema import conform
from paretorec.types import Catalog, Dataset, Judgments, Queries, TableName

FOLDER = "homedepot"
PRODUCTS_FILE = "products.csv"
JUDGMENTS_FILE = "judgments_dev.csv"
MIN_GRADE, MAX_GRADE = 1.0, 3.0


def load_homedepot(source: Path | None = None) -> Dataset:
    """Items, queries and judgments of Home Depot; `source` is the folder of the two files
    (default: ``homedepot/`` in the shared data folder)."""
    folder = dataset_folder(source, FOLDER)
    products_path = require_file(folder / PRODUCTS_FILE, "Home Depot")
    judgments_path = require_file(folder / JUDGMENTS_FILE, "Home Depot")

    items = _read_products(products_path)
    raw = _read_judgments(judgments_path)
    source_name = str(judgments_path)
    unknown = ~pl.col("product_uid").is_in(items["item_id"].implode())
    fail_where(raw, unknown, source_name, "product_uid is not in products.csv", show="product_uid")
    fail_duplicates(raw, ("search_term", "product_uid"), source_name, "judgment")

    first_seen = raw.select("search_term").unique(maintain_order=True)
    queries = first_seen.with_row_index("order", offset=1).select(
        query_id=pl.lit("q") + pl.col("order").cast(pl.String).str.zfill(5),
        text=pl.col("search_term"),
    )
    judgments = raw.join(
        queries.rename({"text": "search_term"}), on="search_term", how="left", maintain_order="left"
    ).select(
        "query_id",
        item_id="product_uid",
        grade="relevance",
        judgment_id="id",
    )
    return Dataset(
        items=Catalog(conform(items, TableName.ITEMS)),
        queries=Queries(conform(queries, TableName.QUERIES)),
        judgments=Judgments(conform(judgments, TableName.JUDGMENTS)),
        name="homedepot",
    )


def _read_products(path: Path) -> pl.DataFrame:
    source = str(path)
    frame = read_delimited(
        path.read_bytes(), source, columns=("product_uid", "product_title"), has_header=True
    )
    frame = frame.with_columns(clean_text(frame["product_title"]))
    require_values(frame, ("product_uid", "product_title"), source)
    frame = frame.with_columns(pl.col("product_uid").str.strip_chars())
    fail_duplicates(frame, ("product_uid",), source, "product_uid")
    return frame.select(item_id="product_uid", title="product_title")


def _read_judgments(path: Path) -> pl.DataFrame:
    source = str(path)
    columns = ("id", "product_uid", "search_term", "relevance")
    frame = read_delimited(path.read_bytes(), source, columns=columns, has_header=True)
    require_values(frame, columns, source)
    frame = frame.with_columns(pl.col("product_uid").str.strip_chars())
    frame = parse_column(frame, "relevance", as_float("relevance"), source, "a number")
    out_of_range = (pl.col("relevance") < MIN_GRADE) | (pl.col("relevance") > MAX_GRADE)
    fail_where(
        frame,
        out_of_range,
        source,
        f"relevance is outside {MIN_GRADE}–{MAX_GRADE}",
        show="relevance",
    )
    return frame
