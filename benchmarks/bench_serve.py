"""The HTTP service under load: p50 / p99 latency of /search and /recommend and the highest
request rate at which p99 stays under 50 ms, on the real Home Depot catalog (54,667
items) and on a simulated 1,000,000-item catalog, beside the floor: the query encoder
alone (ONNX int8, one query at a time).

Each catalog is written as a registry INDEX version plus a RECOMMENDER version, served by
`paretorec serve` (one uvicorn process) on loopback, and loaded by locust (headless, in
its own process on the same machine) at a ladder of constant request rates.

- Home Depot: item vectors from all-MiniLM-L6-v2 through the embedding cache (shared with
  bench_search); queries are real customer queries. The recommender (popularity +
  co-visitation) is fitted on sessions simulated over the real catalog
  (`world_from_catalog` + `simulate_logs`), as Home Depot has no interaction log.
- 1,000,000 items: `generate_world`; encoding 1M titles with MiniLM on 2 shared cores would
  take about an hour, so item vectors are built from MiniLM vectors of the parts: each
  distinct title word and each distinct category path is encoded once (ONNX int8, about
  1,100 texts), and an item's vector is the normalized sum of its category path's vector
  and the mean of its title words' vectors, plus a small seeded per-item jitter (so no
  two items tie). Queries still go through the real query encoder. Dense search is HNSW
  (the index switches above 100,000 items); queries are the simulator's search queries.

    .venv/bin/python benchmarks/bench_serve.py [--items 1000000] [--duration 15]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "serve"
RESULTS = HERE / "results"
SEARCH_WORK = HERE / ".work" / "search"
TOKEN_ENV = "BENCH_SERVE_TOKEN"
P99_TARGET_MS = 50.0

# ----------------------------------------------------------------------------- locust users
# Locust imports this file as its locustfile (PARETOREC_LOCUST=1): the users below post
# request bodies drawn from a JSON file to one endpoint at a constant rate per user.
if os.environ.get("PARETOREC_LOCUST"):
    from locust import HttpUser, constant_throughput, task

    _BODIES: list[dict[str, Any]] = json.loads(Path(os.environ["BENCH_BODIES"]).read_text())
    _ENDPOINT = os.environ["BENCH_ENDPOINT"]
    _RATE = float(os.environ["BENCH_RATE_PER_USER"])

    class ServiceUser(HttpUser):
        wait_time = constant_throughput(_RATE)

        @task
        def call(self) -> None:
            self.client.post(_ENDPOINT, json=random.choice(_BODIES), name=_ENDPOINT)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------- building


def onnx_export() -> Path:
    """The int8 ONNX export of the bundled MiniLM (bench_search's, else a new one)."""
    from paretorec.encode import export_onnx

    for folder in (SEARCH_WORK / "onnx", WORK / "onnx"):
        if (folder / "encoder.json").is_file():
            return folder
    export_onnx(WORK / "onnx")
    return WORK / "onnx"


def fit_recommender(
    item_ids: Sequence[str], vectors: np.ndarray, events: Any
) -> tuple[Any, list[str]]:
    """Popularity + co-visitation on the non-impression events, user by user, in order;
    the recommender and the users it knows."""
    import polars as pl

    from paretorec.retrieve.recommend import CoVisitation, Popularity, Quotas, Recommender, Source

    position = {item: n for n, item in enumerate(item_ids)}
    acted = events.frame.filter(pl.col("event") != "impression")
    users, sequences = [], []
    for user, items in acted.group_by("user_id", maintain_order=True).agg("item_id").iter_rows():
        users.append(user)
        sequences.append(np.asarray([position[i] for i in items], dtype=np.int64))
    recommender = Recommender.fit(
        list(item_ids),
        vectors,
        sequences,
        generators=[Popularity(), CoVisitation()],
        quotas=Quotas({Source.COVISITATION: 1.0}),
        user_ids=users,
    )
    return recommender, users


def publish(
    root: Path, catalog: Any, vectors: np.ndarray, retriever: Any, recommender: Any, note: str
) -> dict[str, float]:
    """Write the INDEX (with the ONNX query encoder) and RECOMMENDER versions."""
    from paretorec.serve import ModelKind, ModelRegistry
    from paretorec.serve.encoders import EncoderRef
    from paretorec.serve.index_version import write_index_version

    shutil.rmtree(root, ignore_errors=True)
    registry = ModelRegistry(root)
    start = time.perf_counter()
    write_index_version(
        registry,
        retriever=retriever,
        catalog=catalog,
        vectors=vectors,
        encoder=EncoderRef.bundled(item_vectors_by=note),
        onnx_export=onnx_export(),
        config={"item_vectors": note},
    )
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    with registry.stage(
        ModelKind.RECOMMENDER, config={"generators": "popularity+covisitation"}
    ) as staged:
        recommender.save(staged.folder)
    return {"write_index_s": index_s, "write_recommender_s": time.perf_counter() - start}


def add_ranker_and_policy(
    root: Path, logs: Any, vectors: np.ndarray, encoder: Any, sessions: int
) -> dict[str, float]:
    """A ranker (`paretorec.rank`, MMoE) trained on the simulated Home Depot log, and a
    policy network of the simulator's shape (untrained: it is here for its latency)."""
    import polars as pl
    import torch

    from paretorec.data.io import write_dataset
    from paretorec.policy import PolicyConfig, PreferencePolicy, save_policy
    from paretorec.rank import RankerConfig, TrainConfig, build_ranker_features, train_ranker
    from paretorec.serve import ModelKind, ModelRegistry
    from paretorec.types import Dataset, Events

    timings: dict[str, float] = {}
    start = time.perf_counter()
    assert logs.events is not None
    first = logs.events.frame.filter(pl.col("session_id").is_in(
        logs.events.frame["session_id"].unique(maintain_order=True).head(sessions).implode()
    ))  # fmt: skip
    history = Dataset(logs.items, None, logs.queries, None, Events(first), "homedepot-simulated")
    data = WORK / "homedepot-simulated-log"
    shutil.rmtree(data, ignore_errors=True)
    write_dataset(history, data)
    features = build_ranker_features(
        history,
        encoder=encoder,
        item_vectors=vectors,
        cache_dir=SEARCH_WORK / "cache",
        check_leakage=False,
    )
    ranker = train_ranker(
        features,
        config=RankerConfig(hidden=(64, 32), tower=(16,)),
        train=TrainConfig(epochs=1, batch_size=1024, seed=0),
    )
    timings["ranker_s"] = time.perf_counter() - start
    registry = ModelRegistry(root)
    with registry.stage(ModelKind.RANKER, data=data, config={"rows": len(features)}) as staged:
        ranker.save(staged.folder)
    torch.manual_seed(0)
    config = PolicyConfig(
        objectives=("clicks", "purchases", "revenue"),
        prediction_names=("click", "purchase", "revenue"),
        context_dim=3,
        item_dim=11,
        links=(("clicks", "click"), ("purchases", "purchase"), ("revenue", "revenue")),
        n_groups=3,
    )
    weights = {"default_weights": {"clicks": 0.6, "purchases": 0.2, "revenue": 0.2}}
    with registry.stage(ModelKind.POLICY, config=weights) as staged:
        save_policy(staged.folder, PreferencePolicy(config), extra={"note": "untrained"})
    return timings


def build_homedepot(
    root: Path, *, with_ranker: bool
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    from paretorec.data.datasets import BuiltinDataset, load_builtin
    from paretorec.encode import SentenceTransformerEncoder, encode_items_cached, item_text
    from paretorec.retrieve import DenseIndex, HybridRetriever, LexicalIndex, ScoreFusion
    from paretorec.simulate import simulate_logs, world_from_catalog

    timings: dict[str, Any] = {}
    shop = load_builtin(BuiltinDataset.HOMEDEPOT)
    start = time.perf_counter()
    encoder = SentenceTransformerEncoder()
    vectors = encode_items_cached(encoder, item_text(shop.items), SEARCH_WORK / "cache")
    timings["vectors_s"] = time.perf_counter() - start
    start = time.perf_counter()
    world = world_from_catalog(shop.items, 5_000, seed=0)
    logs = simulate_logs(world, 40_000, seed=0)
    assert logs.events is not None
    # The simulator fills what Home Depot lacks (price, category, brand, stock, seller);
    # the index serves that filled catalog, with the title vectors computed above.
    catalog = logs.items
    assert catalog.frame["item_id"].to_list() == shop.items.frame["item_id"].to_list()
    recommender, users = fit_recommender(catalog.frame["item_id"].to_list(), vectors, logs.events)
    timings["simulate_and_recommender_s"] = time.perf_counter() - start
    start = time.perf_counter()
    retriever = HybridRetriever(
        LexicalIndex.build(catalog),
        DenseIndex.build(vectors, catalog),
        fusion=ScoreFusion(weight=0.7),
    )
    timings["index_build_s"] = time.perf_counter() - start
    timings.update(publish(root, catalog, vectors, retriever, recommender, encoder.name))
    if with_ranker:
        timings.update(add_ranker_and_policy(root, logs, vectors, encoder, sessions=4_000))
    assert shop.queries is not None
    rng = random.Random(0)
    texts = shop.queries.frame["text"].to_list()
    searches = [
        {"query": q, "k": 10, "user_id": rng.choice(users)} for q in rng.sample(texts, 2_000)
    ]
    ids = catalog.frame["item_id"].to_list()
    recommends = [
        {"user_id": rng.choice(users), "k": 10}
        if rng.random() < 0.5
        else {"session_items": rng.sample(ids, rng.randint(1, 3)), "k": 10}
        for _ in range(2_000)
    ]
    timings["items"] = len(shop.items)
    return timings, searches, recommends


def part_vectors(frame: Any, seed: int) -> tuple[np.ndarray, int]:
    """The 1M catalog's item vectors from MiniLM vectors of distinct words and category
    paths (see the module docstring); also how many texts were encoded."""
    from paretorec.encode import OnnxEncoder

    encoder = OnnxEncoder(onnx_export(), batch_size=64)
    titles = frame["title"].to_list()
    tokens = [re.findall(r"[a-z0-9.]+", t.lower()) for t in titles]
    vocabulary = sorted({w for words in tokens for w in words})
    word_row = {w: n for n, w in enumerate(vocabulary)}
    word_vectors = encoder.encode_items(vocabulary)
    paths = frame["category"].fill_null("").to_list()
    distinct = sorted(set(paths))
    path_vectors = encoder.encode_items(distinct)
    path_row = {p: n for n, p in enumerate(distinct)}
    import scipy.sparse as sp

    lengths = np.asarray([len(words) for words in tokens])
    flat = np.asarray([word_row[w] for words in tokens for w in words], dtype=np.int64)
    owner = np.repeat(np.arange(len(titles)), lengths)
    weights = (1.0 / np.maximum(lengths, 1))[owner].astype(np.float32)
    mean_words = sp.csr_array((weights, (owner, flat)), shape=(len(titles), len(vocabulary)))
    vectors = np.asarray(mean_words @ word_vectors, dtype=np.float32)
    vectors += path_vectors[np.asarray([path_row[p] for p in paths])]
    rng = np.random.default_rng(seed)
    vectors += (
        0.05 * rng.standard_normal(vectors.shape, dtype=np.float32) / np.sqrt(vectors.shape[1])
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32), len(vocabulary) + len(distinct)


SIMULATED_RECIPE = "generate_world seed 0; MiniLM parts vectors; HNSW m=16 efC=40"


def build_simulated(
    root: Path, n_items: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Build (or reuse, when an earlier run built the same recipe) the simulated catalog's
    registry: building a million items takes longer than the rest of the benchmark."""
    saved = root / "bench.json"
    if saved.is_file():
        cached = json.loads(saved.read_text())
        if cached["recipe"] == SIMULATED_RECIPE and cached["items"] == n_items:
            cached["timings"]["reused_from_an_earlier_run"] = cached["built_at"]
            return cached["timings"], cached["searches"], cached["recommends"]
    timings, searches, recommends = _build_simulated(root, n_items)
    saved.write_text(
        json.dumps(
            {
                "recipe": SIMULATED_RECIPE,
                "items": n_items,
                "built_at": time.strftime("%Y-%m-%d %H:%M"),
                "timings": timings,
                "searches": searches,
                "recommends": recommends,
            }
        )
    )
    return timings, searches, recommends


def _build_simulated(
    root: Path, n_items: int
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    from paretorec.retrieve import (
        DenseIndex,
        HnswParams,
        HybridRetriever,
        LexicalIndex,
        ScoreFusion,
    )
    from paretorec.simulate import generate_world, simulate_logs
    from paretorec.types import Catalog

    timings: dict[str, Any] = {}
    start = time.perf_counter()
    world = generate_world(n_items, 10_000, seed=0)
    catalog = Catalog(world.items_frame())
    timings["world_s"] = time.perf_counter() - start
    start = time.perf_counter()
    vectors, encoded = part_vectors(catalog.frame, seed=0)
    timings["vectors_s"] = time.perf_counter() - start
    timings["texts_encoded"] = encoded
    start = time.perf_counter()
    lexical = LexicalIndex.build(catalog)
    timings["bm25_build_s"] = time.perf_counter() - start
    start = time.perf_counter()
    dense = DenseIndex.build(vectors, catalog, params=HnswParams(m=16, ef_construction=40))
    timings["dense_build_s"] = time.perf_counter() - start
    timings["hnsw"] = dense.uses_hnsw
    retriever = HybridRetriever(lexical, dense, fusion=ScoreFusion(weight=0.7))
    start = time.perf_counter()
    logs = simulate_logs(world, 40_000, seed=0)
    assert logs.events is not None and logs.queries is not None
    recommender, users = fit_recommender(catalog.frame["item_id"].to_list(), vectors, logs.events)
    timings["recommender_s"] = time.perf_counter() - start
    timings.update(
        publish(root, catalog, vectors, retriever, recommender, "minilm-parts+onnx-int8")
    )
    rng = random.Random(0)
    texts = logs.queries.frame["text"].to_list()
    searches = [{"query": rng.choice(texts), "k": 10} for _ in range(2_000)]
    ids = catalog.frame["item_id"].to_list()
    recommends = [
        {"user_id": rng.choice(users), "k": 10}
        if rng.random() < 0.5
        else {"session_items": rng.sample(ids, rng.randint(1, 3)), "k": 10}
        for _ in range(2_000)
    ]
    timings["items"] = n_items
    return timings, searches, recommends


# ----------------------------------------------------------------------------- measuring


def encoder_floor(queries: Sequence[str]) -> dict[str, float]:
    """The serving query encoder alone (ONNX int8, batch 1, one thread as served)."""
    from paretorec.encode import OnnxEncoder

    encoder = OnnxEncoder(onnx_export(), batch_size=1, num_threads=1)
    for q in queries[:20]:
        encoder.encode_queries([q])
    times = []
    for q in queries[:300]:
        start = time.perf_counter()
        encoder.encode_queries([q])
        times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(models: Path, port: int) -> tuple[subprocess.Popen[bytes], float]:
    import httpx

    env = {**os.environ, TOKEN_ENV: "bench"}
    command = [sys.executable, "-m", "paretorec.cli", "serve", "--models", str(models),
               "--port", str(port), "--token-env", TOKEN_ENV, "--events", str(WORK / "events"),
               "--encoder-threads", "1"]  # fmt: skip
    start = time.perf_counter()
    server_log = (WORK / f"server-{port}.log").open("wb")  # a pipe nobody reads would fill up
    server = subprocess.Popen(command, env=env, stdout=server_log, stderr=subprocess.STDOUT)
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server, time.perf_counter() - start
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            raise RuntimeError((WORK / f"server-{port}.log").read_text())
        time.sleep(0.5)


def run_locust(
    port: int, endpoint: str, bodies: Path, rate: float, duration: int, users: int
) -> dict[str, float]:
    prefix = WORK / f"locust-{endpoint.strip('/')}-{rate:g}"
    env = {
        **os.environ,
        "PARETOREC_LOCUST": "1",
        "BENCH_BODIES": str(bodies),
        "BENCH_ENDPOINT": endpoint,
        "BENCH_RATE_PER_USER": str(rate / users),
    }
    command = [sys.executable, "-m", "locust", "-f", str(Path(__file__).resolve()), "--headless",
               "-u", str(users), "-r", str(users), "-t", f"{duration}s", "--host",
               f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
               "--loglevel", "WARNING", "--exit-code-on-error", "0"]  # fmt: skip
    subprocess.run(command, env=env, check=True, capture_output=True)
    with Path(f"{prefix}_stats.csv").open() as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == endpoint)
    return {
        "target_rps": rate,
        "achieved_rps": float(row["Requests/s"]),
        "requests": int(row["Request Count"]),
        "failures": int(row["Failure Count"]),
        "p50_ms": float(row["50%"]),
        "p99_ms": float(row["99%"]),
        "mean_ms": float(row["Average Response Time"]),
    }


def sequential(port: int, endpoint: str, bodies: Sequence[dict[str, Any]]) -> dict[str, float]:
    """One client, one request at a time (no load generator): the unloaded latency."""
    import httpx

    times = []
    with httpx.Client(timeout=30) as client:
        for n, body in enumerate(bodies[:110]):
            start = time.perf_counter()
            client.post(f"http://127.0.0.1:{port}{endpoint}", json=body).raise_for_status()
            if n >= 10:
                times.append((time.perf_counter() - start) * 1000)
    return {"p50_ms": float(np.percentile(times, 50)), "p99_ms": float(np.percentile(times, 99))}


def stage_means(port: int) -> dict[str, float]:
    """Mean seconds per pipeline stage (from the service's own /metrics), in ms."""
    import httpx

    text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    sums = dict(re.findall(r'paretorec_stage_seconds_sum\{stage="(\w+)"\} ([0-9.e+-]+)', text))
    counts = dict(re.findall(r'paretorec_stage_seconds_count\{stage="(\w+)"\} ([0-9.e+-]+)', text))
    return {
        s: 1000 * float(sums[s]) / float(counts[s]) for s in sums if float(counts.get(s, 0)) > 0
    }


def load_ladder(
    port: int, endpoint: str, bodies: Path, rates: Sequence[float], duration: int
) -> list[dict[str, float]]:
    rows = []
    for rate in rates:
        row = run_locust(port, endpoint, bodies, rate, duration, users=max(4, int(rate // 5)))
        log(
            f"  {endpoint} at {rate:g} rps: achieved {row['achieved_rps']:.1f}, p50 {row['p50_ms']:.0f} ms, p99 {row['p99_ms']:.0f} ms, failures {row['failures']}"
        )
        rows.append(row)
        if row["achieved_rps"] < 0.8 * rate or row["p99_ms"] > 1000:
            break  # saturated: higher rates only queue
    return rows


def measure(
    name: str, models: Path, searches: list[dict[str, Any]], recommends: list[dict[str, Any]],
    rates: Sequence[float], duration: int,
) -> dict[str, Any]:  # fmt: skip
    port = free_port()
    import httpx

    server, startup = start_server(models, port)
    health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
    stages = {k: v["version"] if v["loaded"] else None for k, v in health["stages"].items()}
    out: dict[str, Any] = {"startup_s": startup, "stages": stages}
    try:
        for endpoint, bodies in (("/search", searches), ("/recommend", recommends)):
            path = WORK / f"{name}-{endpoint.strip('/')}.json"
            path.write_text(json.dumps(bodies))
            alone = sequential(port, endpoint, bodies)
            log(f"  {endpoint} one request at a time: {alone}")
            rows = load_ladder(port, endpoint, path, rates, duration)
            ok = [r for r in rows if r["p99_ms"] <= P99_TARGET_MS and r["failures"] == 0]
            out[endpoint] = {
                "ladder": rows,
                "max_rps_p99_under_50ms": max((r["achieved_rps"] for r in ok), default=0.0),
                "max_rps_achieved": max(r["achieved_rps"] for r in rows),
                "sequential": alone,
            }
        out["stage_ms"] = stage_means(port)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    return out


# ----------------------------------------------------------------------------- report


def light_row(row: dict[str, float]) -> str:
    return f"{row['target_rps']:g} | {row['achieved_rps']:.1f} | {row['p50_ms']:.0f} | {row['p99_ms']:.0f} | {row['failures']}"


def write_report(result: dict[str, Any], command: str, wall: float) -> None:
    lines = ["## The HTTP service under load", ""]
    lines.append(
        f"Machine: {os.cpu_count()} CPUs shared with other work (load average at start "
        f"{result['load_average_start']:.1f}, at end {result['load_average_end']:.1f}: other "
        f"processes competed for the cores throughout), Python {platform.python_version()}. "
        f"Command: `{command}` ({wall / 60:.1f} min). One `paretorec serve` process (uvicorn, "
        "one worker, ONNX int8 query encoder on one thread) and locust (headless, constant "
        f"rate per user) on loopback, on the same 2 cores. Each rate runs {result['duration_s']} s; "
        'the ladder stops once a rate saturates (achieved < 80% of the target). "One at a '
        'time": 100 requests from one client with no load generator running (httpx).'
    )
    lines.append("")
    floor = result["encoder_floor"]
    lines.append(
        f"**Floor**: the query encoder alone (ONNX int8, one query at a time, in-process): "
        f"p50 {floor['p50_ms']:.2f} ms, p99 {floor['p99_ms']:.2f} ms."
    )
    lines.append("")
    lines.append(
        "| catalog | endpoint | one at a time p50 / p99 ms | locust lowest rate p50 / p99 ms | max rps with p99 < 50 ms | max rps served |"
    )
    lines.append("|---|---|---:|---:|---:|---:|")
    for name, label in (
        ("homedepot", "Home Depot, 54,667 items"),
        (
            "simulated",
            f"simulated, {result.get('simulated', {}).get('build', {}).get('items', 0):,} items",
        ),
    ):
        if name not in result:
            continue
        for endpoint in ("/search", "/recommend"):
            part = result[name][endpoint]
            first = part["ladder"][0]
            lines.append(
                f"| {label} | `{endpoint}` | {part['sequential']['p50_ms']:.1f} / {part['sequential']['p99_ms']:.1f} "
                f"| {first['p50_ms']:.0f} / {first['p99_ms']:.0f} ({first['target_rps']:g} rps) "
                f"| {part['max_rps_p99_under_50ms']:.1f} | {part['max_rps_achieved']:.1f} |"
            )
    lines.append("")
    for name in ("homedepot", "simulated"):
        if name not in result:
            continue
        part = result[name]
        served = ", ".join(
            f"{stage} {version}" for stage, version in part["stages"].items() if version
        )
        lines.append(
            f"**{name}** — stages served: {served}. Build: "
            + ", ".join(
                f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                for k, v in part["build"].items()
            )
            + f"; server start (load + verify) {part['startup_s']:.1f} s; mean per stage (ms): "
            + ", ".join(f"{k} {v:.2f}" for k, v in part["stage_ms"].items())
            + "."
        )
        lines.append("")
        lines.append("| endpoint | target rps | achieved rps | p50 ms | p99 ms | failures |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for endpoint in ("/search", "/recommend"):
            for row in part[endpoint]["ladder"]:
                lines.append(f"| `{endpoint}` | {light_row(row)} |")
        lines.append("")
    lines.append(
        "Stages: Home Depot serves index → ranker → policy for /search and recommender → "
        "ranker → policy for /recommend: the ranker (`paretorec.rank`, MMoE) is trained on "
        "4,000 sessions simulated over the real catalog (one epoch) (`world_from_catalog`, which also "
        "fills the prices, categories and brands Home Depot lacks), the recommender "
        "(popularity + co-visitation) on 40,000 such sessions, and the policy is a "
        "preference-conditioned network of the simulator's shape left untrained (it is "
        "there for its latency; its lists mean nothing). The simulated catalog serves index "
        "and recommender only (no ranker or policy version): lists in retrieval / "
        "recommender order. Home Depot item vectors: all-MiniLM-L6-v2 of the titles "
        "(float32, cached); the simulated catalog's: MiniLM (ONNX int8) vectors of distinct "
        "title words and category paths combined per item (see the script's docstring), "
        f"{result.get('simulated', {}).get('build', {}).get('texts_encoded', 0):,} texts "
        "encoded instead of a million titles; its HNSW graph has m=16, efConstruction=40 "
        "(efSearch 128), to build in minutes on 2 cores. Latencies are locust's (client "
        "side, loopback), rounded by locust to two significant digits. The service caps "
        "BLAS / OpenMP / torch at one thread per request (`--compute-threads 1`)."
    )
    lines.append("")
    lines.append(_reading(result))
    (RESULTS / "serve.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "serve.json").write_text(json.dumps(result, indent=2))


def _reading(result: dict[str, Any]) -> str:
    """How to read this run's tables, from its own numbers."""
    parts = [
        (name, endpoint, result[name][endpoint])
        for name in ("homedepot", "simulated")
        if name in result
        for endpoint in ("/search", "/recommend")
    ]
    held = [
        f"{n} `{e}` up to {p['max_rps_p99_under_50ms']:.0f} rps"
        for n, e, p in parts
        if p["max_rps_p99_under_50ms"] > 0
    ]
    inside = [f"{n} `{e}`" for n, e, p in parts if p["sequential"]["p99_ms"] < 50]
    return (
        "Reading these figures: under locust, p99 stayed under 50 ms for "
        + (", ".join(held) if held else "no rate on any endpoint")
        + "; one client sending requests back to back got p99 under 50 ms on "
        + (", ".join(inside) if inside else "no endpoint")
        + ". Where the two disagree, the likely cause (not confirmed) is the load generator and "
        "the other work sharing the 2 cores rather than the request itself: a request that "
        "reaches an idle server pays the wake-up of its threads in the run queue. The knee of "
        "each ladder (where latency starts to climb) and the saturation throughput are the "
        "more robust figures on a shared machine; the stage means (from the service's /metrics) "
        "include the saturated rates."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--rates", default="1,2,5,10,20,40,80")
    parser.add_argument("--skip-homedepot", action="store_true")
    parser.add_argument("--skip-simulated", action="store_true")
    parser.add_argument(
        "--no-ranker", action="store_true", help="Serve Home Depot without ranker and policy."
    )
    parser.add_argument(
        "--build-only", action="store_true", help="Only build (and keep) the simulated catalog."
    )
    parser.add_argument(
        "--report-only", action="store_true", help="Rewrite serve.md from serve.json."
    )
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads((RESULTS / "serve.json").read_text())
        write_report(saved, saved["command"], saved["wall_s"])
        return
    wall = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    rates = [float(r) for r in args.rates.split(",")]
    result: dict[str, Any] = {"duration_s": args.duration, "load_average_start": os.getloadavg()[0]}

    from paretorec.data.datasets import BuiltinDataset, load_builtin

    queries = load_builtin(BuiltinDataset.HOMEDEPOT).queries
    assert queries is not None
    result["encoder_floor"] = encoder_floor(queries.frame["text"].to_list())
    log(f"encoder floor: {result['encoder_floor']}")
    if not args.skip_homedepot:
        log("building the Home Depot index and recommender")
        build, searches, recommends = build_homedepot(
            WORK / "models-homedepot", with_ranker=not args.no_ranker
        )
        log(f"  {build}")
        result["homedepot"] = {"build": build}
        result["homedepot"].update(
            measure(
                "homedepot", WORK / "models-homedepot", searches, recommends, rates, args.duration
            )
        )
    if not args.skip_simulated:
        log(f"building the simulated {args.items:,}-item index and recommender")
        folder = WORK / f"models-simulated-{args.items}"
        build, searches, recommends = build_simulated(folder, args.items)
        log(f"  {build}")
        result["simulated"] = {"build": build}
        if not args.build_only:
            result["simulated"].update(
                measure("simulated", folder, searches, recommends, rates, args.duration)
            )
    if args.build_only:
        log("built; nothing measured (--build-only)")
        return
    result["load_average_end"] = os.getloadavg()[0]
    command = ("python benchmarks/bench_serve.py " + " ".join(sys.argv[1:])).strip()
    result["command"] = command
    result["wall_s"] = time.perf_counter() - wall
    write_report(result, command, result["wall_s"])
    log(f"wrote {RESULTS / 'serve.md'}")


if __name__ == "__main__":
    main()
