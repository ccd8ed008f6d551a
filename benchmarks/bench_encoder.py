"""Benchmark of the text encoder: plain sentence-transformers (PyTorch, float32) against
the fast path of `paretorec.encode` (the same model exported to ONNX, run by onnxruntime
in float32 and in int8), on real Home Depot product titles and search queries.

- Export: the bundled all-MiniLM-L6-v2 is exported and quantized once into a temporary
  folder (`export_onnx`), timed, with its file sizes.
- Throughput: a fixed sample of titles (10,000 of the 54,667 by default: plain
  PyTorch takes about 3 minutes or more for all of them on 2 cores) is encoded by every path
  with batches of 64.  To share the machine's noise fairly, the sample is cut into
  chunks of 1,000 and each chunk is encoded by all three paths in turn (the order
  rotating), after a warm-up; items/s is the sample size over each path's summed time.
- Latency: 500 distinct real queries (a fixed sample), each encoded alone
  (`encode_queries([q])`), the paths taking turns by blocks of 50 queries; p50/p99/mean.
- Quality: cosine between each title's vectors from two paths (int8 vs torch, int8 vs
  ONNX float32, ONNX float32 vs torch): mean, 1st percentile and minimum; and, as a
  check that int8 keeps the neighbourhoods, the share of each query's 10 nearest sample
  titles that int8 and torch have in common.

PyTorch runs with `torch.set_num_threads(2)`, onnxruntime with 2 intra-op threads (and
1 inter-op thread).  Writes a Markdown section to benchmarks/results/encoder.md and the
figures to encoder.json.

`--finetune` measures fine-tuning quality instead (`encoder_finetune.md` / `.json`, see
`finetune_main`): on Home Depot's queries split 80/10/10 by query (seed 0, as
bench_search.py), dense and hybrid NDCG@10 / Recall@100 over the full catalog for the
zero-shot encoder, today's fine-tuning (in-batch negatives only, pairs graded ≥ 2.5) and
the hard-negative fine-tuning (BM25 and self-mined negatives, graded positives ≥ 2.0
weighted by gain, known positives masked), the same steps and batch size for both. The
fusion weight of each hybrid and the choice between the fine-tunings are made on the
valid queries; every figure is on the test queries, with paired bootstrap intervals.
Item vectors are cached under benchmarks/.work/ keyed by the weights' content, and each
fine-tuned model is kept with its run record (a rerun with the same settings reuses it).

    .venv/bin/python benchmarks/bench_encoder.py [--titles N] [--queries N] [--quick]
    .venv/bin/python benchmarks/bench_encoder.py --finetune [--steps 600] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime
import polars as pl
import sentence_transformers
import torch

from paretorec.data.datasets import BuiltinDataset, load_builtin
from paretorec.data.splits import split_judgments
from paretorec.encode import (
    OnnxEncoder,
    Precision,
    SentenceTransformerEncoder,
    TextEncoder,
    bundled_model_path,
    encode_items_cached,
    export_onnx,
    item_text,
)
from paretorec.encode.base import Embeddings
from paretorec.encode.finetune import (
    FinetuneConfig,
    GradeWeighting,
    NegativeSource,
    finetune_run,
    pairs_from_judgments,
)
from paretorec.evaluate.paired import paired_bootstrap
from paretorec.retrieve import Candidates, DenseIndex, LexicalIndex, ScoreFusion, tune_fusion_weight
from paretorec.retrieve.hard_negatives import mine_hard_negatives
from paretorec.retrieve.tuning import per_query_scores
from paretorec.types import Dataset, Judgments
from spread import mean_sd, mean_sd_cell

RESULTS = Path(__file__).resolve().parent / "results"
THREADS = 2
BATCH = 64
CHUNK = 1_000
LATENCY_BLOCK = 50
SEED = 0
NEIGHBOURS = 10
PATHS = ("torch fp32", "onnx fp32", "onnx int8")


def sample_data(n_titles: int, n_queries: int) -> tuple[list[str], list[str], int, int]:
    dataset = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert dataset.queries is not None
    titles = dataset.items.frame["title"]
    queries = dataset.queries.frame["text"].unique(maintain_order=True)
    title_sample = titles.sample(min(n_titles, titles.len()), seed=SEED, shuffle=True)
    query_sample = queries.sample(min(n_queries, queries.len()), seed=SEED, shuffle=True)
    return title_sample.to_list(), query_sample.to_list(), titles.len(), queries.len()


def load_encoders(folder: Path) -> tuple[dict[str, TextEncoder], dict[str, float]]:
    encoders: dict[str, TextEncoder] = {}
    load_s: dict[str, float] = {}
    start = time.perf_counter()
    encoders["torch fp32"] = SentenceTransformerEncoder(batch_size=BATCH)
    load_s["torch fp32"] = time.perf_counter() - start
    for path, precision in (("onnx fp32", Precision.FP32), ("onnx int8", Precision.INT8)):
        start = time.perf_counter()
        encoders[path] = OnnxEncoder(
            folder, precision=precision, batch_size=BATCH, num_threads=THREADS
        )
        load_s[path] = time.perf_counter() - start
    return encoders, load_s


def rotated(names: list[str], index: int) -> list[str]:
    shift = index % len(names)
    return names[shift:] + names[:shift]


def throughput(
    encoders: dict[str, TextEncoder], titles: list[str]
) -> tuple[dict[str, list[float]], dict[str, Embeddings]]:
    """Seconds of each chunk by each path, and the vectors."""
    for encoder in encoders.values():
        encoder.encode_items(titles[:BATCH])  # warm-up
    seconds: dict[str, list[float]] = {path: [] for path in encoders}
    parts: dict[str, list[Embeddings]] = {path: [] for path in encoders}
    for index, start in enumerate(range(0, len(titles), CHUNK)):
        chunk = titles[start : start + CHUNK]
        for path in rotated(list(encoders), index):
            begin = time.perf_counter()
            parts[path].append(encoders[path].encode_items(chunk))
            seconds[path].append(time.perf_counter() - begin)
        done = min(start + CHUNK, len(titles))
        print(
            f"  {done:,}/{len(titles):,} titles: "
            + ", ".join(f"{p} {sum(s):.0f} s" for p, s in seconds.items())
        )
    return seconds, {path: np.vstack(chunks) for path, chunks in parts.items()}


def latency(encoders: dict[str, TextEncoder], queries: list[str]) -> dict[str, list[float]]:
    """Seconds of each query alone, by each path; the paths take turns by blocks of
    queries, so a path's idle thread pool (spinning after its last call) seldom sits
    beside another path's timed call."""
    for encoder in encoders.values():
        for query in queries[:20]:
            encoder.encode_queries([query])  # warm-up
    times: dict[str, list[float]] = {path: [] for path in encoders}
    for index, start in enumerate(range(0, len(queries), LATENCY_BLOCK)):
        for path in rotated(list(encoders), index):
            for query in queries[start : start + LATENCY_BLOCK]:
                begin = time.perf_counter()
                encoders[path].encode_queries([query])
                times[path].append(time.perf_counter() - begin)
    return times


