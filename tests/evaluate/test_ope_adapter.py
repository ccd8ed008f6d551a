"""From the data contract's events to the off-policy estimators' arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import pytest

from paretorec.evaluate.ope import IIPS, IPS, RIPS, feedback_from_events
from paretorec.simulate import BehaviourConfig, LoggingPolicyKind, WorldConfig, simulate_dataset
from paretorec.types import Events, EventType, Users

ITEMS = ["a", "b", "c"]


def events(**extra: list[Any]) -> Events:
    """Session s1 shows b, a (a clicked); s2 shows c, b (c clicked, then purchased)."""
    columns: dict[str, list[Any]] = {
        "user_id": ["u1", "u1", "u1", "u2", "u2", "u2", "u2"],
        "item_id": ["b", "a", "a", "c", "b", "c", "c"],
        "event": [
            "impression",
            "impression",
            "click",
            "impression",
            "impression",
            "click",
            "purchase",
        ],
        "session_id": ["s1", "s1", "s1", "s2", "s2", "s2", "s2"],
        "position": [1, 2, 2, 1, 2, None, None],
        "propensity": [0.5, 0.25, None, 0.5, 0.4, None, None],
    }
    columns.update(extra)
    return Events(pl.DataFrame(columns))


def test_impressions_become_rounds_with_their_rewards() -> None:
    fb = feedback_from_events(events(), action_ids=ITEMS)
    assert fb.n_rounds == 4 and fb.n_actions == 3 and fb.len_list == 2
    assert fb.action.tolist() == [1, 0, 2, 1]
    assert fb.position.tolist() == [0, 1, 0, 1]  # 0-based
    assert fb.reward.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert fb.pscore.tolist() == [0.5, 0.25, 0.5, 0.4]
    assert fb.slate_id.tolist() == [0, 0, 1, 1]
    assert fb.user_ids == ("u1", "u1", "u2", "u2")
    assert fb.pscore_given_above is None
    bought = feedback_from_events(events(), action_ids=ITEMS, reward_event=EventType.PURCHASE)
    assert bought.reward.tolist() == [0.0, 0.0, 1.0, 0.0]


def test_feeds_the_estimators() -> None:
    fb = feedback_from_events(events(), action_ids=ITEMS)
    # an evaluation policy that always shows the logged items: weights 1 / pscore
    dist = np.zeros((4, 3, 2))
    dist[np.arange(4), fb.action, fb.position] = 1.0
    dist[np.arange(4), (fb.action + 1) % 3, 1 - fb.position] = 1.0
    value = IPS().estimate_policy_value(
        reward=fb.reward, action=fb.action, position=fb.position, pscore=fb.pscore, action_dist=dist
    )
    assert value == pytest.approx((1 / 0.25 + 1 / 0.5) / 4)
    per_list = IIPS().estimate_policy_value(
        slate_id=fb.slate_id,
        reward=fb.reward,
        position=fb.position,
        pscore_item_position=fb.pscore,
        evaluation_policy_pscore_item_position=np.ones(4),
    )
    assert per_list == pytest.approx(2 * value)


def test_propensity_given_above_gives_the_cascade_pscore() -> None:
    fb = feedback_from_events(
        events(propensity_given_above=[0.5, 0.5, None, 0.5, 0.8, None, None]), action_ids=ITEMS
    )
    assert fb.pscore_given_above is not None
    assert fb.pscore_cascade() == pytest.approx([0.5, 0.25, 0.5, 0.4])
    value = RIPS().estimate_policy_value(
        slate_id=fb.slate_id,
        reward=fb.reward,
        position=fb.position,
        pscore_cascade=fb.pscore_cascade(),
        evaluation_policy_pscore_cascade=np.array([1.0, 0.5, 1.0, 0.5]),
    )
    assert value == pytest.approx((0.5 / 0.25 + 1.0 / 0.5) / 2)


def test_without_propensity_given_above_there_is_no_cascade() -> None:
    with pytest.raises(ValueError, match="no propensity_given_above"):
        feedback_from_events(events(), action_ids=ITEMS).pscore_cascade()


def test_a_repeated_item_earns_the_click_that_follows_its_latest_impression() -> None:
    # one session sees item a twice (two lists, two timestamps); the click follows the second
    ev = Events(
        pl.DataFrame(
            {
                "user_id": ["u"] * 3,
                "item_id": ["a", "a", "a"],
                "event": ["impression", "impression", "click"],
                "timestamp": [1, 2, 3],
                "position": [1, 1, None],
                "propensity": [0.5, 0.5, None],
            }
        )
    )
    fb = feedback_from_events(ev, action_ids=ITEMS)
    assert fb.reward.tolist() == [0.0, 1.0]
    assert fb.slate_id.tolist() == [0, 1]  # different timestamps: different lists


def test_context_from_users_with_text_one_hot() -> None:
    users = Users(pl.DataFrame({"user_id": ["u2", "u1"], "age": [30.0, 20.0], "tier": ["x", "y"]}))
    fb = feedback_from_events(
        events(), action_ids=ITEMS, users=users, context_columns=["age", "tier"]
    )
    assert fb.context_names == ("age", "tier=x", "tier=y")
    assert fb.context is not None
    assert fb.context.tolist() == [[20, 0, 1], [20, 0, 1], [30, 1, 0], [30, 1, 0]]


@pytest.mark.parametrize(
    ("frame_change", "message"),
    [
        (
            {"propensity": [0.5, 0.0, None, 0.5, 0.4, None, None]},
            r"events row 2: propensity outside \(0, 1\]",
        ),
        (
            {"propensity": [0.5, 1.5, None, 0.5, 0.4, None, None]},
            r"events row 2: propensity outside",
        ),
        (
            {"propensity": [0.5, None, None, 0.5, 0.4, None, None]},
            "events row 2: impression without a propensity",
        ),
        (
            {"position": [1, None, 2, 1, 2, None, None]},
            "events row 2: impression without a position",
        ),
        ({"position": [1, 0, 2, 1, 2, None, None]}, "events row 2: position below 1"),
        (
            {"item_id": ["b", "a", "a", "z", "b", "z", "z"]},
            "events row 4: item_id is not in action_ids",
        ),
        (
            {"item_id": ["b", "a", "c", "c", "b", "c", "c"]},
            "events row 3: click with no impression",
        ),
    ],
)
def test_bad_events_are_named_by_row(frame_change: dict[str, list[Any]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        feedback_from_events(events(**frame_change), action_ids=ITEMS)


def test_other_bad_calls() -> None:
    with pytest.raises(ValueError, match="lack a 'propensity' column"):
        feedback_from_events(Events(events().frame.drop("propensity")), action_ids=ITEMS)
    only_clicks = Events(events().frame.filter(pl.col("event") == "click"))
    with pytest.raises(ValueError, match="no impressions"):
        feedback_from_events(only_clicks, action_ids=ITEMS)
    with pytest.raises(ValueError, match="distinct"):
        feedback_from_events(events(), action_ids=["a", "a", "b", "c"])
    with pytest.raises(ValueError, match="need the users table"):
        feedback_from_events(events(), action_ids=ITEMS, context_columns=["age"])
    users = Users(pl.DataFrame({"user_id": ["u1"], "age": [20.0]}))
    with pytest.raises(ValueError, match="lacks context column"):
        feedback_from_events(events(), action_ids=ITEMS, users=users, context_columns=["tier"])
    with pytest.raises(ValueError, match="user 'u2' has no 'age'"):
        feedback_from_events(events(), action_ids=ITEMS, users=users, context_columns=["age"])


def test_simulated_logs_round_trip() -> None:
    """The simulator's events (multi-step sessions, both propensity columns): every click
    finds its impression, lists are the (session, time) groups, and evaluating the logging
    policy on its own logs gives its on-policy clicks per list."""
    config = WorldConfig(behaviour=BehaviourConfig(calibration=None, click_intercept=-2.0))
    data = simulate_dataset(
        300,
        50,
        150,
        seed=3,
        list_size=3,
        config=config,
        logging_policy=LoggingPolicyKind.SOFTMAX,
        max_steps=2,
    )
    assert data.events is not None
    frame = data.events.frame
    fb = feedback_from_events(data.events, action_ids=data.items.item_ids.to_list())
    assert fb.n_rounds == int((frame["event"] == "impression").sum())
    assert fb.reward.sum() == int((frame["event"] == "click").sum()) > 0
    n_lists = int(fb.slate_id.max()) + 1
    assert n_lists * 3 == fb.n_rounds
    assert (np.bincount(fb.slate_id) == 3).all()
    cascade = fb.pscore_cascade()
    assert (cascade <= fb.pscore_given_above + 1e-15).all()  # type: ignore[operator]
    on_policy = fb.reward.sum() / n_lists
    kw: dict[str, Any] = {"slate_id": fb.slate_id, "reward": fb.reward, "position": fb.position}
    assert RIPS().estimate_policy_value(
        **kw, pscore_cascade=cascade, evaluation_policy_pscore_cascade=cascade
    ) == pytest.approx(on_policy)
    assert IIPS().estimate_policy_value(
        **kw, pscore_item_position=fb.pscore, evaluation_policy_pscore_item_position=fb.pscore
    ) == pytest.approx(on_policy)
