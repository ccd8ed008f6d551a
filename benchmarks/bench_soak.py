"""Soak: steady mixed traffic for N minutes, then kill -9 and a restart.

One `paretorec serve` process over the Home Depot models of bench_serve.py (54,667
items, index + ranker + policy + recommender; or any models folder, `--models`) on
loopback gets an open-loop stream (request i due at start + i / rate whatever happened
to the earlier ones; latency counted from the due time, so queueing counts) mixing
/search (Home Depot's own customer queries), /recommend (session items from the
catalog), /events (batches of 1-5 events, each with a unique user id) and catalog
changes (PUT of a new item, PUT of a changed price, DELETE; an item has at most one
change in flight). Every few seconds the server's RSS is read from /proc. Per window:
requests, p50 / p99 of the reads, errors, RSS. After the traffic the server is killed
with SIGKILL and started again on the same folders: every acknowledged event must be in
the log (by its user id) and every acknowledged catalog change must hold.

`benchmarks/loadgen.py` sends one request shape to one path and reads no answers; the
soak needs four shapes, admin headers and the answers (what was acknowledged), so it
has its own small open-loop client (httpx, asyncio) in the same spirit.

    .venv/bin/python benchmarks/bench_soak.py [--minutes 10] [--rate 40] [--window 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_serve  # the Home Depot models folder, the port helper

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "soak"
RESULTS = HERE / "results"
TOKEN_ENV = "BENCH_SOAK_TOKEN"
TOKEN = "soak"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIX = {"search": 0.55, "recommend": 0.25, "events": 0.15, "items": 0.05}
READS = ("search", "recommend")
SHORT_RUN_MINUTES = 10.0  # what the issue asks for; shorter runs say so


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ----------------------------------------------------------------------------- the server


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    startup_s: float

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        """Resident memory of the server process (VmRSS), in MB."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
        raise RuntimeError("no VmRSS in /proc status")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=60)


def start_server(models: Path, events: Path) -> Server:
    port = bench_serve.free_port()
    command = [sys.executable, "-m", "paretorec.cli", "serve", "--models", str(models),
               "--port", str(port), "--token-env", TOKEN_ENV, "--events", str(events),
               "--encoder-threads", "1"]  # fmt: skip
    log_path = WORK / f"server-{port}.log"
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        env={**os.environ, TOKEN_ENV: TOKEN},
        stdout=log_path.open("wb"),
        stderr=subprocess.STDOUT,
    )
    bench_serve._wait_healthy(process, port, log_path)
    return Server(process, port, time.perf_counter() - start)


# ----------------------------------------------------------------------------- traffic


@dataclass
class Ledger:
    """What was sent and what the service acknowledged."""

    latencies: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # kind -> (due offset s, ms)
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    transport_errors: int = 0
    errors_at: list[tuple[float, str]] = field(default_factory=list)  # (offset, what)
    events_acked: set[str] = field(default_factory=set)  # user ids, one event each
    events_sent: int = 0
    idle_items: list[str] = field(default_factory=list)  # ours, held, no change in flight
    expected: dict[str, float | None] = field(default_factory=dict)  # item -> price; None: gone
    changes_acked: int = 0
    unknown: set[str] = field(default_factory=set)  # items whose change got no answer
    rss: list[tuple[float, float]] = field(default_factory=list)  # (offset s, MB)


