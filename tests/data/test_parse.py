from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from paretorec.data.parse import parse_float, parse_int, parse_timestamp


def test_timestamps_from_iso_text_unix_seconds_and_milliseconds() -> None:
    parsed = parse_timestamp(
        pl.Series(
            [
                "2019-11-24 00:00:34.762830+00:00",
                "1574553634",
                "1574553634000",
                "2020-01-02",
                "x",
                None,
            ]
        )
    )
    utc = dt.UTC
    assert parsed.to_list() == [
        dt.datetime(2019, 11, 24, 0, 0, 34, 762830, tzinfo=utc),
        dt.datetime(2019, 11, 24, 0, 0, 34, tzinfo=utc),
        dt.datetime(2019, 11, 24, 0, 0, 34, tzinfo=utc),
        dt.datetime(2020, 1, 2, tzinfo=utc),
        None,
        None,
    ]


def test_integers_written_as_floats_are_accepted_but_fractions_are_not() -> None:
    assert parse_int(pl.Series(["3", "3.0", " 4 ", "2.5", "x", None])).to_list() == [
        3,
        3,
        4,
        None,
        None,
        None,
    ]


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64), max_size=50))
def test_float_text_round_trips(values: list[float]) -> None:
    assert parse_float(pl.Series([repr(v) for v in values], dtype=pl.String)).to_list() == values


@given(st.lists(st.integers(min_value=-(2**53), max_value=2**53), max_size=50))
def test_int_text_round_trips(values: list[int]) -> None:
    assert parse_int(pl.Series([str(v) for v in values], dtype=pl.String)).to_list() == values
