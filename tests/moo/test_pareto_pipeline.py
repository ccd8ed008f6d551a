"""From a dataset folder (search or recommendation) or the simulator to a front report."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from paretorec.cli import app
from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.moo import resolve_objectives
from paretorec.moo.pipeline import MethodSettings, ParetoMethod, pareto_report
from paretorec.moo.simulated import problem_from_simulator
from paretorec.moo.sources import SourceConfig, problem_from_dataset
from paretorec.simulate import WorldConfig, generate_world

runner = CliRunner()
Folder = Callable[[dict[str, str]], Path]

WORDS = ["drill", "saw", "hammer", "paint", "ladder"]
COLOURS = ["red", "blue", "green", "black", "white", "steel"]


def search_files() -> dict[str, str]:
    items = ["item_id,title,price"]
    for i in range(30):
        items.append(f"i{i},{COLOURS[i % 6]} {WORDS[i % 5]} model {i},{5 + 7 * (i % 9)}")
    queries = ["query_id,text"] + [f"q{j},{w}" for j, w in enumerate(WORDS)]
    judgments = ["query_id,item_id,grade"]
    for j in range(5):
        for i in range(j, 30, 5)[:4]:
            judgments.append(f"q{j},i{i},{1 + (i % 3)}")
    return {
        "items.csv": "\n".join(items) + "\n",
        "queries.csv": "\n".join(queries) + "\n",
        "judgments.csv": "\n".join(judgments) + "\n",
    }


def recommendation_files() -> dict[str, str]:
    items = ["item_id,title"] + [f"g{i},{COLOURS[i % 6]} game {WORDS[i % 5]}" for i in range(20)]
    events = ["user_id,item_id,event"]
    rng = np.random.default_rng(0)
    for u in range(30):
        start = int(rng.integers(0, 20))
        for step in range(5):
            events.append(f"u{u},g{(start + step) % 20},purchase")
    return {"items.csv": "\n".join(items) + "\n", "events.csv": "\n".join(events) + "\n"}


SMALL = SourceConfig(n_requests=10, n_candidates=8, k=4, seed=0)


def test_search_folder_report(write_folder: Folder, tmp_path: Path) -> None:
    folder = write_folder(search_files())
    run = pareto_report(
        folder,
        "ndcg,revenue,diversity",
        method=ParetoMethod.WEIGHTED_SUM,
        settings=MethodSettings(budget=10),
        source=SMALL,
        out=tmp_path / "report",
    )
    assert run.summary.task == "search" and run.summary.n_kept == 5
    assert run.result.n_evaluations == 10
    names = {p.name for p in run.written}
    assert names == {"front.png", "weights.png", "metrics.md", "metrics.json"}
    saved = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert saved["hypervolume"] == pytest.approx(run.result.hypervolume.value)
    assert saved["n_front"] == len(run.result.front)


def test_recommendation_folder_problem(write_folder: Folder) -> None:
    from paretorec.data.validate import load_dataset

    dataset = load_dataset(write_folder(recommendation_files()))
    objectives = resolve_objectives("ndcg,revenue,novelty")
    problem, summary = problem_from_dataset(dataset, objectives, config=SMALL)
    assert summary.task == "recommendation" and summary.n_kept >= 1
    for r in problem.requests:
        assert r.signals.shape == (8, 3)
    # ranking by the relevance signal finds the held-out item somewhere in most lists
    values = problem.evaluate(problem.rank_by(lambda r: r.signals[:, 0]))
    assert 0 < values[0] <= 1 and 0 <= values[2] <= 1


def test_cli_pareto(write_folder: Folder, tmp_path: Path) -> None:
    folder = write_folder(search_files())
    out = tmp_path / "cli-report"
    args = ["pareto", "--data", str(folder), "--objectives", "ndcg,revenue", "--budget", "6"]
    small = ["--requests", "5", "--candidates", "8", "--k", "4", "--out", str(out)]
    result = runner.invoke(app, [*args, *small, "--method", "chebyshev"])
    assert result.exit_code == 0, result.output
    assert "on the front" in result.output and "hypervolume" in result.output
    assert (out / "front.png").is_file() and (out / "metrics.md").is_file()
    constrained = runner.invoke(
        app,
        [
            *args,
            *small,
            "--method",
            "epsilon-constraint",
            "--target",
            "revenue",
            "--at-least",
            "ndcg=0.9",
        ],
    )
    assert constrained.exit_code == 0, constrained.output
    assert "chosen by constrained" in constrained.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--objectives", "ndcg,profit"], "unknown objective 'profit'; known:"),
        (["--objectives", ""], "no objectives given"),
        (["--method", "simplex"], "unknown method 'simplex'; known: weighted-sum"),
    ],
)
def test_cli_errors(write_folder: Folder, tmp_path: Path, extra: list[str], message: str) -> None:
    folder = write_folder(search_files())
    result = runner.invoke(app, ["pareto", "--data", str(folder), "--out", str(tmp_path), *extra])
    assert result.exit_code == 1
    assert message in " ".join(result.output.split())


def test_simulator_problem_is_exact() -> None:
    world = generate_world(800, 60, config=WorldConfig.lively(), seed=0)
    objectives = resolve_objectives("ndcg,revenue,clicks,category_diversity")
    problem = problem_from_simulator(world, objectives, n_sessions=60, k=5, seed=1)
    by_revenue = problem.evaluate(problem.rank_by(lambda r: r.signals[:, 1]))
    by_ndcg = problem.evaluate(problem.rank_by(lambda r: r.signals[:, 0]))
    assert np.all((by_revenue >= 0) & (by_revenue <= 1))
    assert by_ndcg[0] == pytest.approx(1.0)  # the grades are the simulator's own
    assert by_revenue[1] > by_ndcg[1]
    assert by_revenue[0] < by_ndcg[0]
    # the evaluator reads the environment: the same lists give the same values
    np.testing.assert_allclose(
        by_revenue, problem.evaluate(problem.rank_by(lambda r: r.signals[:, 1]))
    )


@pytest.mark.slow
def test_homedepot_search_front(shared_data: Path) -> None:
    dataset = load_builtin(BuiltinDataset.HOMEDEPOT, source=shared_data / "homedepot")
    objectives = resolve_objectives("ndcg,revenue")
    problem, summary = problem_from_dataset(
        dataset, objectives, config=SourceConfig(n_requests=15, n_candidates=50, k=10)
    )
    assert summary.n_kept == 15
    from paretorec.moo import Scalarization, scalarization_grid

    result = scalarization_grid(problem, scalarization=Scalarization.WEIGHTED_SUM, budget=8)
    ndcg, revenue = result.values[:, 0], result.values[:, 1]
    # the corners: pure relevance has the best NDCG, pure revenue the best revenue
    assert ndcg[np.argmax(result.parameters[:, 0])] == pytest.approx(ndcg.max())
    assert revenue[np.argmax(result.parameters[:, 1])] == pytest.approx(revenue.max())
