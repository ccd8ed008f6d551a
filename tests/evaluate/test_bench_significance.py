"""benchmarks/significance.py: the tables' "sig. at 95%" cell read back from a printed
paired interval, `?` exactly where the printed bounds cannot tell."""

from __future__ import annotations

from types import ModuleType

import pytest

from paretorec.evaluate.paired import paired_bootstrap
from tests.bench_scripts import load_bench_script


@pytest.fixture(scope="module")
def sig() -> ModuleType:
    return load_bench_script("significance", "bench_significance_under_test")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+0.0233 [+0.0155, +0.0313]", "yes"),
        ("-0.1250 [-0.2000, -0.0625]", "yes"),
        ("-0.0024 [-0.0056, +0.0008]", "no"),
        ("+0.0014 [-0.0000, +0.0036]", "no"),  # lower below 0, however little
        ("-0.0014 [-0.0036, +0.0000]", "no"),  # upper at or above 0
        ("+0.0004 [+0.0000, +0.0012]", "?"),  # lower 0 or a hair above: cannot tell
        ("-0.0004 [-0.0012, -0.0000]", "?"),
        ("+0.245 [+0.229, +0.261]", "yes"),  # any number of digits
        ("(baseline)", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_interval_significance(sig: ModuleType, text: object, expected: str) -> None:
    assert sig.interval_significance(text) == expected


def test_agrees_with_the_comparison_it_prints(sig: ModuleType) -> None:
    # wherever the printed text decides, it decides as PairedComparison.significant does
    a = [0.1 * (i % 7) for i in range(40)]
    for shift in (-0.3, -0.05, 0.0, 0.02, 0.3):
        found = paired_bootstrap([x + shift for x in a], a, seed=0)
        read = sig.interval_significance(found.interval_text())
        assert read in ("yes", "no", "?")
        if read != "?":
            assert read == sig.yes_no(found.significant)
