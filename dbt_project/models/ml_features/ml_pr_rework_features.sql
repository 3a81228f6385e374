-- PR rework features (seed 003 model 3): one row per active pull request with at
-- least one commit and one changed file. Only what is known before review is a
-- feature; review_cycles and rework_commit_count only define the label
-- rework_indicator = review_cycles > 2 or rework_commit_count > 3 of a merged pull
-- request (its training rows). Open pull requests have no label yet (NULL) and
-- needs_scoring = true: the rework model scores them (ml.pr_rework_risk) from the
-- same feature expressions.
with pull_requests as (
    select
        *,
        -- the author's earlier pull requests, counted over all of them (merged or not)
        count(*) over (
            partition by author_id order by created_at, pull_request_id
            rows between unbounded preceding and 1 preceding
        ) as author_prior_pr_count
    from {{ ref('stg_engineering__pull_requests') }}
),

engineers as (
    select user_id, team_id, hired_at from {{ ref('stg_engineering__users') }}
),

issues as (
    select issue_id, story_points from {{ ref('stg_engineering__issues') }}
)

select
    pull_requests.pull_request_id,
    pull_requests.repository_id,
    pull_requests.pull_request_number,
    pull_requests.author_id,
    engineers.team_id as author_team_id,
    pull_requests.commit_count,
    pull_requests.changed_files,
    pull_requests.additions,
    pull_requests.deletions,
    pull_requests.additions + pull_requests.deletions as total_churn,
    round({{ safe_divide('pull_requests.deletions', 'pull_requests.additions + pull_requests.deletions') }}, 4) as deletion_share,
    case when pull_requests.has_tests then 1 else 0 end as has_tests,
    round((extract(epoch from pull_requests.created_at - engineers.hired_at) / 86400)::numeric, 2) as author_tenure_days,
    pull_requests.author_prior_pr_count,
    length(pull_requests.title) as title_length,
    issues.story_points as issue_story_points,
    extract(isodow from pull_requests.created_at at time zone 'UTC')::int as created_day_of_week,
    extract(hour from pull_requests.created_at at time zone 'UTC')::int as created_hour,
    pull_requests.created_at,
    pull_requests.merged_at,
    case
        when pull_requests.merged_at is not null
            then pull_requests.review_cycles > 2 or pull_requests.rework_commit_count > 3
    end as rework_indicator,
    pull_requests.merged_at is null as needs_scoring
from pull_requests
left join engineers on engineers.user_id = pull_requests.author_id
left join issues on issues.issue_id = pull_requests.issue_id
where pull_requests.is_active
    and pull_requests.commit_count > 0
    and pull_requests.changed_files > 0
    -- a merged pull request is a training row only with both label inputs
    and (
        pull_requests.merged_at is null
        or (pull_requests.review_cycles is not null and pull_requests.rework_commit_count is not null)
    )
