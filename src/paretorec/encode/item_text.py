"""What an item's text is: the one string the encoder sees for an item.

`item_text` joins, in this order, the parts an item has (a missing column, a null or an
empty value leaves its part out, with no dangling separator):

1. the title, as is;
2. ``brand: <brand>``;
3. ``category: <path>``, the ``>``-separated path with single spaces around each ``>``;
4. the first `max_attributes` (5) entries of the ``attributes`` column, a JSON object per
   item (as the Icecat reader writes), as ``<name>: <value>`` separated by ``; ``.  A
   name loses Icecat's type prefix (``attr_t_``, ``attr_n_``, ``attr_b_``) and has
   underscores turned into spaces; numbers print without a trailing ``.0``, true/false
   as yes/no, lists joined by ``, ``; null, empty and nested values are skipped;
5. the first `description_chars` (200) characters of the description, cut back to a
   word boundary, with HTML tags removed, left out where it repeats the title.

Parts are joined by `` | ``; whitespace runs (newlines, tabs) become one space; the
whole text is cut to `max_chars` (512) characters, at a word boundary where one is
near, which keeps it well inside the bundled model's 256 tokens so that the title,
first, always counts.  Price, stock and ids are not text and are left out.

Example: ``Cordless Drill 18V | brand: DeWalt | category: Tools > Power Tools |
voltage: 18; battery included: yes | Compact drill driver with two batteries``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any, overload

import polars as pl

from paretorec.types import Catalog

SEPARATOR = " | "
ATTRIBUTE_SEPARATOR = "; "
DEFAULT_MAX_ATTRIBUTES = 5
DEFAULT_DESCRIPTION_CHARS = 200
DEFAULT_MAX_CHARS = 512
_WORD_BOUNDARY_SLACK = 24  # cut at the last space within this many characters of the cap
_ATTRIBUTE_PREFIX = re.compile(r"^attr_[a-z]_")


class ItemField(StrEnum):
    """The parts of an item's text, named after their columns."""

    TITLE = "title"
    BRAND = "brand"
    CATEGORY = "category"
    ATTRIBUTES = "attributes"
    DESCRIPTION = "description"


DEFAULT_FIELDS: tuple[ItemField, ...] = tuple(ItemField)


@overload
def item_text(
    items: Catalog | pl.DataFrame,
    *,
    fields: Sequence[ItemField | str] = ...,
    max_attributes: int = ...,
    description_chars: int = ...,
    max_chars: int = ...,
) -> list[str]: ...


@overload
def item_text(
    items: Mapping[str, Any],
    *,
    fields: Sequence[ItemField | str] = ...,
    max_attributes: int = ...,
    description_chars: int = ...,
    max_chars: int = ...,
) -> str: ...


def item_text(
    items: Catalog | pl.DataFrame | Mapping[str, Any],
    *,
    fields: Sequence[ItemField | str] = DEFAULT_FIELDS,
    max_attributes: int = DEFAULT_MAX_ATTRIBUTES,
    description_chars: int = DEFAULT_DESCRIPTION_CHARS,
    max_chars: int = DEFAULT_MAX_CHARS,
) -> list[str] | str:
    """The text of each item of a catalog (a list, in row order), or of one row given as
    a mapping of column to value (a string), as the module docstring describes.

    `fields` chooses and orders the parts (``ItemField`` values or their names).
    """
    if max_attributes < 0 or description_chars < 0 or max_chars < 1:
        raise ValueError("max_attributes and description_chars must be >= 0, max_chars >= 1")
    chosen = [ItemField(field) for field in fields]
    if isinstance(items, Mapping):
        frame = pl.DataFrame([dict(items)])
        return _texts(frame, chosen, max_attributes, description_chars, max_chars)[0]
    frame = items.frame if isinstance(items, Catalog) else items
    return _texts(frame, chosen, max_attributes, description_chars, max_chars)


