-- Project trajectory features (seed 003 model 1): one row per active epic. Completed
-- epics with a valid lead time (0 < seconds < 1 year) are training rows with the
-- total_lead_time_seconds target; open epics are flagged for scoring.
with issues as (
    select issues.*, types.issuetype_name, statuses.status_category
    from {{ ref('stg_engineering__issues') }} as issues
    inner join {{ ref('stg_engineering__issuetypes') }} as types on types.issuetype_id = issues.issuetype_id
    inner join {{ ref('stg_engineering__statuses') }} as statuses on statuses.status_id = issues.status_id
    where issues.is_active
),

children as (
    select
        epic_id,
        count(*) as child_issue_count,
        coalesce(sum(story_points), 0) as child_story_points,
        avg(story_points) as avg_child_story_points,
        coalesce(sum(comment_count), 0) as child_comment_count,
        count(distinct assignee_id) as child_assignee_count,
        count(*) filter (where status_category = 'Done') as children_done
    from issues
    where epic_id is not null
    group by epic_id
),

engineers as (
    select user_id, team_id from {{ ref('stg_engineering__users') }}
),

epics as (
    select
        issues.issue_id as epic_id,
        issues.issue_key as epic_key,
        issues.summary,
        issues.created_at,
        issues.status_category,
        issues.assignee_id,
        engineers.team_id,
        case when issues.assignee_id is not null then 1 else 0 end as has_assignee,
        issues.comment_count,
        length(issues.summary) as summary_length,
        extract(isodow from issues.created_at at time zone 'UTC')::int as created_day_of_week,
        coalesce(children.child_issue_count, 0) as child_issue_count,
        coalesce(children.child_story_points, 0) as child_story_points,
        round(children.avg_child_story_points, 4) as avg_child_story_points,
        coalesce(children.child_comment_count, 0) as child_comment_count,
        coalesce(children.child_assignee_count, 0) as child_assignee_count,
        round({{ safe_divide('children.children_done', 'children.child_issue_count') }}, 4) as children_done_share,
        issues.total_lead_time_seconds
    from issues
    left join children on children.epic_id = issues.issue_id
    left join engineers on engineers.user_id = issues.assignee_id
    where issues.issuetype_name = 'Epic'
)

select
    epic_id,
    epic_key,
    summary,
    created_at,
    status_category,
    assignee_id,
    team_id,
    has_assignee,
    comment_count,
    summary_length,
    created_day_of_week,
    child_issue_count,
    child_story_points,
    avg_child_story_points,
    child_comment_count,
    child_assignee_count,
    children_done_share,
    case
        when status_category = 'Done' and total_lead_time_seconds > 0 and total_lead_time_seconds < 31536000
            then total_lead_time_seconds
    end as total_lead_time_seconds,
    status_category = 'Done' and total_lead_time_seconds > 0 and total_lead_time_seconds < 31536000 as is_training_row,
    status_category <> 'Done' as needs_scoring
from epics
