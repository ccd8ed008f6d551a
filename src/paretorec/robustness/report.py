"""The robustness report: each scenario swept over its strengths, with and without the
defences, measured by the evaluator of its target; curves, a table, the strength at which
each objective has lost 10%, and paired intervals at the middle strength.

`run_robustness` does the measuring (the clean data, strength 0, is measured once per
target and defence set and shared by the scenarios); `write_report` writes
``report.json``, ``report.md`` and one ``<scenario>.png`` per scenario into a folder.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from paretorec.evaluate.paired import paired_bootstrap
from paretorec.robustness.scenarios import Defences, Evaluator, Measurement, Scenario, Target
from paretorec.types import Dataset

__all__ = [
    "DEFAULT_LOSS",
    "RobustnessReport",
    "loss_strength",
    "run_robustness",
    "sweep_strengths",
    "write_report",
]

DEFAULT_LOSS = 0.10
N_BOOTSTRAP = 2000


def loss_strength(
    strengths: Sequence[float], values: Sequence[float], *, loss: float = DEFAULT_LOSS
) -> float | None:
    """The strength at which `values` first falls to ``(1 - loss)`` of its clean value
    (`values[0]`, at `strengths[0]`), linearly interpolated between the two swept strengths
    around the crossing; None if it never does (or the clean value is not positive)."""
    if len(strengths) != len(values) or not strengths:
        raise ValueError("strengths and values must be non-empty and of equal length")
    if not 0.0 < loss < 1.0:
        raise ValueError(f"loss must lie in (0, 1), got {loss}")
    clean = values[0]
    if not clean > 0:
        return None
    floor = (1.0 - loss) * clean
    for i in range(1, len(values)):
        if values[i] <= floor:
            s0, s1, v0, v1 = strengths[i - 1], strengths[i], values[i - 1], values[i]
            return s1 if v0 == v1 else s0 + (v0 - floor) / (v0 - v1) * (s1 - s0)
    return None


def sweep_strengths(scenario: Scenario, override: Sequence[float] | None) -> tuple[float, ...]:
    """The strengths to sweep: the scenario's own, or `override` with 0 put first."""
    if override is None:
        return scenario.strengths
    levels = sorted(set(float(s) for s in override) | {0.0})
    for s in levels:
        if not math.isfinite(s) or s < 0:
            raise ValueError(f"strengths must be finite and >= 0, got {s}")
    return tuple(levels)