def cosine_stats(a: Embeddings, b: Embeddings) -> dict[str, float]:
    cos = np.sum(a.astype(np.float64) * b, axis=1)
    return {
        "mean": float(cos.mean()),
        "p1": float(np.quantile(cos, 0.01)),
        "min": float(cos.min()),
    }


def neighbour_overlap(
    queries_a: Embeddings, items_a: Embeddings, queries_b: Embeddings, items_b: Embeddings
) -> float:
    top_a = np.argsort(-(queries_a @ items_a.T), axis=1)[:, :NEIGHBOURS]
    top_b = np.argsort(-(queries_b @ items_b.T), axis=1)[:, :NEIGHBOURS]
    shared = [len(set(a) & set(b)) for a, b in zip(top_a.tolist(), top_b.tolist(), strict=True)]
    return float(np.mean(shared)) / NEIGHBOURS


def markdown(report: dict[str, Any]) -> str:
    m, d, e = report["machine"], report["data"], report["export"]
    base = report["paths"]["torch fp32"]
    lines = [
        "## Text encoder: plain sentence-transformers vs the fast path",
        "",
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), {m['platform']}, Python {m['python']}, "
        f"torch {m['torch']} with `torch.set_num_threads({THREADS})`, onnxruntime "
        f"{m['onnxruntime']} (CPU provider, {THREADS} intra-op threads, 1 inter-op), "
        f"sentence-transformers {m['sentence_transformers']}. Load average (1 min) "
        f"{m['load_average_before']:.1f} before the run and {m['load_average_after']:.1f} after "
        "(other jobs share the machine). "
        f"Command: `{report['command']}`.",
        "",
        f"Model: {report['model']} (384 dimensions, 256 tokens at most). The fast path is "
        "`paretorec.encode.export_onnx` (transformer + mean pooling + L2 normalization traced "
        "to one ONNX graph) and `OnnxEncoder`; int8 is onnxruntime's dynamic quantization "
        "(MatMul weights int8 per output channel, activations quantized per batch at run time). "
        f"Export and quantization took {e['seconds']:.1f} s; model.onnx {e['fp32_mb']:.1f} MB, "
        f"model.int8.onnx {e['int8_mb']:.1f} MB.",
        "",
        f"Home Depot: encoding {d['titles']:,} product titles, a fixed sample (seed {SEED}) of "
        f"the {d['titles_total']:,} (at its median chunk rate, {base['median_chunk_items_per_s']:.0f} "
        f"titles/s, plain PyTorch alone would take "
        f"{d['titles_total'] / base['median_chunk_items_per_s'] / 60:.1f} minutes for all of them), batches "
        f"of {BATCH}, the three paths interleaved chunk by chunk (chunks of "
        f"{CHUNK:,}; *speed-up* is the ratio of total times, *median chunk speed-up* the median "
        "of the per-chunk ratios, which a burst of load from other jobs on the machine moves "
        f"less); latency of {d['queries']:,} distinct real search queries (a fixed sample "
        f"of the {d['queries_total']:,}) encoded one at a time, the paths taking turns by "
        f"blocks of {LATENCY_BLOCK}. Mean title length "
        f"{d['title_chars_mean']:.0f} characters, query {d['query_chars_mean']:.0f}.",
        "",
        "| path | titles/s | speed-up | median chunk speed-up | query p50 (ms) | query p99 (ms) | query mean (ms) | p50 speed-up | load (s, after imports) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path, p in report["paths"].items():
        lines.append(
            f"| {path} | {p['items_per_s']:,.0f} | {p['items_per_s'] / base['items_per_s']:.2f}x | "
            f"{p['median_chunk_speedup']:.2f}x | "
            f"{p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {p['mean_ms']:.2f} | "
            f"{base['p50_ms'] / p['p50_ms']:.2f}x | {p['load_s']:.2f} |"
        )
    q = report["quality"]
    lines += [
        "",
        f"Agreement of the vectors of the {d['titles']:,} titles (cosine of the same title's two "
        "vectors; all vectors have unit length):",
        "",
        "| pair | mean cosine | 1st percentile | min |",
        "|---|---:|---:|---:|",
    ]
    for pair, c in q["cosine"].items():
        lines.append(f"| {pair} | {c['mean']:.5f} | {c['p1']:.5f} | {c['min']:.5f} |")
    lines += [
        "",
        f"Nearest {NEIGHBOURS} of the {d['titles']:,} sample titles for each of the "
        f"{d['queries']:,} queries: int8 and torch share {q['top10_overlap_int8_vs_torch']:.1%} "
        f"of them (ONNX float32 and torch {q['top10_overlap_fp32_vs_torch']:.1%}). The effect on "
        "retrieval quality against the Home Depot judgments is measured with the retrieval stage.",
        "",
        "Notes: int8 quantizes activations with one scale per batch, so an int8 title vector "
        f"moves a little with its batch-mates (cosine {q['int8_batch_vs_alone']['mean']:.4f} on "
        f"average, {q['int8_batch_vs_alone']['min']:.4f} at worst, between the batched vectors "
        "and the same titles encoded one at a time, over the first 1,000 titles), about as "
        "much as the quantization error itself; float32 paths do not move.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--titles", type=int, default=10_000, help="titles to encode")
    parser.add_argument("--queries", type=int, default=500, help="queries, one at a time")
    parser.add_argument("--quick", action="store_true", help="1,000 titles, 100 queries")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--finetune", action="store_true", help="fine-tuning quality instead")
    parser.add_argument(
        "--steps", type=int, default=300, help="hard-negative fine-tuning steps (--finetune)"
    )
    parser.add_argument("--batch-size", type=int, default=32, help="pairs a step (--finetune)")
    parser.add_argument(
        "--render", action="store_true", help="rewrite encoder_finetune.md from its JSON"
    )
    parser.add_argument(
        "--pairs-sample",
        type=int,
        default=None,
        help="train the hard-negative fine-tuning on a seeded sample of this many pairs",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0, 1, 2],
        help="training seeds of each fine-tuning (--finetune); the query split stays seed 0",
    )
    args = parser.parse_args()
    if args.render:
        stored = json.loads((args.out / "encoder_finetune.json").read_text())
        (args.out / "encoder_finetune.md").write_text(finetune_markdown(stored))
        return
    if args.finetune:
        finetune_main(args.steps, args.batch_size, args.pairs_sample, args.out, args.seeds)
        return
    if args.quick:
        args.titles, args.queries = 1_000, 100
    torch.set_num_threads(THREADS)

    load_before = os.getloadavg()
    titles, queries, titles_total, queries_total = sample_data(args.titles, args.queries)
    print(f"{len(titles):,} titles of {titles_total:,}, {len(queries):,} queries")
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary) / "minilm-onnx"
        start = time.perf_counter()
        export = export_onnx(folder)
        export_s = time.perf_counter() - start
        assert export.model_int8 is not None
        export_info = {
            "seconds": export_s,
            "fp32_mb": export.model_fp32.stat().st_size / 2**20,
            "int8_mb": export.model_int8.stat().st_size / 2**20,
        }
        print(f"export: {export_s:.1f} s")
        encoders, load_s = load_encoders(folder)
        seconds, vectors = throughput(encoders, titles)
        times = latency(encoders, queries)
        query_vectors = {path: e.encode_queries(queries) for path, e in encoders.items()}
        alone = encoders["onnx int8"]
        assert isinstance(alone, OnnxEncoder)
        alone.batch_size = 1
        int8_alone = alone.encode_items(titles[:CHUNK])
        alone.batch_size = BATCH

    paths: dict[str, dict[str, float]] = {}
    base_chunks = np.array(seconds["torch fp32"])
    for path in PATHS:
        ms = np.array(times[path]) * 1000
        chunks = np.array(seconds[path])
        paths[path] = {
            "items_per_s": len(titles) / chunks.sum(),
            "encode_s": float(chunks.sum()),
            "median_chunk_speedup": float(np.median(base_chunks / chunks)),
            "median_chunk_items_per_s": CHUNK / float(np.median(chunks)),
            "chunk_seconds": chunks.tolist(),
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()),
            "load_s": load_s[path],
        }
    torch_v, fp32_v, int8_v = (vectors[p] for p in PATHS)
    quality = {
        "cosine": {
            "onnx int8 vs torch fp32": cosine_stats(int8_v, torch_v),
            "onnx int8 vs onnx fp32": cosine_stats(int8_v, fp32_v),
            "onnx fp32 vs torch fp32": cosine_stats(fp32_v, torch_v),
        },
        "int8_batch_vs_alone": cosine_stats(int8_v[:CHUNK], int8_alone),
        "top10_overlap_int8_vs_torch": neighbour_overlap(
            query_vectors["onnx int8"], int8_v, query_vectors["torch fp32"], torch_v
        ),
        "top10_overlap_fp32_vs_torch": neighbour_overlap(
            query_vectors["onnx fp32"], fp32_v, query_vectors["torch fp32"], torch_v
        ),
    }
    command = "python benchmarks/bench_encoder.py" + (" --quick" if args.quick else "")
    if not args.quick and (args.titles, args.queries) != (10_000, 500):
        command += f" --titles {args.titles} --queries {args.queries}"
    report: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_name(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "onnxruntime": onnxruntime.__version__,
            "onnxruntime_threads": THREADS,
            "sentence_transformers": sentence_transformers.__version__,
            "load_average_before": load_before[0],
            "load_average_after": os.getloadavg()[0],
        },
        "command": command,
        "model": encoders["torch fp32"].name,
        "data": {
            "titles": len(titles),
            "titles_total": titles_total,
            "queries": len(queries),
            "queries_total": queries_total,
            "title_chars_mean": float(np.mean([len(t) for t in titles])),
            "query_chars_mean": float(np.mean([len(q) for q in queries])),
            "seed": SEED,
        },
        "batch_size": BATCH,
        "export": export_info,
        "paths": paths,
        "quality": quality,
    }
    text = markdown(report)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "encoder-quick" if args.quick else "encoder"
    (args.out / f"{stem}.md").write_text(text)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")


