-- Tokens and cost per provider, model, agent and hour (seed 002: aggregate the previous hour),
-- the hourly grain of llm_cost_breakdown: its calls, tokens and cost are the sums of these
-- hours. Refreshed intraday for today's partition; the 02:00 daily run finalizes yesterday.
with calls as (
    select
        {{ utc_date('created_at') }} as day,
        date_trunc('hour', created_at, 'UTC') as hour,
        provider,
        model,
        agent_id,
        agent_name,
        prompt_tokens,
        completion_tokens,
        total_tokens,
        latency_ms,
        status
    from {{ ref('stg_agentgrid__llm_usage') }}
    where {{ timestamp_in_partition_window('created_at') }}
        and {{ in_partition_window('partition_date') }}
),

pricing as (
    select provider, model, prompt_usd_per_1k, completion_usd_per_1k
    from {{ ref('llm_pricing') }}
),

aggregated as (
    select
        day,
        hour,
        provider,
        model,
        agent_id,
        agent_name,
        count(*) as calls,
        count(*) filter (where status <> 'ok') as failed_calls,
        sum(prompt_tokens) as prompt_tokens,
        sum(completion_tokens) as completion_tokens,
        sum(total_tokens) as total_tokens,
        sum(latency_ms) as latency_ms_sum,
        count(latency_ms) as latency_ms_count
    from calls
    group by day, hour, provider, model, agent_id, agent_name
)

select
    aggregated.day,
    aggregated.hour,
    aggregated.hour + interval '1 hour' <= {{ platform_now() }} as hour_complete,
    aggregated.provider,
    aggregated.model,
    aggregated.agent_id,
    aggregated.agent_name,
    aggregated.calls,
    aggregated.failed_calls,
    aggregated.prompt_tokens,
    aggregated.completion_tokens,
    aggregated.total_tokens,
    aggregated.latency_ms_sum,
    aggregated.latency_ms_count,
    pricing.model is not null as is_priced,
    {{ llm_call_cost('aggregated.prompt_tokens', 'aggregated.completion_tokens',
                     'pricing.prompt_usd_per_1k', 'pricing.completion_usd_per_1k') }}::numeric(16, 8) as total_cost_usd
from aggregated
left join pricing
    on pricing.provider = aggregated.provider
    and pricing.model = aggregated.model
