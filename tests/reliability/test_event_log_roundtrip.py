"""What the service writes is what training reads: any event the API accepts (ids and
texts with CR/LF, quotes, commas, control characters, any unicode) comes back the same
from its event log through `data validate` (hypothesis)."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paretorec.data.validate import validate_dataset
from paretorec.serve.event_log import EVENTS_FILE
from tests.serve.conftest import AUTH, AppFactory

# Ids as the API keeps them: stripped, 1..128 characters, no '/' (it names /items/{id}).
ODD = st.sampled_from(
    ["\r", "\n", "\r\n", '"', ",", "\x00", "\x1f", "\x7f", "\x85", "\u2028", "é", "😀", " "]
)
IDS = (
    # lone surrogates (category Cs) cannot be sent as UTF-8 JSON by any client
    st.lists(
        st.one_of(ODD, st.characters(blacklist_characters="/", blacklist_categories=("Cs",))),
        min_size=1,
        max_size=12,
    )
    .map("".join)
    .map(str.strip)
    .filter(lambda s: 0 < len(s) <= 128 and "/" not in s)
)
EVENTS = st.lists(
    st.fixed_dictionaries(
        {
            "user_id": IDS,
            "item": IDS,
            "event": st.sampled_from(["click", "cart", "purchase", "impression"]),
        },
        optional={"session_id": IDS, "query_id": IDS, "position": st.integers(1, 10_000)},
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(batch=EVENTS)
def test_any_accepted_event_reads_back_the_same(
    make_client: AppFactory, tmp_path: Path, batch: list[dict[str, object]]
) -> None:
    log = tmp_path / "log"
    shutil.rmtree(log, ignore_errors=True)
    client = make_client(events=log)
    items = sorted({str(e["item"]) for e in batch})
    put = client.put(
        "/items", json={"items": [{"item_id": i, "title": "odd"} for i in items]}, headers=AUTH
    )
    assert put.status_code == 200, put.text
    events = [{**{k: v for k, v in e.items() if k != "item"}, "item_id": e["item"]} for e in batch]
    posted = client.post("/events", json={"events": events})
    assert posted.status_code == 200, posted.text

    folder = tmp_path / "dataset"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    pl.DataFrame({"item_id": items, "title": ["odd"] * len(items)}).write_parquet(
        folder / "items.parquet"
    )
    shutil.copy(log / EVENTS_FILE, folder / EVENTS_FILE)
    result = validate_dataset(folder)
    assert result.report.ok, result.report.summary()
    frame = result.dataset.events.frame  # type: ignore[union-attr]
    order = sorted(range(len(events)), key=lambda n: n)  # one batch, one timestamp: kept in order
    for column in ("user_id", "item_id", "session_id", "query_id", "position"):
        expected = [events[n].get(column) for n in order]
        assert frame[column].to_list() == expected, column
