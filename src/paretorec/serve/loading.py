"""Assemble a `ServingPipeline` from a model registry's promoted (or latest) versions.

The INDEX version is required; the ranker, policy and recommender are loaded when the
registry holds a version of them, through `paretorec.serve.adapters` (the stages of `paretorec.stages`), and left out (the
service says so) when it does not. A version that exists but cannot be loaded is an
error: the service does not silently serve less than it was given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from paretorec.encode import TextEncoder
from paretorec.preference import Preference
from paretorec.serve import adapters
from paretorec.serve.catalog import ItemStore, catalog_from_records
from paretorec.serve.changes import ChangeJournal
from paretorec.serve.encoders import open_encoder
from paretorec.serve.explorer import read_default_weights
from paretorec.serve.index_version import IndexBundle, read_index
from paretorec.serve.pipeline import DEFAULT_DEPTH, ServingPipeline
from paretorec.serve.registry import Manifest, ModelKind, ModelRegistry, RegistryError
from paretorec.serve.schemas import MAX_K
from paretorec.serve.second_stage import (
    DEFAULT_SECOND_STAGE_DEPTH,
    ServedSecondStage,
    load_second_stage,
)
from paretorec.stages import Stage

__all__ = ["LoadOptions", "apply_journal", "load_pipeline", "reloader"]

_STAGES = {
    ModelKind.RANKER: Stage.RANKER,
    ModelKind.POLICY: Stage.POLICY,
    ModelKind.RECOMMENDER: Stage.RECOMMENDER,
    ModelKind.INDEX: Stage.INDEX,
}


@dataclass(frozen=True)
class LoadOptions:
    """How to assemble: `encoder` overrides the index's query encoder (tests, benchmarks);
    `depth` is how many candidates the ranker sees; `verify` checks file hashes;
    `second_stage_depth` is how many items each first-stage run gives the index version's
    second stage, when it has one (`paretorec.serve.second_stage`; None: the depth it was
    trained at)."""

    encoder: TextEncoder | None = None
    depth: int = DEFAULT_DEPTH
    verify: bool = True
    encoder_threads: int | None = None
    second_stage_depth: int | None = DEFAULT_SECOND_STAGE_DEPTH


def _version(
    registry: ModelRegistry, kind: ModelKind, verify: bool
) -> tuple[Path, Manifest] | None:
    if not registry.versions(kind):
        return None
    return registry.load(kind, verify=verify)


def _index(
    registry: ModelRegistry, options: LoadOptions, version: str | None = None
) -> tuple[IndexBundle, Manifest, TextEncoder, ServedSecondStage | None]:
    found = (
        registry.load(ModelKind.INDEX, version, verify=options.verify)
        if version is not None
        else _version(registry, ModelKind.INDEX, options.verify)
    )
    if found is None:
        raise RegistryError(
            f"no index version in {registry.root}: build one with "
            f"`paretorec serve build-index --data DIR --models {registry.root}`"
        )
    folder, manifest = found
    bundle = read_index(folder)
    second = load_second_stage(
        folder,
        bundle.retriever,
        bundle.catalog,
        bundle.vectors,
        encoder=bundle.encoder.item_vectors_by,
        depth=options.second_stage_depth,
        asked=max(MAX_K, options.depth),  # a request's candidates: max(its k, the depth)
    )
    encoder = options.encoder or open_encoder(
        bundle.encoder, folder, num_threads=options.encoder_threads
    )
    return bundle, manifest, encoder, second


def load_pipeline(registry: ModelRegistry, options: LoadOptions | None = None) -> ServingPipeline:
    """The pipeline of the registry's promoted versions (the latest where none is promoted)."""
    options = options or LoadOptions()
    bundle, manifest, encoder, second = _index(registry, options)
    pipeline = ServingPipeline(
        retriever=bundle.retriever,
        store=ItemStore(bundle.catalog, bundle.vectors),
        encoder=encoder,
        versions={Stage.INDEX: manifest.version},
        depth=options.depth,
        second_stage=second,
    )
    for kind in (ModelKind.RECOMMENDER, ModelKind.RANKER, ModelKind.POLICY):
        _attach(pipeline, registry, kind, options)
    chosen = read_default_weights(registry.root)
    names = pipeline.objectives()
    if chosen is not None and set(chosen) <= set(names) and sum(chosen.values()) > 0:
        pipeline.preferred = Preference.of(names, chosen)
    return pipeline


