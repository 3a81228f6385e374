"""Planted churn (seed 000's ``get_churn_risk_customers``): who leaves, when, and the best achievable AUC.

The process, day by day over the window (``simulate_customer_activity``):

0. Three customers in four signed up before the window (7% of them left before it and
   have no activity in it), the others sign up during it.
1. The day's tasks go to the customers still active, in proportion to each customer's
   activity weight (lognormal, sigma 1: a few busy customers, a long tail); the day's
   trials go to active customers uniformly. Customers marked churned before the window
   have no activity at all.
2. At the end of each day ``d`` (from day ``WARMUP_DAYS`` of the window on, once every
   feature has history inside it), each active customer who has not cancelled yet cancels
   with probability ``p(x_d)``, where ``x_d`` are the features ``customer_churn_features``
   computes for that customer and day (``cancel_probability``)::

       logit p = -8.5 + 0.5 * min(days_inactive, 20) - 0.4 * min(tasks_last_7d, 6)
                 + 1.0 * (3.5 - avg_rating_last_7d)   (0 when no task of the 7 days is rated)
                 + 1.5 * [latest trial ended unconverted] - 1.0 * [latest trial converted]

   The noise is the draw itself: the same features give the same probability, and whether
   a customer cancels is a coin flip with it.

3. A cancellation takes effect ``NOTICE_DAYS`` (7) days later, at the end of the billing
   period: from that day on the customer has no task and no trial, its status is
   ``churned`` and ``updated_at`` is that day (at a random time). Until then its activity
   goes on as before, so the decision itself is not in the data.

The churn model's label is "churned within the next ``NOTICE_DAYS`` days" as of a feature
day ``D``: the customer churns on a day in ``D+1 .. D+7`` exactly when it cancelled on a
day in ``D-6 .. D``. Given everything known at ``D`` (the customer is still active, so it
did not cancel before ``D-6``), the probability of the label is therefore exact::

    P(churn in D+1..D+7 | data up to D) = 1 - prod_{j=0..6} (1 - p(x_{D-j}))

No model that sees only data up to ``D`` can rank better than this probability, so its
ROC AUC on the generated rows is the ceiling (``churn_auc``). It is computed on the rows
the churn model is tested on: customers active on ``D`` with a task in the inactivity
horizon, ``D + 7`` inside the data, the last quarter of those rows in (day, customer)
order (the model's time split, ``ml/models/churn.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata

NOTICE_DAYS = 7  # also the label horizon of the churn model
WARMUP_DAYS = 14
ACTIVITY_DAYS = 7  # dbt var churn_activity_days
HORIZON_DAYS = 90  # dbt var churn_inactivity_horizon_days
TEST_SHARE = 0.25  # the churn model's test_size, split by time
NEUTRAL_RATING = 3.5
NEVER = np.iinfo(np.int64).max


def cancel_probability(days_inactive: np.ndarray, tasks_last_7d: np.ndarray, avg_rating_last_7d: np.ndarray,
                       trial_outcome: np.ndarray) -> np.ndarray:
    """Daily probability of cancelling; ``avg_rating_last_7d`` is NaN without a rated task,
    ``trial_outcome`` is 1 (latest ended trial converted), -1 (it did not) or 0 (none)."""
    rating_term = np.where(np.isnan(avg_rating_last_7d), 0.0, NEUTRAL_RATING - np.nan_to_num(avg_rating_last_7d))
    z = (-8.5 + 0.5 * np.minimum(days_inactive, 20) - 0.4 * np.minimum(tasks_last_7d, 6) + 1.0 * rating_term
         + 1.5 * (trial_outcome < 0) - 1.0 * (trial_outcome > 0))
    return 1 / (1 + np.exp(-z))


def label_probability(p: np.ndarray) -> np.ndarray:
    """Customers x days of daily cancel probabilities -> P(churn in the next NOTICE_DAYS days) per day."""
    log_stay = np.log1p(-np.clip(p, 0, 1 - 1e-12))
    cumulative = np.cumsum(log_stay, axis=1)
    shifted = np.zeros_like(cumulative)
    shifted[:, NOTICE_DAYS:] = cumulative[:, :-NOTICE_DAYS]
    return 1 - np.exp(cumulative - shifted)


@dataclass
class CustomerActivity:
    task_customer: np.ndarray  # customer index of each task
    trial_customer: np.ndarray  # customer index of each trial
    churn_day: np.ndarray  # per customer: window day from which it has no activity (NEVER: not churned)
    ceilings: dict[str, float]


def simulate_customer_activity(rng: np.random.Generator, *, n_customers: int, days: int, signup_day: np.ndarray,
                               churned_before: np.ndarray, task_day: np.ndarray, task_rating: np.ndarray,
                               trial_day: np.ndarray, trial_end_day: np.ndarray, trial_end_order: np.ndarray,
                               trial_converted: np.ndarray) -> CustomerActivity:
    """Assign tasks and trials to customers day by day and draw who cancels (module docstring).

    Days are window day indices (0 = the window's first day); ``signup_day`` may be negative.
    ``task_day``/``trial_day`` must be sorted. ``trial_end_order`` ranks trials by their end
    timestamp (the latest trial is the one the features see).
    """
    weight = rng.lognormal(0.0, 1.0, n_customers)
    churn_day = np.full(n_customers, NEVER, dtype=np.int64)
    decided = np.zeros(n_customers, dtype=bool)
    counts = np.zeros((n_customers, days), dtype=np.int64)
    rated = np.zeros((n_customers, days), dtype=np.int64)
    rating_sum = np.zeros((n_customers, days))
    p = np.zeros((n_customers, days))
    last_task = np.full(n_customers, -NEVER // 2, dtype=np.int64)
    trial_outcome_now = np.zeros(n_customers)
    trial_end_seen = np.full(n_customers, -1, dtype=np.int64)  # rank of the latest ended trial
    trial_end_day_seen = np.full(n_customers, -NEVER // 2, dtype=np.int64)
    task_customer = np.zeros(len(task_day), dtype=np.int64)
    trial_customer = np.zeros(len(trial_day), dtype=np.int64)
    task_bounds = np.searchsorted(task_day, np.arange(days + 1))
    trial_bounds = np.searchsorted(trial_day, np.arange(days + 1))
    ending = pd.Series(np.arange(len(trial_end_day))).groupby(trial_end_day).indices
    has_history = np.zeros((n_customers, days), dtype=bool)
    active_on = np.zeros((n_customers, days), dtype=bool)

    for d in range(days):
        active = (churn_day > d) & ~churned_before & (signup_day <= d)
        active_on[:, d] = active
        candidates = np.flatnonzero(active)
        lo, hi = task_bounds[d], task_bounds[d + 1]
        if hi > lo and len(candidates):
            w = weight[candidates]
            chosen = candidates[rng.choice(len(candidates), hi - lo, p=w / w.sum())]
            task_customer[lo:hi] = chosen
            np.add.at(counts[:, d], chosen, 1)
            ratings = task_rating[lo:hi]
            has_rating = ~np.isnan(ratings)
            np.add.at(rated[:, d], chosen[has_rating], 1)
            np.add.at(rating_sum[:, d], chosen[has_rating], ratings[has_rating])
            last_task[chosen] = d
        lo, hi = trial_bounds[d], trial_bounds[d + 1]
        if hi > lo and len(candidates):
            trial_customer[lo:hi] = candidates[rng.integers(0, len(candidates), hi - lo)]
        for trial in ending.get(d, ()):
            customer = trial_customer[trial]
            if trial_end_order[trial] > trial_end_seen[customer]:
                trial_end_seen[customer] = trial_end_order[trial]
                trial_end_day_seen[customer] = d
                # a customer who left before its trial ended did not convert
                trial_outcome_now[customer] = 1.0 if trial_converted[trial] and churn_day[customer] > d else -1.0

        window = slice(max(0, d - ACTIVITY_DAYS + 1), d + 1)
        tasks_7d = counts[:, window].sum(axis=1)
        rated_7d = rated[:, window].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rating_7d = np.where(rated_7d > 0, np.round(rating_sum[:, window].sum(axis=1) / rated_7d, 4), np.nan)
        recent = d - last_task < HORIZON_DAYS
        has_history[:, d] = recent
        days_inactive = np.where(recent, d - last_task, np.minimum(d - signup_day, HORIZON_DAYS))
        trial_now = np.where(d - trial_end_day_seen < HORIZON_DAYS, trial_outcome_now, 0.0)
        if d >= WARMUP_DAYS:
            deciding = active & ~decided
            p[deciding, d] = cancel_probability(days_inactive[deciding], tasks_7d[deciding], rating_7d[deciding],
                                                trial_now[deciding])
            cancels = deciding & (rng.random(n_customers) < p[:, d])
            decided |= cancels
            churn_day[cancels] = d + NOTICE_DAYS

    probability = label_probability(p)
    ceilings = churn_ceiling(probability, churn_day, active_on & has_history, days)
    return CustomerActivity(task_customer, trial_customer, churn_day, ceilings)


def churn_ceiling(probability: np.ndarray, churn_day: np.ndarray, eligible: np.ndarray, days: int) -> dict[str, float]:
    """ROC AUC of the exact label probability on the churn model's test rows (module docstring)."""
    labelled_days = days - NOTICE_DAYS  # D + NOTICE_DAYS <= last day
    if labelled_days <= 0:
        return {}
    day, customers = np.nonzero(eligible[:, :labelled_days].T)  # rows in (day, customer) order
    label = (churn_day[customers] > day) & (churn_day[customers] <= day + NOTICE_DAYS)
    n_test = max(1, int(round(len(day) * TEST_SHARE)))
    test = slice(len(day) - n_test, None)
    result = {"churn_positive_rate": float(label.mean()) if len(label) else 0.0,
              "churned_customers": float(np.sum(churn_day < days))}
    auc = roc_auc(label[test], probability[customers[test], day[test]])
    if auc is not None:
        result["churn_auc"] = auc
    return result


def roc_auc(label: np.ndarray, score: np.ndarray) -> float | None:
    positives, negatives = int(label.sum()), int((~label).sum())
    if not positives or not negatives:
        return None
    ranks = rankdata(score)
    return float((ranks[label].sum() - positives * (positives + 1) / 2) / (positives * negatives))
