"""The detector's view of the prediction log on hand-made logs: what counts as outlying, and what does not.

Each test logs its own model names into one scratch database (each model is fenced on its own), so
the tests do not see each other's rows. No training: these are the features the forest is given.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import psycopg
import pytest

from foundation.connections import pin_clock
from foundation.settings import Settings
from ml import log_predictions
from ml.models.anomaly import IMPOSSIBLE_OUTLYINGNESS, MONITORING_FEATURES_VIEW, ensure_monitoring_views
from ml.models.specs import CHURN


@pytest.fixture(scope="module")
def log_db(platform: Settings, scratch_database: Callable[[str], str]) -> Iterator[tuple[psycopg.Connection, datetime]]:
    with psycopg.connect(scratch_database("anomaly_features"), autocommit=True) as conn:
        ensure_monitoring_views(conn)
        yield conn, pin_clock(conn)


def _features(conn: psycopg.Connection, model: str) -> list[dict[str, float]]:
    cursor = conn.execute(f"SELECT * FROM {MONITORING_FEATURES_VIEW} WHERE model_name = %s ORDER BY id",  # noqa: S608
                          (model,))
    names = [column.name for column in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_stuck_batch_does_not_make_its_model_look_extreme(log_db: tuple[psycopg.Connection, datetime]) -> None:
    conn, now = log_db
    healthy = [0.245 + 0.03 * k for k in range(-10, 11) if k]  # a small model's day of scores around 0.245
    log_predictions(conn, "stuck_model", healthy, [{}] * 20, None, logged_at=now - timedelta(hours=1))
    log_predictions(conn, "stuck_model", [0.245] * 20, [{}] * 20, None, logged_at=now)  # then stuck on its median
    rows = _features(conn, "stuck_model")
    # the 20 identical values count once in the fences: the healthy batch stays inside them
    assert [r["prediction_outlyingness"] for r in rows[:20]] == [0] * 20
    assert {r["repeated_value_count"] for r in rows[20:]} == {20 - 1 - 2}
    assert all(r["outlyingness"] == r["repeated_value_count"] for r in rows[20:])


def test_a_few_equal_values_in_a_batch_are_not_a_stuck_model(log_db: tuple[psycopg.Connection, datetime]) -> None:
    conn, now = log_db
    # a tree model gives customers with near-identical features the same probability: pairs and a triple
    values = [0.01 * i for i in range(1, 41)] + [0.05, 0.12, 0.12, 0.3, 0.3]
    log_predictions(conn, "tied_model", values, [{}] * len(values), None, logged_at=now)
    assert {r["repeated_value_count"] for r in _features(conn, "tied_model")} == {0}


def test_binary_input_at_its_rarer_value_is_not_outlying(log_db: tuple[psycopg.Connection, datetime]) -> None:
    conn, now = log_db
    inputs = [{"has_assignee": 0 if i % 5 == 0 else 1, "comment_count": i % 7} for i in range(50)]
    inputs.append({"has_assignee": 40, "comment_count": 3})  # an upstream feature broke
    log_predictions(conn, "binary_input_model", [100.0 + i for i in range(51)], inputs, None, logged_at=now)
    rows = _features(conn, "binary_input_model")
    assert [r["input_outlyingness"] for r in rows[:50]] == [0] * 50
    assert rows[50]["input_outlyingness"] > 10 and rows[50]["outlyingness"] == rows[50]["input_outlyingness"]


def test_probabilities_are_fenced_on_the_logit_scale(log_db: tuple[psycopg.Connection, datetime]) -> None:
    conn, now = log_db
    # churn-like: most customers far below 0.1, a few legitimately high; one impossible output
    low = [1 / (1 + math.exp(-(-7 + 5 * i / 199))) for i in range(200)]  # logits evenly from -7 to -2
    values = [*low, 0.6, 0.8, 0.95, 1.3]
    log_predictions(conn, CHURN.project, values, [{}] * len(values), None, logged_at=now)
    rows = _features(conn, CHURN.project)
    assert [r["prediction_outlyingness"] for r in rows[:200]] == [0] * 200
    # on the raw scale 0.95 lies ~30 IQRs beyond the upper quartile; on the logit scale about one spread
    assert all(r["prediction_outlyingness"] < 1.5 for r in rows[200:203])
    assert rows[203]["prediction_outlyingness"] == IMPOSSIBLE_OUTLYINGNESS == rows[203]["outlyingness"]
