"""Sessions: who shops, what she wants, what she types, and which candidates she is offered.

An intent is a leaf category (drawn from the shopper's department preference, then in
proportion to leaf demand), sometimes a brand and an attribute word (taken from an item
of that leaf, so they exist there). A search session reveals the intent as a query
("voltrix cordless drill"); a browsing session (recommendation) has no query, only the
shopper. Candidates come from the anchor leaf, its department, the popular pool and the
whole catalog (`CandidateMix`), drawn from precomputed indexes and de-duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from paretorec.simulate._arrays import BoolArray, FloatArray, IntArray, categorical_rows
from paretorec.simulate.behaviour import ShownList
from paretorec.simulate.world import World

NONE = -1  # no brand / attribute / query


@dataclass(frozen=True)
class Intent:
    """What each shopper wants (arrays of shape (n,)); the query shows it in searches."""

    leaf: IntArray
    brand: IntArray  # NONE when she has no brand in mind
    attribute: IntArray  # NONE when no attribute word
    is_search: BoolArray

    def __len__(self) -> int:
        return int(self.leaf.shape[0])

    def query_keys(self, world: World) -> IntArray:
        """One integer per distinct query (leaf, brand, attribute); NONE when browsing."""
        n_b = len(world.words.brand_names) + 1
        n_a = len(world.words.attribute_words) + 1
        key = (self.leaf * n_b + self.brand + 1) * n_a + self.attribute + 1
        out: IntArray = np.where(self.is_search, key, NONE)
        return out

    def where(self, mask: BoolArray, other: Intent) -> Intent:
        """This intent where `mask`, `other` elsewhere."""
        return Intent(
            leaf=np.where(mask, self.leaf, other.leaf),
            brand=np.where(mask, self.brand, other.brand),
            attribute=np.where(mask, self.attribute, other.attribute),
            is_search=np.where(mask, self.is_search, other.is_search),
        )


def decode_query_keys(world: World, keys: IntArray) -> Intent:
    """The search intents behind query keys (see `Intent.query_keys`)."""
    n_b = len(world.words.brand_names) + 1
    n_a = len(world.words.attribute_words) + 1
    rest, attr = np.divmod(keys, n_a)
    leaf, brand = np.divmod(rest, n_b)
    return Intent(
        leaf=leaf, brand=brand - 1, attribute=attr - 1, is_search=np.ones(keys.shape, dtype=bool)
    )


def draw_departments(world: World, user: IntArray, rng: np.random.Generator) -> IntArray:
    """A department per shopper, from her preference (only departments with items)."""
    pref = world.users.category_pref[user] * (world.index.department_weight > 0)
    return categorical_rows(pref, rng)


def draw_leaves(world: World, user: IntArray, rng: np.random.Generator) -> IntArray:
    """A leaf per shopper: her department preference, then leaf demand within it."""
    return world.index.leaves_by_department.sample(draw_departments(world, user, rng), rng)


def draw_intents(world: World, user: IntArray, rng: np.random.Generator) -> Intent:
    cfg = world.config.sessions
    n = int(user.shape[0])
    leaf = draw_leaves(world, user, rng)
    seed_item = world.index.by_leaf.sample(leaf, rng)
    items = world.items
    brand = np.where(rng.random(n) < cfg.query_brand_prob, items.brand[seed_item], NONE)
    slot = rng.integers(0, items.attributes.shape[1], n)
    attr = np.where(
        rng.random(n) < cfg.query_attribute_prob, items.attributes[seed_item, slot], NONE
    )
    is_search: BoolArray = rng.random(n) < cfg.search_share
    return Intent(
        leaf=leaf,
        brand=brand.astype(np.int64),
        attribute=attr.astype(np.int64),
        is_search=is_search,
    )


def anchor_leaves(
    world: World, user: IntArray, intent: Intent, rng: np.random.Generator
) -> IntArray:
    """The category candidates are drawn around: the query's leaf in a search; in browsing,
    the leaf she has in mind with `browse_anchor_accuracy`, else another one she likes."""
    guess = draw_leaves(world, user, rng)
    right = rng.random(len(intent)) < world.config.sessions.browse_anchor_accuracy
    out: IntArray = np.where(intent.is_search | right, intent.leaf, guess)
    return out


def duplicated(rows: IntArray) -> BoolArray:
    """True at each entry equal to an earlier-sorted entry of its row (all but one copy)."""
    order = np.argsort(rows, axis=1, kind="stable")
    srt = np.take_along_axis(rows, order, axis=1)
    later = srt[:, 1:] == srt[:, :-1]
    mask = np.zeros(rows.shape, dtype=bool)
    r, c = np.nonzero(later)
    mask[r, order[r, c + 1]] = True
    return mask


def draw_candidates(world: World, anchor_leaf: IntArray, rng: np.random.Generator) -> IntArray:
    """(n, n_candidates) distinct item numbers per session, in random order."""
    n = anchor_leaf.shape[0]
    n_items = world.n_items
    c = world.n_candidates
    if n_items < 4 * c:  # a tiny shop: a uniform draw of distinct items is simplest
        keys = rng.random((n, n_items))
        small: IntArray = np.argsort(keys, axis=1)[:, :c].astype(np.int64)
        return small
    index = world.index
    dept = world.taxonomy.leaf_department[anchor_leaf]
    counts = world.config.sessions.candidate_mix.counts(c)
    source = np.repeat(np.arange(4), counts)

    def draw(src: int, rows: IntArray) -> IntArray:
        if src == 0:
            return index.by_leaf.sample(anchor_leaf[rows], rng)
        if src == 1:
            return index.by_department.sample(dept[rows], rng)
        if src == 2:
            return index.popular.sample(np.zeros(rows.size, dtype=np.int64), rng)
        return rng.integers(0, n_items, rows.size)

    cand = np.empty((n, c), dtype=np.int64)
    col = 0
    for src, count in enumerate(counts):
        if count:
            rows = np.repeat(np.arange(n), count)
            cand[:, col : col + count] = draw(src, rows).reshape(n, count)
            col += count
    rows_left = np.arange(n)  # rows that may still hold a repeated item
    for attempt in range(1000):
        srt = np.sort(cand[rows_left], axis=1)
        hit = (srt[:, 1:] == srt[:, :-1]).any(axis=1)
        if not hit.any():
            break
        rows_left = rows_left[hit]
        dup = duplicated(cand[rows_left])
        r_local, col_idx = np.nonzero(dup)
        r = rows_left[r_local]
        # a small category cannot fill its share: after a few tries, draw from anywhere
        src_of = source[col_idx] if attempt < 3 else np.full(col_idx.size, 3)
        for src in np.unique(src_of):
            sel = src_of == src
            cand[r[sel], col_idx[sel]] = draw(int(src), r[sel])
    else:  # pragma: no cover - with >= 4 items per slot a collision streak this long is ~0
        raise RuntimeError("could not draw distinct candidates")
    perm = np.argsort(rng.random((n, c)), axis=1)
    out: IntArray = np.take_along_axis(cand, perm, axis=1)
    return out


def query_texts(world: World, intent: Intent) -> pl.Series:
    """The text a shopper types for each search: "[brand] [attribute] <leaf noun>"."""
    brands = pl.Series([*(b.lower() for b in world.words.brand_names), ""], dtype=pl.String)
    words = pl.Series([*world.words.attribute_words, ""], dtype=pl.String)
    nouns = pl.Series(world.taxonomy.leaf_nouns, dtype=pl.String)
    none_b = len(world.words.brand_names)
    none_a = len(world.words.attribute_words)
    frame = pl.DataFrame(
        {
            "b": brands.gather(np.where(intent.brand >= 0, intent.brand, none_b)),
            "a": words.gather(np.where(intent.attribute >= 0, intent.attribute, none_a)),
            "n": nouns.gather(intent.leaf),
        }
    )
    return (
        frame.select(
            pl.concat_str(["b", "a", "n"], separator=" ")
            .str.strip_chars()
            .str.replace_all("  +", " ")
        )
        .to_series()
        .alias("text")
    )


MAX_GRADE = 3.5  # the largest `graded_relevance`: same leaf, named brand, named attribute


def leaf_relevance(world: World, intent_leaf: IntArray, items: IntArray) -> FloatArray:
    """How close each item's category is to the intent's leaf (intent_leaf broadcast
    against items): 1 the same leaf, `relevance_mid` the same mid-level category,
    `relevance_department` the same department, else 0."""
    it, tax, cfg = world.items, world.taxonomy, world.config.behaviour
    out: FloatArray = np.where(
        it.leaf[items] == intent_leaf,
        1.0,
        np.where(
            it.mid[items] == tax.leaf_mid[intent_leaf],
            cfg.relevance_mid,
            np.where(
                it.department[items] == tax.leaf_department[intent_leaf],
                cfg.relevance_department,
                0.0,
            ),
        ),
    )
    return out


def graded_relevance(world: World, intent: Intent, items: IntArray) -> FloatArray:
    """The simulator's true graded relevance of `items` (n, c) to each shopper's intent
    (n,): 2 x `leaf_relevance` + 1 if the intent names the item's brand + 0.5 if it names
    one of the item's attributes; 0 to `MAX_GRADE`. The grades its judgments record."""
    it = world.items
    leaf = leaf_relevance(world, intent.leaf[:, None], items)
    brand = (intent.brand[:, None] >= 0) & (it.brand[items] == intent.brand[:, None])
    i_attr = intent.attribute[:, None, None]
    attribute = ((it.attributes[items] == i_attr) & (i_attr >= 0)).any(axis=2)
    out: FloatArray = 2.0 * leaf + brand.astype(np.float64) + 0.5 * attribute.astype(np.float64)
    return out