def _request(
    kind: str, n: int, rng: random.Random, ledger: Ledger, queries: list[str], ids: list[str]
) -> tuple[str, str, dict[str, Any] | None, dict[str, Any]]:
    """(method, path, body, what to record on acknowledgement) of request n."""
    if kind == "search":
        return "POST", "/search", {"query": rng.choice(queries), "k": 10}, {}
    if kind == "recommend":
        session = rng.sample(ids, rng.randint(1, 3))
        return "POST", "/recommend", {"session_items": session, "k": 10}, {}
    if kind == "events":
        events = [
            {"user_id": f"soak-u{n}-{j}", "item_id": rng.choice(ids),
             "event": rng.choice(("impression", "click", "cart", "purchase"))}
            for j in range(rng.randint(1, 5))
        ]  # fmt: skip
        ledger.events_sent += len(events)
        return "POST", "/events", {"events": events}, {"users": [e["user_id"] for e in events]}
    roll = rng.random()
    if ledger.idle_items and roll < 0.5:
        item = ledger.idle_items.pop(rng.randrange(len(ledger.idle_items)))
        if roll < 0.2:
            return "DELETE", f"/items/{item}", None, {"item": item, "price": None}
        price = round(rng.uniform(1, 500), 2)
        body = {"items": [{"item_id": item, "title": f"Soak test item {item}", "price": price}]}
        return "PUT", "/items", body, {"item": item, "price": price}
    item = f"soak-{n}"
    price = round(rng.uniform(1, 500), 2)
    body = {"items": [{"item_id": item, "title": f"Soak test item {item}", "price": price,
                       "category": "Soak > Test", "brand": "Soak"}]}  # fmt: skip
    return "PUT", "/items", body, {"item": item, "price": price}


async def _one(
    client: Any, ledger: Ledger, kind: str, request: tuple[str, str, Any, dict[str, Any]],
    due: float, start: float, loop: asyncio.AbstractEventLoop,
) -> None:  # fmt: skip
    import httpx

    method, path, body, acked = request
    headers = AUTH if kind == "items" else None
    try:
        response = await client.request(method, path, json=body, headers=headers)
    except httpx.HTTPError as error:
        ledger.transport_errors += 1
        ledger.errors_at.append((due - start, f"{kind}: {type(error).__name__}"))
        if "item" in acked:  # applied or not, nobody knows: not looked up after the restart
            ledger.unknown.add(acked["item"])
        return
    ledger.latencies[kind].append((due - start, (loop.time() - due) * 1000.0))
    ledger.statuses[kind][response.status_code] += 1
    if not response.is_success:
        ledger.errors_at.append(
            (due - start, f"{kind}: {response.status_code} {response.text[:80]}")
        )
        return
    if kind == "events":
        ledger.events_acked.update(acked["users"])
    elif kind == "items":
        ledger.changes_acked += 1
        ledger.expected[acked["item"]] = acked["price"]
        if acked["price"] is not None:
            ledger.idle_items.append(acked["item"])


async def _sample_rss(
    server: Server, ledger: Ledger, start: float, every: float, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        ledger.rss.append((loop.time() - start, server.rss_mb()))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def drive(
    server: Server, ledger: Ledger, *, rate: float, seconds: float, seed: int,
    queries: list[str], ids: list[str], rss_every: float, window: float,
) -> None:  # fmt: skip
    import httpx

    rng = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    loop = asyncio.get_running_loop()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=server.base, timeout=30, limits=limits) as client:
        start = loop.time() + 0.1
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample_rss(server, ledger, start, rss_every, stop))
        tasks = []
        total = int(rate * seconds)
        next_report = window
        for n in range(total):
            due = start + n / rate
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            kind = rng.choices(kinds, weights)[0]
            request = _request(kind, n, rng, ledger, queries, ids)
            tasks.append(asyncio.create_task(_one(client, ledger, kind, request, due, start, loop)))
            if due - start >= next_report:
                reads = [
                    ms for k in READS for t, ms in ledger.latencies[k] if t >= next_report - window
                ]
                p99 = float(np.percentile(reads, 99)) if reads else float("nan")
                log(
                    f"  {next_report / 60:.1f} min: {n:,} requests, reads p99 {p99:.1f} ms, RSS {ledger.rss[-1][1]:.0f} MB, errors {len(ledger.errors_at)}"
                )
                next_report += window
        await asyncio.gather(*tasks)
        stop.set()
        await sampler


# ----------------------------------------------------------------------------- checks


