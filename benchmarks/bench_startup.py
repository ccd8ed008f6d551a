"""Benchmark of the command line's start-up: how long `paretorec` takes before it works.

Times, each as a fresh process run several times (wall clock, `time.perf_counter` around
`subprocess.run`), in interleaved rounds so that load on the machine hits all alike:

- `python -c pass`: the interpreter alone, the floor every command pays;
- `paretorec --help`, `paretorec search --help`;
- an argument error (`paretorec search` with no arguments: exit code 2, usage on stderr);
- for scale, `python -c "import torch, sklearn, polars"`: what the command line paid
  before its heavy imports moved inside the commands that need them.

Reports the median and the fastest run of each, and the median's ratio to the bare
interpreter. Writes a Markdown section to benchmarks/results/startup.md and the figures
to startup.json.

    .venv/bin/python benchmarks/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
PARETOREC = str(Path(sys.executable).with_name("paretorec"))
CASES: tuple[tuple[str, list[str], int], ...] = (
    ("python -c pass", [sys.executable, "-c", "pass"], 0),
    ("paretorec --help", [PARETOREC, "--help"], 0),
    ("paretorec search --help", [PARETOREC, "search", "--help"], 0),
    ("paretorec search (argument error)", [PARETOREC, "search"], 2),
    (
        "python -c 'import torch, sklearn, polars' (for scale)",
        [sys.executable, "-c", "import torch, sklearn, polars"],
        0,
    ),
)


def run_once(command: list[str], expected: int) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    elapsed = time.perf_counter() - start
    if done.returncode != expected:
        raise RuntimeError(
            f"{' '.join(command)} exited {done.returncode}, expected {expected}: {done.stderr}"
        )
    return elapsed


def measure(runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name, _, _ in CASES}
    for _, command, expected in CASES:  # one warm-up each: the file cache, .pyc files
        run_once(command, expected)
    for _ in range(runs):
        for name, command, expected in CASES:
            times[name].append(run_once(command, expected))
    return times


def report(times: dict[str, list[float]], runs: int) -> tuple[str, dict[str, Any]]:
    floor = statistics.median(times[CASES[0][0]])
    rows = []
    figures: dict[str, Any] = {"runs": runs, "cases": {}}
    for name, _, _ in CASES:
        median = statistics.median(times[name])
        fastest = min(times[name])
        figures["cases"][name] = {
            "median_s": round(median, 4),
            "min_s": round(fastest, 4),
            "ratio_to_python": round(median / floor, 2),
            "times_s": [round(t, 4) for t in times[name]],
        }
        rows.append(f"| `{name}` | {median:.3f} | {fastest:.3f} | {median / floor:.1f}x |")
    machine = f"{os.cpu_count()} CPUs, {platform.platform()}, Python {platform.python_version()}"
    figures["machine"] = machine
    text = "\n".join(
        [
            "## Command-line start-up",
            "",
            f"Machine: {machine}. Command: `python benchmarks/bench_startup.py --runs {runs}`.",
            "",
            f"Each command as a fresh process, {runs} runs in interleaved rounds after one "
            "warm-up; wall-clock seconds. The ratio is the median's to the bare interpreter's. "
            "The command line imports torch, scikit-learn, polars, faiss, pymoo, FastAPI and "
            "sentence-transformers only inside the commands that use them (a test keeps it "
            "so); the last row is what those imports cost, which `--help` paid before.",
            "",
            "| command | median (s) | fastest (s) | median / `python -c pass` |",
            "|---|---:|---:|---:|",
            *rows,
            "",
        ]
    )
    return text, figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Timed runs of each command.")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    times = measure(args.runs)
    text, figures = report(times, args.runs)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.md").write_text(text)
    (RESULTS / "startup.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(text)


if __name__ == "__main__":
    main()