# ----------------------------------------------------------------------------- fine-tuning

WORK = Path(__file__).resolve().parent / ".work"
ZERO_SHOT_CACHE = WORK / "search" / "cache"  # bench_search.py's zero-shot vectors (same key)
FINETUNE_WORK = WORK / "encoder"
DEPTH = 100
FT_METRICS = ("ndcg@10", "recall@100")
N_BOOTSTRAP = 2000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def every_tenth(total: int, what: str) -> Callable[[int], None]:
    done = [0]

    def advance(n: int) -> None:
        before, done[0] = done[0], done[0] + n
        if done[0] * 10 // max(total, 1) != before * 10 // max(total, 1):
            log(f"  {what}: {done[0]:,}/{total:,}")

    return advance


# bench_search.py's fine-tuned model (today's fine-tuning: 600 steps of 32, seed 0, the
# same split), copied here with its item vectors so this benchmark can reuse it
REUSED_TODAY = FINETUNE_WORK / "reused" / "finetuned"
TODAY_STEPS = 600


@dataclass(frozen=True)
class Variant:
    """A fine-tuning to measure: its name, the pairs' minimum grade and the config."""

    name: str
    min_grade: float
    config: FinetuneConfig


def variants(steps: int, batch_size: int, seed: int = SEED) -> list[Variant]:
    """The two fine-tunings, trained with `seed` (batch order, dropout, negatives drawn);
    the query split stays seed 0 whatever the training seed."""
    return [
        Variant(
            "in-batch (today)",
            2.5,
            FinetuneConfig(
                batch_size=32,
                max_steps=TODAY_STEPS,
                seed=seed,
                grade_weighting=GradeWeighting.NONE,
                mask_known_positives=False,
                hard_negatives=(),
            ),
        ),
        Variant(
            "hard negatives, graded",
            2.0,
            FinetuneConfig(
                batch_size=batch_size,
                max_steps=steps,
                seed=seed,
                grade_weighting=GradeWeighting.GAIN,
                mask_known_positives=True,
                hard_negatives=(NegativeSource.BM25, NegativeSource.DENSE),
            ),
        ),
    ]


