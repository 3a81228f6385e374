-- Daily revenue for the BigQuery export (seed 000 BigQuerySync): per industry and day,
-- task revenue against the LLM cost of the industry's agents.
with revenue as (
    select
        day,
        industry,
        sum(tasks_completed) as tasks_completed,
        sum(total_revenue) as total_revenue,
        count(distinct agent_id) as active_agents
    from {{ ref('agent_analytics') }}
    where {{ in_partition_window('day') }}
    group by day, industry
),

costs as (
    select
        costs.day,
        agents.industry,
        sum(costs.total_cost_usd) as llm_cost_usd
    from {{ ref('llm_cost_breakdown') }} as costs
    inner join {{ ref('stg_marketplace__agents') }} as agents on agents.agent_id = costs.agent_id
    where {{ in_partition_window('costs.day') }}
    group by costs.day, agents.industry
)

select
    coalesce(revenue.day, costs.day) as day,
    coalesce(revenue.industry, costs.industry) as industry,
    coalesce(revenue.tasks_completed, 0) as tasks_completed,
    coalesce(revenue.total_revenue, 0)::numeric(16, 2) as total_revenue,
    coalesce(revenue.active_agents, 0) as active_agents,
    round({{ safe_divide('revenue.total_revenue', 'revenue.tasks_completed') }}, 4) as revenue_per_task,
    coalesce(costs.llm_cost_usd, 0)::numeric(16, 6) as llm_cost_usd,
    (coalesce(revenue.total_revenue, 0) - coalesce(costs.llm_cost_usd, 0))::numeric(16, 6) as gross_margin_usd
from revenue
full outer join costs
    on costs.day = revenue.day
    and costs.industry = revenue.industry
