"""The API fuzzed against its own OpenAPI document (schemathesis, fixed seed, bounded
examples per operation): no 5xx, every status code documented, every response matching
its declared schema, and every error in the one shape (`ErrorBody`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import seed as fixed_seed
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from paretorec.serve import ModelRegistry
from paretorec.serve.app import create_app
from paretorec.serve.changes import ChangeJournal
from paretorec.serve.errors import ErrorBody
from paretorec.serve.event_log import EventLog
from paretorec.serve.loading import LoadOptions, load_pipeline, reloader
from tests.serve.conftest import AUTH, TOKEN, HashingEncoder
from tests.serve.trained import add_policy


@pytest.fixture(scope="module")
def fuzzed_app(full_models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    """Every stage of the tiny shop (index, ranker, recommender, policy), in a copy of the
    registry (the fuzzer promotes and rolls back), with an event log and a journal."""
    root = tmp_path_factory.mktemp("fuzz") / "models"
    shutil.copytree(full_models_dir, root)
    registry = ModelRegistry(root)
    add_policy(registry)
    options = LoadOptions(encoder=HashingEncoder())
    pipeline = load_pipeline(registry, options)
    folder = root.parent / "events"
    journal = ChangeJournal(folder)
    return create_app(
        pipeline,
        admin_token=TOKEN,
        event_log=EventLog(folder),
        journal=journal,
        registry=registry,
        reload=reloader(pipeline, registry, options, journal=journal),
    )


MAX_EXAMPLES = 20  # per operation and generation mode: at most 40 requests an operation
# A JSON schema cannot say that weights name the served objectives and are not all 0, or
# that an item exists: such schema-valid requests get a 422 by design. Schema-invalid
# requests must still be refused (negative_data_rejection stays on).
EXCLUDED = [positive_data_acceptance]


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    headers = AUTH if "admin" in (operation.tags or []) else None

    @given(case=operation.as_strategy(generation_mode=mode))
    @fixed_seed(17)
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        if response.status_code >= 400:
            ErrorBody.model_validate(response.json())

    run()


@pytest.mark.slow
def test_the_api_keeps_its_openapi_promises(fuzzed_app: FastAPI) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode)
            except Unsatisfiable:
                continue  # nothing to break: no parameters, or any string is valid
            except (Exception, BaseExceptionGroup) as error:  # gather all, then report
                failures.append(f"{operation.label} ({mode.value}): {error}")
    assert not failures, "\n\n".join(failures)
