-- Daily agent performance for the BigQuery export (seed 000 BigQuerySync): marketplace
-- task metrics and AgentGrid chat metrics side by side, one row per agent and day.
with tasks as (
    select * from {{ ref('agent_analytics') }}
    where {{ in_partition_window('day') }}
),

chats as (
    select * from {{ ref('agent_metrics_daily') }}
    where {{ in_partition_window('day') }}
),

agents as (
    select agent_id, agent_name, industry from {{ ref('stg_marketplace__agents') }}
)

select
    coalesce(tasks.day, chats.day) as day,
    coalesce(tasks.agent_id, chats.agent_id) as agent_id,
    agents.agent_name,
    agents.industry,
    coalesce(tasks.tasks_completed, 0) as tasks_completed,
    tasks.avg_rating,
    coalesce(tasks.total_revenue, 0) as total_revenue,
    tasks.efficiency_score,
    tasks.revenue_per_task,
    coalesce(chats.total_chats, 0) as total_chats,
    coalesce(chats.total_messages, 0) as total_messages,
    chats.avg_response_time_ms,
    chats.error_rate,
    coalesce(chats.total_cost_usd, 0) as llm_cost_usd
from tasks
full outer join chats
    on chats.day = tasks.day
    and chats.agent_id = tasks.agent_id
left join agents on agents.agent_id = coalesce(tasks.agent_id, chats.agent_id)