def check_after_restart(server: Server, events: Path, ledger: Ledger) -> dict[str, Any]:
    """Acknowledged writes against what the restarted service holds and the disk."""
    import httpx

    with (events / "events.csv").open(encoding="utf-8", newline="") as handle:
        on_disk = [row["user_id"] for row in csv.DictReader(handle)]
    missing_events = ledger.events_acked - set(on_disk)
    health = httpx.get(f"{server.base}/healthz", timeout=30).json()
    lost_changes = []
    with httpx.Client(base_url=server.base, timeout=30) as client:
        for item, price in ledger.expected.items():
            if item in ledger.unknown:
                continue
            got = client.get(f"/items/{item}")
            held = got.json()["price"] if got.status_code == 200 else None
            if got.status_code not in (200, 404) or held != price:
                lost_changes.append(item)
    return {
        "events_sent": ledger.events_sent,
        "events_acknowledged": len(ledger.events_acked),
        "events_on_disk": len(on_disk),
        "events_logged_after_restart": health["events_logged"],
        "acknowledged_events_missing": len(missing_events),
        "catalog_changes_acknowledged": ledger.changes_acked,
        "items_checked": len(set(ledger.expected) - ledger.unknown),
        "acknowledged_changes_lost": len(lost_changes),
        "lost_examples": sorted(lost_changes)[:5] + sorted(missing_events)[:5],
    }


# ----------------------------------------------------------------------------- report


def windows(ledger: Ledger, seconds: float, window: float) -> list[dict[str, Any]]:
    rows = []
    edges = np.arange(0.0, seconds + 1e-9, window)
    if edges[-1] < seconds - 1e-9:
        edges = np.append(edges, seconds)
    for lo, hi in itertools.pairwise(edges):
        row: dict[str, Any] = {"from_s": float(lo), "to_s": float(hi)}
        for kind in MIX:
            ms = [m for t, m in ledger.latencies[kind] if lo <= t < hi]
            row[kind] = {
                "requests": len(ms),
                "p50_ms": float(np.percentile(ms, 50)) if ms else None,
                "p99_ms": float(np.percentile(ms, 99)) if ms else None,
            }
        reads = [m for k in READS for t, m in ledger.latencies[k] if lo <= t < hi]
        row["reads_p50_ms"] = float(np.percentile(reads, 50)) if reads else None
        row["reads_p99_ms"] = float(np.percentile(reads, 99)) if reads else None
        row["errors"] = sum(1 for t, _ in ledger.errors_at if lo <= t < hi)
        rss = [mb for t, mb in ledger.rss if lo <= t < hi]
        row["rss_mb"] = max(rss) if rss else None
        rows.append(row)
    return rows


def memory(ledger: Ledger, window: float) -> dict[str, float]:
    t = np.asarray([s for s, _ in ledger.rss])
    mb = np.asarray([m for _, m in ledger.rss])

    def slope(since: float) -> float:
        keep = t >= since
        if keep.sum() < 3:
            return float("nan")
        return float(np.polyfit(t[keep] / 60.0, mb[keep], 1)[0])

    return {"start_mb": float(mb[0]), "end_mb": float(mb[-1]), "max_mb": float(mb.max()),
            "slope_mb_per_min": slope(0.0),
            "slope_after_first_window_mb_per_min": slope(window),
            "samples": float(len(mb))}  # fmt: skip


