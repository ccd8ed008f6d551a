"""Parsing one column of text (or an already-typed column) into its contract type.

Each function returns the parsed series with null where a value could not be parsed; the
validator compares that with the input to find the rows of the wrong type.
"""

from __future__ import annotations

import polars as pl

from paretorec.data.schema import POLARS_TYPE, Kind

# Unix times above this are taken as milliseconds (year 5138 in seconds; 1973 in ms).
_MILLISECONDS_FROM = 1e11


def _as_text(series: pl.Series) -> pl.Series:
    return series if series.dtype == pl.String else series.cast(pl.String)


def parse_float(series: pl.Series) -> pl.Series:
    if series.dtype.is_numeric():
        return series.cast(pl.Float64)
    text = _as_text(series)
    numbers = text.cast(pl.Float64, strict=False)
    if numbers.null_count() == text.null_count():
        return numbers
    return text.str.strip_chars().cast(pl.Float64, strict=False)  # " 3 " is a number too


def parse_int(series: pl.Series) -> pl.Series:
    """Integers, also when written as `3.0` (as many exporters do); `3.5` is not one."""
    if series.dtype.is_integer():
        return series.cast(pl.Int64)
    as_float = parse_float(series)
    # beyond 64 bits is not an integer this keeps: null (reported), never a crash
    integral = as_float.is_finite() & (as_float == as_float.floor()) & (as_float.abs() < 2.0**63)
    return pl.select(
        pl.when(pl.lit(integral))
        .then(pl.lit(as_float))
        .otherwise(None)
        .cast(pl.Int64, strict=False)
    ).to_series()


def parse_timestamp(series: pl.Series) -> pl.Series:
    """ISO 8601 text (naive taken as UTC) or unix seconds / milliseconds, into UTC."""
    target = POLARS_TYPE[Kind.TIMESTAMP]
    if isinstance(series.dtype, pl.Datetime):
        if series.dtype.time_zone is None:
            return series.dt.replace_time_zone("UTC").cast(target)
        return series.dt.convert_time_zone("UTC").cast(target)
    if isinstance(series.dtype, pl.Date):
        return series.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    numeric = parse_float(series)
    from_numbers = pl.select(
        (
            pl.when(pl.lit(numeric).abs() >= _MILLISECONDS_FROM)
            .then(pl.lit(numeric) * 1_000)
            .otherwise(pl.lit(numeric) * 1_000_000)
        )
        .round()
        .cast(pl.Int64, strict=False)
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
    ).to_series()
    if numeric.null_count() == series.null_count():  # all numbers: no text to parse
        return from_numbers.cast(target).alias(series.name)
    text = _as_text(series).str.strip_chars()
    text_only = pl.select(pl.when(pl.lit(numeric).is_null()).then(pl.lit(text))).to_series()
    return (
        pl.select(pl.coalesce(pl.lit(from_numbers), pl.lit(_parse_iso(text_only))))
        .to_series()
        .cast(target)
    )


# Tried in turn on the values still unparsed; %.f also matches no fraction at all.
ISO_FORMATS = (
    ("%Y-%m-%dT%H:%M:%S%.f%#z", True),
    ("%Y-%m-%d %H:%M:%S%.f%#z", True),
    ("%Y-%m-%dT%H:%M:%S%.fZ", False),
    ("%Y-%m-%dT%H:%M:%S%.f", False),
    ("%Y-%m-%d %H:%M:%S%.f", False),
    ("%Y-%m-%dT%H:%M", False),
    ("%Y-%m-%d %H:%M", False),
    ("%Y-%m-%d", False),
)


def _parse_iso(text: pl.Series) -> pl.Series:
    """ISO 8601 dates and date-times, with or without a zone (naive is UTC), mixed freely."""
    result = pl.Series(text.name, [None] * len(text), dtype=pl.Datetime("us", "UTC"))
    for fmt, zoned in ISO_FORMATS:
        pending = pl.select(pl.when(pl.lit(result).is_null()).then(pl.lit(text))).to_series()
        if pending.null_count() == len(pending):
            break
        parsed = pending.str.to_datetime(
            fmt, strict=False, time_unit="us", time_zone=None if zoned else "UTC"
        )
        if zoned:
            parsed = parsed.dt.convert_time_zone("UTC")
        result = pl.select(pl.coalesce(pl.lit(result), pl.lit(parsed))).to_series()
    return result


def parse_string(series: pl.Series) -> pl.Series:
    return _as_text(series)


PARSERS = {
    Kind.STRING: parse_string,
    Kind.FLOAT: parse_float,
    Kind.INT: parse_int,
    Kind.TIMESTAMP: parse_timestamp,
}


def parse_column(series: pl.Series, kind: Kind) -> pl.Series:
    return PARSERS[kind](series).alias(series.name)
