-- Tokens and cost per provider, model, agent and day (seed 002 cost tracking). Prices
-- come from the llm_pricing seed and the arithmetic from the llm_call_cost macro; a
-- model missing from the seed keeps its tokens with is_priced = false and NULL cost.
with calls as (
    select
        {{ utc_date('created_at') }} as day,
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
        provider,
        model,
        agent_id,
        agent_name,
        count(*) as calls,
        count(*) filter (where status <> 'ok') as failed_calls,
        sum(prompt_tokens) as prompt_tokens,
        sum(completion_tokens) as completion_tokens,
        sum(total_tokens) as total_tokens,
        avg(latency_ms) as avg_latency_ms
    from calls
    group by day, provider, model, agent_id, agent_name
)

select
    aggregated.day,
    aggregated.provider,
    aggregated.model,
    aggregated.agent_id,
    aggregated.agent_name,
    aggregated.calls,
    aggregated.failed_calls,
    aggregated.prompt_tokens,
    aggregated.completion_tokens,
    aggregated.total_tokens,
    round(aggregated.avg_latency_ms::numeric, 2) as avg_latency_ms,
    pricing.model is not null as is_priced,
    {{ llm_token_cost('aggregated.prompt_tokens', 'pricing.prompt_usd_per_1k') }}::numeric(16, 8) as prompt_cost_usd,
    {{ llm_token_cost('aggregated.completion_tokens', 'pricing.completion_usd_per_1k') }}::numeric(16, 8) as completion_cost_usd,
    {{ llm_call_cost('aggregated.prompt_tokens', 'aggregated.completion_tokens',
                     'pricing.prompt_usd_per_1k', 'pricing.completion_usd_per_1k') }}::numeric(16, 8) as total_cost_usd
from aggregated
left join pricing
    on pricing.provider = aggregated.provider
    and pricing.model = aggregated.model
