"""Stitch the benchmark sections in benchmarks/results/*.md into BENCHMARKS.md.

Each benchmark script writes its own section; this puts them in a fixed order under one
header, so BENCHMARKS.md is always the output of the scripts and never edited by hand.

    .venv/bin/python benchmarks/assemble.py
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = (
    "data", "simulator", "topk", "ope_obp", "ope_simulator", "pareto",
    "encoder", "encoder_finetune", "search", "search_stages", "cross_encoder", "served_second_stage",
    "served_second_stage_filters", "second_stage_changes",
    "ranker", "moo", "policy", "explain", "relevance",
    "recommend", "recommend_convergence", "learned_merge",
    "startup", "serve", "explorer", "fairness", "fairness_simulator", "fairness_icecat", "floor",
    "robustness_search", "abbreviations", "robustness_recommend", "robustness_policy", "robustness_ranker",
    "tune", "tune_policy", "ray", "loop", "soak", "duplicates",
)  # fmt: skip

HEADER = """# Benchmarks

Every figure here is produced by a script in `benchmarks/` that runs paretorec and its
baseline or peer in one run on the same data, and reports ratios (these machines are
noisy; absolute times alone mean little). Regenerate everything with `make bench`.
Measured on the project's 2-core, 24 GiB CPU machine unless a section says otherwise.
"""


def main() -> None:
    sections = [HEADER]
    results = HERE / "results"
    names = sorted(p.stem for p in results.glob("*.md"))
    for name in sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n)):
        text = (results / f"{name}.md").read_text().strip()
        # Images sit beside the section's file; BENCHMARKS.md is two folders up.
        text = re.sub(
            r"\]\((?!https?://|/|benchmarks/)([^)]+\.png)\)", r"](benchmarks/results/\1)", text
        )
        sections.append(text + "\n")
    (HERE.parent / "BENCHMARKS.md").write_text("\n".join(sections))
    print(f"wrote BENCHMARKS.md from {len(names)} section(s)")


if __name__ == "__main__":
    main()