def reused_today(variant: Variant) -> tuple[Path, dict[str, Any]] | None:
    """bench_search.py's fine-tuned model and its record, when it was trained with today's
    settings (results/search.json says how): steps, batch size, and the pairs' minimum
    grade, the training seed and the split's seed where that record holds them (a run of
    bench_search.py before it recorded them: its fixed 2.5 / 0 / 0, said in the output)."""
    stored = RESULTS / "search.json"
    if not (REUSED_TODAY / "model.safetensors").is_file() or not stored.is_file():
        return None
    info = json.loads(stored.read_text()).get("finetune", {})
    config = variant.config
    if "seed" not in info and config.seed != 0:  # an unrecorded seed is taken to be 0
        return None
    if (info.get("steps"), info.get("batch_size")) != (config.max_steps, config.batch_size):
        return None
    wanted = {"min_grade": variant.min_grade, "seed": config.seed, "split_seed": SEED}
    if any(key in info and info[key] != value for key, value in wanted.items()):
        return None
    unrecorded = [key for key in wanted if key not in info]
    how = (
        "same code path, steps, batch, minimum grade, seed and split"
        if not unrecorded
        else "same code path, steps and batch; its record lacks "
        + ", ".join(key.replace("_", " ") for key in unrecorded)
        + ", taken to be that script's fixed minimum grade 2.5, seed 0 and split seed 0"
    )
    record = {
        "reused": f"trained by benchmarks/bench_search.py ({how})",
        "pairs": info["pairs"],
        "run": {
            "steps": info["steps"],
            "rows": None,
            "rows_with_negatives": 0,
            "loss_first_tenth": None,
            "loss_last_tenth": None,
            "seconds": info["seconds"],
        },
    }
    return REUSED_TODAY, record


