"""The floor of a search request: only what no service can skip, as a minimal endpoint.

`POST /floor {"query": ..., "k": ...}` encodes the query with the index version's own
query encoder (ONNX int8, one thread, behind the same query-vector cache as the service)
and returns the dense top-k item ids over the same item vectors. Served by uvicorn like
the service, so service / floor is the cost of everything else a request does (lexical
retrieval and fusion, the ranker, the policy, the explanations, the larger answer).

    python benchmarks/serve_floor.py --models DIR --port 8001
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from paretorec.serve import ModelKind, ModelRegistry
from paretorec.serve.encoders import open_encoder
from paretorec.serve.index_version import read_index
from paretorec.serve.query_vectors import QueryVectors
from paretorec.serve.threads import limit_compute_threads


class FloorRequest(BaseModel):
    query: str
    k: int = 10


def build_app(models: Path) -> FastAPI:
    folder, _ = ModelRegistry(models).load(ModelKind.INDEX, verify=False)
    bundle = read_index(folder)
    vectors = QueryVectors(open_encoder(bundle.encoder, folder, num_threads=1))
    dense = bundle.retriever.dense
    app = FastAPI()

    @app.post("/floor")
    def floor(body: FloorRequest) -> dict[str, Any]:
        found = dense.search(vectors(body.query), k=body.k)
        return {"items": list(found.item_ids)}

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = build_app(args.models)
    limit_compute_threads(1)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
