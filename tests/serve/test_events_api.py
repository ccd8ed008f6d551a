"""POST /events: the durable feedback log, read back by the data contract's loader."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import polars as pl
import pytest

from paretorec.data.validate import load_dataset
from paretorec.serve.event_log import COLUMNS, EVENTS_FILE, EventLog
from tests.serve.conftest import AUTH, AppFactory, shop_catalog

CLICK = {
    "user_id": "u1",
    "item_id": "d1",
    "event": "click",
    "session_id": "sess-1",
    "query_id": "q1",
    "position": 1,
    "propensity": 0.5,
    "value": 0,
}


def _read_back(events: Path, tmp_path: Path) -> pl.DataFrame:
    """The log as training reads it: a dataset folder with the catalog beside the log."""
    folder = tmp_path / "training"
    folder.mkdir(exist_ok=True)
    shop_catalog().frame.write_csv(folder / "items.csv")
    shutil.copy(events / EVENTS_FILE, folder / EVENTS_FILE)
    dataset = load_dataset(folder)
    assert dataset.events is not None
    return dataset.events.frame


def test_posted_events_survive_a_restart_and_load_as_a_dataset(
    make_client: AppFactory, tmp_path: Path
) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    first = client.post(
        "/events",
        json={
            "events": [
                CLICK,
                {
                    **CLICK,
                    "event": "Purchase",
                    "value": 129.0,
                    "timestamp": "2024-05-01T12:00:00+02:00",
                },
            ]
        },
    )
    assert first.status_code == 200, first.text
    assert first.json() == {"appended": 2, "total": 2}
    assert client.get("/healthz").json()["events_logged"] == 2
    assert "paretorec_events_logged_total 2.0" in client.get("/metrics").text

    restarted = make_client(events=events)  # a new process over the same folder
    assert restarted.get("/healthz").json()["events_logged"] == 2
    more = restarted.post(
        "/events", json={"events": [{"user_id": "u2", "item_id": "p1", "event": "impression"}]}
    )
    assert more.json() == {"appended": 1, "total": 3}

    frame = _read_back(events, tmp_path)
    assert frame.height == 3
    assert frame["event"].to_list() == ["click", "purchase", "impression"]
    assert frame["item_id"].to_list() == ["d1", "d1", "p1"]
    assert frame["value"].to_list()[:2] == [0.0, 129.0]
    assert frame["position"].to_list()[:2] == [1, 1]
    purchase_time = frame["timestamp"][1]
    assert purchase_time.isoformat().startswith("2024-05-01T10:00:00")  # stored in UTC
    assert frame["timestamp"][2] is not None  # stamped on arrival


def test_a_torn_last_line_is_cut_on_open(make_client: AppFactory, tmp_path: Path) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    client.post("/events", json={"events": [CLICK]})
    with (events / EVENTS_FILE).open("a") as handle:
        handle.write("u9,d2,cli")  # a crash in the middle of an unacknowledged write
    restarted = make_client(events=events)
    assert restarted.get("/healthz").json()["events_logged"] == 1
    restarted.post("/events", json={"events": [{**CLICK, "user_id": "u3"}]})
    frame = _read_back(events, tmp_path)
    assert frame["user_id"].to_list() == ["u1", "u3"]


def test_bad_events_are_refused_and_nothing_is_written(
    make_client: AppFactory, tmp_path: Path
) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    for batch in (
        [{**CLICK, "event": "hover"}],
        [{**CLICK, "propensity": 1.5}],
        [{**CLICK, "position": 0}],
        [{**CLICK, "item_id": "nope"}],
        [{**CLICK, "user_id": ""}],
        [{**CLICK, "timestamp": "soon"}],
        [CLICK, {**CLICK, "extra": 1}],
        [],
    ):
        response = client.post("/events", json={"events": batch})
        assert response.status_code == 422, (batch, response.text)
        assert response.json()["error"]
    assert (
        "nope"
        in client.post("/events", json={"events": [{**CLICK, "item_id": "nope"}]}).json()["error"]
    )
    assert client.post("/events", json={"events": [CLICK] * 1001}).status_code == 422
    assert (events / EVENTS_FILE).read_text() == ",".join(COLUMNS) + "\n"


def test_a_foreign_file_is_not_taken_for_the_log(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    (folder / EVENTS_FILE).write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="header"):
        EventLog(folder)


# Ids the API takes as they are (inner characters are kept): carriage returns, newlines,
# other control characters, quotes and commas.
ODD_IDS = ("a\rb", "c\nd", "e\r\nf", 'say "hi", ok', "tab\tbell\x07", "unit\x1fsep", "g\x00h")


def test_ids_with_control_characters_read_back_the_same(
    make_client: AppFactory, tmp_path: Path
) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    items = [{"item_id": i, "title": f"Odd thing {n}"} for n, i in enumerate(ODD_IDS)]
    assert client.put("/items", json={"items": items}, headers=AUTH).status_code == 200
    batch = [
        {**CLICK, "user_id": f"u{i}", "item_id": i, "session_id": i, "query_id": i} for i in ODD_IDS
    ]
    posted = client.post("/events", json={"events": batch})
    assert posted.status_code == 200, posted.text

    with (events / EVENTS_FILE).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["user_id"] for r in rows] == [f"u{i}" for i in ODD_IDS]
    assert [r["item_id"] for r in rows] == list(ODD_IDS)
    assert [r["session_id"] for r in rows] == list(ODD_IDS)

    restarted = make_client(events=events)
    assert restarted.get("/healthz").json()["events_logged"] == len(ODD_IDS)
    more = restarted.post("/events", json={"events": [{**batch[0], "event": "purchase"}]})
    assert more.json() == {"appended": 1, "total": len(ODD_IDS) + 1}

    folder = tmp_path / "training"
    folder.mkdir()
    catalog = shop_catalog().frame
    pl.concat(
        [catalog, pl.DataFrame({"item_id": list(ODD_IDS), "title": ["odd"] * len(ODD_IDS)})],
        how="diagonal",
    ).write_parquet(folder / "items.parquet")
    shutil.copy(events / EVENTS_FILE, folder / EVENTS_FILE)
    frame = load_dataset(folder).events.frame  # type: ignore[union-attr]
    assert frame["user_id"].to_list() == [f"u{i}" for i in ODD_IDS] + [f"u{ODD_IDS[0]}"]
    assert frame["item_id"].to_list() == [*ODD_IDS, ODD_IDS[0]]
    assert frame["query_id"].to_list() == [*ODD_IDS, ODD_IDS[0]]
    assert frame["event"].to_list() == ["click"] * len(ODD_IDS) + ["purchase"]


def test_a_torn_row_with_a_quoted_newline_is_cut_on_open(
    make_client: AppFactory, tmp_path: Path
) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    client.post("/events", json={"events": [CLICK]})
    with (events / EVENTS_FILE).open("a", encoding="utf-8", newline="") as handle:
        handle.write('"u9\n')  # cut inside a quoted field, just after its newline
    restarted = make_client(events=events)
    assert restarted.get("/healthz").json()["events_logged"] == 1
    restarted.post("/events", json={"events": [{**CLICK, "user_id": "u3"}]})
    assert _read_back(events, tmp_path)["user_id"].to_list() == ["u1", "u3"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"position": 10**30}, "position"),
        ({"position": 10_001}, "position"),
        ({"position": "3"}, "position"),
        ({"position": True}, "position"),
        ({"timestamp": "9999-12-31T23:59:59-01:00"}, "timestamp"),  # year 10000 in UTC
        ({"timestamp": "0001-01-01T00:30:00+01:00"}, "timestamp"),  # year 0 in UTC
        ({"timestamp": 10**20}, "timestamp"),
        ({"timestamp": 1e300}, "timestamp"),
        ({"timestamp": -(10**20)}, "timestamp"),
        ({"timestamp": "99999-01-01T00:00:00"}, "timestamp"),
    ],
)
def test_out_of_range_events_get_422_and_nothing_is_written(
    make_client: AppFactory, tmp_path: Path, change: dict[str, object], says: str
) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    response = client.post("/events", json={"events": [{**CLICK, **change}]})
    assert response.status_code == 422, response.text
    assert says in response.json()["error"]
    assert (events / EVENTS_FILE).read_text() == ",".join(COLUMNS) + "\n"


def test_the_edges_of_the_ranges_are_logged(make_client: AppFactory, tmp_path: Path) -> None:
    events = tmp_path / "log"
    client = make_client(events=events)
    edges = [
        {**CLICK, "position": 10_000, "timestamp": "9999-12-31T23:59:59+00:00"},
        {**CLICK, "timestamp": "0001-01-01T00:30:00-01:00"},
    ]
    assert client.post("/events", json={"events": edges}).status_code == 200
    frame = _read_back(events, tmp_path)
    assert frame["position"].to_list() == [10_000, 1]
    stamps = [t.isoformat() for t in frame["timestamp"].to_list()]
    assert stamps == ["9999-12-31T23:59:59+00:00", "0001-01-01T01:30:00+00:00"]