def trained(
    variant: Variant,
    dataset: Dataset,
    texts: dict[str, str],
    zero_shot: TextEncoder,
    sample: int | None,
) -> tuple[Path, dict[str, Any]]:
    """The variant's model folder and run record: trained now, or reused when a previous
    run with exactly these settings left it."""
    if not variant.config.mines_negatives and (found := reused_today(variant)) is not None:
        log(f"{variant.name}: reusing bench_search.py's model ({REUSED_TODAY})")
        return found
    name = re.sub(r"[^a-z0-9]+", "-", variant.name.lower()).strip("-")
    # seed 0 keeps the folder name of the runs before seeds were added, so it is reused
    folder = FINETUNE_WORK / (
        name if variant.config.seed == 0 else f"{name}-seed{variant.config.seed}"
    )
    settings = {
        "min_grade": variant.min_grade,
        "config": variant.config.to_dict(),
        "split_seed": SEED,
        "pairs_sample": sample,
    }
    # beside the model, not in it: a file in the folder would change its fingerprint
    record_path = folder.with_suffix(".json")
    if record_path.is_file():
        stored: dict[str, Any] = json.loads(record_path.read_text())
        if stored.get("settings") == settings and (folder / "model.safetensors").is_file():
            log(f"{variant.name}: reusing the model trained {stored['trained_at']}")
            return folder, stored
    pairs = pairs_from_judgments(dataset, texts, min_grade=variant.min_grade, split="train")
    record: dict[str, Any] = {"settings": settings, "pairs_available": len(pairs)}
    if sample is not None and sample < len(pairs):
        # a seeded sample, enough for the steps: mining every pair costs minutes of BM25
        pairs = random.Random(SEED).sample(pairs, sample)
    record["pairs"] = len(pairs)
    if variant.config.mines_negatives:
        assert dataset.judgments is not None and dataset.queries is not None
        log(f"{variant.name}: mining hard negatives for {len(pairs):,} pairs")
        start = time.perf_counter()
        train = Judgments(dataset.judgments.frame.filter(pl.col("split") == "train"))
        vectors = encode_items_cached(zero_shot, list(texts.values()), ZERO_SHOT_CACHE)
        mined = mine_hard_negatives(
            pairs,
            texts,
            train,
            dataset.queries,
            variant.config,
            lexical=LexicalIndex.build(dataset.items),
            dense=DenseIndex.build(vectors, dataset.items, method="exact"),
            query_vectors=zero_shot.encode_queries(list(dict.fromkeys(p.query for p in pairs))),
        )
        pairs = mined.pairs
        record["mining"] = {**mined.to_dict(), "seconds": time.perf_counter() - start}
        log(f"  {record['mining']}")
    log(f"{variant.name}: {len(pairs):,} pairs, {variant.config.max_steps} steps")
    steps = variant.config.max_steps or 0
    run = finetune_run(
        bundled_model_path(),
        pairs,
        folder,
        config=variant.config,
        on_progress=every_tenth(steps, "steps"),
    )
    record["run"] = run.to_dict()
    record["trained_at"] = time.strftime("%Y-%m-%d %H:%M:%S")
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    log(f"  {record['run']}")
    return folder, record


