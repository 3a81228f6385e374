-- Top agents per industry (seed 000 get_top_performing_agents): a composite of trial
-- conversion (40%), normalised rating (rating / 5, 30%) and task completion rate (30%),
-- each in [0, 1]; a component without data counts as 0. Ranked within the industry.
with agents as (
    select agent_id, agent_name, industry from {{ ref('stg_marketplace__agents') }}
),

trials as (
    select
        agent_id,
        count(*) as trials,
        count(*) filter (where converted) as conversions
    from {{ ref('stg_marketplace__trials') }}
    group by agent_id
),

tasks as (
    select
        agent_id,
        count(*) as tasks_total,
        count(*) filter (where status = 'completed') as tasks_completed,
        avg(rating) filter (where status = 'completed') as avg_rating
    from {{ ref('stg_marketplace__tasks') }}
    group by agent_id
),

components as (
    select
        agents.industry,
        agents.agent_id,
        agents.agent_name,
        coalesce(trials.trials, 0) as trials,
        coalesce(trials.conversions, 0) as conversions,
        coalesce({{ safe_divide('trials.conversions', 'trials.trials') }}, 0) as trial_conversion_rate,
        tasks.avg_rating,
        coalesce(tasks.avg_rating / 5, 0) as normalised_rating,
        coalesce(tasks.tasks_total, 0) as tasks_total,
        coalesce(tasks.tasks_completed, 0) as tasks_completed,
        coalesce({{ safe_divide('tasks.tasks_completed', 'tasks.tasks_total') }}, 0) as task_completion_rate
    from agents
    left join trials on trials.agent_id = agents.agent_id
    left join tasks on tasks.agent_id = agents.agent_id
),

scored as (
    select
        *,
        {{ var('leaderboard_weight_conversion') }} * trial_conversion_rate
        + {{ var('leaderboard_weight_rating') }} * normalised_rating
        + {{ var('leaderboard_weight_completion') }} * task_completion_rate as composite_score
    from components
)

select
    industry,
    agent_id,
    agent_name,
    trials,
    conversions,
    round(trial_conversion_rate, 6) as trial_conversion_rate,
    round(avg_rating, 4) as avg_rating,
    round(normalised_rating, 6) as normalised_rating,
    tasks_total,
    tasks_completed,
    round(task_completion_rate, 6) as task_completion_rate,
    round(composite_score, 6) as composite_score,
    rank() over (partition by industry order by composite_score desc) as industry_rank
from scored
