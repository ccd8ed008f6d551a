"""A study's report folder: what was tried, what was chosen, and what mattered.

- ``front.json`` / ``front.png``: every completed trial's validation objectives, those on
  the front and the chosen one marked (the default configuration too);
- ``history.json`` / ``history.png``: each trial's state, objectives and duration in run
  order, and the best value so far of each objective;
- ``importances.json`` / ``importances.png``: each parameter's importance for each
  objective (Optuna's fANOVA), or why there is none (too few completed trials);
- ``summary.json``: the study, the chosen trial and the test figures of the chosen and
  the default configurations.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from paretorec.tune.study import DEFAULT_ATTR, Choice, StudyPlace

__all__ = ["write_report"]


def _values(trial: FrozenTrial, objectives: tuple[str, ...]) -> dict[str, float] | None:
    if trial.state is not TrialState.COMPLETE or trial.values is None:
        return None
    return dict(zip(objectives, (float(v) for v in trial.values), strict=True))


def _row(trial: FrozenTrial, objectives: tuple[str, ...], choice: Choice) -> dict[str, Any]:
    row: dict[str, Any] = {
        "number": trial.number,
        "state": trial.state.name.lower(),
        "values": _values(trial, objectives),
        "params": trial.params,
        "seconds": trial.duration.total_seconds() if trial.duration is not None else None,
        "default": bool(trial.user_attrs.get(DEFAULT_ATTR, False)),
        "on_front": trial.number in choice.front,
        "chosen": trial.number == choice.trial.number,
    }
    for key in ("pruned_at", "error"):
        if key in trial.user_attrs:
            row[key] = trial.user_attrs[key]
    return row


def _objective(trial: FrozenTrial, *, index: int) -> float:
    return float(trial.values[index])


def importances(
    study: optuna.Study, objectives: tuple[str, ...]
) -> dict[str, dict[str, float] | str]:
    """Each objective's parameter importances (fANOVA on the completed trials), or the
    reason they could not be computed."""
    out: dict[str, dict[str, float] | str] = {}
    for index, name in enumerate(objectives):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = optuna.importance.get_param_importances(
                    study, target=functools.partial(_objective, index=index)
                )
            out[name] = {k: float(v) for k, v in found.items()}
        except (ValueError, RuntimeError, ZeroDivisionError) as error:
            out[name] = f"not computable: {error}".strip()
    return out


def write_report(
    study: optuna.Study,
    place: StudyPlace,
    objectives: tuple[str, ...],
    choice: Choice,
    *,
    test: Mapping[str, Mapping[str, float]],
    registered: str | None = None,
) -> list[Path]:
    """Write the report folder (module docstring); the paths written."""
    folder = place.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    trials = study.get_trials(deepcopy=False)
    rows = [_row(t, objectives, choice) for t in trials]
    best: dict[str, float] = {}
    history = []
    for row in rows:
        for name, value in (row["values"] or {}).items():
            best[name] = max(best.get(name, -math.inf), value)
        history.append({**row, "best_so_far": dict(best)})
    found = importances(study, objectives)
    summary = {
        "study": place.name,
        "storage": str(place.storage_path),
        "stage": study.user_attrs.get("stage"),
        "data": study.user_attrs.get("data"),
        "objectives": list(objectives),
        "trials": len(trials),
        "states": {s.name.lower(): sum(t.state is s for t in trials) for s in TrialState},
        "chosen": {
            "trial": choice.trial.number,
            "method": choice.method,
            "values": _values(choice.trial, objectives),
            "params": choice.trial.params,
        },
        "front": list(choice.front),
        "test": {name: dict(figures) for name, figures in test.items()},
        "registered": registered,
    }
    written = {
        "front.json": {"objectives": list(objectives), "chosen": choice.trial.number,
                       "trials": [r for r in rows if r["values"] is not None]},
        "history.json": {"objectives": list(objectives), "trials": history},
        "importances.json": found,
        "summary.json": summary,
    }  # fmt: skip
    paths = []
    for name, content in written.items():
        path = folder / name
        path.write_text(json.dumps(content, indent=2, default=str) + "\n")
        paths.append(path)
    paths += _plots(rows, history, found, objectives, folder)
    return paths


def _plots(
    rows: list[dict[str, Any]],
    history: list[dict[str, Any]],
    found: Mapping[str, Mapping[str, float] | str],
    objectives: tuple[str, ...],
    folder: Path,
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if r["values"] is not None]
    pairs = list(itertools.combinations(objectives, 2)) or [(objectives[0], objectives[0])]
    paths = []

    fig, axes = plt.subplots(1, len(pairs), figsize=(5.2 * len(pairs), 4.4), squeeze=False)
    for ax, (x, y) in zip(axes[0], pairs, strict=True):
        groups = (
            ("trials", [r for r in done if not r["on_front"]], "o", "#9aa5b1", 30),
            ("front", [r for r in done if r["on_front"]], "o", "#1f77b4", 40),
            ("default", [r for r in done if r["default"]], "s", "#2ca02c", 90),
            ("chosen", [r for r in done if r["chosen"]], "*", "#d62728", 220),
        )
        for label, group, marker, color, size in groups:
            if group:
                ax.scatter(
                    [r["values"][x] for r in group],
                    [r["values"][y] for r in group],
                    marker=marker,
                    s=size,
                    color=color,
                    label=label,
                    zorder=3 if label in ("chosen", "default") else 2,
                    facecolors="none" if label == "default" else color,
                )
        for r in done:
            ax.annotate(str(r["number"]), (r["values"][x], r["values"][y]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points", color="#555555")  # fmt: skip
        ax.set_xlabel(f"{x} (valid)")
        ax.set_ylabel(f"{y} (valid)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    fig.suptitle(f"validation objectives of {len(done)} completed trials (all maximized)")
    fig.tight_layout()
    paths.append(_save(fig, folder / "front.png"))

    fig, axes = plt.subplots(
        len(objectives), 1, figsize=(7.5, 2.6 * len(objectives)), squeeze=False, sharex=True
    )
    for ax, name in zip(axes[:, 0], objectives, strict=True):
        ax.scatter([r["number"] for r in done], [r["values"][name] for r in done], s=18,
                   color="#1f77b4", label="completed")  # fmt: skip
        steps = [(h["number"], h["best_so_far"][name]) for h in history if name in h["best_so_far"]]
        if steps:
            ax.step(*zip(*steps, strict=True), where="post", color="#d62728", label="best so far")
        lost = [r["number"] for r in rows if r["values"] is None]
        for number in lost:
            ax.axvline(number, color="#cccccc", lw=0.8, zorder=0)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, loc="lower right")
    axes[0, 0].set_title("objective per trial (grey lines: pruned or failed trials)")
    axes[-1, 0].set_xlabel("trial")
    fig.tight_layout()
    paths.append(_save(fig, folder / "history.png"))

    computed = {k: v for k, v in found.items() if isinstance(v, Mapping)}
    if computed:
        params = sorted({p for v in computed.values() for p in v})
        fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(params) * len(computed) + 1.5))
        height = 0.8 / len(computed)
        for index, (name, values) in enumerate(computed.items()):
            ax.barh([i + index * height for i in range(len(params))],
                    [values.get(p, 0.0) for p in params], height=height, label=name)  # fmt: skip
        ax.set_yticks([i + 0.4 - height / 2 for i in range(len(params))], params, fontsize=8)
        ax.set_xlabel("importance (fANOVA, normalized)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, axis="x")
        fig.tight_layout()
        paths.append(_save(fig, folder / "importances.png"))
    return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