class Split_:
    """One split's query ids, texts and judgments."""

    def __init__(self, dataset: Dataset, split: str) -> None:
        assert dataset.judgments is not None and dataset.queries is not None
        mine = dataset.judgments.frame.filter(pl.col("split") == split)
        texts = dict(dataset.queries.frame.select("query_id", "text").iter_rows())
        self.judgments = Judgments(mine)
        self.ids: list[str] = sorted(mine["query_id"].unique().to_list())
        self.texts = [texts[q] for q in self.ids]


def measure(
    encoder: TextEncoder,
    cache: Path,
    dataset: Dataset,
    lexical_runs: dict[str, dict[str, Candidates]],
    splits: dict[str, Split_],
) -> dict[str, Any]:
    """Per-query dense and hybrid scores on valid and test; the hybrid's fusion weight is
    tuned on the valid queries."""
    texts = item_text(dataset.items)
    log(f"encoding {len(texts):,} items with {encoder.name}")
    vectors = encode_items_cached(
        encoder, texts, cache, on_progress=every_tenth(len(texts), "items")
    )
    index = DenseIndex.build(vectors, dataset.items, method="exact")
    dense = {}
    for name, split in splits.items():
        found = index.search_many(encoder.encode_queries(split.texts), k=DEPTH)
        dense[name] = dict(zip(split.ids, found, strict=True))
    tuning = tune_fusion_weight(
        lexical_runs["valid"], dense["valid"], splits["valid"].judgments, fusion=ScoreFusion()
    )
    scores: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name, split in splits.items():
        hybrid = {q: tuning.fusion.fuse(lexical_runs[name][q], dense[name][q]) for q in split.ids}
        scores[name] = {
            method: {m: per_query_scores(run, split.judgments, metric=m) for m in FT_METRICS}
            for method, run in (("dense", dense[name]), ("hybrid", hybrid))
        }
    return {"lexical_weight": tuning.weight, "scores": scores}


def mean_of(values: dict[str, float]) -> float:
    return float(np.mean(list(values.values())))


# per model, per training seed (as a string, as JSON keeps it): measure()'s output
Measured = dict[str, dict[str, dict[str, Any]]]


def run_of(results: Measured, model: str, seed: str) -> dict[str, Any]:
    """The model's measurement with this training seed; zero-shot is not trained, so its
    one measurement stands for every seed."""
    by_seed = results[model]
    return by_seed[seed] if seed in by_seed else next(iter(by_seed.values()))


def seed_averaged(
    results: Measured, model: str, split: str, method: str, metric: str
) -> dict[str, float]:
    """Each query's score averaged over the model's training seeds."""
    runs = [r["scores"][split][method][metric] for r in results[model].values()]
    return {q: float(np.mean([run[q] for run in runs])) for q in runs[0]}


