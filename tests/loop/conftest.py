"""The service fixtures (a tiny shop's registry, a client factory), shared with tests/serve."""

from tests.serve.conftest import full_models_dir, make_client, models_dir  # noqa: F401
