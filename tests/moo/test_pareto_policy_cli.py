"""`paretorec pareto --policy VERSION`: the front a trained policy serves, as a report."""

import json
from pathlib import Path

from typer.testing import CliRunner

from paretorec.cli import app


def test_pareto_draws_a_trained_policys_front(tmp_path: Path) -> None:
    models, out = tmp_path / "models", tmp_path / "report"
    runner = CliRunner()
    train = ["train", "policy", "--simulator", "--models", str(models), "--sessions", "128",
             "--batch", "64", "--items", "400", "--users", "100", "--seed", "1",
             "--log-sessions", "2000"]  # fmt: skip
    assert runner.invoke(app, train).exit_code == 0
    args = ["pareto", "--policy", "promoted", "--models", str(models), "--divisions", "2",
            "--sessions", "30", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "the front it serves" in result.output and "hypervolume" in result.output
    assert (out / "front.png").is_file() and (out / "weights.png").is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_points"] == 6  # C(2 + 3 - 1, 3 - 1) weightings of three objectives
    assert {"w_clicks", "clicks"} <= set(metrics["chosen"])


def test_pareto_needs_data_or_policy(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["pareto", "--out", str(tmp_path)])
    assert result.exit_code == 1 and "give --data DIR (or --policy VERSION)" in result.output
    missing = ["pareto", "--policy", "v0003", "--models", str(tmp_path)]
    result = CliRunner().invoke(app, missing)
    assert result.exit_code == 1 and "no policy version 'v0003'" in result.output


def test_a_policys_front_under_the_shops_rules(tmp_path: Path) -> None:
    from paretorec.simulate import generate_world

    models = tmp_path / "models"
    runner = CliRunner()
    train = ["train", "policy", "--simulator", "--models", str(models), "--sessions", "128",
             "--batch", "64", "--items", "400", "--users", "100", "--seed", "1",
             "--log-sessions", "2000"]  # fmt: skip
    assert runner.invoke(app, train).exit_code == 0
    # the biggest seller of the policy's world is blocked: every list changes
    world = generate_world(400, 100, seed=1)
    sellers = world.items_frame()["seller_id"].value_counts(sort=True)["seller_id"].to_list()
    values = {}
    for name, rules in (
        ("off", None),
        ("on", {"block": {"sellers": [sellers[0]]},
                "caps": [{"name": "cap", "field": "seller_id", "most": 2, "within": 5}]}),
    ):  # fmt: skip
        args = ["pareto", "--policy", "promoted", "--models", str(models), "--divisions", "1",
                "--sessions", "30", "--out", str(tmp_path / name)]  # fmt: skip
        if rules is not None:
            (tmp_path / "rules.json").write_text(json.dumps(rules))
            args += ["--rules", str(tmp_path / "rules.json")]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        values[name] = json.loads((tmp_path / name / "metrics.json").read_text())["chosen"]
    assert values["on"] != values["off"]
    (tmp_path / "rules.json").write_text(json.dumps({"exposure": {"field": "seller_id"}}))
    refused = runner.invoke(
        app, ["pareto", "--policy", "promoted", "--models", str(models), "--rules",
              str(tmp_path / "rules.json")],
    )  # fmt: skip
    assert refused.exit_code == 1 and "use --data" in refused.output