def reading(result: dict[str, Any]) -> str:
    """What the numbers say, in words, from the numbers."""
    after = result["after_restart"]
    errors = result["errors"]
    rows = [r for r in result["windows"] if r["reads_p99_ms"] is not None]
    first, last = rows[0]["reads_p99_ms"], rows[-1]["reads_p99_ms"]
    mem = result["memory"]
    lost = after["acknowledged_events_missing"] + after["acknowledged_changes_lost"]
    extra = after["events_on_disk"] - after["events_acknowledged"]
    if lost == 0:
        saved = "No acknowledged write was lost across the kill -9 and restart"
    else:
        saved = f"{lost} acknowledged write(s) were LOST across the kill -9 and restart"
    saved += (
        f" ({after['events_acknowledged']:,} events and "
        f"{after['catalog_changes_acknowledged']:,} catalog changes acknowledged; "
        f"{after['events_on_disk']:,} events on disk"
        + (f", {extra:,} of them written but never answered" if extra > 0 else "")
        + ")."
    )
    worst = max(r["reads_p99_ms"] for r in rows)
    text = (
        f"{saved} {errors['5xx']} answers were 5xx, {errors['4xx']} 4xx, and "
        f"{errors['transport']} requests failed in transport. p99 of the reads was "
        f"{first:.1f} ms in the first window and {last:.1f} ms in the last ({last / first:.2f}×; "
        f"worst window {worst:.1f} ms). The server's RSS went from {mem['start_mb']:.0f} MB to "
        f"{mem['end_mb']:.0f} MB (peak {mem['max_mb']:.0f} MB; fitted "
        f"{mem['slope_mb_per_min']:+.1f} MB a minute over the run, "
        f"{mem['slope_after_first_window_mb_per_min']:+.1f} MB a minute after the first "
        "window)."
    )
    if result["minutes"] < SHORT_RUN_MINUTES:
        cpus = os.cpu_count() or 1
        loaded = "a loaded" if result["load_average_start"] > cpus else "a shared"
        text += (
            f" This was a short run ({result['minutes']:g} min) on {loaded} machine (load "
            f"average {result['load_average_start']:.1f} at start on {cpus} CPUs "
            "shared with other work): it shows the soak works and its figures are what this run "
            "saw, but a drift or a leak slower than a few minutes would not show; the issue's "
            f"{SHORT_RUN_MINUTES:g}-minute run is `--minutes {SHORT_RUN_MINUTES:g}`."
        )
    return text


def write_report(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2))
    after = result["after_restart"]
    lines = ["## Soak: steady mixed traffic, then kill -9 and a restart", ""]
    lines.append(
        f"Machine: {os.cpu_count()} CPUs shared with other work (load average at start "
        f"{result['load_average_start']:.1f}, at end {result['load_average_end']:.1f}), Python "
        f"{platform.python_version()}. Command: `{result['command']}`. One `paretorec serve` "
        f"process over {result['models']} ({result['items']:,} items; stages: "
        f"{', '.join(f'{k} {v}' for k, v in result['stages'].items() if v)}) on loopback, and an "
        f"open-loop client (httpx, asyncio; latency from each request's due time) at "
        f"{result['rate']:g} requests a second for {result['minutes']:g} min: "
        + ", ".join(f"{share:.0%} {kind}" for kind, share in MIX.items())
        + " (events: batches of 1-5; items: a new item, a changed price or a delete, admin "
        "token). The server's RSS read every "
        f"{result['rss_every_s']:g} s. Then SIGKILL, a restart on the same folders "
        f"({result['restart_s']:.1f} s to healthy), and every acknowledged write looked up."
    )
    lines.append("")
    lines.append("**Reading.** " + result["reading"])
    lines.append("")
    lines.append(
        "| window | requests | reads p50 / p99 ms | /search p99 ms | /recommend p99 ms | "
        "/events p99 ms | items p99 ms | errors | RSS MB |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")

    def ms(value: float | None) -> str:
        return "–" if value is None else f"{value:.1f}"

    for row in result["windows"]:
        count = sum(row[k]["requests"] for k in MIX)
        lines.append(
            f"| {row['from_s'] / 60:.1f}–{row['to_s'] / 60:.1f} min | {count:,} | "
            f"{ms(row['reads_p50_ms'])} / {ms(row['reads_p99_ms'])} | "
            f"{ms(row['search']['p99_ms'])} | {ms(row['recommend']['p99_ms'])} | "
            f"{ms(row['events']['p99_ms'])} | {ms(row['items']['p99_ms'])} | {row['errors']} | "
            f"{ms(row['rss_mb'])} |"
        )
    lines.append("")
    lines.append("| after kill -9 and restart | |")
    lines.append("|---|---:|")
    for key, label in (
        ("events_sent", "events sent"),
        ("events_acknowledged", "events acknowledged (2xx)"),
        ("events_on_disk", "events in events.csv"),
        ("events_logged_after_restart", "events the restarted service counts"),
        ("acknowledged_events_missing", "acknowledged events missing"),
        ("catalog_changes_acknowledged", "catalog changes acknowledged"),
        ("items_checked", "items looked up"),
        ("acknowledged_changes_lost", "acknowledged changes not held"),
    ):
        lines.append(f"| {label} | {after[key]:,} |")
    lines.append("")
    (RESULTS / "soak.md").write_text("\n".join(lines))


