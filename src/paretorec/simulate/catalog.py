"""World generation: a seeded catalog with a category tree, brands, sellers and prices.

The generative story, per item: a leaf category (every leaf gets at least one item when
there are enough items); a brand, drawn from the brands selling in the item's department
with Zipf-like shares; a seller, Zipf-like sizes (a few big sellers, a long tail, which
is what exposure fairness is about); a latent quality (brand quality plus noise); a
log-normal price around the leaf's typical price, higher for premium brands; a margin
rate that is higher for cheaper, lower-quality goods; stock, with a few items sold out;
a creation date; and a popularity with a Zipf long tail whose ranks follow quality,
brand awareness, seller size and age. Titles and descriptions are built from the brand,
the leaf's noun and attribute words (see `vocabulary`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from paretorec.data.schema import conform
from paretorec.simulate._arrays import BoolArray, FloatArray, IntArray, zipf_weights
from paretorec.simulate.config import CatalogConfig
from paretorec.simulate.vocabulary import (
    BRAND_ENDINGS,
    BRAND_ONSETS,
    BRAND_SUFFIXES,
    DEPARTMENTS,
    DESCRIPTION_SENTENCES,
)
from paretorec.types import TableName

PATH_JOIN = " > "
N_ATTRIBUTES = 3  # attribute slots per item: descriptor, spec, descriptor


@dataclass(frozen=True)
class Taxonomy:
    """A three-level category tree: departments > mid-level categories > leaves."""

    department_names: tuple[str, ...]
    mid_names: tuple[str, ...]
    leaf_paths: tuple[str, ...]  # "Department > Mid > Leaf"
    leaf_nouns: tuple[str, ...]  # the word a title or a query uses for the leaf
    leaf_mid: IntArray
    mid_department: IntArray

    @property
    def leaf_department(self) -> IntArray:
        out: IntArray = self.mid_department[self.leaf_mid]
        return out

    @property
    def n_leaves(self) -> int:
        return len(self.leaf_paths)

    @property
    def n_mids(self) -> int:
        return len(self.mid_names)

    @property
    def n_departments(self) -> int:
        return len(self.department_names)


@dataclass(frozen=True)
class ItemTable:
    """Per-item arrays (index = item number); brand -1 means unbranded."""

    leaf: IntArray
    brand: IntArray
    seller: IntArray
    price: FloatArray
    cost: FloatArray
    stock: IntArray
    popularity: FloatArray  # share of demand, sums to 1, Zipf-like
    quality: FloatArray  # latent, standard normal
    rating: FloatArray  # observed star rating, 1..5, noisy in quality
    attributes: IntArray  # (n, N_ATTRIBUTES) attribute word ids, -1 where none
    age_days: IntArray  # days between creation and the catalog's `today`
    # derived once, read by the behaviour model
    mid: IntArray
    department: IntArray
    log_price: FloatArray
    price_z: FloatArray  # log-price standardized within the leaf
    global_price_z: FloatArray  # log-price standardized over the catalog
    popularity_z: FloatArray  # log-popularity standardized
    margin: FloatArray  # price - cost

    def __len__(self) -> int:
        return int(self.leaf.shape[0])

    @property
    def in_stock(self) -> BoolArray:
        out: BoolArray = self.stock > 0
        return out


def _standardize(x: FloatArray) -> FloatArray:
    sd = float(x.std())
    out: FloatArray = (x - x.mean()) / (sd if sd > 0 else 1.0)
    return out


def _within_group_z(x: FloatArray, group: IntArray, n_groups: int) -> FloatArray:
    """x standardized within each group (sd 1 where a group has one value or no spread)."""
    count = np.bincount(group, minlength=n_groups).astype(np.float64)
    safe = np.maximum(count, 1.0)
    mean = np.bincount(group, weights=x, minlength=n_groups) / safe
    var = np.bincount(group, weights=(x - mean[group]) ** 2, minlength=n_groups) / safe
    sd = np.sqrt(var)
    sd[sd < 1e-9] = 1.0
    out: FloatArray = (x - mean[group]) / sd[group]
    return out


def build_item_table(
    taxonomy: Taxonomy,
    *,
    leaf: IntArray,
    brand: IntArray,
    seller: IntArray,
    price: FloatArray,
    cost: FloatArray,
    stock: IntArray,
    popularity: FloatArray,
    quality: FloatArray,
    rating: FloatArray,
    attributes: IntArray,
    age_days: IntArray,
) -> ItemTable:
    """An `ItemTable` with its derived columns (also used for a real catalog)."""
    if leaf.shape[0] == 0:
        raise ValueError("a catalog needs at least one item")
    mid = taxonomy.leaf_mid[leaf]
    log_price = np.log(np.maximum(price, 0.01))
    pop = popularity / popularity.sum()
    return ItemTable(
        leaf=leaf,
        brand=brand,
        seller=seller,
        price=price,
        cost=cost,
        stock=stock,
        popularity=pop,
        quality=quality,
        rating=rating,
        attributes=attributes,
        age_days=age_days,
        mid=mid,
        department=taxonomy.mid_department[mid],
        log_price=log_price,
        price_z=_within_group_z(log_price, leaf, taxonomy.n_leaves),
        global_price_z=_standardize(log_price),
        popularity_z=_standardize(np.log(pop)),
        margin=price - cost,
    )


@dataclass(frozen=True)
class CatalogWords:
    """The names behind the integer ids of a catalog."""

    brand_names: tuple[str, ...]
    attribute_words: tuple[str, ...]
    n_sellers: int


@dataclass(frozen=True)
class GeneratedCatalog:
    taxonomy: Taxonomy
    items: ItemTable
    words: CatalogWords


def default_taxonomy() -> tuple[Taxonomy, tuple[str, ...], list[IntArray], list[IntArray]]:
    """The tree of `vocabulary.DEPARTMENTS`, its attribute words, and per department the
    ids of its descriptor words and of its spec words."""
    departments: list[str] = []
    mids: list[str] = []
    mid_department: list[int] = []
    leaf_paths: list[str] = []
    leaf_nouns: list[str] = []
    leaf_mid: list[int] = []
    words: dict[str, int] = {}
    descriptors: list[IntArray] = []
    specs: list[IntArray] = []
    for d, dept in enumerate(DEPARTMENTS):
        departments.append(dept.name)
        for mid_name, leaves in dept.children:
            m = len(mids)
            mids.append(mid_name)
            mid_department.append(d)
            for leaf_name, noun in leaves:
                leaf_paths.append(PATH_JOIN.join((dept.name, mid_name, leaf_name)))
                leaf_nouns.append(noun)
                leaf_mid.append(m)
        descriptors.append(np.array([words.setdefault(w, len(words)) for w in dept.descriptors]))
        specs.append(np.array([words.setdefault(w, len(words)) for w in dept.specs]))
    taxonomy = Taxonomy(
        department_names=tuple(departments),
        mid_names=tuple(mids),
        leaf_paths=tuple(leaf_paths),
        leaf_nouns=tuple(leaf_nouns),
        leaf_mid=np.array(leaf_mid, dtype=np.int64),
        mid_department=np.array(mid_department, dtype=np.int64),
    )
    return taxonomy, tuple(words), descriptors, specs


def brand_name_space() -> tuple[str, ...]:
    """Every distinct brand name the syllables make, sorted."""
    return tuple(
        sorted({o + e + s for o in BRAND_ONSETS for e in BRAND_ENDINGS for s in BRAND_SUFFIXES})
    )


def _default_count(value: int | None, n_items: int, per: int, lo: int, hi: int) -> int:
    if value is not None:
        if value < 1:
            raise ValueError("counts of brands and sellers must be at least 1")
        return value
    return int(min(max(n_items // per, lo), hi))


def _distinct_pair(rng: np.random.Generator, n: int, size: int) -> tuple[IntArray, IntArray]:
    """Two distinct indices in [0, size) for each of n draws (the same one twice if size 1)."""
    first = rng.integers(0, size, n)
    if size == 1:
        return first, first
    second = (first + 1 + rng.integers(0, size - 1, n)) % size
    return first, second


def generate_catalog(
    n_items: int, config: CatalogConfig, rng: np.random.Generator
) -> GeneratedCatalog:
    """Draw a catalog of `n_items` items (see the module docstring for the story)."""
    if n_items < 1:
        raise ValueError(f"n_items must be at least 1, got {n_items}")
    taxonomy, attribute_words, descriptors, specs = default_taxonomy()
    n_dept = taxonomy.n_departments
    space = brand_name_space()
    n_brands = min(_default_count(config.n_brands, n_items, 100, 12, 3000), len(space))
    n_sellers = _default_count(config.n_sellers, n_items, 200, 5, 5000)

    # brands: a home department (round-robin first so each department has one), sometimes a
    # second; a price tier and a quality; shares within a department Zipf by a random rank
    brand_names = tuple(space[i] for i in np.sort(rng.choice(len(space), n_brands, replace=False)))
    home = rng.integers(0, n_dept, n_brands)
    if n_brands >= n_dept:  # every department gets at least one home brand
        home[rng.permutation(n_brands)[:n_dept]] = np.arange(n_dept)
    second = np.where(rng.random(n_brands) < 0.2, rng.integers(0, n_dept, n_brands), -1)
    tier = rng.standard_normal(n_brands)
    brand_quality = 0.5 * tier + np.sqrt(0.75) * rng.standard_normal(n_brands)
    awareness = np.full(n_brands, -np.inf)

    # leaves: every leaf gets one item first when possible, the rest by leaf size weights
    leaf_share = rng.lognormal(0.0, 0.5, taxonomy.n_leaves)
    leaf_share /= leaf_share.sum()
    first = np.arange(min(n_items, taxonomy.n_leaves))
    rest = rng.choice(taxonomy.n_leaves, n_items - first.size, p=leaf_share)
    leaf = rng.permutation(np.concatenate([first, rest])).astype(np.int64)
    department = taxonomy.leaf_department[leaf]

    brand = np.empty(n_items, dtype=np.int64)
    attributes = np.empty((n_items, N_ATTRIBUTES), dtype=np.int64)
    for d in range(n_dept):
        in_dept = np.flatnonzero(department == d)
        members = np.flatnonzero((home == d) | (second == d))
        if members.size == 0:
            members = np.array([d % n_brands])
        members = members[rng.permutation(members.size)]
        shares = zipf_weights(members.size, config.brand_exponent)
        awareness[members] = np.maximum(awareness[members], np.log(shares * members.size))
        brand[in_dept] = members[rng.choice(members.size, in_dept.size, p=shares)]
        d1, d2 = _distinct_pair(rng, in_dept.size, descriptors[d].size)
        attributes[in_dept, 0] = descriptors[d][d1]
        attributes[in_dept, 1] = specs[d][rng.integers(0, specs[d].size, in_dept.size)]
        attributes[in_dept, 2] = descriptors[d][d2]

    seller_share = zipf_weights(n_sellers, config.seller_exponent)
    seller = rng.choice(n_sellers, n_items, p=seller_share).astype(np.int64)

    dept_log_price = np.log([dept.median_price for dept in DEPARTMENTS])
    leaf_mu = dept_log_price[taxonomy.leaf_department] + config.leaf_price_spread * (
        rng.standard_normal(taxonomy.n_leaves)
    )
    log_price = leaf_mu[leaf] + config.price_sigma * (
        0.6 * tier[brand] + 0.8 * rng.standard_normal(n_items)
    )
    price = np.floor(np.exp(log_price)) + 0.99
    quality = 0.6 * brand_quality[brand] + 0.8 * rng.standard_normal(n_items)
    dept_margin = np.array([dept.margin for dept in DEPARTMENTS])
    margin_rate = np.clip(
        dept_margin[department]
        - 0.05 * quality
        - 0.05 * tier[brand]
        + 0.04 * rng.standard_normal(n_items),
        0.03,
        0.8,
    )
    cost = np.round(price * (1.0 - margin_rate), 2)
    age_days = rng.integers(0, config.catalog_age_days, n_items).astype(np.int64)
    popularity = zipf_popularity(
        0.8 * quality
        - 0.6 * tier[brand]  # premium brands sell to fewer shoppers
        + 0.5 * _standardize(awareness[brand])
        + 0.4 * _standardize(np.log(seller_share[seller]))
        + 0.6 * (age_days / config.catalog_age_days - 0.5)
        + rng.standard_normal(n_items),
        config.popularity_exponent,
    )
    stock = draw_stock(n_items, config, rng)
    rating = np.round(np.clip(3.9 + 0.5 * quality + 0.3 * rng.standard_normal(n_items), 1, 5), 1)
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
    words = CatalogWords(
        brand_names=brand_names, attribute_words=attribute_words, n_sellers=n_sellers
    )
    return GeneratedCatalog(taxonomy=taxonomy, items=items, words=words)


def zipf_popularity(score: FloatArray, exponent: float) -> FloatArray:
    """Zipf shares assigned by rank of `score` (highest score, rank 1)."""
    n = score.shape[0]
    pop = np.empty(n)
    pop[np.argsort(-score, kind="stable")] = zipf_weights(n, exponent)
    return pop


def draw_stock(n: int, config: CatalogConfig, rng: np.random.Generator) -> IntArray:
    """Units in stock: zero for `out_of_stock_share` of items, else over-dispersed counts."""
    mean = config.mean_stock * rng.lognormal(-0.245, 0.7, n)  # E[lognormal] = 1
    stock = 1 + rng.poisson(mean)
    stock[rng.random(n) < config.out_of_stock_share] = 0
    out: IntArray = stock.astype(np.int64)
    return out


def item_ids(n: int) -> pl.Series:
    """Item ids "i0000042"."""
    return prefixed_ids("i", n).alias("item_id")


def prefixed_ids(prefix: str, n: int) -> pl.Series:
    """Ids `prefix` + number, zero-padded to one width so they sort in number order."""
    width = max(len(str(n - 1)), 1)
    return pl.select(
        pl.concat_str(
            pl.lit(prefix), pl.int_range(n, dtype=pl.Int64).cast(pl.String).str.zfill(width)
        )
    ).to_series()


def seller_ids(n: int) -> pl.Series:
    """Seller ids "seller0042"."""
    return prefixed_ids("seller", n).alias("seller_id")


def generated_items_frame(catalog: GeneratedCatalog, config: CatalogConfig) -> pl.DataFrame:
    """The `items` table of a generated catalog, in the data contract (plus `rating`)."""
    tax, items, words = catalog.taxonomy, catalog.items, catalog.words
    n = len(items)
    names = pl.Series(words.brand_names, dtype=pl.String)
    attr = pl.Series(words.attribute_words, dtype=pl.String)
    nouns = pl.Series(tax.leaf_nouns, dtype=pl.String)
    paths = pl.Series(tax.leaf_paths, dtype=pl.String)
    today_us = int(config.today.timestamp() * 1_000_000)
    cols = pl.DataFrame(
        {
            "brand": names.gather(items.brand),
            "d1": attr.gather(items.attributes[:, 0]),
            "spec": attr.gather(items.attributes[:, 1]),
            "d2": attr.gather(items.attributes[:, 2]),
            "noun": nouns.gather(items.leaf),
            "category": paths.gather(items.leaf),
            # a fixed scramble of the item number: the frame is a pure function of the world
            "sentence": pl.Series(DESCRIPTION_SENTENCES).gather(
                (np.arange(n, dtype=np.int64) * 2654435761 >> 7) % len(DESCRIPTION_SENTENCES)
            ),
        }
    )
    title = pl.concat_str(
        [pl.col("brand"), pl.col("d1"), pl.col("noun"), pl.col("spec"), pl.col("d2")],
        separator=" ",
    )
    exprs = [title.alias("title")]
    if config.descriptions:
        exprs.append(
            pl.concat_str(
                [
                    pl.col("d1").str.to_titlecase(),
                    pl.lit(" "),
                    pl.col("noun"),
                    pl.lit(" by "),
                    pl.col("brand"),
                    pl.lit(": "),
                    pl.col("d2"),
                    pl.lit(", "),
                    pl.col("spec"),
                    pl.lit(". "),
                    pl.col("sentence"),
                ]
            ).alias("description")
        )
    frame = cols.select([*exprs, "category", "brand"]).with_columns(
        item_ids(n),
        pl.Series("price", items.price),
        pl.Series("cost", items.cost),
        pl.Series("stock", items.stock),
        seller_ids(words.n_sellers).gather(items.seller).alias("seller_id"),
        pl.Series("created_at", today_us - items.age_days * 86_400_000_000).cast(
            pl.Datetime("us", "UTC")
        ),
        pl.Series("rating", items.rating),
    )
    return conform(frame, TableName.ITEMS)
