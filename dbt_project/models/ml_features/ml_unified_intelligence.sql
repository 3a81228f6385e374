-- The unified intelligence view of seed 003 Phase 5.2 (issues_prs_unified_intelligence):
-- three targets (lead time, story points, rework) with issue, team and PR features and
-- their interactions, for the multi-target model. As in the seed, issues of the last
-- two years and team activity of the last six months, relative to now. Open work items
-- (not Done, not epics: epics are the trajectory model's) have needs_scoring = true and
-- are scored by the unified model (ml.unified_issue_predictions).
with issues as (
    select issues.*, types.issuetype_name, statuses.status_category
    from {{ ref('stg_engineering__issues') }} as issues
    left join {{ ref('stg_engineering__issuetypes') }} as types on types.issuetype_id = issues.issuetype_id
    left join {{ ref('stg_engineering__statuses') }} as statuses on statuses.status_id = issues.status_id
    where issues.is_active
        and issues.created_at >= {{ platform_now() }} - interval '2 years'
),

engineers as (
    select user_id, team_id from {{ ref('stg_engineering__users') }}
),

pr_stats as (
    select
        issue_id,
        avg(review_cycles) as avg_review_cycles,
        sum(commit_count) as total_commits,
        bool_or(review_cycles > 2 or rework_commit_count > 3) as rework_indicator
    from {{ ref('stg_engineering__pull_requests') }}
    where is_active
    group by issue_id
),

recent_assigned as (
    select
        engineers.user_id,
        engineers.team_id,
        count(issues.issue_id) as recent_issues
    from engineers
    left join {{ ref('stg_engineering__issues') }} as issues
        on issues.assignee_id = engineers.user_id
        and issues.is_active
        and issues.created_at >= {{ platform_now() }} - interval '6 months'
    group by engineers.user_id, engineers.team_id
),

team_stats as (
    select
        user_id,
        -- the seed scores 0.1 per recent issue; velocity counts the whole team's,
        -- experience the engineer's own
        0.1 * sum(recent_issues) over (partition by team_id) as team_velocity,
        0.1 * recent_issues as team_experience_score
    from recent_assigned
)

select
    issues.issue_id,
    issues.issue_key,
    issues.total_lead_time_seconds,
    issues.story_points,
    coalesce(pr_stats.rework_indicator, false) as rework_indicator,
    length(issues.summary) as summary_length,
    issues.comment_count,
    round((extract(epoch from {{ platform_now() }} - issues.created_at) / 86400)::numeric, 4) as age_days,
    extract(dow from issues.created_at)::int as day_of_week,
    case when issues.assignee_id is not null then 1.0 else 0.0 end as has_assignee,
    team_stats.team_velocity,
    team_stats.team_experience_score,
    coalesce(pr_stats.avg_review_cycles, 0) as avg_review_cycles,
    coalesce(pr_stats.total_commits, 0) as total_commits,
    issues.story_points * team_stats.team_velocity as complexity_velocity_interaction,
    pr_stats.avg_review_cycles * issues.story_points as review_complexity_interaction,
    issues.status_category is distinct from 'Done' and issues.issuetype_name is distinct from 'Epic' as needs_scoring
from issues
left join pr_stats on pr_stats.issue_id = issues.issue_id
left join team_stats on team_stats.user_id = issues.assignee_id
