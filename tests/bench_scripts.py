"""Loading a benchmark script (benchmarks/ is not a package) as a module under test."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_bench_script(name: str, module_name: str) -> ModuleType:
    """benchmarks/`name`.py imported as `module_name` (registered in sys.modules, as the
    dataclasses it defines need); the benchmarks folder goes on sys.path for the script's
    imports of its sibling scripts."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(module_name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
