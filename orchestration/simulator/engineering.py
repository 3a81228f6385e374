"""Engineering (seed 003): teams, users, issues and epics, pull requests — with planted ML signal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.simulator import signal
from orchestration.simulator.context import SimContext

ISSUETYPES = ("Epic", "Story", "Task", "Bug")
STATUSES = (("To Do", "To Do"), ("In Progress", "In Progress"), ("In Review", "In Progress"), ("Done", "Done"))
REPOSITORIES = ("platform-api", "web-app", "mobile-app", "data-pipelines", "infra")
DONE, IN_PROGRESS, TODO = 4, 2, 1
HISTORY_DAYS = 240  # epics start up to this long before the window so some have finished


def generate(ctx: SimContext) -> tuple[dict[str, pd.DataFrame], dict[str, float]]:
    teams = pd.DataFrame({"id": np.arange(1, ctx.scale.teams + 1),
                          "name": [f"Team {chr(65 + i)}" for i in range(ctx.scale.teams)]})
    users = _users(ctx, teams)
    epics, children, ceilings, child_latent = _issues(ctx, users)
    prs, rework_ceiling, pr_rework, pr_commits = _pull_requests(ctx, children, users)
    ceilings.update(rework_ceiling)
    ceilings["unified_r2"] = unified_ceiling(children, child_latent, pr_rework, pr_commits)
    issues = pd.concat([epics, children], ignore_index=True)
    tables = {
        "teams": teams,
        "users": users,
        "issuetypes": pd.DataFrame({"id": np.arange(1, 5), "original_name": ISSUETYPES, "active": True}),
        "statuses": pd.DataFrame({"id": np.arange(1, 5), "name": [s[0] for s in STATUSES],
                                  "category": [s[1] for s in STATUSES], "active": True}),
        "issues": issues,
        "repositories": pd.DataFrame({"id": np.arange(1, len(REPOSITORIES) + 1), "name": REPOSITORIES}),
        "pull_requests": prs,
    }
    return tables, ceilings


def _users(ctx: SimContext, teams: pd.DataFrame) -> pd.DataFrame:
    rng = ctx.rng("eng_users")
    n = ctx.scale.teams * ctx.scale.engineers_per_team
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "name": [f"Engineer {i}" for i in range(1, n + 1)],
            "email": [f"eng{i}@company.example" for i in range(1, n + 1)],
            "team_id": np.repeat(teams.id.to_numpy(), ctx.scale.engineers_per_team),
            "hired_at": ctx.start - pd.to_timedelta(rng.integers(60, 6 * 365, n), unit="D"),
            "active": True,
        }
    )


def _issues(ctx: SimContext, users: pd.DataFrame
            ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], np.ndarray]:
    rng = ctx.rng("issues")
    n_epics = ctx.scale.epics
    span = (ctx.days + HISTORY_DAYS) * 86400
    epic_created = pd.Series(ctx.start - pd.Timedelta(days=HISTORY_DAYS) + pd.to_timedelta(
        np.sort(rng.integers(0, span, n_epics)), unit="s"))
    child_count = rng.integers(2, 10, n_epics)

    # children: stories, tasks, bugs with story points from their summary
    parent = np.repeat(np.arange(n_epics), child_count)
    m = len(parent)
    verbs, components, qualifiers = (list(signal.VERBS), list(signal.COMPONENTS), list(signal.QUALIFIERS))
    v = rng.integers(0, len(verbs), m)
    c = rng.integers(0, len(components), m)
    q = rng.integers(0, len(qualifiers), m)
    child_comments = rng.poisson(3, m)
    latent = signal.complexity_latent(np.array([signal.VERBS[verbs[i]] for i in v]),
                                      np.array([signal.COMPONENTS[components[i]] for i in c]),
                                      np.array([signal.QUALIFIERS[qualifiers[i]] for i in q]), child_comments)
    points = signal.nearest_story_points(latent + rng.normal(0, signal.COMPLEXITY_NOISE, m))
    summaries = [f"{verbs[a]} {components[b]} {qualifiers[d]}".strip() for a, b, d in zip(v, c, q, strict=True)]

    # epics: lead time from the planted formula
    child_points = np.bincount(parent, weights=points, minlength=n_epics)
    epic_comments = rng.poisson(4, n_epics)
    has_assignee = (rng.random(n_epics) < 0.8).astype(float)
    lead_days = np.clip(signal.trajectory_days(child_points, child_count, epic_comments, has_assignee)
                        + rng.normal(0, signal.TRAJECTORY_NOISE_DAYS, n_epics), 1, None)
    lead = pd.Series(pd.to_timedelta(lead_days * 86400, unit="s"))
    completed_at = epic_created + lead
    done = (completed_at < ctx.end).to_numpy()
    assignees = users.id.to_numpy()[rng.integers(0, len(users), n_epics)]
    epic_ids = np.arange(1, n_epics + 1)
    epics = pd.DataFrame(
        {
            "id": epic_ids,
            "key": [f"EPIC-{i}" for i in epic_ids],
            "summary": [f"Epic {i}: {components[rng.integers(0, len(components))]} roadmap" for i in epic_ids],
            "issuetype_id": 1,
            "status_id": np.where(done, DONE, IN_PROGRESS),
            "epic_id": pd.array([pd.NA] * n_epics, dtype="Int64"),
            "assignee_id": pd.array(np.where(has_assignee > 0, assignees, 0), dtype="Int64"),
            "story_points": pd.array([pd.NA] * n_epics, dtype="Int64"),
            "comment_count": epic_comments,
            "created": epic_created,
            "work_first_started_at": epic_created + pd.Timedelta(hours=4),
            "work_last_completed_at": completed_at.where(done),
            "total_lead_time_seconds": pd.array(np.where(done, (lead_days * 86400).astype(np.int64), 0),
                                                dtype="Int64"),
            "active": True,
            "updated_at": completed_at.where(done, epic_created),
        }
    )
    epics.loc[has_assignee == 0, "assignee_id"] = pd.NA
    epics.loc[~done, "total_lead_time_seconds"] = pd.NA

    offsets = (lead.to_numpy().astype("int64")[parent] * rng.uniform(0, 0.6, m)).astype("int64")
    child_created = pd.Series(pd.to_datetime(epic_created.array.asi8[parent] + offsets, utc=True))
    child_lead = pd.Series(pd.to_timedelta(points * rng.uniform(0.5, 1.5, m) * 86400, unit="s"))
    child_done = (child_created + child_lead < ctx.end).to_numpy()
    in_window = (child_created < ctx.end).to_numpy()
    child_ids = np.arange(n_epics + 1, n_epics + m + 1)
    children = pd.DataFrame(
        {
            "id": child_ids,
            "key": [f"ENG-{i}" for i in child_ids],
            "summary": summaries,
            "issuetype_id": rng.choice([2, 3, 4], m, p=[0.6, 0.25, 0.15]),
            "status_id": np.where(child_done, DONE, np.where(rng.random(m) < 0.5, IN_PROGRESS, TODO)),
            "epic_id": pd.array(epic_ids[parent], dtype="Int64"),
            "assignee_id": pd.array(users.id.to_numpy()[rng.integers(0, len(users), m)], dtype="Int64"),
            "story_points": pd.array(points, dtype="Int64"),
            "comment_count": child_comments,
            "created": child_created,
            "work_first_started_at": child_created + pd.Timedelta(hours=2),
            "work_last_completed_at": (child_created + child_lead).where(child_done),
            "total_lead_time_seconds": pd.array(np.where(child_done, child_lead.dt.total_seconds(), 0)
                                                .astype(np.int64), dtype="Int64"),
            "active": True,
            "updated_at": child_created,
        }
    )
    children.loc[~child_done, "total_lead_time_seconds"] = pd.NA
    children = children[in_window].reset_index(drop=True)
    epics = epics[(epics.created < ctx.end).to_numpy()].reset_index(drop=True)

    y_epic = lead_days[done]
    mean_epic = signal.trajectory_days(child_points, child_count, epic_comments, has_assignee)[done]
    latent_kept = latent[in_window]
    y_points = points[in_window].astype(float)
    ceilings = {
        "trajectory_r2": signal.r2(y_epic, np.clip(mean_epic, 1, None)),
        "complexity_r2": signal.r2(y_points, signal.expected_story_points(latent_kept)),
    }
    return epics, children, ceilings, latent_kept


def unified_ceiling(children: pd.DataFrame, latent: np.ndarray, rework: np.ndarray, commits: np.ndarray) -> float:
    """Best R^2 of the unified model (signal.py): the mean over its three targets, on its training rows
    (child issues with a lead time and story points), of the R^2 of each target's conditional mean."""
    done = children.total_lead_time_seconds.notna().to_numpy()
    expected_points = signal.expected_story_points(latent)
    lead = children.total_lead_time_seconds.to_numpy(dtype=float, na_value=np.nan)
    points = children.story_points.to_numpy(dtype=float, na_value=np.nan)
    # rework depends on PR facts the unified view does not carry; of them it sees total_commits only
    by_commits = pd.Series(rework.astype(float)).groupby(commits).transform("mean").to_numpy()
    return float(np.mean([
        # a child's lead time is its points x U(0.5, 1.5) days: mean points x 1 day
        signal.r2(lead[done], expected_points[done] * 86400),
        signal.r2(points[done], expected_points[done]),
        signal.r2(rework[done].astype(float), by_commits[done]),
    ]))


