"""An open-loop HTTP/1.1 load generator on asyncio streams, light enough to share 2 cores.

Request i of a run is due at ``start + i / rate`` whatever happened to the earlier ones
(open loop: a slow server does not slow the arrivals down), and its latency is counted
from that due time, so time spent waiting for a free connection counts too (no
coordinated omission). Connections are kept alive and reused; a new one opens only when
every open one is busy. The process pins itself to one core (`--core`).

    python benchmarks/loadgen.py --port 8000 --path /search --bodies bodies.json \
        --rate 200 --duration 10 [--core 1]

prints one JSON object: target and achieved rate, p50 / p90 / p99 / max latency in ms,
requests, failures (non-200 answers, errors and time-outs).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def request_bytes(host: str, port: int, path: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: keep-alive\r\n\r\n"
    )
    return head.encode() + payload


async def exchange(connection: Connection, raw: bytes) -> int:
    """Send one request, read its whole answer; the status code."""
    reader, writer = connection
    writer.write(raw)
    status = int((await reader.readline()).split(b" ", 2)[1])
    length = 0
    chunked = False
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        elif name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while (size := int((await reader.readline()).strip(), 16)) > 0:
            await reader.readexactly(size + 2)
        await reader.readline()
    elif length:
        await reader.readexactly(length)
    return status


async def run(
    host: str, port: int, raws: list[bytes], rate: float, duration: float, timeout: float
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    idle: list[Connection] = []
    latencies: list[float] = []
    failures = 0
    total = max(1, int(rate * duration))

    async def one(i: int, due: float) -> None:
        nonlocal failures
        raw = raws[i % len(raws)]
        for attempt in (0, 1):
            # A kept-alive connection the server closed while idle fails at once: retry
            # once on a new one, as HTTP clients do (a fresh connection is not retried).
            reused = bool(idle) and attempt == 0
            try:
                connection = idle.pop() if reused else await asyncio.open_connection(host, port)
            except OSError:
                failures += 1
                return
            try:
                status = await asyncio.wait_for(exchange(connection, raw), timeout)
            except TimeoutError:  # an OSError too: caught first, never retried
                connection[1].close()
                failures += 1
                return
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                connection[1].close()  # refused, reset, or closed before a whole answer
                if reused:
                    continue
                failures += 1
                return
            latencies.append(loop.time() - due)
            if status != 200:
                failures += 1
            idle.append(connection)
            return

    start = loop.time() + 0.05
    tasks = []
    for i in range(total):
        due = start + i / rate
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    elapsed = loop.time() - start
    for _, writer in idle:
        writer.close()
    ms = np.asarray(latencies) * 1000.0 if latencies else np.asarray([np.nan])
    return {
        "target_rps": rate,
        "achieved_rps": len(latencies) / elapsed,
        "requests": float(total),
        "failures": float(failures),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--bodies", type=Path, required=True, help="JSON list of request bodies")
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--core", type=int, default=None, help="pin to this CPU core")
    args = parser.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("load tests only target this machine (127.0.0.1)")
    if args.core is not None:
        os.sched_setaffinity(0, {args.core})
    bodies = json.loads(args.bodies.read_text())
    raws = [request_bytes(args.host, args.port, args.path, b) for b in bodies]
    result = asyncio.run(run(args.host, args.port, raws, args.rate, args.duration, args.timeout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
