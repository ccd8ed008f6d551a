"""Online counts survive a restart: the events logged since the recommender was trained
are replayed into it when the service starts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from paretorec.cli._serve import _replay_online_counts
from paretorec.loop.replay import interest_since
from paretorec.serve.changes import ChangeJournal
from paretorec.serve.loading import LoadOptions, apply_journal, load_pipeline
from paretorec.serve.pipeline import ServingPipeline
from paretorec.serve.registry import ModelRegistry
from tests.serve.conftest import AUTH, AppFactory, HashingEncoder

NEW = {"item_id": "n1", "title": "Solar garden light 6 pack", "price": 24.0,
       "category": "Lighting > Outdoor", "brand": "Sunlite", "stock": 9, "seller_id": "s4"}  # fmt: skip
ASKED = {"session_items": ["g1"], "k": 12}


def _restarted(models: Path, events: Path, *, replay: bool) -> tuple[ServingPipeline, int]:
    registry = ModelRegistry(models)
    pipeline = load_pipeline(registry, LoadOptions(encoder=HashingEncoder()))
    journal = ChangeJournal(events)
    apply_journal(pipeline, journal)  # the catalog changes first, as `paretorec serve` does
    journal.close()
    counted = _replay_online_counts(pipeline, registry, events / "events.csv") if replay else 0
    return pipeline, counted


def _recommended(client: object) -> list[str]:
    response = client.post("/recommend", json=ASKED)  # type: ignore[attr-defined]
    return [i["item_id"] for i in response.json()["items"]]


def test_online_co_views_survive_a_restart(
    make_client: AppFactory, full_models_dir: Path, tmp_path: Path
) -> None:
    events = tmp_path / "events"
    client = make_client(models=full_models_dir, events=events)
    assert client.put("/items", json={"items": [NEW]}, headers=AUTH).status_code == 200
    clicks = [
        {"user_id": f"shopper{n}", "item_id": item, "event": "click"}
        for n in range(3)
        for item in ("g1", "n1")
    ]
    impressions = [{"user_id": "x", "item_id": "n1", "event": "impression"}]
    assert client.post("/events", json={"events": clicks + impressions}).status_code == 200
    assert "n1" in _recommended(client)  # learned online

    forgetful, _ = _restarted(full_models_dir, events, replay=False)
    assert "n1" not in _recommended(make_client(pipeline=forgetful, events=events))

    restarted, counted = _restarted(full_models_dir, events, replay=True)
    assert counted == 6  # the clicks, not the impression
    assert "n1" in _recommended(make_client(pipeline=restarted, events=events))


def test_interest_since_reads_clicks_carts_purchases_after_the_cut(tmp_path: Path) -> None:
    log = tmp_path / "events.csv"
    log.write_text(
        "user_id,item_id,event,timestamp\n"
        "u1,a,click,2024-01-01T00:00:00+00:00\n"
        "u1,b,Purchase,2024-01-03T00:00:00+00:00\n"
        "u2,c,impression,2024-01-04T00:00:00+00:00\n"
        "u2,d,cart,2024-01-02T12:00:00+00:00\n"
    )
    since = datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert interest_since(log, since) == [("u2", "d", "cart"), ("u1", "b", "purchase")]
    assert len(interest_since(log, None)) == 3
    assert interest_since(tmp_path / "missing.csv", None) == []
