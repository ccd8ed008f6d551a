"""Reading and validating 10 million events: paretorec against a plain pandas.read_csv.

Writes a synthetic dataset folder (100,000 items, 10,000,000 events with every contract
column) once under benchmarks/.work/, then times, each in a fresh subprocess so peak
memory is its own:
  - pandas.read_csv of events.csv (types inferred, nothing checked): the baseline;
  - polars.read_csv of events.csv (types inferred, nothing checked): a second reference;
  - paretorec validate_dataset: read items and events as text, parse every contract
    column, check every rule (types, event names, positions, propensities, references to
    items), keep the good rows typed and the bad rows with reasons.
Peak memory is the subprocess's maximum resident set size (imports included).
Writes benchmarks/results/data.md and data.json.

    .venv/bin/python benchmarks/bench_data.py [--events 10000000] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
RESULTS = HERE / "results"

EVENT_NAMES = np.array(["impression", "click", "cart", "purchase"])


def make_dataset(folder: Path, n_events: int, n_items: int, seed: int = 0) -> None:
    """A realistic-looking log: mostly impressions, some clicks, a few carts and purchases."""
    marker = folder / f".complete-{n_events}"
    if marker.exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    items = pl.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n_items)],
            "title": [f"product {i}" for i in range(n_items)],
            "price": np.round(rng.lognormal(3, 1, n_items), 2),
        }
    )
    items.write_csv(folder / "items.csv")
    chunk = 2_000_000
    with (folder / "events.csv").open("wb") as out:
        for start in range(0, n_events, chunk):
            n = min(chunk, n_events - start)
            kinds = rng.choice(4, size=n, p=[0.9, 0.07, 0.02, 0.01])
            frame = pl.DataFrame(
                {
                    "user_id": pl.Series(rng.integers(0, 500_000, n)).cast(pl.String),
                    "item_id": rng.zipf(1.3, n) % n_items,
                    "event": EVENT_NAMES[kinds],
                    "timestamp": 1_600_000_000 + np.sort(rng.integers(0, 86_400 * 30, n)) + start,
                    "session_id": pl.Series(rng.integers(0, 2_000_000, n)).cast(pl.String),
                    "position": rng.integers(1, 21, n),
                    "propensity": np.round(rng.uniform(0.01, 1.0, n), 5),
                    "value": np.where(kinds == 3, np.round(rng.lognormal(3, 1, n), 2), np.nan),
                }
            ).with_columns(
                pl.format("i{}", "item_id").alias("item_id"), pl.col("value").fill_nan(None)
            )
            frame.write_csv(out, include_header=start == 0)
    marker.touch()


CHILD = {
    "pandas.read_csv": """
        import pandas as pd
        frame = pd.read_csv(FOLDER / "events.csv")
        rows = len(frame)
    """,
    "polars.read_csv": """
        import polars as pl
        frame = pl.read_csv(FOLDER / "events.csv")
        rows = frame.height
    """,
    "paretorec validate_dataset": """
        from paretorec.data.validate import validate_dataset
        result = validate_dataset(FOLDER)
        assert result.report.ok, result.report.summary()
        rows = len(result.dataset.events)
    """,
}

HARNESS = """
import resource, time, json
from pathlib import Path
FOLDER = Path({folder!r})
start = time.perf_counter()
{body}
seconds = time.perf_counter() - start
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"seconds": seconds, "peak_mib": peak_mib, "rows": rows}}))
"""


def run_child(name: str, folder: Path) -> dict[str, float]:
    code = HARNESS.format(folder=str(folder), body=textwrap.dedent(CHILD[name]))
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    folder = WORK / f"events-{args.events}"
    make_dataset(folder, args.events, args.items)
    size_mib = (folder / "events.csv").stat().st_size / 2**20

    results: dict[str, dict[str, float]] = {}
    for name in CHILD:
        runs = [run_child(name, folder) for _ in range(args.repeats)]
        best = min(runs, key=lambda r: r["seconds"])
        results[name] = {
            "seconds": best["seconds"],
            "peak_mib": max(r["peak_mib"] for r in runs),
            "rows": best["rows"],
        }
        print(
            f"{name}: {best['seconds']:.2f} s, peak {results[name]['peak_mib']:.0f} MiB", flush=True
        )

    base = results["pandas.read_csv"]
    lines = [
        "## Reading and validating 10 million events",
        "",
        f"`{args.events:,}` events ({size_mib:,.0f} MiB CSV, 8 columns) and `{args.items:,}` items; "
        f"best of {args.repeats} runs, each in a fresh process; peak = max RSS of that process, imports included. "
        f"Machine: {platform.machine()}, {platform.python_version()}.",
        "",
        "| what | checks | time (s) | time vs pandas | peak memory (MiB) | memory vs pandas |",
        "|---|---|---:|---:|---:|---:|",
    ]
    checks = {
        "pandas.read_csv": "none (types inferred)",
        "polars.read_csv": "none (types inferred)",
        "paretorec validate_dataset": "all contract rules, references to items, quarantine kept",
    }
    for name, r in results.items():
        lines.append(
            f"| {name} | {checks[name]} | {r['seconds']:.2f} | {r['seconds'] / base['seconds']:.2f}x "
            f"| {r['peak_mib']:,.0f} | {r['peak_mib'] / base['peak_mib']:.2f}x |"
        )
    lines += ["", "Produced by `.venv/bin/python benchmarks/bench_data.py`.", ""]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "data.md").write_text("\n".join(lines))
    (RESULTS / "data.json").write_text(
        json.dumps({"events": args.events, "items": args.items, "results": results}, indent=2)
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
