"""benchmarks/bench_relevance.py's relevance.md: OURS − TODAY's 95% t interval over the
training seeds (the one that counts training-seed variance; the bootstrap rows are within
one seed or pool the seeds' units), its "sig. at 95%" cells, verdicts generated from it,
and titles that say the shops are simulated. Rendered from the stored relevance.json (read
only) with hand-set per-seed differences."""

from __future__ import annotations

import copy
import json
from types import ModuleType
from typing import Any

import pytest

from tests.bench_scripts import BENCHMARKS, load_bench_script


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench_script("bench_relevance", "bench_relevance_under_test")


@pytest.fixture(scope="module")
def stored() -> dict[str, Any]:
    report: dict[str, Any] = json.loads((BENCHMARKS / "results" / "relevance.json").read_text())
    assert len(report["seeds"]) >= 3
    return report


def _with_differences(
    stored: dict[str, Any], by_part: dict[tuple[str, str], list[float]]
) -> dict[str, Any]:
    """The stored report on its first 3 seeds, OURS − TODAY's per-seed means set by hand."""
    report = copy.deepcopy(stored)
    report["seeds"] = report["seeds"][:3]
    for (where, key), values in by_part.items():
        per_seed = report["paired"][where][key]["per_seed"]
        for seed, value in zip(report["seeds"], values, strict=True):
            per_seed[str(seed)]["mean"] = value
    return report


def test_the_t_interval_over_seeds_and_its_sig_cells(
    bench: ModuleType, stored: dict[str, Any]
) -> None:
    # -0.1, -0.2, -0.3: mean -0.2, sd 0.1, t(0.975, 2 df) = 4.302653 -> half width 0.2484;
    # the others the same width around their means
    report = _with_differences(
        stored,
        {
            ("demo_shop", "off_topic"): [-0.1, -0.2, -0.3],
            ("demo_shop", "ndcg"): [0.4, 0.5, 0.6],
            ("simulator_search", "off_topic"): [-0.3, -0.4, -0.5],
            ("simulator_search", "ndcg"): [0.1, 0.2, 0.3],
        },
    )
    text: str = bench.markdown(report)
    assert text.startswith("## Relevance as an objective of the served policy (simulated shops)\n")
    assert "### On the demo shop (simulated) through the service's path (" in text
    assert (
        "| demo shop (queries) | over seeds (t) | -0.200 [-0.448, +0.048] | no | "
        "+0.500 [+0.252, +0.748] | yes | 3 seeds |"
    ) in text
    assert (
        "| simulator (search sessions) | over seeds (t) | -0.400 [-0.648, -0.152] | yes | "
        "+0.200 [-0.048, +0.448] | no | 3 seeds |"
    ) in text
    assert (
        "in the simulator's searches (OURS − TODAY over the 3 seeds, 95% t interval: "
        "-0.400 [-0.648, -0.152], significant at 95%)"
    ) in text
    assert (
        "on the demo shop (OURS − TODAY over the 3 seeds, 95% t interval: "
        "-0.200 [-0.448, +0.048], which holds 0: not significant at 95%"
    ) in text
    assert "the relevance objective lowers it (OURS " in text


def test_a_significant_demo_shop_difference_repairs(
    bench: ModuleType, stored: dict[str, Any]
) -> None:
    report = _with_differences(stored, {("demo_shop", "off_topic"): [-0.3, -0.4, -0.5]})
    text: str = bench.markdown(report)
    assert "the relevance objective repairs that (OURS " in text
    assert (
        "OURS − TODAY over the 3 seeds, 95% t interval: -0.400 [-0.648, -0.152], "
        "significant at 95%; OURS' NDCG@10"
    ) in text
