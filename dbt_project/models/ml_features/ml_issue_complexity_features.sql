-- Issue complexity features (seed 003 model 2): stories, tasks and bugs with a summary
-- longer than 10 characters. Estimated issues (1-21 points) are training rows with the
-- story_points target; unestimated ones are flagged for scoring.
with issues as (
    select issues.*, types.issuetype_name
    from {{ ref('stg_engineering__issues') }} as issues
    inner join {{ ref('stg_engineering__issuetypes') }} as types on types.issuetype_id = issues.issuetype_id
    where issues.is_active
        and types.issuetype_name in ('Story', 'Task', 'Bug')
        and length(issues.summary) > 10
),

engineers as (
    select user_id, team_id, hired_at from {{ ref('stg_engineering__users') }}
)

select
    issues.issue_id,
    issues.issue_key,
    issues.issuetype_name,
    issues.summary,
    length(issues.summary) as summary_length,
    array_length(regexp_split_to_array(trim(issues.summary), '\s+'), 1) as summary_word_count,
    issues.comment_count,
    case when issues.epic_id is not null then 1 else 0 end as has_epic,
    case when issues.assignee_id is not null then 1 else 0 end as has_assignee,
    engineers.team_id,
    round((extract(epoch from issues.created_at - engineers.hired_at) / 86400)::numeric, 2) as assignee_tenure_days,
    extract(isodow from issues.created_at at time zone 'UTC')::int as created_day_of_week,
    issues.created_at,
    case when issues.story_points between 1 and 21 then issues.story_points end as story_points,
    coalesce(issues.story_points between 1 and 21, false) as is_training_row,
    issues.story_points is null as needs_scoring
from issues
left join engineers on engineers.user_id = issues.assignee_id
