-- Daily agent performance (seed 000 AgentAnalyticsPipeline): tasks completed on the
-- day (UTC) with their rating and revenue, and the derived efficiency metrics.
with completed_tasks as (
    select
        agent_id,
        {{ utc_date('completed_at') }} as day,
        rating,
        revenue
    from {{ ref('stg_marketplace__tasks') }}
    where status = 'completed'
        and completed_at is not null
        and {{ timestamp_in_partition_window('completed_at') }}
        -- lets the scan use the raw layer's partition column: a task is completed
        -- within this many days of its creation
        and {{ in_partition_window('partition_date', var('task_completion_lookback_days')) }}
),

agents as (
    select agent_id, agent_name, industry from {{ ref('stg_marketplace__agents') }}
),

daily as (
    select
        day,
        agent_id,
        count(*) as tasks_completed,
        avg(rating) as avg_rating,
        coalesce(sum(revenue), 0) as total_revenue
    from completed_tasks
    group by day, agent_id
)

select
    daily.day,
    daily.agent_id,
    agents.agent_name,
    agents.industry,
    daily.tasks_completed,
    round(daily.avg_rating, 4) as avg_rating,
    daily.total_revenue::numeric(14, 2) as total_revenue,
    round(daily.tasks_completed * daily.avg_rating / 10, 4) as efficiency_score,
    round({{ safe_divide('daily.total_revenue', 'daily.tasks_completed') }}, 4) as revenue_per_task
from daily
inner join agents on agents.agent_id = daily.agent_id