def finetune_main(
    steps: int, batch_size: int, sample: int | None, out: Path, seeds: list[int]
) -> None:
    # one thread: on a machine shared with other jobs two threads mostly wait on each other
    torch.set_num_threads(1)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    dataset = load_builtin(BuiltinDataset.HOMEDEPOT)
    assert dataset.judgments is not None
    dataset = replace(dataset, judgments=split_judgments(dataset.judgments, seed=SEED))
    splits = {s: Split_(dataset, s) for s in ("valid", "test")}
    n_train = dataset.judgments.frame.filter(pl.col("split") == "train")["query_id"].n_unique()  # type: ignore[union-attr]
    log(
        f"queries: train {n_train:,}, valid {len(splits['valid'].ids):,}, test {len(splits['test'].ids):,}"
    )
    lexical = LexicalIndex.build(dataset.items)
    lexical_runs = {
        name: {q: lexical.search(t, k=DEPTH) for q, t in zip(s.ids, s.texts, strict=True)}
        for name, s in splits.items()
    }
    texts = dict(zip(dataset.items.item_ids.to_list(), item_text(dataset.items), strict=True))
    zero_shot = SentenceTransformerEncoder(batch_size=BATCH)
    results: Measured = {
        "zero-shot": {str(SEED): measure(zero_shot, ZERO_SHOT_CACHE, dataset, lexical_runs, splits)}
    }
    records: dict[str, dict[str, Any]] = {}
    for seed in seeds:
        for variant in variants(steps, batch_size, seed):
            log(f"{variant.name}, seed {seed}")
            folder, record = trained(variant, dataset, texts, zero_shot, sample)
            records.setdefault(variant.name, {})[str(seed)] = record
            tuned = SentenceTransformerEncoder(folder, batch_size=BATCH)
            results.setdefault(variant.name, {})[str(seed)] = measure(
                tuned, FINETUNE_WORK / "cache", dataset, lexical_runs, splits
            )
    bm25 = {
        name: {m: per_query_scores(lexical_runs[name], s.judgments, metric=m) for m in FT_METRICS}
        for name, s in splits.items()
    }
    fine = [v.name for v in variants(steps, batch_size)]
    chosen = max(
        fine, key=lambda n: mean_of(seed_averaged(results, n, "valid", "hybrid", "ndcg@10"))
    )

    def compare(a: str, b: str, method: str, metric: str) -> dict[str, Any]:
        mine = seed_averaged(results, a, "test", method, metric)
        theirs = seed_averaged(results, b, "test", method, metric)
        assert list(mine) == list(theirs)
        found = paired_bootstrap(
            list(mine.values()), list(theirs.values()), n_bootstrap=N_BOOTSTRAP, seed=SEED
        )
        per_seed = [
            mean_of(run_of(results, a, s)["scores"]["test"][method][metric])
            - mean_of(run_of(results, b, s)["scores"]["test"][method][metric])
            for s in map(str, seeds)
        ]
        return {
            "a": a,
            "b": b,
            "method": method,
            "metric": metric,
            **found.as_dict(),
            "per_seed_difference": per_seed,
            "text": found.interval_text(),
        }

    pairs_compared = [(n, "zero-shot") for n in fine] + [(fine[1], fine[0])]
    comparisons = [
        compare(a, b, method, metric)
        for a, b in pairs_compared
        for method in ("dense", "hybrid")
        for metric in FT_METRICS
    ]
    rows = []
    for name, by_seed in results.items():
        for method in ("dense", "hybrid"):
            row: dict[str, Any] = {"model": name, "method": method, "seeds": len(by_seed)}
            for split, metric in (
                ("valid", "ndcg@10"),
                ("test", "ndcg@10"),
                ("test", "recall@100"),
            ):
                values = [mean_of(r["scores"][split][method][metric]) for r in by_seed.values()]
                row[f"{split} {metric}"], row[f"{split} {metric} sd"] = mean_sd(values)
            row["lexical weight"] = (
                [r["lexical_weight"] for r in by_seed.values()] if method == "hybrid" else None
            )
            rows.append(row)
    report: dict[str, Any] = {
        "command": f"python benchmarks/bench_encoder.py --finetune --steps {steps} --batch-size {batch_size}"
        + ("" if sample is None else f" --pairs-sample {sample}")
        + " --seeds "
        + " ".join(map(str, seeds)),
        "seeds": seeds,
        "machine": {
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "sentence_transformers": sentence_transformers.__version__,
            "load_average_before": load_before,
            "load_average_after": os.getloadavg()[0],
        },
        "queries": {
            "train": n_train,
            "valid": len(splits["valid"].ids),
            "test": len(splits["test"].ids),
        },
        "bm25": {
            split: {m: mean_of(v) for m, v in by_metric.items()}
            for split, by_metric in bm25.items()
        },
        "rows": rows,
        "chosen_on_valid": chosen,
        "finetuning": records,
        "comparisons": [{k: v for k, v in c.items() if k != "text"} for c in comparisons],
        "minutes": (time.perf_counter() - started) / 60,
    }
    text = finetune_markdown(report)
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "encoder_finetune.md").write_text(text)
    (out / "encoder_finetune.json").write_text(json.dumps(report, indent=2, default=str) + "\n")


def interval(c: dict[str, Any]) -> str:
    return f"{c['difference']:+.4f} [{c['lower']:+.4f}, {c['upper']:+.4f}]" + (
        " (sig.)" if c["significant"] else ""
    )


