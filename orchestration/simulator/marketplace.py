"""Marketplace: specialties, agents, customers, trials, tasks, with planted churn (``churn.py``)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from faker import Faker

from foundation.domain import INDUSTRIES
from foundation.domain import TASK_STATUSES as DOMAIN_TASK_STATUSES
from orchestration.simulator import churn
from orchestration.simulator.context import SimContext

SPECIALTIES = (
    ("SEO Content", "marketing"), ("Social Media", "marketing"), ("Email Campaigns", "marketing"),
    ("Market Research", "marketing"), ("Tutoring", "education"), ("Curriculum Design", "education"),
    ("Test Prep", "education"), ("Language Learning", "education"), ("Lead Generation", "sales"),
    ("Sales Outreach", "sales"), ("CRM Automation", "sales"), ("Proposal Writing", "sales"),
)
TASK_STATUSES = np.array(DOMAIN_TASK_STATUSES)
CHANNELS = np.array(["web", "api", "slack", "email"])
# Valid JSON of the wrong shape (quality/payload_schemas/tasks.payload.json says what is right).
WRONG_PAYLOADS = np.array([
    '{"channel": "web", "items": "many", "priority": "high"}',
    '{"channel": "fax", "items": 3, "priority": "low"}',
    '{"items": 2, "priority": "normal"}',
    '["web", 3, "low"]',
    '{"channel": "api", "items": 0, "priority": "urgent"}',
])
# A late row changes at least 2 days after it was created; it needs a little more room before the window ends.
LATE_ROOM_DAYS = 2.5


def generate(ctx: SimContext) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    """The tables, and the churn ceiling (``churn.py``)."""
    specialties = _specialties(ctx)
    agents = _agents(ctx, specialties)
    customers = _customers(ctx)
    tasks = _tasks(ctx, agents)
    trials = _trials(ctx, agents)
    ceilings = _assign_customers(ctx, customers, tasks, trials)
    tasks = _plant_task_defects(ctx, tasks, n_agents=len(agents))
    _plant_trial_defects(ctx, trials, n_customers=len(customers))
    _plant_dimension_defects(ctx, agents, n_specialties=len(specialties), tasks=tasks)
    tables = {"specialties": specialties, "agents": agents, "customers": customers, "trials": trials, "tasks": tasks}
    return tables, ceilings


def _specialties(ctx: SimContext) -> pd.DataFrame:
    rows = SPECIALTIES[: ctx.scale.specialties]
    return pd.DataFrame(
        {
            "id": np.arange(1, len(rows) + 1),
            "name": [r[0] for r in rows],
            "industry": [r[1] for r in rows],
            "created_at": ctx.start - pd.Timedelta(days=720),
        }
    )


def _agents(ctx: SimContext, specialties: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("agents")
    n = ctx.scale.agents
    specialty = rng.integers(0, len(specialties), n)
    quality = rng.beta(5, 2, n)  # drives ratings and trial conversion
    price = np.clip(np.round(rng.lognormal(np.log(15000), 0.5, n), -2), 5000, 50000)
    created = ctx.start - pd.to_timedelta(rng.integers(30, 700, n), unit="D")
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "name": [f"{specialties.name.iloc[s]} Agent {i + 1}" for i, s in enumerate(specialty)],
            "specialty_id": specialties.id.to_numpy()[specialty],
            "industry": specialties.industry.to_numpy()[specialty],
            "price": price,
            "rating": np.round(2.5 + 2.5 * quality, 2),
            "status": np.where(rng.random(n) < 0.9, "active", "inactive"),
            "created_at": created,
            "updated_at": created,
            "_quality": quality,
        }
    )


def _customers(ctx: SimContext) -> pd.DataFrame:
    rng = ctx.rng("customers")
    fake = Faker()
    fake.seed_instance(ctx.seed)
    n = ctx.scale.customers
    # three in four signed up before the window, the others during it
    before = rng.random(n) < 0.75
    signup = pd.Series(ctx.start - pd.to_timedelta(rng.integers(1, 400, n), unit="D")).where(
        before, ctx.start + pd.to_timedelta(rng.integers(0, ctx.days * 86_400, n), unit="s"))
    names = [fake.name() for _ in range(n)]
    # 7% left before the window: no activity in it, churned between signup and the window's start
    churned_before = (rng.random(n) >= 0.93) & before
    left = signup + (ctx.start - signup) * rng.uniform(0.2, 0.9, n)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "name": names,
            "email": [f"customer{i + 1}@{fake.domain_name()}" for i in range(n)],
            "company": [fake.company() for _ in range(n)],
            "industry": rng.choice(INDUSTRIES, n),
            "signup_at": signup,
            "last_login_at": pd.NaT,
            "status": np.where(churned_before, "churned", "active"),
            "created_at": signup,
            "updated_at": left.where(churned_before, signup),
        }
    )


def _tasks(ctx: SimContext, agents: pd.DataFrame) -> pd.DataFrame:
    """Tasks without their customer: ``_assign_customers`` picks it day by day."""
    rng = ctx.rng("tasks")
    created = ctx.event_times("tasks", ctx.scale.tasks_per_day)
    n = len(created)
    popularity = rng.lognormal(0.0, 1.0, len(agents))  # a few popular agents, a long tail
    agent_idx = rng.choice(len(agents), n, p=popularity / popularity.sum())
    status = rng.choice(TASK_STATUSES, n, p=[0.8, 0.08, 0.07, 0.05])
    done = status == "completed"
    quality = agents._quality.to_numpy()[agent_idx]
    rating = np.where(done, np.clip(np.round(rng.normal(1.5 + 3.3 * quality, 0.6), 1), 1, 5), np.nan)
    price = agents.price.to_numpy()[agent_idx]
    revenue = np.where(done, np.round(price / 100 * rng.lognormal(0, 0.4, n), 2), 0.0)
    duration = pd.to_timedelta(rng.exponential(3 * 3600, n).astype("int64"), unit="s")
    # The history is the app database as it stood when the window ended: a task that would finish
    # after that is still running (a completion later than the extraction would be in the future,
    # and how many there were would depend on the hour the history was made).
    running = np.isin(status, ["completed", "failed"]) & (created + duration >= ctx.end).to_numpy()
    status = np.where(running, "in_progress", status)
    rating = np.where(running, np.nan, rating)
    revenue = np.where(running, 0.0, revenue)
    finished = np.isin(status, ["completed", "failed"])
    completed_at = (created + duration).where(finished)
    payload = [
        json.dumps({"channel": c, "items": int(i), "priority": p})
        for c, i, p in zip(rng.choice(CHANNELS, n), rng.integers(1, 20, n), rng.choice(["low", "normal", "high"], n),
                           strict=True)
    ]
    ids = np.arange(1, n + 1)
    tasks = pd.DataFrame(
        {
            "id": ids,
            "task_ref": [f"T-{i:09d}" for i in ids],
            "agent_id": pd.array(agents.id.to_numpy()[agent_idx], dtype="Int64"),
            "customer_id": pd.array(np.zeros(n, dtype=np.int64), dtype="Int64"),
            "status": status,
            "rating": rating,
            "revenue": revenue,
            "payload": payload,
            "created_at": created,
            "completed_at": completed_at,
            "updated_at": completed_at.fillna(created),
        }
    )
    return tasks


def _window_day(ctx: SimContext, timestamps: pd.Series) -> np.ndarray:
    return ((timestamps - ctx.start).dt.total_seconds() // 86_400).to_numpy().astype(np.int64)


def _assign_customers(ctx: SimContext, customers: pd.DataFrame, tasks: pd.DataFrame,
                      trials: pd.DataFrame) -> dict[str, float]:
    """Who did each task and trial, who churned and when (``churn.py``); returns the churn ceiling."""
    trial_end = trials.trial_end
    activity = churn.simulate_customer_activity(
        ctx.rng("customers:activity"),
        n_customers=len(customers),
        days=ctx.days,
        signup_day=_window_day(ctx, customers.signup_at),
        churned_before=(customers.status == "churned").to_numpy(),
        task_day=_window_day(ctx, tasks.created_at),
        task_rating=tasks.rating.to_numpy(dtype=float),
        trial_day=_window_day(ctx, trials.created_at),
        trial_end_day=_window_day(ctx, trial_end),
        trial_end_order=np.argsort(np.argsort(trial_end.to_numpy(), kind="stable"), kind="stable"),
        trial_converted=trials.converted.to_numpy(),
    )
    ids = customers.id.to_numpy()
    tasks["customer_id"] = pd.array(ids[activity.task_customer], dtype="Int64")
    trials["customer_id"] = pd.array(ids[activity.trial_customer], dtype="Int64")
    churn_day = activity.churn_day[activity.trial_customer]
    # a customer who left before the trial ended did not convert
    trials["converted"] = trials.converted & (churn_day > _window_day(ctx, trial_end))
    churned = activity.churn_day < ctx.days
    rng = ctx.rng("customers:churned_at")
    at = ctx.start + pd.to_timedelta(np.where(churned, activity.churn_day, 0), unit="D") + pd.to_timedelta(
        rng.integers(0, 86_400, len(customers)), unit="s")
    customers.loc[churned, "status"] = "churned"
    customers.loc[churned, "updated_at"] = at[churned]
    return activity.ceilings


def _plant_task_defects(ctx: SimContext, tasks: pd.DataFrame, n_agents: int) -> pd.DataFrame:
    rng = ctx.rng("tasks:defects")
    n = len(tasks)
    rows = ctx.sample_rows("tasks", n, "null_required")
    tasks.loc[rows, "customer_id"] = pd.NA
    rows = ctx.sample_rows("tasks", n, "rating_out_of_range")
    tasks.loc[rows, "rating"] = np.where(rng.random(len(rows)) < 0.5, rng.uniform(5.5, 9.9, len(rows)).round(1), -1.0)
    rows = ctx.sample_rows("tasks", n, "orphan_foreign_key")
    tasks.loc[rows, "agent_id"] = n_agents + 1000 + np.arange(len(rows))
    rows = ctx.sample_rows("tasks", n, "negative_revenue")
    tasks.loc[rows, "revenue"] = -np.round(rng.uniform(1, 500, len(rows)), 2)
    rows = ctx.sample_rows("tasks", n, "future_timestamp")
    future = ctx.end + pd.to_timedelta(rng.integers(30, 400, len(rows)), unit="D")
    tasks.loc[rows, "completed_at"] = future
    tasks.loc[rows, "status"] = "completed"
    rows = ctx.sample_rows("tasks", n, "malformed_json")
    tasks.loc[rows, "payload"] = tasks.payload.iloc[rows].str.slice(0, 12).to_numpy()
    # the later kinds draw from their own stream: the earlier kinds' rows stay as they were
    shapes = ctx.rng("tasks:defects:shapes")
    rows = ctx.sample_rows("tasks", n, "payload_shape")
    tasks.loc[rows, "payload"] = shapes.choice(WRONG_PAYLOADS, len(rows))
    rows = ctx.sample_rows("tasks", n, "impossible_order", eligible=tasks.completed_at.notna().to_numpy())
    early = pd.to_timedelta(shapes.integers(3600, 48 * 3600, len(rows)), unit="s")
    tasks.loc[rows, "completed_at"] = (tasks.created_at.iloc[rows] - early).to_numpy()
    # NaN travels as the text 'NaN' (a float NaN would be written as NULL)
    rows = ctx.sample_rows("tasks", n, "non_finite_number")
    tasks["revenue"] = tasks.revenue.astype(object)
    tasks.loc[rows, "revenue"] = "NaN"
    # Late rows: changed 2-10 days after they were created, never past the window's end, so
    # only rows created at least LATE_ROOM before the end can be late (on any end date).
    room = ((ctx.end - tasks.created_at).dt.total_seconds() / 86_400).to_numpy()
    rows = ctx.sample_rows("tasks", n, "late_arriving", eligible=room > LATE_ROOM_DAYS)
    delay = rng.uniform(2.0, np.minimum(room[rows], 10.0))
    tasks.loc[rows, "updated_at"] = (tasks.created_at.iloc[rows] + pd.to_timedelta(delay, unit="D")).to_numpy()
    tasks.loc[rows, "rating"] = rng.integers(1, 6, len(rows)).astype(float)
    # Duplicates: a client retry re-sends an existing task_ref as a new row, updated later.
    rows = ctx.sample_rows("tasks", n, "duplicate_natural_key")
    if len(rows) == 0:
        return tasks
    dupes = tasks.iloc[rows].copy()
    dupes["id"] = np.arange(n + 1, n + 1 + len(rows))
    dupes["updated_at"] = dupes.updated_at + pd.Timedelta(minutes=5)
    return pd.concat([tasks, dupes], ignore_index=True)


def _trials(ctx: SimContext, agents: pd.DataFrame) -> pd.DataFrame:
    """Trials without their customer: ``_assign_customers`` picks it day by day."""
    rng = ctx.rng("trials")
    created = ctx.event_times("trials", ctx.scale.trials_per_day)
    n = len(created)
    agent_idx = rng.integers(0, len(agents), n)
    quality = agents._quality.to_numpy()[agent_idx]
    length = pd.to_timedelta(rng.choice([7, 14], n), unit="D")
    trial_end = created + length
    converted = (rng.random(n) < 0.1 + 0.35 * quality) & (trial_end < ctx.end).to_numpy()
    trials = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "customer_id": pd.array(np.zeros(n, dtype=np.int64), dtype="Int64"),
            "agent_id": pd.array(agents.id.to_numpy()[agent_idx], dtype="Int64"),
            "trial_start": created,
            "trial_end": trial_end,
            "converted": converted,
            "created_at": created,
            "updated_at": created,
        }
    )
    return trials


def _plant_trial_defects(ctx: SimContext, trials: pd.DataFrame, n_customers: int) -> None:
    rng = ctx.rng("trials:defects")
    n = len(trials)
    rows = ctx.sample_rows("trials", n, "trial_end_before_start")
    trials.loc[rows, "trial_end"] = trials.trial_start.iloc[rows] - pd.to_timedelta(
        rng.integers(0, 3, len(rows)), unit="D"
    )
    rows = ctx.sample_rows("trials", n, "orphan_foreign_key")
    trials.loc[rows, "customer_id"] = n_customers + 5000 + np.arange(len(rows))


def _plant_dimension_defects(ctx: SimContext, agents: pd.DataFrame, n_specialties: int, tasks: pd.DataFrame) -> None:
    rng = ctx.rng("agents:defects")
    n = len(agents)
    # an agent with tasks becomes invalid: its tasks must follow it into quarantine, not vanish
    rows = ctx.sample_rows("agents", n, "parent_quarantined", eligible=agents.id.isin(tasks.agent_id).to_numpy())
    agents.loc[rows, "price"] = 0.0
    rows = ctx.sample_rows("agents", n, "price_out_of_range")
    agents.loc[rows, "price"] = np.where(rng.random(len(rows)) < 0.5, 1500.0, 99000.0)
    rows = ctx.sample_rows("agents", n, "unknown_industry")
    agents.loc[rows, "industry"] = "gaming"
    rows = ctx.sample_rows("agents", n, "rating_out_of_range")
    agents.loc[rows, "rating"] = 7.5
    rows = ctx.sample_rows("agents", n, "orphan_foreign_key")
    agents.loc[rows, "specialty_id"] = n_specialties + 100
    rows = ctx.sample_rows("agents", n, "null_required")
    agents.loc[rows, "name"] = None