def _attach(
    pipeline: ServingPipeline, registry: ModelRegistry, kind: ModelKind, options: LoadOptions
) -> None:
    found = _version(registry, kind, options.verify)
    if found is None:
        pipeline.versions[_STAGES[kind]] = None
        return
    folder, manifest = found
    context = adapters.StageContext(
        store=pipeline.store, retriever=pipeline.retriever, encoder=pipeline.encoder
    )
    swap = _prepared(kind, folder, manifest, context)
    with pipeline.lock.writing():
        swap(pipeline)


Swap = Callable[[ServingPipeline], None]


def _prepared(
    kind: ModelKind, folder: Path, manifest: Manifest, context: adapters.StageContext
) -> Swap:
    """Load a scoring stage's version; what puts it into a pipeline (under its write
    lock) is returned, so that a version that fails to load changes nothing."""
    stage = _STAGES[kind]
    if kind is ModelKind.RANKER:
        ranker = adapters.load_ranker(folder, manifest, context)
        weights = adapters.default_weights(manifest)

        def swap_ranker(pipeline: ServingPipeline) -> None:
            pipeline.ranker = ranker
            pipeline.default_weights = weights
            pipeline.versions[stage] = manifest.version

        return swap_ranker
    if kind is ModelKind.POLICY:
        policy = adapters.load_policy(folder, manifest, context)

        def swap_policy(pipeline: ServingPipeline) -> None:
            pipeline.policy = policy
            pipeline.versions[stage] = manifest.version

        return swap_policy
    recommender = adapters.load_recommender(folder, manifest, context)

    def swap_recommender(pipeline: ServingPipeline) -> None:
        pipeline.recommender = recommender
        pipeline.versions[stage] = manifest.version

    return swap_recommender


def apply_journal(pipeline: ServingPipeline, journal: ChangeJournal) -> int:
    """Replay the journal's catalog changes onto `pipeline` (puts are upserts; a removal
    of an item the index no longer holds is skipped); how many changes were replayed."""
    count = 0
    for change in journal.replay():
        if change.removed is not None:
            if change.removed in pipeline.store:
                pipeline.remove_item(change.removed)
        else:
            pipeline.upsert_items(catalog_from_records(list(change.put)))
        count += 1
    return count


def reloader(
    pipeline: ServingPipeline,
    registry: ModelRegistry,
    options: LoadOptions | None = None,
    *,
    journal: ChangeJournal | None = None,
) -> Callable[[ModelKind, str], None]:
    """What `/admin/promote` and `/admin/rollback` call before they write the registry:
    load `version` of a scoring stage and put it into the running pipeline, all or
    nothing (an index is swapped whole with the ranker and policy rebuilt on its store,
    the journal's catalog changes replayed onto it). A version that fails to load raises
    and leaves the pipeline serving what it served."""
    options = options or LoadOptions()

    def reload(kind: ModelKind, version: str) -> None:
        if kind is ModelKind.ENCODER:
            return  # encoders are referenced by index versions, not served on their own
        if kind is not ModelKind.INDEX:
            folder, manifest = registry.load(kind, version, verify=options.verify)
            context = adapters.StageContext(
                store=pipeline.store, retriever=pipeline.retriever, encoder=pipeline.encoder
            )
            swap = _prepared(kind, folder, manifest, context)
            with pipeline.lock.writing():
                swap(pipeline)
            return
        bundle, manifest, encoder, second = _index(
            registry,
            LoadOptions(
                encoder=options.encoder or pipeline.encoder,
                depth=options.depth,
                verify=options.verify,
                second_stage_depth=options.second_stage_depth,
            ),
            version,
        )
        store = ItemStore(bundle.catalog, bundle.vectors)
        context = adapters.StageContext(store=store, retriever=bundle.retriever, encoder=encoder)
        swaps = [  # the ranker and policy read item-side arrays from the new store
            _prepared(
                stage,
                *registry.load(stage, pipeline.versions[_STAGES[stage]], verify=options.verify),
                context,
            )
            for stage, loaded in (
                (ModelKind.RANKER, pipeline.ranker),
                (ModelKind.POLICY, pipeline.policy),
            )
            if loaded is not None and pipeline.versions.get(_STAGES[stage]) is not None
        ]
        with pipeline.lock.writing():
            pipeline.retriever = bundle.retriever
            pipeline.second_stage = second
            pipeline.store = store
            pipeline.encoder = encoder
            pipeline.versions[Stage.INDEX] = manifest.version
            for swap in swaps:
                swap(pipeline)
        if journal is not None:
            apply_journal(pipeline, journal)

    return reload
