"""An INDEX model version: the hybrid retriever, its catalog and its query encoder.

Layout of ``<models>/index/<version>/``::

    retriever/      HybridRetriever.save (BM25, dense vectors / HNSW graph, fusion)
    items.parquet   the catalog it was built from (what responses show, what rankers read)
    encoder.json    the query encoder's reference (`paretorec.serve.encoders`)
    onnx/           optional: an ONNX export the reference points at
    second_stage/   optional: the learned re-ranker of search (`paretorec.serve.second_stage`)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from paretorec.encode import TextEncoder, encode_items_cached, item_text
from paretorec.retrieve import DenseIndex, HybridRetriever, LexicalIndex, ScoreFusion
from paretorec.retrieve.fusion import Fusion
from paretorec.retrieve.lexical import item_texts
from paretorec.retrieve.second_stage import (
    SECOND_STAGE_FOLDER,
    SecondStage,
    SecondStageConfig,
    fit_second_stage,
)
from paretorec.retrieve.spelling import SpellCorrector
from paretorec.serve.encoders import ONNX_FOLDER, EncoderKind, EncoderRef, copy_onnx_export
from paretorec.serve.registry import Manifest, ModelKind, ModelRegistry
from paretorec.types import Catalog

__all__ = [
    "ENCODER_FILE",
    "ITEMS_FILE",
    "RETRIEVER_FOLDER",
    "IndexBundle",
    "SecondStageData",
    "build_index_version",
    "read_index",
    "write_index_version",
]

RETRIEVER_FOLDER = "retriever"
ITEMS_FILE = "items.parquet"
ENCODER_FILE = "encoder.json"
VECTORS_FILE = "item_vectors.npy"


@dataclass(frozen=True)
class SecondStageData:
    """What the second stage learns from: judgments with a ``split`` column (query_id,
    item_id, grade, split; only train and valid rows are read) and query texts by id."""

    judgments: pl.DataFrame
    query_texts: Mapping[str, str]
    seed: int = 0
    config: SecondStageConfig | None = None  # default: `SecondStageConfig(seed=seed)`


@dataclass(frozen=True)
class IndexBundle:
    """A loaded index version."""

    retriever: HybridRetriever
    catalog: Catalog
    vectors: NDArray[np.float32]  # row i: the catalog's row i (read-only memory map)
    encoder: EncoderRef
    folder: Path


def write_index_version(
    registry: ModelRegistry,
    *,
    retriever: HybridRetriever,
    catalog: Catalog,
    vectors: NDArray[np.float32],
    encoder: EncoderRef,
    onnx_export: Path | None = None,
    data: Path | None = None,
    config: dict[str, Any] | None = None,
    second_stage: SecondStage | None = None,
    metrics: Mapping[str, float] | None = None,
) -> Manifest:
    """Stage and publish a new INDEX version; with `onnx_export`, copy it in and point the
    encoder reference at the copy (queries then run on onnxruntime); with `second_stage`,
    save it in the version's ``second_stage/`` (the service re-ranks with it)."""
    if len(retriever) != len(catalog):
        raise ValueError(f"the retriever holds {len(retriever)} items, the catalog {len(catalog)}")
    if np.shape(vectors)[0] != len(catalog):
        raise ValueError(f"{np.shape(vectors)[0]} item vectors for {len(catalog)} items")
    with registry.stage(ModelKind.INDEX, data=data, config=config or {}) as staged:
        retriever.save(staged.folder / RETRIEVER_FOLDER)
        catalog.frame.write_parquet(staged.folder / ITEMS_FILE)
        np.save(
            staged.folder / VECTORS_FILE, np.asarray(vectors, dtype=np.float32), allow_pickle=False
        )
        reference = encoder
        if onnx_export is not None:
            copy_onnx_export(onnx_export, staged.folder)
            reference = EncoderRef(EncoderKind.ONNX, ONNX_FOLDER, encoder.item_vectors_by)
        (staged.folder / ENCODER_FILE).write_text(json.dumps(reference.to_dict(), indent=2))
        if second_stage is not None:
            second_stage.save(staged.folder / SECOND_STAGE_FOLDER)
        staged.metrics["items"] = float(len(catalog))
        staged.metrics.update(metrics or {})
    assert staged.manifest is not None
    return staged.manifest


def build_index_version(
    registry: ModelRegistry,
    catalog: Catalog,
    encoder: TextEncoder,
    *,
    cache: Path,
    reference: EncoderRef,
    fusion: Fusion | None = None,
    onnx_export: Path | None = None,
    data: Path | None = None,
    on_progress: Any = None,
    second_stage: SecondStageData | None = None,
) -> Manifest:
    """Encode the catalog (through the embedding cache), build BM25 + dense, publish; with
    `second_stage`, first train the learned re-ranker on its train queries (early-stopped
    on its valid ones, carved from train when it has none; test rows never read)."""
    if len(catalog) == 0:
        raise ValueError("the catalog is empty: nothing to index")
    vectors = encode_items_cached(encoder, item_text(catalog), cache, on_progress=on_progress)
    lexical = LexicalIndex.build(catalog)
    retriever = HybridRetriever(
        lexical,
        DenseIndex.build(vectors, catalog),
        fusion=fusion or ScoreFusion(weight=0.7),
        # BM25 searches queries spell-corrected towards the catalog's words (saved with it)
        speller=SpellCorrector.build(item_texts(catalog, lexical.fields)),
    )
    config: dict[str, Any] = {
        "encoder": encoder.name,
        "items": len(catalog),
        "fusion": type(retriever.fusion).__name__,
        "lexical_weight": retriever.fusion.weight,
    }
    stage, metrics = None, {}
    if second_stage is not None:
        fitted = fit_second_stage(
            catalog,
            vectors,
            encoder,
            retriever,
            retriever.fusion,
            second_stage.judgments,
            second_stage.query_texts,
            config=second_stage.config or SecondStageConfig(seed=second_stage.seed),
            seed=second_stage.seed,
        )
        stage = fitted.stage
        config["second_stage"] = {
            "depth": stage.config.depth,
            "train_queries": fitted.report.n_train_queries,
            "valid_queries": f"{fitted.report.n_valid_queries} {fitted.valid_source}",
            "best_round": fitted.report.best_round,
        }
        metrics["second_stage_valid_ndcg_at_10"] = fitted.report.valid_ndcg_at_10
    return write_index_version(
        registry,
        retriever=retriever,
        catalog=catalog,
        vectors=vectors,
        encoder=reference,
        onnx_export=onnx_export,
        data=data,
        config=config,
        second_stage=stage,
        metrics=metrics,
    )


def read_index(folder: Path) -> IndexBundle:
    """Load an INDEX version folder (already verified by the registry)."""
    retriever = HybridRetriever.load(folder / RETRIEVER_FOLDER)
    catalog = Catalog(pl.read_parquet(folder / ITEMS_FILE))
    encoder = EncoderRef.from_dict(json.loads((folder / ENCODER_FILE).read_text()))
    vectors = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
    if len(retriever) != len(catalog) or vectors.shape[0] != len(catalog):
        raise ValueError(
            f"{folder}: the retriever holds {len(retriever)} items, items.parquet "
            f"{len(catalog)}, {VECTORS_FILE} {vectors.shape[0]}"
        )
    return IndexBundle(retriever, catalog, vectors, encoder, folder)