# ----------------------------------------------------------------------------- main


def home_depot_queries(n: int = 2_000, seed: int = 0) -> list[str]:
    """`n` of Home Depot's customer queries (the built-in dataset), shuffled."""
    from paretorec.data.datasets import BuiltinDataset, load_builtin

    queries = load_builtin(BuiltinDataset.HOMEDEPOT).queries
    assert queries is not None
    texts = sorted(set(queries.frame["text"].to_list()))
    random.Random(seed).shuffle(texts)
    return texts[:n]


def server_health(server: Server) -> dict[str, Any]:
    import httpx

    health: dict[str, Any] = httpx.get(f"{server.base}/healthz", timeout=30).json()
    return health


def catalog_ids(server: Server, queries: list[str]) -> list[str]:
    """Item ids the service holds (from the answers of a few searches): the events' and
    the sessions' items."""
    import httpx

    ids: set[str] = set()
    with httpx.Client(base_url=server.base, timeout=60) as client:
        for query in queries[:60]:
            found = client.post("/search", json={"query": query, "k": 20})
            found.raise_for_status()
            ids.update(i["item_id"] for i in found.json()["items"])
    return sorted(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=40.0, help="requests a second, all kinds")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per report row")
    parser.add_argument("--rss-every", type=float, default=5.0, help="seconds between RSS reads")
    parser.add_argument(
        "--models", type=Path, default=None, help="default: bench_serve's Home Depot models"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--render", action="store_true", help="rewrite soak.md from soak.json, run nothing"
    )
    args = parser.parse_args()
    if args.render:
        saved = json.loads((RESULTS / "soak.json").read_text())
        saved["reading"] = reading(saved)
        write_report(saved)
        return
    models = args.models if args.models is not None else bench_serve.homedepot_models()
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    events = WORK / "events"
    queries = home_depot_queries(seed=args.seed)
    load_start = os.getloadavg()[0]
    log(f"starting the service over {models}")
    server = start_server(models, events)
    ledger = Ledger()
    try:
        ids = catalog_ids(server, queries)
        health = server_health(server)
        log(f"  up in {server.startup_s:.1f} s; {len(ids):,} catalog ids for events and sessions")
        seconds = args.minutes * 60.0
        asyncio.run(
            drive(server, ledger, rate=args.rate, seconds=seconds, seed=args.seed, queries=queries,
                  ids=ids, rss_every=args.rss_every, window=args.window)
        )  # fmt: skip
    finally:
        server.kill()  # kill -9: the restart must find every acknowledged write
    log("killed with SIGKILL; restarting on the same folders")
    server = start_server(models, events)
    try:
        after = check_after_restart(server, events, ledger)
    finally:
        server.stop()
    log(f"  {after}")
    statuses = [(code, count) for kind in MIX for code, count in ledger.statuses[kind].items()]
    result: dict[str, Any] = {
        "command": "python benchmarks/bench_soak.py " + " ".join(sys.argv[1:]),
        "models": models.name,
        "items": health["items"],
        "stages": {k: v["version"] if v["loaded"] else None for k, v in health["stages"].items()},
        "rate": args.rate,
        "minutes": args.minutes,
        "mix": MIX,
        "rss_every_s": args.rss_every,
        "window_s": args.window,
        "restart_s": server.startup_s,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg()[0],
        "requests": sum(len(v) for v in ledger.latencies.values()) + ledger.transport_errors,
        "errors": {
            "5xx": sum(c for code, c in statuses if code >= 500),
            "4xx": sum(c for code, c in statuses if 400 <= code < 500),
            "transport": ledger.transport_errors,
            "first": ledger.errors_at[:5],
        },
        "windows": windows(ledger, seconds, args.window),
        "memory": memory(ledger, args.window),
        "after_restart": after,
    }
    result["reading"] = reading(result)
    write_report(result)
    log(result["reading"])
    log(f"wrote {RESULTS / 'soak.md'} and soak.json")


if __name__ == "__main__":
    main()
