-- AgentGrid daily agent metrics (seed 002 "Metrics Tracked"): usage, performance,
-- quality and cost per agent and day. Messages are attributed to the day they were sent.
with messages as (
    select
        {{ utc_date('messages.created_at') }} as day,
        sessions.agent_id,
        sessions.user_id,
        messages.session_id,
        messages.role,
        messages.response_time_ms,
        messages.is_error,
        messages.rag_confidence,
        messages.context_coverage
    from {{ ref('stg_agentgrid__chat_messages') }} as messages
    inner join {{ ref('stg_agentgrid__chat_sessions') }} as sessions
        on sessions.session_id = messages.session_id
    where {{ timestamp_in_partition_window('messages.created_at') }}
        and {{ in_partition_window('messages.partition_date') }}
),

usage_metrics as (
    select
        day,
        agent_id,
        count(distinct session_id) as total_chats,
        count(*) as total_messages,
        count(distinct user_id) as unique_users,
        avg(response_time_ms) as avg_response_time_ms,
        percentile_cont(0.95) within group (order by response_time_ms) as p95_response_time_ms,
        avg(case when is_error then 1.0 else 0.0 end) filter (where role = 'assistant') as error_rate,
        avg(rag_confidence) as avg_rag_confidence,
        count(context_coverage) as messages_with_coverage,
        count(*) filter (where context_coverage = 'full') as coverage_full,
        count(*) filter (where context_coverage = 'partial') as coverage_partial,
        count(*) filter (where context_coverage = 'none') as coverage_none
    from messages
    group by day, agent_id
),

costs as (
    select
        day,
        agent_id,
        sum(total_cost_usd) as total_cost_usd,
        sum(total_tokens) as total_tokens
    from {{ ref('llm_cost_breakdown') }}
    where agent_id is not null
        and {{ in_partition_window('day') }}
    group by day, agent_id
)

select
    usage_metrics.day,
    usage_metrics.agent_id,
    usage_metrics.total_chats,
    usage_metrics.total_messages,
    usage_metrics.unique_users,
    round({{ safe_divide('usage_metrics.total_messages', 'usage_metrics.total_chats') }}, 4) as messages_per_chat,
    round(usage_metrics.avg_response_time_ms::numeric, 2) as avg_response_time_ms,
    round(usage_metrics.p95_response_time_ms::numeric, 2) as p95_response_time_ms,
    round(usage_metrics.error_rate, 4) as error_rate,
    round(usage_metrics.avg_rag_confidence::numeric, 4) as avg_rag_confidence,
    round({{ safe_divide('usage_metrics.coverage_full', 'usage_metrics.messages_with_coverage') }}, 4) as context_coverage_full_share,
    round({{ safe_divide('usage_metrics.coverage_partial', 'usage_metrics.messages_with_coverage') }}, 4) as context_coverage_partial_share,
    round({{ safe_divide('usage_metrics.coverage_none', 'usage_metrics.messages_with_coverage') }}, 4) as context_coverage_none_share,
    coalesce(costs.total_tokens, 0) as total_tokens,
    coalesce(costs.total_cost_usd, 0)::numeric(14, 6) as total_cost_usd,
    round({{ safe_divide('coalesce(costs.total_cost_usd, 0)', 'usage_metrics.total_messages') }}, 6) as cost_per_message_usd
from usage_metrics
left join costs
    on costs.day = usage_metrics.day
    and costs.agent_id = usage_metrics.agent_id