def _pull_requests(ctx: SimContext, issues: pd.DataFrame, users: pd.DataFrame
                   ) -> tuple[pd.DataFrame, dict[str, float], np.ndarray, np.ndarray]:
    """The pull requests and the rework ceiling; per issue, whether a merged PR needed rework and its
    PRs' commits (what the unified view's rework_indicator and total_commits hold)."""
    rng = ctx.rng("pull_requests")
    per_issue = rng.poisson(1.2, len(issues))
    issue_idx = np.repeat(np.arange(len(issues)), per_issue)
    n = len(issue_idx)
    created = pd.Series(pd.to_datetime(issues.created.array.asi8[issue_idx]
                                       + rng.integers(3600, 5 * 86400, n) * 10**9, utc=True))
    author = np.where(rng.random(n) < 0.7, issues.assignee_id.to_numpy(dtype="int64", na_value=1)[issue_idx],
                      users.id.to_numpy()[rng.integers(0, len(users), n)])
    hired = users.set_index("id").hired_at.loc[author].array.asi8
    tenure_years = (created.array.asi8 - hired) / (365 * 86400 * 10**9)
    commits = rng.integers(1, 15, n)
    changed = rng.integers(1, 40, n)
    additions = (changed * rng.lognormal(3, 0.7, n)).astype(int)
    deletions = (additions * rng.uniform(0.1, 0.8, n)).astype(int)
    has_tests = rng.random(n) < 0.6
    probability = signal.rework_probability(changed, additions, has_tests.astype(float), tenure_years, commits)
    rework = rng.random(n) < probability
    # the outcome shows in review cycles or rework commits, as seed 003 defines rework
    via_reviews = rng.random(n) < 0.5
    review_cycles = np.where(rework & via_reviews, rng.integers(3, 6, n), rng.integers(0, 3, n))
    rework_commits = np.where(rework & ~via_reviews, rng.integers(4, 9, n), rng.integers(0, 4, n))
    merged_at = created + pd.Series(pd.to_timedelta(rng.integers(2 * 3600, 6 * 86400, n), unit="s"))
    merged = (merged_at < ctx.end).to_numpy()
    in_window = (created < ctx.end).to_numpy()
    repo = rng.integers(1, len(REPOSITORIES) + 1, n)
    prs = pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "repository_id": repo,
            "issue_id": issues.id.to_numpy()[issue_idx],
            "author_id": author,
            "number": np.arange(1, n + 1) + 1000,
            "title": [f"{issues.key.iloc[i]}: {issues.summary.iloc[i]}" for i in issue_idx],
            "commit_count": commits,
            "changed_files": changed,
            "additions": additions,
            "deletions": deletions,
            "has_tests": has_tests,
            "review_cycles": pd.array(np.where(merged, review_cycles, np.minimum(review_cycles, 1)), dtype="Int64"),
            "rework_commit_count": pd.array(np.where(merged, rework_commits, 0), dtype="Int64"),
            "created_at": created,
            "merged_at": merged_at.where(merged),
            "active": True,
            "updated_at": merged_at.where(merged, created),
        }
    )
    kept = merged & in_window
    ceiling = {"rework_f1": signal.f1(rework[kept], probability[kept] > 0.5),
               "rework_positive_rate": float(rework[kept].mean()) if kept.any() else 0.0}
    issue_rework = np.bincount(issue_idx, weights=kept & rework, minlength=len(issues)) > 0
    issue_commits = np.bincount(issue_idx, weights=np.where(in_window, commits, 0), minlength=len(issues))
    return prs[in_window].reset_index(drop=True), ceiling, issue_rework, issue_commits.astype(np.int64)