def _middle(strengths: Sequence[float]) -> float:
    nonzero = list(strengths[1:])
    return nonzero[(len(nonzero) - 1) // 2] if nonzero else 0.0


@dataclass(frozen=True)
class RobustnessReport:
    """Every measurement of a sweep, by (scenario, defence label, strength)."""

    dataset: str
    scenarios: tuple[Scenario, ...]
    strengths: dict[str, tuple[float, ...]]
    defence_sets: tuple[Defences, ...]
    measurements: dict[tuple[str, str, float], Measurement]
    loss: float = DEFAULT_LOSS
    seed: int = 0
    notes: list[str] = field(default_factory=list)

    def objectives(self, scenario: str) -> tuple[str, ...]:
        strengths = self.strengths[scenario]
        first = self.measurements[(scenario, self.defence_sets[0].label, strengths[0])]
        return first.objectives

    def curve(self, scenario: str, defences: Defences, objective: str) -> list[float]:
        return [
            self.measurements[(scenario, defences.label, s)].mean(objective)
            for s in self.strengths[scenario]
        ]

    def middle(self, scenario: str) -> float:
        return _middle(self.strengths[scenario])

    def rows(self) -> list[dict[str, object]]:
        """One row per scenario, defence set, objective and strength: mean and share of clean."""
        out: list[dict[str, object]] = []
        for scenario in self.scenarios:
            for defences in self.defence_sets:
                for objective in self.objectives(scenario.name):
                    values = self.curve(scenario.name, defences, objective)
                    for s, v in zip(self.strengths[scenario.name], values, strict=True):
                        out.append(
                            {
                                "scenario": scenario.name,
                                "defences": defences.label,
                                "objective": objective,
                                "strength": s,
                                "value": v,
                                "of_clean": v / values[0] if values[0] else None,
                            }
                        )
        return out

    def loss_points(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for scenario in self.scenarios:
            strengths = self.strengths[scenario.name]
            for defences in self.defence_sets:
                for objective in self.objectives(scenario.name):
                    at = loss_strength(
                        strengths, self.curve(scenario.name, defences, objective), loss=self.loss
                    )
                    out.append(
                        {
                            "scenario": scenario.name,
                            "defences": defences.label,
                            "objective": objective,
                            "strength": at,
                            "beyond": None if at is not None else max(strengths),
                        }
                    )
        return out

    def comparisons(self) -> list[dict[str, object]]:
        """At each scenario's middle strength, paired over the units: each defence set
        against its own clean run, and each defended set against the first (undefended)."""
        out: list[dict[str, object]] = []
        for scenario in self.scenarios:
            mid = self.middle(scenario.name)
            if mid == 0.0:
                continue
            base = self.defence_sets[0]
            for objective in self.objectives(scenario.name):
                pairs: list[tuple[str, Measurement, Measurement]] = []
                for d in self.defence_sets:
                    stressed = self.measurements[(scenario.name, d.label, mid)]
                    clean = self.measurements[(scenario.name, d.label, 0.0)]
                    pairs.append((f"{d.label}: stressed - clean", stressed, clean))
                for d in self.defence_sets[1:]:
                    for s in (0.0, mid):
                        pairs.append(
                            (
                                f"{d.label} - {base.label} at {s:g}",
                                self.measurements[(scenario.name, d.label, s)],
                                self.measurements[(scenario.name, base.label, s)],
                            )
                        )
                for what, a, b in pairs:
                    if a.units != b.units:
                        note = f"{scenario.name} {what}: different units, no interval"
                        if note not in self.notes:  # once, however often this is asked
                            self.notes.append(note)
                        continue
                    found = paired_bootstrap(
                        a.values[objective],
                        b.values[objective],
                        n_bootstrap=N_BOOTSTRAP,
                        seed=self.seed,
                    )
                    out.append(
                        {
                            "scenario": scenario.name,
                            "strength": mid,
                            "objective": objective,
                            "comparison": what,
                            **found.as_dict(),
                            "text": found.interval_text(),
                        }
                    )
        return out

    def to_dict(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "seed": self.seed,
            "loss": self.loss,
            "scenarios": [
                {
                    "name": s.name,
                    "target": s.target.value,
                    "description": s.description,
                    "strengths": list(self.strengths[s.name]),
                    "middle_strength": self.middle(s.name),
                }
                for s in self.scenarios
            ],
            "defence_sets": [d.label for d in self.defence_sets],
            "units": {
                s.name: len(self.measurements[(s.name, self.defence_sets[0].label, 0.0)].units)
                for s in self.scenarios
            },
            "curves": self.rows(),
            "loss_points": self.loss_points(),
            "comparisons": self.comparisons(),
            "notes": self.notes,
        }


def run_robustness(
    dataset: Dataset,
    scenarios: Sequence[Scenario],
    evaluators: Mapping[Target, Evaluator],
    defence_sets: Sequence[Defences],
    *,
    strengths: Sequence[float] | None = None,
    seed: int = 0,
    loss: float = DEFAULT_LOSS,
    on_step: Callable[[str], None] | None = None,
) -> RobustnessReport:
    """Measure every scenario at every strength under every defence set (see the module
    docstring); `on_step` hears one line after each measurement, for a progress bar."""
    if not scenarios:
        raise ValueError("no scenario to run")
    if not defence_sets:
        raise ValueError("no defence set to run (neither defended nor undefended)")
    for scenario in scenarios:
        if scenario.target not in evaluators:
            raise ValueError(
                f"scenario {scenario.name!r} stresses {scenario.target.value}, "
                "which this report cannot measure"
            )
    sweeps = {s.name: sweep_strengths(s, strengths) for s in scenarios}
    clean: dict[tuple[Target, str], Measurement] = {}
    measurements: dict[tuple[str, str, float], Measurement] = {}
    for scenario in scenarios:
        evaluate = evaluators[scenario.target]
        for defences in defence_sets:
            for s in sweeps[scenario.name]:
                if s == 0.0 and (scenario.target, defences.label) in clean:
                    found = clean[(scenario.target, defences.label)]
                else:
                    found = evaluate(scenario.apply(dataset, s, seed), defences)
                    if s == 0.0:
                        clean[(scenario.target, defences.label)] = found
                measurements[(scenario.name, defences.label, s)] = found
                if on_step is not None:
                    on_step(f"{scenario.name} at {s:g}, defences: {defences.label}")
    return RobustnessReport(
        dataset.name,
        tuple(scenarios),
        sweeps,
        tuple(defence_sets),
        measurements,
        loss=loss,
        seed=seed,
    )


def steps(scenarios: Sequence[Scenario], n_sets: int, strengths: Sequence[float] | None) -> int:
    """How many measurements `run_robustness` announces through `on_step`."""
    return sum(len(sweep_strengths(s, strengths)) for s in scenarios) * n_sets


def _fmt(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(rows: Sequence[Mapping[str, object]], columns: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return lines


def markdown(report: RobustnessReport, data: Mapping[str, object] | None = None) -> str:
    """The report as Markdown: per scenario a table of objective x strength per defence
    set, then the 10%-loss strengths and the intervals at the middle strength."""
    data = data or report.to_dict()
    lines = [f"# Robustness report: {report.dataset}", ""]
    for scenario in report.scenarios:
        strengths = report.strengths[scenario.name]
        lines += [
            f"## {scenario.name} ({scenario.target.value})",
            "",
            scenario.description + f"; middle strength {report.middle(scenario.name):g}.",
            "",
            f"![{scenario.name}]({scenario.name}.png)",
            "",
        ]
        header = [
            "objective",
            "defences",
            *[f"{s:g}" for s in strengths],
            f"{report.loss:.0%} lost at",
        ]
        rows = []
        for objective in report.objectives(scenario.name):
            for defences in report.defence_sets:
                values = report.curve(scenario.name, defences, objective)
                at = loss_strength(strengths, values, loss=report.loss)
                cells: dict[str, object] = {"objective": objective, "defences": defences.label}
                for s, v in zip(strengths, values, strict=True):
                    share = f" ({v / values[0]:.1%})" if values[0] and s else ""
                    cells[f"{s:g}"] = f"{v:.4f}{share}"
                cells[header[-1]] = f"{at:.3f}" if at is not None else f"> {max(strengths):g}"
                rows.append(cells)
        lines += [*_table(rows, header), ""]
    comparisons = data["comparisons"]
    assert isinstance(comparisons, list)
    if comparisons:
        lines += [
            "## Paired differences at the middle strength (95% bootstrap over units)",
            "",
            *_table(
                [{**c, "significant": "yes" if c["significant"] else "no"} for c in comparisons],
                ["scenario", "strength", "objective", "comparison", "text", "significant"],
            ),
            "",
        ]
    for note in report.notes:
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


def plot(report: RobustnessReport, scenario: Scenario, path: Path) -> None:
    """One panel per objective: its mean against strength, a line per defence set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = report.objectives(scenario.name)
    strengths = report.strengths[scenario.name]
    fig, axes = plt.subplots(
        1, len(objectives), figsize=(4.2 * len(objectives), 3.4), squeeze=False
    )
    for ax, objective in zip(axes[0], objectives, strict=True):
        for defences in report.defence_sets:
            values = report.curve(scenario.name, defences, objective)
            (line,) = ax.plot(strengths, values, marker="o", label=defences.label)
            floor = (1 - report.loss) * values[0]
            ax.axhline(floor, linestyle=":", linewidth=0.9, color=line.get_color())
        ax.set_title(objective)
        ax.set_xlabel(f"{scenario.name} strength")
        ax.grid(alpha=0.3)
    axes[0][0].legend(title="defences", fontsize="small")
    fig.suptitle(f"{report.dataset}: {scenario.name} (dotted: {report.loss:.0%} below clean)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(report: RobustnessReport, out: Path) -> list[Path]:
    """Write report.json, report.md and a PNG per scenario into `out`; the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    written = []
    for scenario in report.scenarios:
        path = out / f"{scenario.name}.png"
        plot(report, scenario, path)
        written.append(path)
    (out / "report.json").write_text(json.dumps(data, indent=2, default=_json_default))
    (out / "report.md").write_text(markdown(report, data))
    return [out / "report.json", out / "report.md", *written]


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