def finetune_markdown(report: dict[str, Any]) -> str:
    q, m = report["queries"], report["machine"]
    seeds = report["seeds"]
    today = report["finetuning"]["in-batch (today)"]
    hard = report["finetuning"]["hard negatives, graded"]
    first_today, first_hard = today[str(seeds[0])], hard[str(seeds[0])]
    lines = [
        "## Fine-tuning the text encoder on Home Depot: in-batch vs hard negatives",
        "",
        f"Command: `{report['command']}` ({report['minutes']:.0f} min; 2 CPUs shared with other "
        f"jobs, load average {m['load_average_before']:.1f} before and {m['load_average_after']:.1f} "
        f"after; torch {m['torch']} with {m['torch_threads']} thread(s), sentence-transformers "
        f"{m['sentence_transformers']}).",
        "",
        f"8,226 real queries split by query 80/10/10 (seed {SEED}, as in the search section): "
        f"{q['train']:,} train (fine-tuning), {q['valid']:,} valid (the hybrid's fusion weight and "
        f"the choice between fine-tunings), {q['test']:,} test (every figure below but the valid "
        "column). Full catalog (54,667 products), top 100; unjudged products count as irrelevant. "
        "Both fine-tunings start from the bundled all-MiniLM-L6-v2, batches of 32 rows, "
        "sentence-transformers' MultipleNegativesRankingLoss (steps in the cost table below), "
        f"each trained once per seed ({', '.join(map(str, seeds))}: batch order, dropout and the "
        "hard negatives drawn; the query split stays the same). Fine-tuned rows are mean ± sd "
        "over the seeds, each seed with its own fusion weight chosen on valid:",
        "",
        "- *in-batch (today)*: (query, product) pairs graded ≥ 2.5, the batch's other products as "
        "negatives, every pair weighted 1 (what `train encoder` did before)"
        + (
            f"; seed {seeds[0]}: {first_today['reused']}, reused here to spare the shared CPU, "
            "with that run's time."
            if "reused" in first_today
            else "."
        ),
        "- *hard negatives, graded*: pairs graded ≥ 2.0 weighted by their gain 2^grade - 1; each "
        "pair also gets one hard negative, drawn in turn from BM25's top 30 and the zero-shot "
        "model's own top 30 for the query, among products unjudged or judged below 2.0 for it "
        "(never one judged ≥ 2.0, nor one with the same title); a batch product the train "
        "judgments pair with a row's query is masked out of that row's softmax"
        + (
            f". Trained on a seeded sample of {first_hard['pairs']:,} of the "
            f"{first_hard['pairs_available']:,} such pairs (negatives mined for those only), for "
            "fewer steps than today's: the machine's CPU, shared with other jobs, left time for "
            "no more. The comparison is therefore not at equal training budget; it favours "
            "today's fine-tuning."
            if first_hard.get("pairs_available", 0) > first_hard["pairs"]
            else "."
        ),
        "",
        "| model | method | seeds | valid NDCG@10 | test NDCG@10 | test Recall@100 | lexical weight |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    b = report["bm25"]["test"]
    lines.append(
        f"| — | BM25 | | {report['bm25']['valid']['ndcg@10']:.4f} | {b['ndcg@10']:.4f} | {b['recall@100']:.4f} | |"
    )
    for r in report["rows"]:
        weight = (
            ""
            if r["lexical weight"] is None
            else ", ".join(f"{w:.2f}" for w in r["lexical weight"])
        )
        cells = [
            mean_sd_cell(r[key], r[f"{key} sd"], r["seeds"])
            for key in ("valid ndcg@10", "test ndcg@10", "test recall@100")
        ]
        lines.append(
            f"| {r['model']} | {r['method']} | {r['seeds']} | {' | '.join(cells)} | {weight} |"
        )
    lines += [
        "",
        f"Chosen on the valid queries (hybrid NDCG@10, mean over the seeds): "
        f"**{report['chosen_on_valid']}**.",
        "",
        "Differences on the test queries (a minus b; each query's score averaged over the "
        "seeds, then a 95% paired bootstrap interval over the queries, "
        f"{N_BOOTSTRAP:,} resamples; *sig.* when it excludes 0; *a ahead*: in how many seeds "
        "a's test mean is above b's, each seed against the same seed):",
        "",
        "| a | b | method | Δ NDCG@10 | a ahead | Δ Recall@100 | a ahead |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    by_key = {(c["a"], c["b"], c["method"], c["metric"]): c for c in report["comparisons"]}
    for a, b_, method, _ in [k for k in by_key if k[3] == "ndcg@10"]:
        cells = []
        for metric in FT_METRICS:
            c = by_key[(a, b_, method, metric)]
            ahead = sum(d > 0 for d in c["per_seed_difference"])
            cells += [interval(c), f"{ahead}/{len(c['per_seed_difference'])}"]
        lines.append(f"| {a} | {b_} | {method} | {' | '.join(cells)} |")
    lines += ["", "Fine-tuning cost (CPU, the shared machine):", ""]
    lines += [
        "| model | seed | pairs | steps | rows seen | rows with a hard negative | loss, first → last tenth | minutes | mining (s) |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for name, by_seed in report["finetuning"].items():
        for seed, rec in by_seed.items():
            run, mining = rec["run"], rec.get("mining")
            mining_s = "" if mining is None else f"{mining['seconds']:.0f}"
            rows_seen = "" if run["rows"] is None else f"{run['rows']:,}"
            losses = (
                "(not recorded)"
                if run["loss_first_tenth"] is None
                else f"{run['loss_first_tenth']:.3f} → {run['loss_last_tenth']:.3f}"
            )
            lines.append(
                f"| {name} | {seed} | {rec['pairs']:,} | {run['steps']} | {rows_seen} | "
                f"{run['rows_with_negatives']:,} | {losses} | {run['seconds'] / 60:.1f} | {mining_s} |"
            )
    for name, by_seed in report["finetuning"].items():
        for seed, rec in by_seed.items():
            if "mining" in rec:
                mined = rec["mining"]
                lines += [
                    "",
                    f"Hard negatives of *{name}*, seed {seed}: {mined['negatives_by_source']} by "
                    f"source; {mined['pairs_without_negative']:,} of {mined['pairs']:,} pairs "
                    "found none.",
                ]
    return "\n".join(lines) + "\n"


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