def shown_list(
    world: World, user: IntArray, intent: Intent, items: IntArray, seen: IntArray | None = None
) -> ShownList:
    """Gather what the behaviour model reads about `items` (n, k) shown to `user` (n,) with
    `intent`; `seen` (n, s) holds items shown earlier in the session (-1: empty)."""
    it = world.items
    leaf = it.leaf[items]
    dept = it.department[items]
    brand = it.brand[items]
    relevance = leaf_relevance(world, intent.leaf[:, None], items)
    i_brand = intent.brand[:, None]
    query_brand = np.where(i_brand >= 0, np.where(brand == i_brand, 1.0, -1.0), 0.0)
    i_attr = intent.attribute[:, None, None]
    attribute_match = ((it.attributes[items] == i_attr) & (i_attr >= 0)).any(axis=2)
    fav = world.users.favourite_brands[user][:, None, :]
    favourite = ((brand[:, :, None] == fav) & (fav >= 0)).any(axis=2)
    n_dept = world.taxonomy.n_departments
    pref = world.users.category_pref[user[:, None], dept]
    affinity = np.clip(np.log(n_dept * pref + 1e-12), -3.0, 1.5)
    if seen is None or seen.shape[1] == 0:
        seen_before = np.zeros(items.shape)
    else:
        seen_before = (items[:, :, None] == seen[:, None, :]).sum(axis=2).astype(np.float64)
    return ShownList(
        relevance=relevance,
        query_brand=query_brand,
        attribute_match=attribute_match.astype(np.float64),
        favourite_brand=favourite.astype(np.float64),
        category_affinity=affinity,
        quality=it.quality[items],
        popularity_z=it.popularity_z[items],
        price_fit=it.price_z[items] - world.users.price_level[user][:, None],
        global_price_z=it.global_price_z[items],
        price_sensitivity=world.users.price_sensitivity[user][:, None],
        variety=world.users.variety[user][:, None],
        leaf=leaf,
        brand=brand,
        seen_before=seen_before,
        in_stock=it.stock[items] > 0,
        price=it.price[items],
        margin=it.margin[items],
    )
