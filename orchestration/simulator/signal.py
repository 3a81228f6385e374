"""The signal planted in the engineering data for the ML models, and its ceilings.

Each target is a known formula of features the dbt feature marts expose, plus
noise of known size, so the best achievable test metric is known:

- trajectory (epic lead time, days): ``3 + 0.6*child_story_points + 0.8*child_count
  + 0.4*comment_count - 2*has_assignee + N(0, 4^2)``; ceiling R^2 = 1 - Var(noise)/Var(y).
- complexity (story points): ``latent = 2 + w(verb) + w(component) + w(qualifier)
  + 0.2*comment_count + N(0, 1.2^2)`` rounded to the nearest of 1,2,3,5,8,13,21; the
  ceiling is the R^2 of E[y | features] (the exact conditional mean over the rounding).
- rework (PR needs rework): ``P = sigmoid(-1.4 + 0.05*changed_files + 0.0012*additions
  - 0.9*has_tests - 0.35*author_tenure_years + 0.08*commit_count)``; the label is
  drawn from P; ceiling F1 = F1 of the Bayes classifier ``P > 0.5``.

Churn (``churn.py``, ceiling ``churn_auc``), the unified model (``engineering.unified_ceiling``,
``unified_r2``) and the anomaly detector's planted set (``ml/models/planted_anomalies.py``) are
documented where they are made.

Ceilings are computed on the generated rows (``ceilings()``) so a test can compare
a model's metric with the best any model could do on the same data.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

STORY_POINTS = np.array([1, 2, 3, 5, 8, 13, 21])
VERBS = {"Fix typo in": -2.0, "Update": 0.0, "Add": 1.0, "Improve": 1.0, "Integrate": 3.0,
         "Refactor": 3.5, "Migrate": 5.0, "Redesign": 6.0}
COMPONENTS = {"docs": -1.0, "ui": 0.0, "login page": 0.5, "notifications": 1.0, "search": 2.0,
              "auth service": 2.5, "billing": 3.0, "payments": 3.0, "data pipeline": 3.5}
QUALIFIERS = {"": 0.0, "for mobile": 1.0, "for enterprise customers": 2.0, "with caching": 1.5,
              "behind a feature flag": 0.5}
COMPLEXITY_NOISE = 1.2
TRAJECTORY_NOISE_DAYS = 4.0


def trajectory_days(child_points: np.ndarray, child_count: np.ndarray, comments: np.ndarray,
                    has_assignee: np.ndarray) -> np.ndarray:
    return 3 + 0.6 * child_points + 0.8 * child_count + 0.4 * comments - 2.0 * has_assignee


def complexity_latent(verb_w: np.ndarray, component_w: np.ndarray, qualifier_w: np.ndarray,
                      comments: np.ndarray) -> np.ndarray:
    return 2 + verb_w + component_w + qualifier_w + 0.2 * comments


def nearest_story_points(latent: np.ndarray) -> np.ndarray:
    edges = (STORY_POINTS[:-1] + STORY_POINTS[1:]) / 2
    return STORY_POINTS[np.searchsorted(edges, latent)]


def expected_story_points(latent: np.ndarray) -> np.ndarray:
    """E[story points | features]: the rounding of a normal around ``latent``."""
    edges = np.concatenate([[-np.inf], (STORY_POINTS[:-1] + STORY_POINTS[1:]) / 2, [np.inf]])
    cdf = norm.cdf((edges[None, :] - latent[:, None]) / COMPLEXITY_NOISE)
    return (np.diff(cdf, axis=1) * STORY_POINTS[None, :]).sum(axis=1)


def rework_probability(changed_files: np.ndarray, additions: np.ndarray, has_tests: np.ndarray,
                       tenure_years: np.ndarray, commits: np.ndarray) -> np.ndarray:
    z = -1.4 + 0.05 * changed_files + 0.0012 * additions - 0.9 * has_tests - 0.35 * tenure_years + 0.08 * commits
    return 1 / (1 + np.exp(-z))


def r2(y: np.ndarray, prediction: np.ndarray) -> float:
    return float(1 - np.mean((y - prediction) ** 2) / np.var(y))


def f1(y: np.ndarray, predicted: np.ndarray) -> float:
    tp = float(np.sum(predicted & y))
    fp = float(np.sum(predicted & ~y))
    fn = float(np.sum(~predicted & y))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
