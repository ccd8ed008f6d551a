"""kill -9 under concurrent writes: every acknowledged write survives, nothing is torn.

`paretorec serve` runs as a real process on loopback over the tiny shop's ranker,
recommender and index (the hashing encoder in place of MiniLM: the one change, made
before the CLI starts). Threads post event batches and put, update and delete items
while the process is killed with SIGKILL at a random moment; it is restarted on the
same events folder (the event log and the catalog-change journal) and checked:

- every acknowledged event is in ``events.csv`` with the fields it was sent with, no
  row is unknown, duplicated or torn, a batch cut by the kill is a prefix of itself,
  and the service's own count is the file's;
- every acknowledged catalog change holds (the last acknowledged title of an item,
  or its absence after a delete), readable by id and by search; the one change in
  flight when the process died (at most one a thread) is applied whole or not at all.

Several rounds; the whole log then passes `data validate` as a training table.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import polars as pl
import pytest

from paretorec.data.validate import validate_dataset
from paretorec.serve.event_log import EVENTS_FILE
from tests.serve.conftest import ITEMS

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "kill9-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROUNDS = 3
SHOP_IDS = [row[0] for row in ITEMS]

# A preloaded interpreter that forks one `paretorec serve` process per start: each is a
# fresh process running the CLI, killed with SIGKILL, without paying Python's imports
# (seconds) again on every restart. The one change: the hashing encoder for queries (the
# index's reference names MiniLM, whose files a test should not need), made before fork.
ZYGOTE = """
import json, os, signal, sys
sys.path.insert(0, {root!r})
from tests.serve.conftest import HashingEncoder
import paretorec.serve.loading as loading
loading.open_encoder = lambda *args, **kwargs: HashingEncoder()
from paretorec.cli import app
import paretorec.loop.replay, paretorec.serve.app, uvicorn  # what `serve` imports late
signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the killed servers
print("ready", flush=True)
for line in sys.stdin:
    args, log = json.loads(line)
    pid = os.fork()
    if pid == 0:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        code = 1
        try:
            app(args, prog_name="paretorec")
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
        finally:
            os._exit(code)
    print(pid, flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class Launcher:
    """Starts `paretorec serve` processes over `models` and `events` (see `ZYGOTE`)."""

    def __init__(self, models: Path, events: Path, log: Path) -> None:
        self.models, self.events, self.log = models, events, log
        self.zygote = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE.format(root=str(ROOT))],
            env={**os.environ, "KILL9_TOKEN": TOKEN}, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self._answer() == "ready"

    def _answer(self) -> str:
        assert self.zygote.stdout is not None
        line = self.zygote.stdout.readline().strip()
        assert line, "the launcher died"
        return line

    def start(self) -> Server:
        port = _free_port()
        args = ["serve", "--models", str(self.models), "--events", str(self.events), "--port",
                str(port), "--token-env", "KILL9_TOKEN", "--drift-queries", "0"]  # fmt: skip
        assert self.zygote.stdin is not None
        self.zygote.stdin.write(json.dumps([args, str(self.log)]) + "\n")
        self.zygote.stdin.flush()
        server = Server(int(self._answer()), f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if not _alive(server.pid) or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(f"the server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def close(self) -> None:
        assert self.zygote.stdin is not None
        self.zygote.stdin.close()
        self.zygote.wait(timeout=30)


@dataclass
class Server:
    pid: int
    base: str

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, whatever was mid-write stays as it was."""
        if _alive(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while _alive(self.pid):
            assert time.monotonic() < deadline, f"process {self.pid} outlived SIGKILL"
            time.sleep(0.01)


@dataclass
class Batch:
    """Events sent in one POST, in order, keyed by their (unique) user_id."""

    events: list[dict[str, str]]
    acked: bool = False


@dataclass
class Change:
    """One catalog change: `states` maps each item it touches to its title after (None:
    removed)."""

    states: dict[str, str | None]
    acked: bool = False


@dataclass
class Shop:
    """What the writers sent, and what the service was seen to hold after each restart."""

    batches: list[Batch] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    held: dict[str, str | None] = field(default_factory=dict)  # item -> title seen, None: gone
    refused: list[str] = field(default_factory=list)  # any non-2xx answer: a defect
    lock: threading.Lock = field(default_factory=threading.Lock)


def _word(item: str) -> str:
    """A word of the item's title only it has (letters: the tokenizer splits digits off)."""
    return "kw" + item.translate(str.maketrans("0123456789", "abcdefghij"))


def _post_events(client: httpx.Client, shop: Shop, tag: str, stop: threading.Event) -> None:
    n = 0
    rng = random.Random(tag)
    while not stop.is_set():
        size = rng.randint(1, 20)
        events = [
            {"user_id": f"{tag}-{n}-{j}", "item_id": rng.choice(SHOP_IDS),
             "event": rng.choice(["impression", "click", "purchase"]), "session_id": f"{tag}-{n}"}
            for j in range(size)
        ]  # fmt: skip
        batch = Batch(events)
        with shop.lock:
            shop.batches.append(batch)
        try:
            response = client.post("/events", json={"events": events})
        except httpx.TransportError:
            return  # the server died with this batch in flight
        if response.is_success:
            batch.acked = True
        else:
            shop.refused.append(f"POST /events {response.status_code}: {response.text}")
            return
        n += 1


def _change_items(client: httpx.Client, shop: Shop, tag: str, stop: threading.Event) -> None:
    rng = random.Random(tag)
    mine = [i for i, title in shop.held.items() if title is not None and i.startswith(tag[0])]
    n = 0
    while not stop.is_set():
        roll = rng.random()
        if mine and roll < 0.25:
            item = mine.pop(rng.randrange(len(mine)))
            change = Change({item: None})
            method, url, body = "DELETE", f"/items/{item}", None
        else:
            if mine and roll < 0.5:
                ids = [rng.choice(mine)]
            else:
                ids = [f"{tag}x{n}x{j}" for j in range(rng.randint(1, 3))]
                mine.extend(ids)
            change = Change({i: f"Test widget {_word(i)} revision {n}" for i in ids})
            body = {"items": [{"item_id": i, "title": t, "category": f"Test > {_word(i)}"}
                              for i, t in change.states.items()]}  # fmt: skip
            method, url = "PUT", "/items"
        with shop.lock:
            shop.changes.append(change)
        try:
            response = client.request(method, url, json=body, headers=AUTH)
        except httpx.TransportError:
            return
        if response.is_success:
            change.acked = True
        else:
            shop.refused.append(f"{method} {url} {response.status_code}: {response.text}")
            return
        n += 1


def _write_until_killed(server: Server, shop: Shop, round_: int, rng: random.Random) -> None:
    stop = threading.Event()
    clients = [httpx.Client(base_url=server.base, timeout=10) for _ in range(4)]
    writers = [
        threading.Thread(target=_post_events, args=(clients[0], shop, f"e{round_}a", stop)),
        threading.Thread(target=_post_events, args=(clients[1], shop, f"e{round_}b", stop)),
        threading.Thread(target=_change_items, args=(clients[2], shop, f"p{round_}a", stop)),
        threading.Thread(target=_change_items, args=(clients[3], shop, f"q{round_}b", stop)),
    ]
    for writer in writers:
        writer.start()
    time.sleep(rng.uniform(0.5, 1.5))
    server.kill()  # mid-stream
    stop.set()
    for writer in writers:
        writer.join(timeout=30)
    for client in clients:
        client.close()


def _check_events(server: Server, events: Path, shop: Shop) -> None:
    with (events / EVENTS_FILE).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert all(None not in row and None not in row.values() for row in rows), "a ragged row"
    on_disk = {row["user_id"]: row for row in rows}
    assert len(on_disk) == len(rows), "an event written twice"
    sent = {e["user_id"]: e for batch in shop.batches for e in batch.events}
    assert set(on_disk) <= set(sent), f"unknown rows: {sorted(set(on_disk) - set(sent))[:5]}"
    for user, row in on_disk.items():
        assert {k: row[k] for k in ("item_id", "event", "session_id")} == {
            k: sent[user][k] for k in ("item_id", "event", "session_id")
        }, row
    for batch in shop.batches:
        kept = [e["user_id"] in on_disk for e in batch.events]
        if batch.acked:
            assert all(kept), f"acknowledged events lost: {batch.events[kept.index(False)]}"
        else:  # cut by the kill: whole rows, a prefix of the batch
            assert kept == sorted(kept, reverse=True), "a batch kept out of order"
    health = httpx.get(f"{server.base}/healthz", timeout=10).json()
    assert health["events_logged"] == len(rows)


def _check_items(server: Server, shop: Shop) -> None:
    """Each change acknowledged holds; the one in flight applied whole or not at all."""
    expected: dict[str, set[str | None]] = {i: {t} for i, t in shop.held.items()}
    for change in shop.changes:
        for item, title in change.states.items():
            before = expected.get(item, {None})
            expected[item] = {title} if change.acked else before | {title}
    with httpx.Client(base_url=server.base, timeout=10) as client:
        seen: dict[str, str | None] = {}
        for item in expected:
            got = client.get(f"/items/{item}")
            assert got.status_code in (200, 404), got.text
            seen[item] = got.json()["title"] if got.status_code == 200 else None
            assert seen[item] in expected[item], (item, seen[item], expected[item])
        for change in shop.changes:
            if not change.acked:
                applied = {seen[i] == t for i, t in change.states.items()}
                assert len(applied) == 1, f"a catalog change applied in part: {change.states}"
        touched = {i for change in shop.changes for i in change.states}
        for item in sorted(touched):  # earlier rounds' items were searched after theirs
            title = seen[item]
            # the ranker orders by clicks and revenue: its own category singles it out
            word = _word(item)
            query = {"query": word, "k": 5, "filters": {"category": f"Test > {word}"}}
            found = client.post("/search", json=query)
            assert found.status_code == 200, found.text
            ids = [i["item_id"] for i in found.json()["items"]]
            assert ids == ([item] if title is not None else []), (item, title, ids)
        health = client.get("/healthz").json()
    assert health["items"] == len(ITEMS) + sum(t is not None for t in seen.values())
    shop.held = seen
    shop.changes.clear()


@pytest.mark.slow
def test_acknowledged_writes_survive_kill_9(full_models_dir: Path, tmp_path: Path) -> None:
    events = tmp_path / "events"
    launcher = Launcher(full_models_dir, events, tmp_path / "server.log")
    rng = random.Random(17)
    shop = Shop()
    server = launcher.start()
    try:
        for round_ in range(ROUNDS):
            _write_until_killed(server, shop, round_, rng)
            assert not shop.refused, shop.refused[:3]  # every write is valid: all 2xx
            server = launcher.start()  # a new process on the same folders
            _check_events(server, events, shop)
            _check_items(server, shop)
    finally:
        server.kill()
        launcher.close()
    acked = sum(len(b.events) for b in shop.batches if b.acked)
    assert acked > 0 and any(shop.held.values()), "the writers wrote nothing before the kills"

    # what the service logged is a training table: every row read, none quarantined
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    pl.DataFrame({"item_id": SHOP_IDS, "title": [row[1] for row in ITEMS]}).write_csv(
        dataset / "items.csv"
    )
    shutil.copy(events / EVENTS_FILE, dataset / EVENTS_FILE)
    result = validate_dataset(dataset)
    assert result.report.ok, result.report.summary()
    assert result.dataset is not None and result.dataset.events is not None
    assert len(result.dataset.events.frame) >= acked
