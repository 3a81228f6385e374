-- AgentGrid metrics per agent and hour (seed 002: "aggregate the previous hour, update running
-- totals, calculate averages"): usage, response time (average, p50, p95), error rate, RAG
-- confidence and LLM cost. Sums and counts are kept beside the averages so a day re-aggregates
-- exactly from its hours (agent_metrics_daily). Refreshed intraday for today's partition; the
-- 02:00 daily run finalizes yesterday; hour_complete says whether the hour had ended when built.
with messages as (
    select
        {{ utc_date('messages.created_at') }} as day,
        date_trunc('hour', messages.created_at, 'UTC') as hour,
        sessions.agent_id,
        sessions.user_id,
        messages.session_id,
        messages.role,
        messages.response_time_ms,
        messages.is_error,
        messages.rag_confidence
    from {{ ref('stg_agentgrid__chat_messages') }} as messages
    inner join {{ ref('stg_agentgrid__chat_sessions') }} as sessions
        on sessions.session_id = messages.session_id
    where {{ timestamp_in_partition_window('messages.created_at') }}
        and {{ in_partition_window('messages.partition_date') }}
),

usage_metrics as (
    select
        day,
        hour,
        agent_id,
        count(distinct session_id) as chats,
        count(*) as total_messages,
        count(distinct user_id) as unique_users,
        count(*) filter (where role = 'assistant') as assistant_messages,
        count(*) filter (where role = 'assistant' and is_error) as error_messages,
        count(response_time_ms) as response_time_count,
        sum(response_time_ms) as response_time_sum_ms,
        percentile_cont(0.5) within group (order by response_time_ms) as p50_response_time_ms,
        percentile_cont(0.95) within group (order by response_time_ms) as p95_response_time_ms,
        count(rag_confidence) as rag_confidence_count,
        sum(rag_confidence) as rag_confidence_sum
    from messages
    group by day, hour, agent_id
),

costs as (
    select
        day,
        hour,
        agent_id,
        sum(calls) as llm_calls,
        sum(total_tokens) as total_tokens,
        sum(total_cost_usd) as total_cost_usd
    from {{ ref('llm_cost_hourly') }}
    where agent_id is not null
        and {{ in_partition_window('day') }}
    group by day, hour, agent_id
)

select
    usage_metrics.day,
    usage_metrics.hour,
    usage_metrics.hour + interval '1 hour' <= {{ platform_now() }} as hour_complete,
    usage_metrics.agent_id,
    usage_metrics.chats,
    usage_metrics.total_messages,
    usage_metrics.unique_users,
    usage_metrics.assistant_messages,
    usage_metrics.error_messages,
    round({{ safe_divide('usage_metrics.error_messages', 'usage_metrics.assistant_messages') }}, 4) as error_rate,
    usage_metrics.response_time_count,
    usage_metrics.response_time_sum_ms,
    round({{ safe_divide('usage_metrics.response_time_sum_ms', 'usage_metrics.response_time_count') }}::numeric, 2)
        as avg_response_time_ms,
    round(usage_metrics.p50_response_time_ms::numeric, 2) as p50_response_time_ms,
    round(usage_metrics.p95_response_time_ms::numeric, 2) as p95_response_time_ms,
    usage_metrics.rag_confidence_count,
    usage_metrics.rag_confidence_sum,
    round({{ safe_divide('usage_metrics.rag_confidence_sum', 'usage_metrics.rag_confidence_count') }}::numeric, 4)
        as avg_rag_confidence,
    coalesce(costs.llm_calls, 0) as llm_calls,
    coalesce(costs.total_tokens, 0) as total_tokens,
    coalesce(costs.total_cost_usd, 0)::numeric(16, 8) as total_cost_usd
from usage_metrics
left join costs
    on costs.day = usage_metrics.day
    and costs.hour = usage_metrics.hour
    and costs.agent_id = usage_metrics.agent_id
