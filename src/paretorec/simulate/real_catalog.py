"""A real catalog (a `Catalog` in the data contract) as the simulator's item side.

Only `item_id` and `title` are needed. How the rest is filled:

* category: the `>`-separated path; its first level is the department, its first two the
  mid-level category, the whole path the leaf (a shorter path repeats its last level);
  missing: "Uncategorized". The leaf's last level, lower-cased, is its query noun.
* brand: missing or empty means unbranded (no brand match, no brand fatigue).
* price: missing prices are drawn log-normal around the known prices of the same leaf
  (else of the catalog, else around 30) with `CatalogConfig.price_sigma`.
* cost: missing: price x (1 - margin rate), margin rate ~ N(0.3, 0.08) clipped to [0.05, 0.7].
* stock, created_at, seller_id: drawn as for a generated catalog when missing.
* attributes: up to three title words that are neither the brand nor the leaf noun.
* latent quality: standard normal, drawn (a real catalog has no ground truth for it);
  popularity: Zipf-like over ranks driven by quality and noise; rating: from quality.

The filled frame (conformed to the contract, with `rating` added where absent) becomes
the `items` table of the simulated dataset.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from paretorec.data.schema import CATEGORY_SEPARATOR, conform
from paretorec.simulate._arrays import IntArray, zipf_weights
from paretorec.simulate.catalog import (
    N_ATTRIBUTES,
    PATH_JOIN,
    CatalogWords,
    GeneratedCatalog,
    Taxonomy,
    build_item_table,
    draw_stock,
    seller_ids,
    zipf_popularity,
)
from paretorec.simulate.config import CatalogConfig
from paretorec.types import Catalog, TableName

UNCATEGORIZED = "Uncategorized"


def _codes(values: pl.Series) -> tuple[IntArray, tuple[str, ...]]:
    """Dense integer codes of a string column (sorted categories) and the categories."""
    cats = values.unique().sort()
    codes = values.cast(pl.Enum(cats.to_list())).to_physical().to_numpy().astype(np.int64)
    return codes, tuple(cats.to_list())


def _taxonomy(frame: pl.DataFrame) -> tuple[Taxonomy, IntArray]:
    raw = (
        frame["category"]
        if "category" in frame.columns
        else pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    )
    parts = (
        raw.fill_null(UNCATEGORIZED)
        .str.split(CATEGORY_SEPARATOR)
        .list.eval(pl.element().str.strip_chars().filter(pl.element() != ""))
    )
    parts = pl.select(
        pl.when(parts.list.len() == 0).then(pl.lit([UNCATEGORIZED])).otherwise(parts)
    ).to_series()
    cats = pl.DataFrame(
        {
            "dept": parts.list.first(),
            "mid": parts.list.head(2).list.join(PATH_JOIN),
            "leaf": parts.list.join(PATH_JOIN),
            "noun": parts.list.last().str.to_lowercase(),
        }
    )
    leaf_code, leaf_paths = _codes(cats["leaf"])
    mid_code, mid_paths = _codes(cats["mid"])
    dept_code, dept_names = _codes(cats["dept"])
    leaf_mid = np.zeros(len(leaf_paths), dtype=np.int64)
    leaf_mid[leaf_code] = mid_code
    mid_dept = np.zeros(len(mid_paths), dtype=np.int64)
    mid_dept[mid_code] = dept_code
    nouns = np.empty(len(leaf_paths), dtype=object)
    nouns[leaf_code] = cats["noun"].to_numpy()
    taxonomy = Taxonomy(
        department_names=dept_names,
        mid_names=tuple(p.split(PATH_JOIN)[-1] for p in mid_paths),
        leaf_paths=leaf_paths,
        leaf_nouns=tuple(str(x) for x in nouns),
        leaf_mid=leaf_mid,
        mid_department=mid_dept,
    )
    return taxonomy, leaf_code


def _column(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Series:
    if name in frame.columns:
        return frame[name].cast(dtype)
    return pl.repeat(None, frame.height, dtype=dtype, eager=True).alias(name)


def _attributes(
    titles: pl.Series, brands: pl.Series, nouns: pl.Series
) -> tuple[IntArray, tuple[str, ...]]:
    token = r"[a-z0-9][a-z0-9\-]*"
    frame = (
        pl.DataFrame({"title": titles, "brand": brands.fill_null(""), "noun": nouns})
        .select(
            pl.col("title").str.to_lowercase().str.extract_all(token).alias("t"),
            pl.concat_str(["brand", "noun"], separator=" ")
            .str.to_lowercase()
            .str.extract_all(token)
            .alias("x"),
        )
        .with_row_index("row")
        # the noun "drills" also excludes the title's "drill"
        .with_columns(
            pl.concat_list("x", pl.col("x").list.eval(pl.element().str.strip_suffix("s")))
        )
    )
    words = (
        frame.explode("t")
        .filter(pl.col("t").is_not_null() & ~pl.col("t").is_in(pl.col("x")))
        .unique(["row", "t"], keep="first", maintain_order=True)
        .group_by("row", maintain_order=True)
        .head(N_ATTRIBUTES)
        .with_columns(pl.int_range(pl.len()).over("row").alias("slot"))
    )
    attributes = np.full((titles.len(), N_ATTRIBUTES), -1, dtype=np.int64)
    if words.height == 0:
        return attributes, ()
    codes, vocab = _codes(words["t"])
    attributes[words["row"].to_numpy(), words["slot"].to_numpy()] = codes
    return attributes, vocab


def adapt_catalog(
    catalog: Catalog, config: CatalogConfig, rng: np.random.Generator
) -> tuple[GeneratedCatalog, pl.DataFrame]:
    """The simulator's view of a real catalog, and its items table with gaps filled."""
    frame = catalog.frame
    n = frame.height
    if n == 0:
        raise ValueError("the catalog has no items")
    if frame["item_id"].n_unique() != n:
        raise ValueError("the catalog's item_id values are not unique")
    taxonomy, leaf = _taxonomy(frame)

    brand_col = _column(frame, "brand", pl.String())
    brand_col = pl.select(
        pl.when(brand_col.str.strip_chars() == "").then(None).otherwise(brand_col)
    ).to_series()
    branded = brand_col.is_not_null().to_numpy()
    brand = np.full(n, -1, dtype=np.int64)
    brand_names: tuple[str, ...] = ()
    if branded.any():
        codes, brand_names = _codes(brand_col.filter(brand_col.is_not_null()))
        brand[branded] = codes

    price_col = _column(frame, "price", pl.Float64()).to_numpy()
    known = np.isfinite(price_col) & (price_col >= 0)
    log_known = np.log(np.maximum(price_col, 0.01))
    overall = float(log_known[known].mean()) if known.any() else float(np.log(30.0))
    count = np.bincount(leaf[known], minlength=taxonomy.n_leaves)
    total = np.bincount(leaf[known], weights=log_known[known], minlength=taxonomy.n_leaves)
    leaf_mu = np.where(count > 0, total / np.maximum(count, 1), overall)
    drawn = np.floor(np.exp(leaf_mu[leaf] + config.price_sigma * rng.standard_normal(n))) + 0.99
    price = np.where(known, price_col, drawn)

    cost_col = _column(frame, "cost", pl.Float64()).to_numpy()
    margin_rate = np.clip(0.3 + 0.08 * rng.standard_normal(n), 0.05, 0.7)
    cost = np.where(np.isfinite(cost_col), cost_col, np.round(price * (1 - margin_rate), 2))

    stock_col = _column(frame, "stock", pl.Int64())
    stock = np.where(
        stock_col.is_null().to_numpy(),
        draw_stock(n, config, rng),
        np.maximum(stock_col.fill_null(0).to_numpy(), 0),
    ).astype(np.int64)

    seller_col = _column(frame, "seller_id", pl.String())
    n_new = max(min(n // 200, 5000), 5)
    new_sellers = seller_ids(n_new).gather(
        rng.choice(n_new, n, p=zipf_weights(n_new, config.seller_exponent))
    )
    seller_col = seller_col.fill_null(new_sellers)
    seller, seller_names = _codes(seller_col)

    today_us = int(config.today.timestamp() * 1_000_000)
    created = _column(frame, "created_at", pl.Datetime("us", "UTC")).cast(pl.Int64)
    drawn_created = today_us - rng.integers(0, config.catalog_age_days, n) * 86_400_000_000
    created_us = np.where(
        created.is_null().to_numpy(), drawn_created, created.fill_null(0).to_numpy()
    ).astype(np.int64)
    newest = int(created_us.max())
    age_days = ((newest - created_us) // 86_400_000_000).astype(np.int64)

    quality = rng.standard_normal(n)
    rating_col = _column(frame, "rating", pl.Float64()).to_numpy()
    rating = np.where(
        np.isfinite(rating_col),
        rating_col,
        np.round(np.clip(3.9 + 0.5 * quality + 0.3 * rng.standard_normal(n), 1, 5), 1),
    )
    popularity = zipf_popularity(quality + rng.standard_normal(n), config.popularity_exponent)
    nouns = pl.Series(taxonomy.leaf_nouns, dtype=pl.String).gather(leaf)
    attributes, vocab = _attributes(frame["title"].cast(pl.String), brand_col, nouns)

    items = build_item_table(
        taxonomy,
        leaf=leaf,
        brand=brand,
        seller=seller,
        price=price,
        cost=cost,
        stock=stock,
        popularity=popularity,
        quality=quality,
        rating=rating,
        attributes=attributes,
        age_days=age_days,
    )
    filled = frame.with_columns(
        _column(frame, "category", pl.String()).fill_null(UNCATEGORIZED).alias("category"),
        brand_col.alias("brand"),
        pl.Series("price", price),
        pl.Series("cost", cost),
        pl.Series("stock", stock),
        seller_col.alias("seller_id"),
        pl.Series("created_at", created_us).cast(pl.Datetime("us", "UTC")),
        pl.Series("rating", rating),
    )
    words = CatalogWords(
        brand_names=brand_names, attribute_words=vocab, n_sellers=len(seller_names)
    )
    generated = GeneratedCatalog(taxonomy=taxonomy, items=items, words=words)
    return generated, conform(filled, TableName.ITEMS)