def _texts(
    frame: pl.DataFrame,
    fields: list[ItemField],
    max_attributes: int,
    description_chars: int,
    max_chars: int,
) -> list[str]:
    parts: list[pl.Expr] = []
    for field in fields:
        if field.value not in frame.columns:
            continue
        column = _clean(pl.col(field.value).cast(pl.String))
        if field is ItemField.TITLE:
            parts.append(column)
        elif field is ItemField.BRAND:
            parts.append(_labelled("brand", column))
        elif field is ItemField.CATEGORY:
            path = column.str.replace_all(r"\s*>\s*", " > ").str.strip_chars(" >")
            parts.append(_labelled("category", path))
        elif field is ItemField.ATTRIBUTES:
            parts.append(_attributes(frame, max_attributes))
        elif field is ItemField.DESCRIPTION and description_chars > 0:
            parts.append(_description(column, description_chars, fields, frame.columns))
    if not parts:
        return [""] * frame.height
    # One stage at a time: each expression below reads its input several times, and
    # materializing the stages keeps Polars from computing them again for each read.
    names = [f"part{i}" for i in range(len(parts))]
    staged = frame.select(part.alias(name) for part, name in zip(parts, names, strict=True))
    nonempty = [pl.when(pl.col(n).str.len_chars() > 0).then(pl.col(n)) for n in names]
    joined = staged.select(
        text=pl.concat_str(nonempty, separator=SEPARATOR, ignore_nulls=True).fill_null("")
    )
    return joined.select(_cut(pl.col("text"), max_chars))["text"].to_list()


def _clean(column: pl.Expr) -> pl.Expr:
    return column.str.replace_all(r"\s+", " ").str.strip_chars()


def _labelled(label: str, column: pl.Expr) -> pl.Expr:
    return pl.when(column.str.len_chars() > 0).then(pl.lit(f"{label}: ") + column)


def _cut(column: pl.Expr, limit: int) -> pl.Expr:
    """At most `limit` characters; where the cut falls inside a word, back to the space
    before it, if that space lies within the last few characters."""
    head = column.str.slice(0, limit)
    inside_word = ~column.str.slice(limit, 1).str.contains(r"^\s")
    at_word = head.str.replace(rf"\s+\S{{1,{_WORD_BOUNDARY_SLACK}}}$", "")
    cut = pl.when(inside_word & (at_word.str.len_chars() > 0)).then(at_word).otherwise(head)
    return pl.when(column.str.len_chars() > limit).then(cut).otherwise(column).str.strip_chars()


def _description(
    column: pl.Expr, limit: int, fields: list[ItemField], columns: list[str]
) -> pl.Expr:
    text = _clean(column.str.replace_all(r"<[^>]*>", " "))
    if ItemField.TITLE in fields and ItemField.TITLE.value in columns:
        title = _clean(pl.col(ItemField.TITLE.value).cast(pl.String))
        text = pl.when(text.str.to_lowercase() != title.str.to_lowercase()).then(text)
    return _cut(text, limit)


def _attributes(frame: pl.DataFrame, limit: int) -> pl.Expr:
    """The rendered attributes as a literal column (JSON is parsed by Python's json:
    the objects have thousands of distinct keys, which no Polars struct type fits)."""
    raw = frame[ItemField.ATTRIBUTES.value]
    if raw.dtype == pl.Null:
        raw = raw.cast(pl.String)
    elif isinstance(raw.dtype, pl.Struct):
        raw = raw.struct.json_encode()
    elif raw.dtype != pl.String:
        raise ValueError(f"attributes must be JSON object text or a struct, not {raw.dtype}")
    ids = frame["item_id"].cast(pl.String).to_list() if "item_id" in frame.columns else None
    rendered = [
        _render_attributes(text, limit, ids[row] if ids else str(row))
        for row, text in enumerate(raw.to_list())
    ]
    return pl.lit(pl.Series("attributes", rendered, dtype=pl.String))


def _render_attributes(text: str | None, limit: int, item: str) -> str | None:
    if text is None or limit == 0 or not text.strip():
        return None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"item {item}: attributes are not valid JSON ({error})") from None
    if not isinstance(values, dict):
        raise ValueError(f"item {item}: attributes are not a JSON object")
    shown: list[str] = []
    for key, value in values.items():
        name = " ".join(_ATTRIBUTE_PREFIX.sub("", str(key)).replace("_", " ").split())
        rendered = _render_value(value)
        if name and rendered:
            shown.append(f"{name}: {rendered}")
            if len(shown) == limit:
                break
    return ATTRIBUTE_SEPARATOR.join(shown) or None


def _render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return " ".join(str(value).split())
    if isinstance(value, list):
        items = [_render_value(v) for v in value if not isinstance(v, dict | list)]
        return ", ".join(item for item in items if item)
    return ""
